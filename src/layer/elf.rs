//! What an ELF file needs and carries, read while it streams past: its loader (`PT_INTERP`), the
//! libraries it links (`DT_NEEDED`, `DT_RUNPATH`/`DT_RPATH`), the glibc symbol versions it requires
//! (`DT_VERNEED`) or defines (`DT_VERDEF`, for `libc.so.6` itself), and the bytes `strip` would
//! remove (`.symtab`, its string table and `.debug_*` sections).
//!
//! The file is never held whole. The first bytes (the head the walk already reads) normally hold
//! the ELF and program headers, the dynamic strings and the version tables; the dynamic section and
//! the section header table usually sit further on (the writable segment, the end of the file), so
//! those byte ranges are captured as the rest of the file streams by, in one forward pass. Whatever
//! lies where that pass cannot reach is "unknown", never an error: a short or malformed file only
//! yields fewer facts.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use goblin::container::Ctx;
use goblin::elf::dynamic::{Dyn, Dynamic, DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_VERDEFNUM};
use goblin::elf::program_header::{ProgramHeader, PT_DYNAMIC, PT_INTERP};
use goblin::elf::section_header::{
    SectionHeader, SHF_ALLOC, SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_PROGBITS, SHT_STRTAB, SHT_SYMTAB,
};
use goblin::elf::symver::{VerdefSection, VerneedSection};
use goblin::elf::Elf;
use goblin::strtab::Strtab;

use crate::error::{Error, Result};
use crate::layer::walk::HEAD_LIMIT;

/// The ELF magic every ELF file starts with.
pub const ELF_MAGIC: &[u8] = b"\x7fELF";

/// How many bytes before the section header table are captured too: GNU ld puts `.shstrtab` (the
/// section names) right there, so unstripped files can be told by their section names.
const NAMES_WINDOW: u64 = 64 << 10;

/// The most bytes one captured range may hold (a dynamic section or a section header table larger
/// than this is not a real one).
const RANGE_LIMIT: u64 = 4 << 20;

/// How many bytes the version tables are read with when their size is not known yet (they are
/// counted records, a few hundred bytes even for libc).
const VERSION_WINDOW: u64 = 64 << 10;

/// Without section names, a non-allocated `PROGBITS` section this large counts as debug
/// information (`.comment` and `.gnu_debuglink`, which `strip` keeps, are a few dozen bytes).
const UNNAMED_DEBUG_MIN: u64 = 256;

/// A glibc symbol version (`GLIBC_2.38` is `[2, 38, 0]`), ordered as glibc orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlibcVersion(pub [u16; 3]);

impl GlibcVersion {
    /// Parses `GLIBC_2.38` or `GLIBC_2.2.5`; other version names (`GLIBC_PRIVATE`) are `None`.
    pub fn parse(name: &str) -> Option<GlibcVersion> {
        let mut parts = [0u16; 3];
        let mut count = 0;
        for part in name.strip_prefix("GLIBC_")?.split('.') {
            *parts.get_mut(count)? = part.parse().ok()?;
            count += 1;
        }
        (count >= 2).then_some(GlibcVersion(parts))
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [major, minor, patch] = self.0;
        write!(f, "GLIBC_{major}.{minor}")?;
        if patch > 0 {
            write!(f, ".{patch}")?;
        }
        Ok(())
    }
}

/// The bytes `strip` would remove from a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Strippable {
    /// `.symtab` and the string table it uses.
    pub symbols: u64,
    /// `.debug_*` sections (without section names: large non-allocated `PROGBITS` sections).
    pub debug: u64,
}

impl Strippable {
    /// Bytes stripping saves.
    pub fn total(&self) -> u64 {
        self.symbols + self.debug
    }
}

