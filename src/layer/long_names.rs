//! Keeps the tar crate from holding a huge name: a reader between a layer's bytes and
//! `tar::Archive` that follows the tar's blocks and rewrites each GNU long name or long link
//! (`././@LongLink`, types `L`/`K`) and each PAX header (`x`) past a bound before the tar crate
//! reads it. The tar crate reads those whole into memory (`read_all`), so a 64 MiB name in a tiny
//! gzip blob cost 64 MiB and more in every copy made of it. What the tar crate sees instead is the
//! first [`NAME_LIMIT`] bytes of the name (PAX: a `path`/`linkpath` record holding them, other
//! records past [`NAME_LIMIT`] dropped, at most [`PAX_LIMIT`] kept); what was cut (the whole
//! length and digest) is recorded for the entry it names, by header position ([`Cuts::take`]).
//!
//! Every other byte passes unchanged, so a tar without such headers reads exactly as before;
//! the reader follows the tar crate's reading of headers (PAX `size` overriding the header's,
//! GNU sparse extension blocks) only to know where the next header starts, and stops looking
//! (passing the rest through) at whatever the tar crate would reject or end at. Positions the
//! tar crate reports are in the rewritten stream; [`Cuts::input_offset`] maps them back.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use sha2::{Digest as _, Sha256};

use crate::layer::names::{Cut, NAME_LIMIT};

/// The largest PAX header passed as it is, and the most of an oversized one kept.
pub const PAX_LIMIT: usize = 1 << 20;

const BLOCK: usize = 512;

/// What the reader cut, shared with the walk that reads the entries.
#[derive(Debug, Default)]
pub struct Cuts {
    /// The header position (in the rewritten stream) of the entry the last cuts are for, and the
    /// cuts of its name and link target.
    last: Option<(u64, EntryCuts)>,
    /// Per rewrite, the rewritten stream's position after it and the bytes removed up to there.
    shifts: Vec<(u64, u64)>,
}

/// The cut name and link target of one entry.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EntryCuts {
    /// The entry's name, when it was cut.
    pub name: Option<Cut>,
    /// The entry's link target, when it was cut.
    pub link: Option<Cut>,
    /// Whether its PAX header was past [`PAX_LIMIT`] and rebuilt (records may be dropped): a
    /// reader that must keep every record (`optimize`) refuses the entry.
    pub rebuilt: bool,
}

impl Cuts {
    /// The cuts of the entry whose header starts at `header_at` (rewritten stream), if any.
    pub fn take(&mut self, header_at: u64) -> EntryCuts {
        match self.last.take() {
            Some((at, cuts)) if at == header_at => cuts,
            other => {
                self.last = other;
                EntryCuts::default()
            }
        }
    }

    /// The position in the original stream of `at`, a position in the rewritten one.
    pub fn input_offset(&self, at: u64) -> u64 {
        let shift = self
            .shifts
            .iter()
            .take_while(|(from, _)| *from <= at)
            .last()
            .map_or(0, |(_, shift)| *shift);
        at + shift
    }
}

/// Where the reader is in the tar.
enum State {
    /// At a header block.
    Header,
    /// Inside GNU sparse extension blocks, then `data` bytes of content and padding.
    SparseExt { data: u64 },
    /// Inside content and padding, this many bytes left.
    Data(u64),
    /// Past what the tar crate reads as a tar: bytes pass through.
    Through,
}

/// The bounding reader (see the module's documentation).
pub struct Bounded<R> {
    inner: R,
    state: State,
    /// Bytes ready for the reader's caller, from `out_at`.
    out: Vec<u8>,
    out_at: usize,
    /// Bytes given to the caller so far (positions in the rewritten stream).
    given: u64,
    /// The PAX `size` of the entry that comes next, from a PAX header before it.
    pax_size: Option<u64>,
    /// The cuts GNU long names and links made for the entry that comes next, and whether it has
    /// a long name and a long link.
    gnu: EntryCuts,
    gnu_seen: (bool, bool),
    /// The cuts its PAX header made.
    pax: EntryCuts,
    /// Bytes removed so far.
    removed: u64,
    cuts: Rc<RefCell<Cuts>>,
}

impl<R: Read> Bounded<R> {
    /// `inner` bounded, and the cuts it records.
    pub fn new(inner: R) -> (Bounded<R>, Rc<RefCell<Cuts>>) {
        let cuts = Rc::new(RefCell::new(Cuts::default()));
        let bounded = Bounded {
            inner,
            state: State::Header,
            out: Vec::new(),
            out_at: 0,
            given: 0,
            pax_size: None,
            gnu: EntryCuts::default(),
            gnu_seen: (false, false),
            pax: EntryCuts::default(),
            removed: 0,
            cuts: Rc::clone(&cuts),
        };
        (bounded, cuts)
    }

