//! `duplicate`: the same content at two or more visible paths, in one layer or across layers,
//! found by size and the XXH3-128 fingerprint the walk computes while the file streams past (no
//! second read, no size floor, no cap on candidates). Hard links cost no bytes and are not
//! files here; a copy a later layer hides is dead bytes, not a duplicate. The copy in the lowest
//! layer (then first by path) is kept; every other copy is reclaimable.

use crate::analysis::bloat::BloatInput;
use crate::analysis::findings::{Finding, Reclaim};
use crate::analysis::rules;
use crate::units::human_bytes;

/// One copy: (layer, entry index, path).
type Place<'a> = (usize, usize, &'a str);

/// A visible file's (size, content fingerprint) and its (layer, entry index).
type Keyed = ((u64, [u8; 16]), (u32, u32));

/// Copies of one content, the kept copy first.
struct Group<'a> {
    size: u64,
    copies: Vec<Place<'a>>,
}

impl Group<'_> {
    fn wasted(&self) -> u64 {
        self.size * (self.copies.len() as u64 - 1)
    }

    fn reclaims(&self) -> impl Iterator<Item = Reclaim> + '_ {
        self.copies[1..].iter().map(|&(layer, entry, _)| Reclaim {
            layer,
            entry,
            bytes: self.size,
        })
    }
}

/// The duplicate groups of the final filesystem, most bytes wasted first.
fn groups<'a>(input: &'a BloatInput) -> Vec<Group<'a>> {
    // Every visible file keyed by (size, content fingerprint), sorted so that copies sit side by
    // side: 32 bytes a file, where a map of lists would cost a heap list per distinct file.
    let mut keyed: Vec<Keyed> = input
        .visible_files()
        .filter_map(|(layer, index, e)| {
            let hash = input.inspected[layer].fingerprint(index)?;
            Some(((e.size, hash), (layer as u32, index as u32)))
        })
        .collect();
    keyed.sort_unstable_by_key(|&(key, _)| key);
    let mut groups: Vec<Group> = keyed
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|same| same.len() > 1)
        .map(|same| {
            let mut copies: Vec<Place> = same
                .iter()
                .map(|&(_, (layer, index))| {
                    let (layer, index) = (layer as usize, index as usize);
                    (layer, index, &*input.entries[layer][index].path)
                })
                .collect();
            copies.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.cmp(b.2)));
            Group {
                size: same[0].0 .0,
                copies,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.wasted()
            .cmp(&a.wasted())
            .then_with(|| a.copies[0].2.cmp(b.copies[0].2))
    });
    groups
}