/// What the walk learned about one ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfFacts {
    /// The ELF `e_machine` (62 = x86-64).
    pub machine: u16,
    /// Whether the file is 64-bit (ELFCLASS64).
    pub is_64: bool,
    /// The dynamic loader (`PT_INTERP`, e.g. `/lib64/ld-linux-x86-64.so.2`); `None` when static.
    pub interpreter: Option<String>,
    /// Whether the dynamic section and its strings were read: when false, `needed`, `runpaths`
    /// and the versions are unknown (empty), not absent.
    pub links_known: bool,
    /// The sonames of `DT_NEEDED`, in link order.
    pub needed: Vec<String>,
    /// The directories of `DT_RUNPATH` (or of `DT_RPATH` when there is no `DT_RUNPATH`, as the
    /// loader does), as written (`$ORIGIN/../lib`).
    pub runpaths: Vec<String>,
    /// Per needed library file (`libc.so.6`), the highest `GLIBC_*` version required from it.
    pub glibc_needed: Vec<(String, GlibcVersion)>,
    /// The highest `GLIBC_*` version the file defines (glibc's own libraries).
    pub glibc_defined: Option<GlibcVersion>,
    /// What stripping would save; `None` when the section header table was not reached.
    pub strippable: Option<Strippable>,
}

impl ElfFacts {
    /// Reads the facts of the ELF file at `path` (streaming, like the walk); a file that is not
    /// ELF, or whose headers cannot be read, is a clear error.
    pub fn read_file(path: &Path) -> Result<ElfFacts> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
        let size = file
            .metadata()
            .map_err(|e| Error::io(path.display(), e))?
            .len();
        let mut head = Vec::new();
        (&mut file)
            .take(HEAD_LIMIT as u64)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(path.display(), e))?;
        let mut reader = ElfReader::new(&head, size).ok_or_else(|| {
            Error::invalid(format!("{}: {}", path.display(), not_readable(&head)))
        })?;
        let mut chunk = vec![0; 64 << 10];
        while !reader.is_done() {
            match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => reader.feed(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(path.display(), e)),
            }
        }
        Ok(reader.finish())
    }

    /// Reads `DT_NEEDED`, the runpaths and the glibc versions through the dynamic section
    /// `parsed` (whose strings and version tables `file` was asked for).
    fn read_links(&mut self, file: &Capture<'_>, parsed: &Dynamic, verdef_count: u64, ctx: Ctx) {
        let info = &parsed.info;
        let (strtab_at, strtab_len) = (info.strtab as u64, info.strsz as u64);
        let Some(strtab) = file
            .slice(strtab_at, strtab_len)
            .and_then(|b| Strtab::parse(b, 0, b.len(), 0).ok())
        else {
            return;
        };
        let string = |d: &Dyn| strtab.get_at(d.d_val as usize).map(str::to_string);
        let tagged = |tag| parsed.dyns.iter().filter(move |d| d.d_tag == tag);
        self.needed = tagged(DT_NEEDED).filter_map(string).collect();
        let runpaths: Vec<String> = match tagged(DT_RUNPATH).next() {
            Some(_) => tagged(DT_RUNPATH).filter_map(string).collect(),
            None => tagged(DT_RPATH).filter_map(string).collect(),
        };
        self.runpaths = runpaths
            .iter()
            .flat_map(|r| r.split(':'))
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        self.links_known = true;
        let versions = |at: u64, count: u64, kind: u32| {
            let bytes = file.from(at)?;
            Some((
                [SectionHeader {
                    sh_type: kind,
                    sh_size: bytes.len() as u64,
                    sh_info: u32::try_from(count).ok()?,
                    ..SectionHeader::default()
                }],
                bytes,
            ))
        };
        if let Some((shdr, bytes)) = versions(info.verneed, info.verneednum, SHT_GNU_VERNEED) {
            if let Ok(Some(section)) = VerneedSection::parse(bytes, &shdr, ctx) {
                for need in section.iter() {
                    let Some(library) = strtab.get_at(need.vn_file) else {
                        continue;
                    };
                    let highest = need
                        .iter()
                        .filter_map(|aux| strtab.get_at(aux.vna_name))
                        .filter_map(GlibcVersion::parse)
                        .max();
                    if let Some(version) = highest {
                        self.glibc_needed.push((library.to_string(), version));
                    }
                }
            }
        }
        if let Some((shdr, bytes)) = versions(info.verdef, verdef_count, SHT_GNU_VERDEF) {
            if let Ok(Some(section)) = VerdefSection::parse(bytes, &shdr, ctx) {
                self.glibc_defined = section
                    .iter()
                    .flat_map(|def| {
                        def.iter()
                            .filter_map(|aux| strtab.get_at(aux.vda_name))
                            .filter_map(GlibcVersion::parse)
                            .collect::<Vec<_>>()
                    })
                    .max();
            }
        }
    }
}

