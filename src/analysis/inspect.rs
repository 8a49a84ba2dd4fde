//! What `strata report` learns from the content of layer files while the walk streams them: the
//! secrets in a file's head ([`crate::analysis::secrets`]), how a file would be executed (its `#!`
//! line, or an ELF file's facts read in the same pass), and an XXH3-128 fingerprint of the whole
//! content, which finds duplicate files without the cost of SHA-256, and the name of each project
//! whose manifest the image ships (its own package is code, not a dependency). Each is an
//! [`Inspector`] the walk feeds; what they learn is kept per layer, by entry index, in
//! [`Inspected`].

use std::collections::HashMap;

use xxhash_rust::xxh3::Xxh3;

use crate::analysis::dependencies::classify;
use crate::analysis::secrets::{self, SecretHit};
use crate::ecosystem::{self, Ecosystem};
use crate::layer::elf::ElfReader;
use crate::layer::exec::{shebang, ExecInfo};
use crate::layer::walk::{Entry, Inspector};

/// What the inspectors learned about the files of one layer, by their index in its entries
/// (empty when the layer was walked without inspection).
#[derive(Debug, Clone, Default)]
pub struct Inspected {
    /// Secrets, in walk order (rule and fingerprint only, never the value).
    secrets: Vec<(usize, SecretHit)>,
    /// How files with a `#!` line or ELF headers would be executed.
    exec: HashMap<usize, ExecInfo>,
    /// The XXH3-128 of each regular file's content (a byte array, not a `u128`, to keep the
    /// table small), indexed by entry.
    fingerprints: Vec<Option<[u8; 16]>>,
    /// The projects whose manifests lie outside the dependency trees, by ecosystem.
    projects: Vec<(&'static dyn Ecosystem, String)>,
}

impl Inspected {
    /// The projects the layer ships the manifest of (Python: a `pyproject.toml`'s name).
    pub fn projects(&self) -> impl Iterator<Item = (&'static dyn Ecosystem, &str)> {
        self.projects
            .iter()
            .map(|(eco, name)| (*eco, name.as_str()))
    }

    /// The secrets found, with the index of the file holding each, in walk order.
    pub fn secrets(&self) -> impl Iterator<Item = (usize, &SecretHit)> {
        self.secrets.iter().map(|(entry, hit)| (*entry, hit))
    }

    /// How the file `entry` would be executed, if it is a script or an ELF file.
    pub fn exec(&self, entry: usize) -> Option<&ExecInfo> {
        self.exec.get(&entry)
    }

    /// The fingerprint of the regular file `entry`'s content.
    pub fn fingerprint(&self, entry: usize) -> Option<[u8; 16]> {
        self.fingerprints.get(entry).copied().flatten()
    }

    /// Records how the file `entry` would be executed (for tests of the checks that read it).
    #[cfg(test)]
    pub(crate) fn set_exec(&mut self, entry: usize, exec: ExecInfo) {
        self.exec.insert(entry, exec);
    }

    /// Records the fingerprint of `entry` (for tests of the checks that read it).
    #[cfg(test)]
    pub(crate) fn set_fingerprint(&mut self, entry: usize, fingerprint: [u8; 16]) {
        set(&mut self.fingerprints, entry, fingerprint);
    }

    /// Test layers whose files carry what the inspectors would have learned (`T`), split into
    /// each layer's entries and its side table, which `learn` fills file by file.
    #[cfg(test)]
    pub(crate) fn split<T>(
        layers: &[&[(Entry, T)]],
        learn: impl Fn(&mut Inspected, usize, &T),
    ) -> (Vec<Vec<Entry>>, Vec<Inspected>) {
        layers
            .iter()
            .map(|files| {
                let mut inspected = Inspected::default();
                for (index, (_, learned)) in files.iter().enumerate() {
                    learn(&mut inspected, index, learned);
                }
                (files.iter().map(|(e, _)| e.clone()).collect(), inspected)
            })
            .unzip()
    }
}

/// Sets `table[index]`, growing the table as needed.
fn set<T: Clone>(table: &mut Vec<Option<T>>, index: usize, value: T) {
    if table.len() <= index {
        table.resize(index + 1, None);
    }
    table[index] = Some(value);
}

/// Every inspector `strata report` runs over a layer; [`LayerInspectors::all`] hands them to
/// the walk, [`LayerInspectors::finish`] collects what they learned.
#[derive(Default)]
pub struct LayerInspectors {
    secrets: Secrets,
    exec: Exec,
    fingerprints: Fingerprints,
    projects: Projects,
}

impl LayerInspectors {
    /// The inspectors, for [`crate::layer::walk::walk`].
    pub fn all(&mut self) -> [&mut dyn Inspector; 4] {
        [
            &mut self.secrets,
            &mut self.exec,
            &mut self.fingerprints,
            &mut self.projects,
        ]
    }

