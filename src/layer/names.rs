//! Entry names as strata holds them: the bytes of a tar name in a `String`, decoded so that
//! distinct bytes stay distinct (injective), and names past [`NAME_LIMIT`] cut with a marker.
//!
//! Tar names are bytes, and a layer may hold names that are not UTF-8 (Latin-1 file names,
//! fuzzed or hostile images). A lossy decoding maps every invalid byte to U+FFFD, so `a\xff` and
//! `a\xfe` (and `a\u{fffd}`) become one path: one file hides the other, and a whiteout of one
//! deletes the other. Here each byte that is not part of valid UTF-8 becomes [`BYTE_ESCAPE`]
//! (NUL) followed by its two lowercase hex digits. No name can produce that itself: a name ends
//! at its first NUL, as GNU tar and Go's `archive/tar` read GNU long names (Go rejects a PAX path
//! holding one, and no file system can create one), so every NUL in a decoded name starts an
//! escape and [`pieces`] reads the bytes back exactly. Each output renders the escapes for its
//! sink (`report::escape`: `\xHH` for terminals, Markdown and HTML; JSON as PEP 383
//! surrogate escapes, `\udcHH`).

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

/// The longest name or link target kept, in bytes (16 times Linux's `PATH_MAX`): a longer one
/// (a GNU long name or a PAX `path`/`linkpath` record, which have no limit of their own) keeps
/// its first bytes up to here, then [`cut_marker`]; the rest is hashed as it streams by and
/// never held.
pub const NAME_LIMIT: usize = 64 << 10;

/// The character that starts the escape of a byte that is not UTF-8: NUL, which no decoded name
/// holds otherwise.
pub const BYTE_ESCAPE: char = '\0';

/// The bytes of a tar name as a `String`: up to its first NUL, valid UTF-8 kept, every other
/// byte as [`BYTE_ESCAPE`] and two lowercase hex digits.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.split(|&b| b == 0).next().unwrap_or_default();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            let _ = write!(out, "{BYTE_ESCAPE}{b:02x}");
        }
    }
    out
}

/// A tar entry's name or link target, `bytes` as the tar reader gave them and `cut` what the
/// bounding reader cut before (`layer::long_names`): [`decode`]d when it is at most
/// [`NAME_LIMIT`] bytes, else its first bytes and the marker ([`decode_cut`]).
pub fn decode_name(bytes: &[u8], cut: Option<Cut>) -> String {
    if let Some(cut) = cut {
        return decode_cut(bytes, &cut);
    }
    let name = bytes.split(|&b| b == 0).next().unwrap_or_default();
    if name.len() <= NAME_LIMIT {
        return decode(name);
    }
    let cut = Cut::new(name.len() as u64, Sha256::new_with_prefix(name));
    decode_cut(&name[..NAME_LIMIT], &cut)
}

/// A name cut at [`NAME_LIMIT`]: `kept` (the first bytes, a UTF-8 sequence split by the cut
/// dropped) decoded, then the marker saying how long the whole name was and its digest.
pub fn decode_cut(kept: &[u8], cut: &Cut) -> String {
    let valid_to = match std::str::from_utf8(kept) {
        Ok(_) => kept.len(),
        // At most 3 bytes of a sequence the cut split; an error earlier is the name's own.
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => kept.len(),
    };
    let mut name = decode(&kept[..valid_to]);
    name.push_str(&cut_marker(cut));
    name
}

/// What a cut name was: its length in bytes and the SHA-256 of all of them (so two long names
/// with the same start stay two paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// The whole name's length in bytes.
    pub len: u64,
    /// SHA-256 of the whole name.
    pub sha256: [u8; 32],
}

impl Cut {
    /// The cut of a name whose bytes were hashed by `hasher` and numbered `len`.
    pub fn new(len: u64, hasher: Sha256) -> Cut {
        Cut {
            len,
            sha256: hasher.finalize().into(),
        }
    }
}

/// The marker a cut name ends with: `…(cut: 67108864 bytes, sha256 0123456789abcdef)` (the
/// first 16 hex digits). Only a name over [`NAME_LIMIT`] bytes gets one, so a name that is
/// longer than the limit in strata's output is always a cut one.
pub fn cut_marker(cut: &Cut) -> String {
    format!(
        "…(cut: {} bytes, sha256 {})",
        cut.len,
        hex::encode(&cut.sha256[..8])
    )
}