/// Where an [`ElfReader`] stands: what it waits for from the rest of the file.
enum Step {
    /// `PT_INTERP` and `PT_DYNAMIC`.
    Program,
    /// The dynamic strings and the version tables `parsed` points to.
    Links {
        parsed: Box<Dynamic>,
        verdef_count: u64,
    },
    /// The section header table, and the section names just before it.
    Sections,
    /// Nothing: every fact is known.
    Done,
}

/// Reads an ELF file's facts in one forward pass over its content, pushed to it: the head at
/// once, then the rest chunk by chunk. The head holds the ELF and program headers; each step
/// asks for the ranges it found there or captured (the dynamic section, then its strings and
/// version tables, then the section header table) and runs once the chunks have passed them.
/// Whatever lies behind the point the stream had reached when asked for stays unknown.
pub struct ElfReader<'a> {
    file: Capture<'a>,
    header: goblin::elf::Header,
    ctx: Ctx,
    phdrs: Vec<ProgramHeader>,
    facts: ElfFacts,
    step: Step,
}

impl<'a> ElfReader<'a> {
    /// Starts on a file of `size` bytes whose first bytes are `head`; `None` when `head` is not
    /// ELF or its headers are malformed.
    pub fn new(head: &'a [u8], size: u64) -> Option<ElfReader<'a>> {
        if !head.starts_with(ELF_MAGIC) {
            return None;
        }
        let (header, ctx, phdrs) = headers(head)?;
        let program = |kind| phdrs.iter().find(|p| p.p_type == kind);
        let mut file = Capture::new(head, size);
        file.want(
            [program(PT_INTERP), program(PT_DYNAMIC)]
                .into_iter()
                .flatten()
                .map(|p| (p.p_offset, p.p_filesz))
                .collect(),
        );
        let facts = ElfFacts {
            machine: header.e_machine,
            is_64: ctx.is_big(),
            interpreter: None,
            links_known: program(PT_DYNAMIC).is_none(),
            needed: Vec::new(),
            runpaths: Vec::new(),
            glibc_needed: Vec::new(),
            glibc_defined: None,
            strippable: None,
        };
        let mut reader = ElfReader {
            file,
            header,
            ctx,
            phdrs,
            facts,
            step: Step::Program,
        };
        reader.advance();
        Some(reader)
    }

    /// Whether every fact is known, so the rest of the file is not needed.
    pub fn is_done(&self) -> bool {
        matches!(self.step, Step::Done)
    }

    /// Takes the next bytes of the file. A step runs as soon as the stream reaches the end of
    /// what it waits for, before the rest of the chunk is taken, so the ranges it asks for next
    /// may start in that same chunk.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() && !self.is_done() {
            let pending = usize::try_from(self.file.until.saturating_sub(self.file.at));
            let take = match pending {
                Ok(0) | Err(_) => chunk.len(),
                Ok(pending) => chunk.len().min(pending),
            };
            let (now, later) = chunk.split_at(take);
            self.file.feed(now);
            self.advance();
            chunk = later;
        }
    }

    /// The facts, at the end of the file (what was not reached stays unknown).
    pub fn finish(mut self) -> ElfFacts {
        self.file.ended = true;
        self.advance();
        self.facts
    }

    /// The same reader with its own copy of the head, so it can outlive the buffer the head was
    /// read into (while the rest of a large file streams by).
    pub fn into_owned(self) -> ElfReader<'static> {
        ElfReader {
            file: self.file.into_owned(),
            header: self.header,
            ctx: self.ctx,
            phdrs: self.phdrs,
            facts: self.facts,
            step: self.step,
        }
    }

    /// Runs every step whose ranges have streamed by.
    fn advance(&mut self) {
        while self.file.ready() {
            self.step = match std::mem::replace(&mut self.step, Step::Done) {
                Step::Program => {
                    let program = |kind| self.phdrs.iter().find(|p| p.p_type == kind);
                    self.facts.interpreter = program(PT_INTERP)
                        .and_then(|p| self.file.slice(p.p_offset, p.p_filesz))
                        .map(|b| {
                            // A path looked up among the entries' names, decoded as they are.
                            crate::layer::names::decode(b)
                        });
                    match program(PT_DYNAMIC).cloned() {
                        Some(dynamic) => self.dynamic(&dynamic),
                        None => self.sections(),
                    }
                }
                Step::Links {
                    parsed,
                    verdef_count,
                } => {
                    self.facts
                        .read_links(&self.file, &parsed, verdef_count, self.ctx);
                    self.sections()
                }
                Step::Sections => {
                    self.read_sections();
                    Step::Done
                }
                Step::Done => return,
            };
        }
    }

    /// Parses the captured dynamic section and asks for its strings and version tables; without
    /// a readable one, goes on to the sections.
    fn dynamic(&mut self, dynamic: &ProgramHeader) -> Step {
        let Some(bytes) = self.file.slice(dynamic.p_offset, dynamic.p_filesz) else {
            return self.sections();
        };
        // goblin reads the dynamic section at its program header's offset: point it at the copy.
        let relocated: Vec<ProgramHeader> = self
            .phdrs
            .iter()
            .map(|p| match p.p_type {
                PT_DYNAMIC => ProgramHeader {
                    p_offset: 0,
                    ..p.clone()
                },
                _ => p.clone(),
            })
            .collect();
        let Ok(Some(parsed)) = Dynamic::parse(bytes, &relocated, self.ctx) else {
            return self.sections();
        };
        let info = &parsed.info;
        let verdef_count = parsed
            .dyns
            .iter()
            .find(|d| d.d_tag == DT_VERDEFNUM)
            .map_or(0, |d| d.d_val);
        let mut wanted = vec![(info.strtab as u64, info.strsz as u64)];
        for (at, count) in [(info.verneed, info.verneednum), (info.verdef, verdef_count)] {
            if at > 0 && count > 0 {
                wanted.push((at, VERSION_WINDOW.min(self.file.size.saturating_sub(at))));
            }
        }
        self.file.want(wanted);
        Step::Links {
            parsed: Box::new(parsed),
            verdef_count,
        }
    }

    /// Asks for the section header table (and the names before it), when the file has one.
    fn sections(&mut self) -> Step {
        let (table, table_len) = self.section_table();
        if table == 0 || table_len == 0 {
            return Step::Done;
        }
        let before = NAMES_WINDOW.min(table);
        self.file.want(vec![(table - before, before + table_len)]);
        Step::Sections
    }

    /// The offset and length of the section header table.
    fn section_table(&self) -> (u64, u64) {
        let h = &self.header;
        (h.e_shoff, u64::from(h.e_shnum) * u64::from(h.e_shentsize))
    }

    /// What stripping would save, from the captured section headers.
    fn read_sections(&mut self) {
        let (table, table_len) = self.section_table();
        let h = &self.header;
        self.facts.strippable = self
            .file
            .slice(table, table_len)
            .and_then(|b| SectionHeader::parse_from(b, 0, h.e_shnum.into(), self.ctx).ok())
            .map(|shdrs| strippable(&self.file, &shdrs, h.e_shstrndx.into(), h.e_shentsize));
    }
}

