//! The order of a repository's tags in `strata history`: by the configs' `created` instant, then
//! by tag name with numbers compared as numbers (`v9` before `v10`), which stands in for time when
//! reproducible builds give every image the same `created`. Images without a readable `created`
//! come first (oldest).

use std::cmp::Ordering;

use crate::analysis::history::Version;

/// Compares two versions in time: `Less` when `a` is older.
pub fn chronological(a: &Version, b: &Version) -> Ordering {
    let (ka, kb) = (
        a.created.as_deref().and_then(instant),
        b.created.as_deref().and_then(instant),
    );
    ka.cmp(&kb).then_with(|| natural(&a.tag, &b.tag))
}

/// An RFC 3339 timestamp (`2024-05-01T12:00:00.5+02:00`) as seconds and nanoseconds since the
/// epoch, so timestamps with different offsets or fraction lengths compare correctly.
pub fn instant(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| b[i] != c) || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, c) in fraction[..digits].bytes().take(9).enumerate() {
            nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let minutes = num(s.len() - 5, 2)? * 60 + num(s.len() - 2, 2)?;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some((secs, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn timestamps_compare_as_instants() {
        assert_eq!(instant("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(instant("2023-11-14T22:13:20Z"), Some((1_700_000_000, 0)));
        assert_eq!(instant("2000-02-29T00:00:00Z"), Some((951_782_400, 0)));
        assert_eq!(
            instant("2023-11-15T00:13:20.25+02:00"),
            Some((1_700_000_000, 250_000_000))
        );
        assert_eq!(
            instant("2023-11-14T21:13:20.123456789123-01:00"),
            Some((1_700_000_000, 123_456_789))
        );
        // As strings, ".5Z" sorts before "Z"; as instants it is later.
        assert!(instant("2024-01-01T00:00:00.5Z") > instant("2024-01-01T00:00:00Z"));
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00Zjunk",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert_eq!(instant(bad), None, "{bad}");
        }
    }

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