    /// What they learned.
    pub fn finish(self) -> Inspected {
        let mut fingerprints = self.fingerprints.found;
        // Kept for the whole analysis, one slot per entry: no spare room from the doubling.
        fingerprints.shrink_to_fit();
        Inspected {
            secrets: self.secrets.found,
            exec: self.exec.found,
            fingerprints,
            projects: self.projects.found,
        }
    }
}

/// Looks for secrets in each file's head.
#[derive(Default)]
struct Secrets {
    found: Vec<(usize, SecretHit)>,
}

impl Inspector for Secrets {
    fn on_file(&mut self, index: usize, entry: &Entry, head: &[u8]) {
        let hits = secrets::scan(&entry.path, head);
        self.found.extend(hits.into_iter().map(|hit| (index, hit)));
    }

    fn on_chunk(&mut self, _: &[u8]) {}

    fn on_end(&mut self) {}
}

/// Reads how each file would be executed: a `#!` line from the head, an ELF file's facts from
/// the head and, when they lie further on, the chunks that follow.
#[derive(Default)]
struct Exec {
    found: HashMap<usize, ExecInfo>,
    /// The ELF file being read past its head.
    reading: Option<(usize, ElfReader<'static>)>,
}

impl Inspector for Exec {
    fn on_file(&mut self, index: usize, entry: &Entry, head: &[u8]) {
        self.reading = None;
        if let Some(reader) = ElfReader::new(head, entry.size) {
            if reader.is_done() {
                self.found.insert(index, ExecInfo::Elf(reader.finish()));
            } else {
                self.reading = Some((index, reader.into_owned()));
            }
        } else if let Some(script) = shebang(head) {
            self.found.insert(index, ExecInfo::Script(script));
        }
    }

    fn on_chunk(&mut self, chunk: &[u8]) {
        if let Some((_, reader)) = &mut self.reading {
            reader.feed(chunk);
        }
    }

    fn on_end(&mut self) {
        if let Some((index, reader)) = self.reading.take() {
            self.found.insert(index, ExecInfo::Elf(reader.finish()));
        }
    }
}

/// Reads the project name of each manifest an ecosystem recognizes, outside its dependency trees
/// (a dependency's own `pyproject.toml` names the dependency, not the project).
#[derive(Default)]
struct Projects {
    found: Vec<(&'static dyn Ecosystem, String)>,
}

impl Inspector for Projects {
    fn on_file(&mut self, _: usize, entry: &Entry, head: &[u8]) {
        for eco in ecosystem::all() {
            if let Some(name) = eco.project_name(&entry.path, head) {
                if classify(&entry.path).is_none() {
                    self.found.push((*eco, name));
                }
            }
        }
    }

    fn on_chunk(&mut self, _: &[u8]) {}

    fn on_end(&mut self) {}
}

/// Fingerprints each file's whole content with XXH3-128.
#[derive(Default)]
struct Fingerprints {
    hasher: Xxh3,
    index: usize,
    found: Vec<Option<[u8; 16]>>,
}

impl Inspector for Fingerprints {
    fn on_file(&mut self, index: usize, _: &Entry, head: &[u8]) {
        self.hasher.reset();
        self.hasher.update(head);
        self.index = index;
    }

    fn on_chunk(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
    }