#[cfg(test)]
impl ElfFacts {
    /// A dynamically linked x86-64 file needing `needed`, for unit tests of the checks.
    pub(crate) fn test_dynamic(needed: &[&str], runpaths: &[&str]) -> ElfFacts {
        ElfFacts {
            machine: goblin::elf::header::EM_X86_64,
            is_64: true,
            interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
            links_known: true,
            needed: needed.iter().map(|s| s.to_string()).collect(),
            runpaths: runpaths.iter().map(|s| s.to_string()).collect(),
            glibc_needed: Vec::new(),
            glibc_defined: None,
            strippable: None,
        }
    }
}

/// Why a file starting with `head` yields no facts, for the build check's error.
fn not_readable(head: &[u8]) -> &'static str {
    if head.starts_with(ELF_MAGIC) {
        "malformed ELF: its headers cannot be read"
    } else {
        "not an ELF binary (no \\x7fELF magic): only Linux executables can be checked"
    }
}

/// The ELF header, the parsing context and the program headers, all from the head.
fn headers(head: &[u8]) -> Option<(goblin::elf::Header, Ctx, Vec<ProgramHeader>)> {
    let header = Elf::parse_header(head).ok()?;
    let container = header.container().ok()?;
    let ctx = Ctx::new(container, header.endianness().ok()?);
    let phdrs = ProgramHeader::parse(
        head,
        usize::try_from(header.e_phoff).ok()?,
        header.e_phnum.into(),
        ctx,
    )
    .ok()?;
    Some((header, ctx, phdrs))
}