/// A piece of a decoded name: text, or a byte that was not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text, exactly as the name holds it.
    Text(&'a str),
    /// A byte that is not part of valid UTF-8 (escaped in the `String`).
    Byte(u8),
}

/// The pieces of `s`, a decoded name or any other text: each [`BYTE_ESCAPE`] followed by two
/// lowercase hex digits is a [`Piece::Byte`], everything else text (a NUL that starts no escape
/// included, as config text may hold one).
pub fn pieces(s: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if let Some(byte) = escaped_byte(rest) {
            rest = &rest[3..];
            return Some(Piece::Byte(byte));
        }
        // Text up to the next NUL that starts an escape (a lone NUL is text).
        let mut end = rest.len();
        let mut from = rest.chars().next().map_or(0, char::len_utf8);
        while let Some(at) = rest[from..].find(BYTE_ESCAPE) {
            let at = from + at;
            if escaped_byte(&rest[at..]).is_some() {
                end = at;
                break;
            }
            from = at + 1;
        }
        let (text, tail) = rest.split_at(end);
        rest = tail;
        Some(Piece::Text(text))
    })
}

/// The byte `s` starts with the escape of, if it does.
fn escaped_byte(s: &str) -> Option<u8> {
    hex_byte(s.strip_prefix(BYTE_ESCAPE)?)
}

/// The byte whose two lowercase hex digits `s` starts with (what follows [`BYTE_ESCAPE`] in an
/// escape), if it does: for a writer that meets the escape's NUL apart from its digits.
pub fn hex_byte(s: &str) -> Option<u8> {
    let digits = s.get(..2)?;
    let lower_hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    if !digits.bytes().all(lower_hex) {
        return None;
    }
    u8::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes `s` stands for: [`decode`]'s inverse.
    fn to_bytes(s: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len());
        for piece in pieces(s) {
            match piece {
                Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
                Piece::Byte(b) => out.push(b),
            }
        }
        out
    }

    #[test]
    fn distinct_bytes_stay_distinct_and_come_back() {
        let names: [&[u8]; 5] = [b"a\xff", b"a\xfe", "a\u{fffd}".as_bytes(), b"a", b"\xc3"];
        let decoded: Vec<String> = names.iter().map(|n| decode(n)).collect();
        for (i, a) in decoded.iter().enumerate() {
            assert_eq!(to_bytes(a), names[i]);
            for b in &decoded[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(decode(b"caf\xe9.txt"), "caf\0e9.txt");
        assert_eq!(decode("café".as_bytes()), "café");
    }

    #[test]
    fn a_name_ends_at_its_first_nul() {
        assert_eq!(decode(b"a\0ff"), "a");
        assert_eq!(decode(b"\0"), "");
    }

    #[test]
    fn pieces_split_text_and_bytes() {
        assert_eq!(
            pieces("x\0ffy\0\0zz\0").collect::<Vec<_>>(),
            [
                Piece::Text("x"),
                Piece::Byte(0xff),
                Piece::Text("y\0\0zz\0")
            ]
        );
        assert_eq!(pieces("a\0E9").count(), 1, "upper-case hex is no escape");
        assert_eq!(
            pieces("ü\0ffé").collect::<Vec<_>>(),
            [Piece::Text("ü"), Piece::Byte(0xff), Piece::Text("é")]
        );
    }

    #[test]
    fn a_name_past_the_limit_is_cut_however_it_arrives() {
        let long = vec![b'x'; NAME_LIMIT + 10];
        let name = decode_name(&long, None);
        let marker = format!(
            "…(cut: {} bytes, sha256 {})",
            NAME_LIMIT + 10,
            &hex::encode(Sha256::digest(&long))[..16]
        );
        assert_eq!(name, "x".repeat(NAME_LIMIT) + &marker);
        let mut hasher = Sha256::new();
        hasher.update(&long);
        let cut = Cut::new(long.len() as u64, hasher);
        assert_eq!(decode_name(&long[..NAME_LIMIT], Some(cut)), name);
        assert_eq!(decode_name(b"short\xff", None), "short\0ff");
    }

    #[test]
    fn a_cut_name_drops_the_sequence_the_cut_split() {
        let cut = Cut::new(70_000, Sha256::new());
        let name = decode_cut("ab€".as_bytes().split_at(4).0, &cut);
        assert_eq!(name, "ab…(cut: 70000 bytes, sha256 e3b0c44298fc1c14)");
        assert!(decode_cut(b"a\xff", &cut).starts_with("a\0ff…"));
    }
}