/// One finding per duplicate group for the `top` largest, then one for all the others, so the
/// net reclaimable total counts every copy.
pub fn find_duplicates(input: &BloatInput) -> Vec<Finding> {
    let groups = groups(input);
    let mut out: Vec<Finding> = groups
        .iter()
        .take(input.top)
        .map(|g| {
            let (kept_layer, _, kept) = g.copies[0];
            let (layer, _, first) = g.copies[1];
            let others: Vec<String> = g.copies[2..]
                .iter()
                .take(4)
                .map(|&(l, _, p)| format!("/{p} (layer {l})"))
                .collect();
            let more = match g.copies.len().saturating_sub(6) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            Finding {
                message: format!(
                    "{} of {} /{kept} (layer {kept_layer}): /{first} (layer {layer}){}{}{more}; {} reclaimable",
                    match g.copies.len() - 1 {
                        1 => "1 extra copy".to_string(),
                        n => format!("{n} extra copies"),
                    },
                    human_bytes(g.size),
                    if others.is_empty() { "" } else { ", " },
                    others.join(", "),
                    human_bytes(g.wasted()),
                ),
                reclaims: g.reclaims().collect(),
                ..Finding::sized(
                    &rules::DUPLICATE,
                    layer,
                    format!("/{first}"),
                    g.wasted(),
                )
            }
        })
        .collect();
    let rest = groups.get(input.top..).unwrap_or_default();
    if let Some(largest) = rest.first() {
        let bytes = rest.iter().map(Group::wasted).sum();
        out.push(Finding {
            message: format!(
                "{} more groups of identical files, {} reclaimable",
                rest.len(),
                human_bytes(bytes)
            ),
            reclaims: rest.iter().flat_map(Group::reclaims).collect(),
            ..Finding::sized(
                &rules::DUPLICATE,
                largest.copies[1].0,
                format!("({} more groups)", rest.len()),
                bytes,
            )
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::dead::stack_layers;
    use crate::analysis::inspect::Inspected;
    use crate::layer::walk::{Entry, EntryKind};

    /// A file and its content (fingerprinted), or one the walk did not fingerprint.
    type File = (Entry, Option<Vec<u8>>);

    fn file(path: &str, content: &[u8]) -> File {
        (
            Entry::test_file(path, content.len() as u64),
            Some(content.to_vec()),
        )
    }

    fn plain(entry: Entry) -> File {
        (entry, None)
    }

    fn duplicates(layers: &[&[File]], top: usize) -> Vec<(String, usize, u64, usize)> {
        let (entries, inspected) = Inspected::split(layers, |inspected, index, content| {
            if let Some(content) = content {
                let hash = xxhash_rust::xxh3::xxh3_128(content).to_le_bytes();
                inspected.set_fingerprint(index, hash);
            }
        });
        let entries: Vec<&[Entry]> = entries.iter().map(Vec::as_slice).collect();
        let inspected: Vec<&Inspected> = inspected.iter().collect();
        let stacked = stack_layers(&entries);
        let input = BloatInput {
            layers: &[],
            entries: &entries,
            inspected: &inspected,
            stacked: &stacked,
            env: &[],
            created: &[],
            top,
        };
        find_duplicates(&input)
            .into_iter()
            .map(|f| (f.path, f.layer, f.bytes, f.reclaims.len()))
            .collect()
    }

    #[test]
    fn groups_identical_visible_files_across_paths_and_layers() {
        let l0 = [file("usr/lib/libx.so", b"library"), file("a", b"aaaa")];
        let l1 = [
            file("app/libx.so", b"library"),
            file("app/copy/libx.so", b"library"),
            file("b", b"aaaa"),
            file("c", b"other"),
        ];
        assert_eq!(
            duplicates(&[&l0, &l1], 5),
            [
                ("/app/copy/libx.so".to_string(), 1, 14, 2),
                ("/b".to_string(), 1, 4, 1)
            ]
        );
    }

    #[test]
    fn hidden_copies_hard_links_empty_and_unfingerprinted_files_are_not_duplicates() {
        let mut link = Entry::test_file("app/link", 0);
        link.kind = EntryKind::Hardlink;
        let l0 = [
            file("old", b"same"),
            file("e1", b""),
            plain(Entry::test_file("plain1", 4)),
        ];
        let l1 = [
            file("new", b"same"),
            plain(Entry::test_file("old", 9)),
            plain(link),
            file("e2", b""),
            plain(Entry::test_file("plain2", 4)),
        ];
        assert_eq!(duplicates(&[&l0, &l1], 5), []);
    }

    #[test]
    fn groups_past_top_are_one_finding_that_still_reclaims_them() {
        let l0: Vec<File> = (0..4)
            .flat_map(|i| {
                let content = vec![b'x'; 10 + i];
                [
                    file(&format!("a{i}"), &content),
                    file(&format!("b{i}"), &content),
                ]
            })
            .collect();
        let found = duplicates(&[&l0], 1);
        assert_eq!(found[0], ("/b3".to_string(), 0, 13, 1));
        assert_eq!(
            found[1],
            ("(3 more groups)".to_string(), 0, 10 + 11 + 12, 3)
        );
    }
}