/// The bytes stripping removes, from the section headers (and their names when captured): the
/// sections and their `entry_size`-byte headers.
fn strippable(
    file: &Capture<'_>,
    shdrs: &[SectionHeader],
    names_at: usize,
    entry_size: u16,
) -> Strippable {
    let header = u64::from(entry_size);
    let names = shdrs
        .get(names_at)
        .filter(|s| s.sh_type == SHT_STRTAB)
        .and_then(|s| file.slice(s.sh_offset, s.sh_size))
        .and_then(|b| Strtab::parse(b, 0, b.len(), 0).ok());
    let mut out = Strippable::default();
    for s in shdrs {
        if s.sh_type == SHT_SYMTAB {
            let strings = shdrs
                .get(s.sh_link as usize)
                .filter(|t| t.sh_type == SHT_STRTAB && s.sh_link as usize != names_at);
            out.symbols += s.sh_size + header + strings.map_or(0, |t| t.sh_size + header);
        } else if s.sh_type == SHT_PROGBITS && s.sh_flags & u64::from(SHF_ALLOC) == 0 {
            let debug = match &names {
                Some(names) => names
                    .get_at(s.sh_name)
                    .is_some_and(|n| n.starts_with(".debug") || n.starts_with(".zdebug")),
                None => s.sh_size >= UNNAMED_DEBUG_MIN,
            };
            if debug {
                out.debug += s.sh_size + header;
            }
        }
    }
    out
}

/// A file seen through its head and the ranges captured from the rest in one forward pass.
struct Capture<'a> {
    head: Cow<'a, [u8]>,
    /// Captured ranges: where each starts, where it is meant to end, and its bytes so far.
    pieces: Vec<(u64, u64, Vec<u8>)>,
    /// Where the stream stands, as an offset in the file.
    at: u64,
    /// The end of the last range asked for.
    until: u64,
    /// Whether the stream has ended (no more bytes will come).
    ended: bool,
    size: u64,
}

impl<'a> Capture<'a> {
    fn new(head: &'a [u8], size: u64) -> Self {
        Capture {
            head: Cow::Borrowed(head),
            pieces: Vec::new(),
            at: head.len() as u64,
            until: 0,
            ended: false,
            size,
        }
    }

