//! How a regular file would be executed: a script names its interpreter on a `#!` line (read
//! here from its first bytes), an ELF file its loader and libraries (see [`crate::layer::elf`]).
//! The will-it-start check and the unstripped-binary finding read these.

use crate::layer::elf::ElfFacts;

/// The `#!` line of a script: what the kernel runs it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter's path as written (`/usr/bin/env`, `/bin/sh`).
    pub interpreter: String,
    /// The one optional argument (`python3` for `#!/usr/bin/env python3`).
    pub argument: Option<String>,
}

/// What executing a file involves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecInfo {
    /// A script with a `#!` line.
    Script(Shebang),
    /// An ELF executable or shared object.
    Elf(ElfFacts),
}

/// The longest `#!` line Linux reads (`BINPRM_BUF_SIZE`).
const SHEBANG_LIMIT: usize = 256;

/// Parses the `#!` line a file's first bytes `head` start with, as the kernel does: the
/// interpreter, then everything after the next blanks (trailing blanks removed) as one argument.
pub fn shebang(head: &[u8]) -> Option<Shebang> {
    let line = head.strip_prefix(b"#!")?;
    let short = line.len() < SHEBANG_LIMIT - 2;
    let line = &line[..line.len().min(SHEBANG_LIMIT - 2)];
    // A file shorter than the kernel's buffer needs no end of line.
    let end = match line.iter().position(|&b| b == b'\n') {
        Some(end) => end,
        None if short => line.len(),
        None => return None,
    };
    let line = std::str::from_utf8(&line[..end])
        .ok()?
        .trim_matches([' ', '\t', '\r']);
    let (interpreter, argument) = match line.split_once([' ', '\t']) {
        Some((i, a)) => (i, Some(a.trim_matches([' ', '\t']).to_string())),
        None => (line, None),
    };
    (!interpreter.is_empty()).then(|| Shebang {
        interpreter: interpreter.to_string(),
        argument: argument.filter(|a| !a.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(head: &str) -> Option<ExecInfo> {
        shebang(head.as_bytes()).map(ExecInfo::Script)
    }

    #[test]
    fn shebangs_name_the_interpreter_and_one_argument() {
        let env = Shebang {
            interpreter: "/usr/bin/env".into(),
            argument: Some("python3 -u".into()),
        };
        assert_eq!(
            script("#! /usr/bin/env  python3 -u \r\nprint(1)\n"),
            Some(ExecInfo::Script(env))
        );
        let sh = Shebang {
            interpreter: "/bin/sh".into(),
            argument: None,
        };
        assert_eq!(script("#!/bin/sh\n"), Some(ExecInfo::Script(sh.clone())));
        assert_eq!(script("#!/bin/sh"), Some(ExecInfo::Script(sh)));
        assert_eq!(script("#!\n"), None);
        let long = format!("#!/bin/{}", "x".repeat(300));
        assert_eq!(
            script(&long),
            None,
            "no end of line within the kernel's buffer"
        );
        assert_eq!(script("echo hi\n"), None);
    }
}