    /// The reader inside, positioned after what was read through this one.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads the next header block and queues what the caller gets for it.
    fn header(&mut self) -> io::Result<()> {
        let mut block = [0u8; BLOCK];
        let n = fill(&mut self.inner, &mut block)?;
        let header_at = self.given + (self.out.len() - self.out_at) as u64;
        self.out.extend_from_slice(&block[..n]);
        if n < BLOCK || block.iter().all(|&b| b == 0) {
            self.state = State::Through;
            return Ok(());
        }
        let header = tar::Header::from_byte_slice(&block);
        let (Ok(cksum), Ok(size)) = (header.cksum(), header.entry_size()) else {
            self.state = State::Through;
            return Ok(());
        };
        if cksum != checksum(&block) {
            self.state = State::Through;
            return Ok(());
        }
        let ty = header.entry_type();
        let extension = ty.is_gnu_longname()
            || ty.is_gnu_longlink()
            || ty.is_pax_local_extensions()
            || ty.is_pax_global_extensions();
        let recognized = header.as_gnu().is_some() || header.as_ustar().is_some();
        if recognized && (ty.is_gnu_longname() || ty.is_gnu_longlink()) {
            let name = ty.is_gnu_longname();
            if name {
                self.gnu_seen.0 = true;
            } else {
                self.gnu_seen.1 = true;
            }
            if size > NAME_LIMIT as u64 {
                self.out.truncate(self.out.len() - BLOCK);
                let (kept, cut) = self.long_name(size)?;
                if name {
                    self.gnu.name = cut;
                } else {
                    self.gnu.link = cut;
                }
                self.replace(&block, size, &kept);
                return Ok(());
            }
        } else if recognized && ty.is_pax_local_extensions() {
            self.out.truncate(self.out.len() - BLOCK);
            let records = self.pax(size)?;
            self.pax_size = pax_size(&records);
            self.replace(&block, size, &records);
            return Ok(());
        } else {
            // The tar crate returns this entry, with what came before it.
            let data = match self.pax_size.take() {
                Some(pax) if !extension => pax,
                _ => size,
            };
            let cuts = self.entry_cuts();
            if cuts != EntryCuts::default() {
                self.cuts.borrow_mut().last = Some((header_at, cuts));
            }
            let sparse = ty.is_gnu_sparse() && header.as_gnu().is_some_and(|g| g.is_extended());
            self.state = if sparse {
                State::SparseExt { data: padded(data) }
            } else {
                State::Data(padded(data))
            };
            return Ok(());
        }
        self.state = State::Data(padded(size));
        Ok(())
    }

    /// The cuts of the entry the extensions read so far describe, as the tar crate picks its
    /// name and link target: a GNU long name (long link) before a PAX `path` (`linkpath`).
    fn entry_cuts(&mut self) -> EntryCuts {
        let (gnu, pax) = (std::mem::take(&mut self.gnu), std::mem::take(&mut self.pax));
        let (name, link) = std::mem::take(&mut self.gnu_seen);
        EntryCuts {
            name: if name { gnu.name } else { pax.name },
            link: if link { gnu.link } else { pax.link },
            rebuilt: pax.rebuilt,
        }
    }

    /// Queues `header` with its size set to `content`'s, then `content` padded, for an entry of
    /// `size` bytes whose content (and padding) was consumed.
    fn replace(&mut self, header: &[u8; BLOCK], size: u64, content: &[u8]) {
        if content.len() as u64 == size {
            self.out.extend_from_slice(header);
        } else {
            let mut header = tar::Header::from_byte_slice(header).clone();
            header.set_size(content.len() as u64);
            header.set_cksum();
            self.out.extend_from_slice(header.as_bytes());
        }
        self.out.extend_from_slice(content);
        let pad = padded(content.len() as u64) as usize - content.len();
        self.out.extend(std::iter::repeat_n(0, pad));
        let removed = padded(size) - padded(content.len() as u64);
        if removed > 0 {
            self.removed += removed;
            let after = self.given + (self.out.len() - self.out_at) as u64;
            self.cuts.borrow_mut().shifts.push((after, self.removed));
        }
        self.state = State::Header;
    }

