//! The order of a repository's tags in `strata history`: by the configs' `created` instant, then
//! by tag name with numbers compared as numbers (`v9` before `v10`), which stands in for time when
//! reproducible builds give every image the same `created`. Images without a readable `created`
//! come first (oldest).

use std::cmp::Ordering;

use crate::analysis::history::Version;
use crate::timestamp::instant;

/// Compares two versions in time: `Less` when `a` is older.
pub fn chronological(a: &Version, b: &Version) -> Ordering {
    let (ka, kb) = (
        a.created.as_deref().and_then(instant),
        b.created.as_deref().and_then(instant),
    );
    ka.cmp(&kb).then_with(|| natural(&a.tag, &b.tag))
}

/// Compares tag names with runs of digits compared as numbers: `v9` < `v10` < `v10a`.
pub fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (na, ra) = split_digits(a);
                let (nb, rb) = split_digits(b);
                let (ta, tb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
                let by_value = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                let order = by_value.then_with(|| na.len().cmp(&nb.len()));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (ra, rb);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                (a, b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
            }
        }
    }
}

fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::digest::Digest;

    #[test]
    fn tag_names_compare_numbers_as_numbers() {
        let mut tags = ["v10", "v9", "v1.10.0", "v1.9.2", "latest", "v09", "v10a"];
        tags.sort_by(|a, b| natural(a, b));
        assert_eq!(
            tags,
            ["latest", "v1.9.2", "v1.10.0", "v9", "v09", "v10", "v10a"]
        );
    }

    #[test]
    fn versions_are_ordered_by_created_then_name() {
        let version = |tag: &str, created: Option<&str>| Version {
            tag: tag.into(),
            manifest_digest: None,
            config_digest: Digest::sha256_of(b""),
            created: created.map(String::from),
            layers: vec![],
            dependency_layers: Default::default(),
        };
        let mut versions = [
            version("b", Some("2024-01-02T00:00:00Z")),
            version("v10", Some("2024-01-01T00:00:00Z")),
            version("v9", Some("2024-01-01T00:00:00Z")),
            version("none", None),
            version("a", Some("2024-01-02T03:00:00+05:00")),
        ];
        versions.sort_by(chronological);
        let tags: Vec<&str> = versions.iter().map(|v| v.tag.as_str()).collect();
        assert_eq!(tags, ["none", "v9", "v10", "a", "b"]);
    }
}
