//! Layer compression: what the media type promises, what the bytes are, and the decoder for them.
//!
//! The media type decides whether a layer is acceptable at all (an unknown one is an error); the magic
//! bytes decide the decoder, and must agree with the media type's promise. estargz layers are
//! concatenated gzip members, so the gzip decoder reads every member.

use std::io::{self, BufRead, BufReader, Read};

use crate::error::{Error, Result};

/// How a layer's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip (and gzip-compatible estargz).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The compression a layer media type promises, or `None` when the media type is not a layer
    /// type strata knows (the caller turns that into an "unknown media type" error).
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        let known_uncompressed = [
            "application/vnd.oci.image.layer.v1.tar",
            "application/vnd.oci.image.layer.nondistributable.v1.tar",
            "application/vnd.docker.image.rootfs.diff.tar",
            "application/vnd.docker.image.rootfs.foreign.diff.tar",
        ];
        let known_gzip = [
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        ];
        let known_zstd = [
            "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
            "application/vnd.docker.image.rootfs.diff.tar.zstd",
        ];
        if known_uncompressed.contains(&media_type) {
            Some(Compression::None)
        } else if known_gzip.contains(&media_type) {
            Some(Compression::Gzip)
        } else if known_zstd.contains(&media_type) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    /// Recognizes gzip and zstd by their magic numbers; anything else is taken as a plain tar.
    pub fn sniff(prefix: &[u8]) -> Compression {
        if prefix.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Opens the uncompressed tar stream of a layer: sniffs the first bytes, checks them against the
/// compression the media type promises (`None` = no promise, as in legacy `docker save` archives),
/// and returns the matching decoder.
pub fn decompress<'a, R: Read + Send + 'a>(
    reader: R,
    promised: Option<Compression>,
) -> Result<(Compression, Box<dyn Read + Send + 'a>)> {
    decompress_buffered(BufReader::with_capacity(256 * 1024, reader), promised)
}

/// [`decompress`] over a reader that buffers already: an uncompressed layer is then read straight
/// from it, with no copy through another buffer.
pub fn decompress_buffered<'a, R: BufRead + Send + 'a>(
    mut buffered: R,
    promised: Option<Compression>,
) -> Result<(Compression, Box<dyn Read + Send + 'a>)> {
    let prefix = buffered
        .fill_buf()
        .map_err(|e| Error::invalid(format!("reading layer: {e}")))?;
    let found = Compression::sniff(prefix);
    if let Some(promised) = promised {
        // A plain tar can legitimately start with any byte, so only a compressed promise is checked
        // against the magic; a compressed stream claiming to be plain tar would fail as a corrupt tar.
        // Plain bytes under a compressed promise are read as the bytes say, as Docker and
        // containers/image do: skopeo 1.9 writes them (`--dest-oci-accept-uncompressed-layers`
        // from a docker-archive keeps `tar+gzip`), and the report shows both (`media_type`,
        // `compression`). One compression promised and another found is an error.
        if promised != Compression::None && found != Compression::None && promised != found {
            return Err(Error::invalid(format!(
                "layer media type says {promised:?} but its bytes are {found:?}"
            )));
        }
    }
    let decoder: Box<dyn Read + Send + 'a> = match found {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| Error::invalid(format!("zstd layer: {e}")))?,
        ),
    };
    Ok((found, decoder))
}

/// Turns a decoder's I/O error into a readable description (truncated streams say so).
pub fn describe_read_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "unexpected end of data (truncated layer?)".to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// `data` gzipped at the fastest level.
    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn media_types_map_to_compressions() {
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+zstd"),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(Compression::from_media_type("application/json"), None);
    }

    #[test]
    fn decodes_concatenated_gzip_members_like_estargz() {
        let mut data = gzip(b"hello ");
        data.extend(gzip(b"world"));
        let (c, mut r) = decompress(&data[..], Some(Compression::Gzip)).unwrap();
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!((c, out.as_str()), (Compression::Gzip, "hello world"));
    }

    #[test]
    fn decodes_zstd() {
        let data = zstd::encode_all(&b"zstd data"[..], 3).unwrap();
        let (c, mut r) = decompress(&data[..], None).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!((c, &out[..]), (Compression::Zstd, &b"zstd data"[..]));
    }

    #[test]
    fn reads_plain_bytes_under_a_gzip_promise_as_plain() {
        let (c, mut r) = decompress(&b"plain tar bytes"[..], Some(Compression::Gzip)).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!((c, &out[..]), (Compression::None, &b"plain tar bytes"[..]));
    }

    #[test]
    fn rejects_a_zstd_promise_over_gzip_bytes() {
        let err = decompress(&gzip(b"x")[..], Some(Compression::Zstd))
            .err()
            .unwrap();
        assert!(err.to_string().contains("says Zstd"), "{err}");
    }

    #[test]
    fn truncated_gzip_is_an_error_not_a_short_read() {
        let data = gzip(&vec![7u8; 100_000]);
        let cut = &data[..data.len() / 2];
        let (_, mut r) = decompress(cut, None).unwrap();
        let err = io::copy(&mut r, &mut io::sink()).unwrap_err();
        assert!(describe_read_error(&err).contains("truncated"), "{err}");
    }
}