    /// Consumes a GNU long name of `size` bytes (and its padding): its first [`NAME_LIMIT`]
    /// bytes, and its cut unless a NUL ends the name before them.
    fn long_name(&mut self, size: u64) -> io::Result<(Vec<u8>, Option<Cut>)> {
        let mut content = Content::new(&mut self.inner, size);
        let mut kept = Vec::with_capacity(NAME_LIMIT);
        let mut name = NameValue::default();
        while let Some(chunk) = content.next_chunk()? {
            name.push(chunk, &mut kept);
        }
        content.finish()?;
        Ok((kept, name.cut()))
    }

    /// Consumes a PAX header of `size` bytes (and its padding) and returns the records the tar
    /// crate gets: all of them up to [`PAX_LIMIT`]; past it, `path` and `linkpath` cut to
    /// [`NAME_LIMIT`] (their cuts recorded), the other records each up to [`NAME_LIMIT`] while
    /// their total stays under [`PAX_LIMIT`].
    fn pax(&mut self, size: u64) -> io::Result<Vec<u8>> {
        let mut content = Content::new(&mut self.inner, size);
        if size <= PAX_LIMIT as u64 {
            let mut all = Vec::with_capacity(size as usize);
            while let Some(chunk) = content.next_chunk()? {
                all.extend_from_slice(chunk);
            }
            content.finish()?;
            return Ok(all);
        }
        let mut records = Vec::new();
        let mut cuts = EntryCuts::default();
        let mut parser = Records::default();
        while let Some(chunk) = content.next_chunk()? {
            parser.push(chunk, &mut records, &mut cuts);
        }
        content.finish()?;
        cuts.rebuilt = true;
        self.pax = cuts;
        Ok(records)
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_at < self.out.len() {
                let n = buf.len().min(self.out.len() - self.out_at);
                buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
                self.out_at += n;
                if self.out_at == self.out.len() {
                    self.out.clear();
                    self.out_at = 0;
                }
                self.given += n as u64;
                return Ok(n);
            }
            if buf.is_empty() {
                return Ok(0);
            }
            match self.state {
                State::Through => {
                    let n = self.inner.read(buf)?;
                    self.given += n as u64;
                    return Ok(n);
                }
                State::Data(0) => self.state = State::Header,
                State::Data(left) => {
                    let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = self.inner.read(&mut buf[..n])?;
                    if n == 0 {
                        self.state = State::Through;
                    } else {
                        self.state = State::Data(left - n as u64);
                    }
                    self.given += n as u64;
                    return Ok(n);
                }
                State::SparseExt { data } => {
                    let mut block = [0u8; BLOCK];
                    let n = fill(&mut self.inner, &mut block)?;
                    self.out.extend_from_slice(&block[..n]);
                    self.state = match n {
                        BLOCK if block[504] == 1 => State::SparseExt { data },
                        BLOCK => State::Data(data),
                        _ => State::Through,
                    };
                }
                State::Header => self.header()?,
            }
        }
    }
}

/// Reads as much of `block` as `reader` has, up to all of it; how much.
fn fill(reader: &mut impl Read, block: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < block.len() {
        match reader.read(&mut block[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The header checksum as the tar crate computes it.
fn checksum(block: &[u8; BLOCK]) -> u32 {
    block[..148]
        .iter()
        .chain(&block[156..])
        .map(|&b| u32::from(b))
        .sum::<u32>()
        + 8 * 32
}

/// The PAX `size` as the tar crate reads it: the first `size` record's value, none if a record
/// before it (or its value) does not parse.
fn pax_size(records: &[u8]) -> Option<u64> {
    for record in tar::PaxExtensions::new(records) {
        let record = record.ok()?;
        if record.key() == Ok("size") {
            return record.value().ok()?.parse().ok();
        }
    }
    None
}

fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64) * BLOCK as u64
}

/// The content of an extension entry, read in chunks, then its padding.
struct Content<'a, R> {
    reader: &'a mut R,
    size: u64,
    left: u64,
    buf: Vec<u8>,
}

impl<'a, R: Read> Content<'a, R> {
    fn new(reader: &'a mut R, size: u64) -> Self {
        Content {
            reader,
            size,
            left: size,
            buf: vec![0; 64 << 10],
        }
    }

    /// The next chunk of content, `None` after the last.
    fn next_chunk(&mut self) -> io::Result<Option<&[u8]>> {
        if self.left == 0 {
            return Ok(None);
        }
        let want = self
            .buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = fill(self.reader, &mut self.buf[..want])?;
        if n < want {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the tar ends inside an extension header of {} bytes",
                    self.size
                ),
            ));
        }
        self.left -= n as u64;
        Ok(Some(&self.buf[..n]))
    }

    /// Consumes the padding after the content.
    fn finish(self) -> io::Result<()> {
        let pad = (padded(self.size) - self.size) as usize;
        let mut block = [0u8; BLOCK];
        // A tar may end inside the padding of its last entry (see `walk`): what is there is read.
        fill(self.reader, &mut block[..pad])?;
        Ok(())
    }
}