    fn on_end(&mut self) {
        let digest = self.hasher.digest128().to_le_bytes();
        set(&mut self.found, self.index, digest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::walk::tests::tar_of;
    use crate::layer::walk::{walk, Contents, HEAD_LIMIT};

    /// The entries of the layer `tar` and what the inspectors learned.
    fn inspect(tar: &[u8]) -> (Vec<Entry>, Inspected) {
        let mut inspectors = LayerInspectors::default();
        let mut entries = Vec::new();
        walk(tar, Contents::Inspect, &mut inspectors.all(), |e| {
            entries.push(e)
        })
        .unwrap();
        (entries, inspectors.finish())
    }

    #[test]
    fn secrets_are_found_in_the_head_only() {
        let token = format!("ghp_{}", "x9".repeat(18));
        let late = format!("{}{token}", " ".repeat(HEAD_LIMIT));
        let data = tar_of(&[
            ("app", tar::EntryType::Directory, b""),
            ("app/ci.sh", tar::EntryType::Regular, token.as_bytes()),
            ("app/big.txt", tar::EntryType::Regular, late.as_bytes()),
            ("app/next", tar::EntryType::Regular, b"ok"),
        ]);
        let (entries, inspected) = inspect(&data);
        let found: Vec<(usize, &str)> = inspected.secrets().map(|(i, h)| (i, h.rule.id)).collect();
        assert_eq!(found, [(1, "secret-github-token")]);
        assert_eq!(entries[3].size, 2);
    }

    #[test]
    fn fingerprints_cover_whole_contents_past_the_head() {
        let big = vec![7u8; HEAD_LIMIT + 10];
        let mut changed_tail = big.clone();
        changed_tail[HEAD_LIMIT + 5] = 8;
        let data = tar_of(&[
            ("a", tar::EntryType::Regular, &big),
            ("b", tar::EntryType::Regular, &big),
            ("c", tar::EntryType::Regular, &changed_tail),
            ("d", tar::EntryType::Regular, b"small"),
            ("dir", tar::EntryType::Directory, b""),
        ]);
        let (_, inspected) = inspect(&data);
        let hashes: Vec<Option<[u8; 16]>> = (0..5).map(|i| inspected.fingerprint(i)).collect();
        let of = |b: &[u8]| Some(xxhash_rust::xxh3::xxh3_128(b).to_le_bytes());
        assert_eq!(
            hashes,
            [of(&big), of(&big), of(&changed_tail), of(b"small"), None]
        );
    }

    #[test]
    fn scripts_and_elf_files_past_the_head_are_read_in_the_same_pass() {
        let dir = tempfile::tempdir().unwrap();
        if !crate::test_tools::require_tool("gcc") {
            return;
        }
        // 3 MiB of read-only data push the dynamic section and the section headers far past the
        // head the walk hands over in one piece.
        let source = dir.path().join("big.c");
        std::fs::write(
            &source,
            "const char big[3 << 20] = {1};\nint main(void) { return big[7]; }\n",
        )
        .unwrap();
        let program = dir.path().join("big");
        let built = std::process::Command::new("gcc")
            .arg(&source)
            .arg("-o")
            .arg(&program)
            .arg("-Wl,-rpath,/opt/x")
            .status()
            .unwrap();
        assert!(built.success());
        let facts = crate::layer::elf::ElfFacts::read_file(&program).unwrap();
        assert_eq!(facts.runpaths, ["/opt/x"]);
        let bytes = std::fs::read(&program).unwrap();
        assert!(bytes.len() > HEAD_LIMIT * 3);
        let data = tar_of(&[
            ("app/big", tar::EntryType::Regular, &bytes),
            ("app/run", tar::EntryType::Regular, b"#!/bin/sh\necho hi\n"),
            ("app/big.c", tar::EntryType::Regular, b"int x;\n"),
        ]);
        let (_, inspected) = inspect(&data);
        assert_eq!(inspected.exec(0), Some(&ExecInfo::Elf(facts)));
        assert!(
            matches!(inspected.exec(1), Some(ExecInfo::Script(s)) if s.interpreter == "/bin/sh")
        );
        assert_eq!(inspected.exec(2), None);
        assert_eq!(
            inspected.fingerprint(0),
            Some(xxhash_rust::xxh3::xxh3_128(&bytes).to_le_bytes())
        );
    }
}