    fn into_owned(self) -> Capture<'static> {
        Capture {
            head: Cow::Owned(self.head.into_owned()),
            pieces: self.pieces,
            at: self.at,
            until: self.until,
            ended: self.ended,
            size: self.size,
        }
    }

    /// The head, then every captured range, as (offset, bytes).
    fn held(&self) -> impl Iterator<Item = (u64, &[u8])> {
        std::iter::once((0, &*self.head))
            .chain(self.pieces.iter().map(|(at, _, b)| (*at, b.as_slice())))
    }

    /// The bytes `[offset, offset + len)`, when the head or one captured range holds them all.
    fn slice(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        self.held()
            .find(|(at, b)| *at <= offset && end <= at + b.len() as u64)
            .map(|(at, b)| &b[(offset - at) as usize..(end - at) as usize])
    }

    /// The bytes from `offset` to the end of the head or captured range that holds it.
    fn from(&self, offset: u64) -> Option<&[u8]> {
        self.held()
            .find(|(at, b)| *at <= offset && offset < at + b.len() as u64)
            .map(|(at, b)| &b[(offset - at) as usize..])
    }

    /// Asks for the ranges (offset, length) not already held that still lie ahead in the
    /// stream and inside the file; the others stay unknown.
    fn want(&mut self, mut ranges: Vec<(u64, u64)>) {
        if self.ended {
            return;
        }
        ranges.sort_unstable();
        let mut cursor = self.at;
        for (offset, len) in ranges {
            let start = offset.max(cursor);
            let end = offset.saturating_add(len).min(self.size);
            if len > RANGE_LIMIT || start >= end || self.slice(offset, len).is_some() {
                continue;
            }
            self.pieces
                .push((start, end, Vec::with_capacity((end - start) as usize)));
            (cursor, self.until) = (end, end);
        }
    }

    /// Whether every range asked for has streamed by (or the stream ended).
    fn ready(&self) -> bool {
        self.ended || self.at >= self.until
    }

    /// Takes the next bytes of the stream into the ranges they overlap.
    fn feed(&mut self, chunk: &[u8]) {
        let from = self.at;
        self.at += chunk.len() as u64;
        for (start, end, bytes) in &mut self.pieces {
            let next = *start + bytes.len() as u64;
            let (lo, hi) = (next.max(from), (*end).min(self.at));
            if lo < hi {
                bytes.extend_from_slice(&chunk[(lo - from) as usize..(hi - from) as usize]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tools::require_tool;
    use std::path::PathBuf;
    use std::process::Command;

    /// Builds `source` with gcc and `args` into `dir/name` (None when gcc is missing).
    fn gcc(dir: &Path, name: &str, source: &str, args: &[&str]) -> Option<PathBuf> {
        if !require_tool("gcc") {
            return None;
        }
        let c = dir.join(format!("{name}.c"));
        std::fs::write(&c, source).unwrap();
        let out = dir.join(name);
        let status = Command::new("gcc")
            .arg(&c)
            .arg("-o")
            .arg(&out)
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success(), "gcc {name}");
        Some(out)
    }

    fn stripped(path: &Path) -> PathBuf {
        let out = path.with_extension("stripped");
        let status = Command::new("strip")
            .arg("-o")
            .arg(&out)
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "strip");
        out
    }

    const HELLO: &str = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n";

    #[test]
    fn a_dynamic_executable_names_its_loader_libc_and_glibc_version() {
        let dir = tempfile::tempdir().unwrap();
        let Some(hello) = gcc(dir.path(), "hello", HELLO, &[]) else {
            return;
        };
        let facts = ElfFacts::read_file(&hello).unwrap();
        assert_eq!(facts.machine, goblin::elf::header::EM_X86_64);
        assert!(facts.is_64 && facts.links_known);
        let loader = facts.interpreter.as_deref().unwrap();
        assert!(
            loader.starts_with('/') && loader.contains("ld-linux"),
            "{loader}"
        );
        assert_eq!(facts.needed, ["libc.so.6"]);
        let (lib, version) = &facts.glibc_needed[0];
        assert_eq!(lib, "libc.so.6");
        assert!(*version >= GlibcVersion([2, 2, 5]), "{version}");
        assert_eq!(facts.glibc_defined, None);
        let unstripped = facts.strippable.unwrap();
        assert!(
            unstripped.symbols > 0 && unstripped.debug == 0,
            "{unstripped:?}"
        );

        let small = ElfFacts::read_file(&stripped(&hello)).unwrap();
        assert_eq!(small.strippable, Some(Strippable::default()));
        assert_eq!(small.needed, facts.needed);
    }

    #[test]
    fn debug_sections_and_symbols_add_up_to_what_strip_removes() {
        let dir = tempfile::tempdir().unwrap();
        let Some(debug) = gcc(dir.path(), "debug", HELLO, &["-g"]) else {
            return;
        };
        let facts = ElfFacts::read_file(&debug).unwrap().strippable.unwrap();
        assert!(facts.debug > 0 && facts.symbols > 0, "{facts:?}");
        let saved = std::fs::metadata(&debug).unwrap().len()
            - std::fs::metadata(stripped(&debug)).unwrap().len();
        // strip also drops alignment padding.
        assert!(
            facts.total() <= saved && facts.total() * 10 >= saved * 9,
            "{facts:?} vs {saved}"
        );
    }

    #[test]
    fn ranges_past_the_head_are_captured_as_the_file_streams() {
        let dir = tempfile::tempdir().unwrap();
        let lib = "int hello(void) { return 42; }\n";
        if gcc(dir.path(), "libhello.so", lib, &["-shared", "-fPIC"]).is_none() {
            return;
        }
        // 3 MiB of read-only data push the dynamic section and the section headers far past the
        // first MiB the walk reads up front.
        let big = "const char big[3 << 20] = {1};\nint hello(void);\nint main(void) { return hello() + big[7]; }\n";
        let program = gcc(
            dir.path(),
            "big",
            big,
            &["-L.", "-lhello", "-Wl,-rpath,$ORIGIN/../lib:/opt/x"],
        )
        .unwrap();
        let facts = ElfFacts::read_file(&program).unwrap();
        assert!(std::fs::metadata(&program).unwrap().len() > 3 << 20);
        assert_eq!(facts.needed, ["libhello.so", "libc.so.6"]);
        assert_eq!(facts.runpaths, ["$ORIGIN/../lib", "/opt/x"]);
        assert!(facts.strippable.unwrap().symbols > 0);

        // Fed in chunks of any size, the same facts.
        let bytes = std::fs::read(&program).unwrap();
        for chunk in [1, 4096, 1 << 20] {
            let mut reader = ElfReader::new(&bytes[..HEAD_LIMIT], bytes.len() as u64).unwrap();
            for piece in bytes[HEAD_LIMIT..].chunks(chunk) {
                reader.feed(piece);
            }
            assert_eq!(reader.finish(), facts, "chunks of {chunk}");
        }
    }

    #[test]
    fn libc_defines_the_glibc_versions_readelf_lists() {
        let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        if !libc.exists() || !require_tool("readelf") {
            eprintln!("SKIPPED: no x86-64 glibc on this machine");
            return;
        }
        let out = Command::new("readelf")
            .arg("-V")
            .arg(libc)
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|w| GlibcVersion::parse(w.trim_start_matches("Name:")))
            .max();
        let facts = ElfFacts::read_file(libc).unwrap();
        assert!(listed.is_some());
        assert_eq!(facts.glibc_defined, listed);
        assert!(
            facts.needed.iter().any(|n| n.starts_with("ld-linux")),
            "{:?}",
            facts.needed
        );
    }

    #[test]
    fn short_or_malformed_heads_are_unknown_and_the_build_check_says_why() {
        assert!(ElfReader::new(b"#!/bin/sh\n", 10).is_none());
        assert!(ElfReader::new(b"\x7fELF\x02\x01", 6).is_none());
        let dir = tempfile::tempdir().unwrap();
        for (bytes, says) in [
            (&b"#!/bin/sh\necho hi\n"[..], "not an ELF binary"),
            (&b"\x7fELF\x02\x01"[..], "malformed ELF"),
        ] {
            let path = dir.path().join("f");
            std::fs::write(&path, bytes).unwrap();
            let err = ElfFacts::read_file(&path).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn glibc_versions_order_numerically() {
        let v = |s| GlibcVersion::parse(s).unwrap();
        assert!(v("GLIBC_2.38") > v("GLIBC_2.4") && v("GLIBC_2.2.5") > v("GLIBC_2.2"));
        assert_eq!(v("GLIBC_2.2.5").to_string(), "GLIBC_2.2.5");
        assert_eq!(GlibcVersion::parse("GLIBC_PRIVATE"), None);
        assert_eq!(GlibcVersion::parse("GCC_3.0"), None);
    }
}