/// A name streaming by: its first [`NAME_LIMIT`] bytes kept, all of it hashed up to its first
/// NUL (where the name ends).
#[derive(Default)]
struct NameValue {
    hasher: Sha256,
    len: u64,
    ended: bool,
}

impl NameValue {
    fn push(&mut self, chunk: &[u8], kept: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        let (name, ended) = match chunk.iter().position(|&b| b == 0) {
            Some(nul) => (&chunk[..nul], true),
            None => (chunk, false),
        };
        let room = NAME_LIMIT.saturating_sub(kept.len()).min(name.len());
        kept.extend_from_slice(&name[..room]);
        self.hasher.update(name);
        self.len += name.len() as u64;
        self.ended = ended;
    }

    /// The cut, when the name is longer than what was kept.
    fn cut(self) -> Option<Cut> {
        (self.len > NAME_LIMIT as u64).then(|| Cut::new(self.len, self.hasher))
    }
}

/// A streaming parser of PAX records (`LEN KEY=VALUE\n`) that writes the bounded records.
#[derive(Default)]
struct Records {
    /// The start of the current record (its length digits and key), up to the `=`.
    head: Vec<u8>,
    /// Inside a value: the record's key, the value bytes left (newline included), whether the
    /// value is kept, and the kept value or the name being cut.
    value: Option<Value>,
    /// A record did not parse: the rest is dropped.
    broken: bool,
    /// Which of `path` and `linkpath` were seen (the tar crate reads the first of each).
    seen: (bool, bool),
}

struct Value {
    key: Vec<u8>,
    left: u64,
    kept: Vec<u8>,
    name: NameValue,
    how: Keep,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// A record kept whole.
    Whole,
    /// A `path` or `linkpath`, cut past [`NAME_LIMIT`].
    Name,
    /// Dropped.
    Drop,
}

/// The longest `LEN KEY=` a record may start with.
const HEAD_LIMIT: usize = 1024;

impl Records {
    fn push(&mut self, mut chunk: &[u8], out: &mut Vec<u8>, cuts: &mut EntryCuts) {
        while !chunk.is_empty() && !self.broken {
            match &mut self.value {
                None => {
                    let eq = chunk.iter().position(|&b| b == b'=');
                    let take = eq.map_or(chunk.len(), |i| i + 1);
                    self.head.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if self.head.len() > HEAD_LIMIT {
                        self.broken = true;
                    } else if eq.is_some() {
                        self.start_value(out);
                    }
                }
                Some(value) => {
                    let n = chunk
                        .len()
                        .min(usize::try_from(value.left).unwrap_or(usize::MAX));
                    let (piece, rest) = chunk.split_at(n);
                    chunk = rest;
                    value.left -= n as u64;
                    // The value without its closing newline.
                    let body = if value.left == 0 {
                        &piece[..piece.len().saturating_sub(1)]
                    } else {
                        piece
                    };
                    value.push(body);
                    if value.left == 0 {
                        let value = self.value.take().expect("inside a value");
                        value.finish(out, cuts);
                    }
                }
            }
        }
    }

    /// The `LEN KEY=` in `head` is complete: starts its value.
    fn start_value(&mut self, out: &[u8]) {
        let head = std::mem::take(&mut self.head);
        let parsed = std::str::from_utf8(&head[..head.len() - 1])
            .ok()
            .and_then(|h| h.split_once(' '))
            .and_then(|(len, key)| Some((len.parse::<u64>().ok()?, key.as_bytes().to_vec())));
        let Some((len, key)) = parsed.filter(|(len, _)| *len > head.len() as u64) else {
            self.broken = true;
            return;
        };
        let left = len - head.len() as u64;
        let value_len = left - 1;
        let how = match key.as_slice() {
            b"path" if !self.seen.0 => {
                self.seen.0 = true;
                Keep::Name
            }
            b"linkpath" if !self.seen.1 => {
                self.seen.1 = true;
                Keep::Name
            }
            _ if value_len <= NAME_LIMIT as u64
                && out.len() as u64 + len <= (PAX_LIMIT - 2 * NAME_LIMIT) as u64 =>
            {
                Keep::Whole
            }
            _ => Keep::Drop,
        };
        self.value = Some(Value {
            key,
            left,
            kept: Vec::new(),
            name: NameValue::default(),
            how,
        });
    }
}

impl Value {
    fn push(&mut self, body: &[u8]) {
        match self.how {
            Keep::Drop => {}
            Keep::Whole => self.kept.extend_from_slice(body),
            Keep::Name => self.name.push(body, &mut self.kept),
        }
    }

    /// Writes the record (its value as kept) and, for a cut name, its cut.
    fn finish(self, out: &mut Vec<u8>, cuts: &mut EntryCuts) {
        match self.how {
            Keep::Drop => return,
            Keep::Whole => {}
            Keep::Name if self.key == b"path" => cuts.name = self.name.cut(),
            Keep::Name => cuts.link = self.name.cut(),
        }
        out.extend_from_slice(&record(&self.key, &self.kept));
    }
}

/// One PAX record, `LEN KEY=VALUE\n`, LEN counting its own digits.
fn record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // space, `=`, newline
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use crate::layer::names::{decode_name, NAME_LIMIT};
    use crate::layer::walk::{walk, Contents, Entry, EntryKind};

    fn walk_all(data: &[u8]) -> crate::error::Result<Vec<Entry>> {
        let mut out = Vec::new();
        walk(data, Contents::Hash, &mut [], |e| out.push(e))?;
        Ok(out)
    }

    /// A tar: a file named `name` (GNU long name) holding `abc`, a symlink `s` to `target`
    /// (GNU long link), then `after` holding `tail`.
    fn gnu(name: &str, target: &str, tail: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        b.append_data(&mut h, name, &b"abc"[..]).unwrap();
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(tar::EntryType::Symlink);
        l.set_size(0);
        b.append_link(&mut l, "s", target).unwrap();
        let mut t = tar::Header::new_gnu();
        t.set_size(tail.len() as u64);
        b.append_data(&mut t, "after", tail).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn gnu_long_names_and_links_are_cut_and_the_rest_reads_as_before() {
        let name = format!("d/{}", "x".repeat(NAME_LIMIT + 5000));
        let target = "y".repeat(3 * NAME_LIMIT);
        let entries = walk_all(&gnu(&name, &target, b"tail")).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(&*entries[0].path, decode_name(name.as_bytes(), None));
        assert!(entries[0].path.contains("…(cut: 70538 bytes, sha256 "));
        assert_eq!(entries[1].kind, EntryKind::Symlink);
        assert_eq!(
            entries[1].link.as_deref(),
            Some(decode_name(target.as_bytes(), None).as_str())
        );
        assert_eq!((&*entries[2].path, entries[2].size), ("after", 4));
        // A tar without long names is read through unchanged.
        let short = gnu("a/b", "c", b"x");
        let plain = walk_all(&short).unwrap();
        assert_eq!(&*plain[0].path, "a/b");
        assert_eq!(plain[1].link.as_deref(), Some("c"));
    }

    #[test]
    fn huge_pax_records_are_bounded_and_name_the_same_cut_path() {
        let name = format!("p/{}", "z".repeat(2 << 20));
        let target = "w".repeat(NAME_LIMIT + 1);
        let comment = "c".repeat(NAME_LIMIT * 2);
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([
            ("comment", comment.as_bytes()),
            ("path", name.as_bytes()),
            ("linkpath", target.as_bytes()),
        ])
        .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_path("short").unwrap();
        h.set_size(0);
        h.set_cksum();
        b.append(&h, std::io::empty()).unwrap();
        let mut t = tar::Header::new_gnu();
        t.set_size(5);
        b.append_data(&mut t, "after", &b"12345"[..]).unwrap();
        let data = b.into_inner().unwrap();
        let entries = walk_all(&data).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(&*entries[0].path, decode_name(name.as_bytes(), None));
        assert_eq!(
            entries[0].link.as_deref(),
            Some(decode_name(target.as_bytes(), None).as_str())
        );
        assert_eq!((&*entries[1].path, entries[1].size), ("after", 5));
        // The file after the rewritten header cut short: the error names the input's offset.
        let short = &data[..data.len() - 1024 - 512 + 2];
        let err = walk_all(short).unwrap_err().to_string();
        let at = data.len() - 1024 - 512;
        assert!(err.contains(&format!("offset {at}")), "{err}");
    }
}
