//! Naive images as a team builds them, for `strata optimize` and its replay: a base, then one
//! app layer holding a venv and the code (`COPY . /app`), then a layer deleting a scratch file
//! and a base file; written as OCI layouts by the test's own tar writer, not by strata.

use std::path::Path;

use super::layout::{noise, tar_bytes_at, write_layout, Comp, Item, Written};

/// The base layer: a file the app layer deletes.
pub fn base_layer() -> Vec<u8> {
    tar_bytes_at(
        &[
            Item::Dir("etc"),
            Item::File("etc/os-release", b"ID=test\n"),
            Item::File("etc/old.conf", b"old\n"),
        ],
        5,
    )
}

/// A naive image: base, a layer with a venv of three dists plus the code and a scratch file,
/// and a layer deleting the scratch file and a base file. `line` is the code's content.
pub fn naive(dir: &Path, mtime: u64, line: &[u8]) -> Written {
    naive_with(dir, mtime, line, &[])
}

/// The site-packages of [`naive`]'s venv.
pub const SP: &str = "app/.venv/lib/python3.11/site-packages";

/// [`naive`] with `extra` files (relative to the venv's site-packages) in its app layer.
pub fn naive_with(dir: &Path, mtime: u64, line: &[u8], extra: &[(&str, &[u8])]) -> Written {
    let sp = SP;
    let big = noise(200_000, 1);
    let mid = noise(50_000, 2);
    let paths: Vec<String> = [
        "alpha/__init__.py",
        "alpha-1.0.dist-info/RECORD",
        "beta/core.py",
        "beta-2.5.dist-info/RECORD",
        "gamma.py",
        "gamma-0.3.dist-info/RECORD",
    ]
    .iter()
    .map(|p| format!("{sp}/{p}"))
    .collect();
    let scratch = noise(30_000, 3);
    let extra: Vec<(String, &[u8])> = extra
        .iter()
        .map(|(p, d)| (format!("{sp}/{p}"), *d))
        .collect();
    let mut items = vec![
        Item::Dir("app"),
        Item::File(&paths[0], &big),
        Item::File(&paths[1], b"alpha/__init__.py,,\n"),
        Item::File(&paths[2], &mid),
        Item::File(&paths[3], b"beta/core.py,,\n"),
        Item::File(&paths[4], b"x = 1\n"),
        Item::File(&paths[5], b"gamma.py,,\n"),
        Item::File("app/src/main.py", line),
        Item::File("app/scratch.bin", &scratch),
    ];
    items.extend(extra.iter().map(|(p, d)| Item::File(p, d)));
    let app = tar_bytes_at(&items, mtime);
    let cleanup = tar_bytes_at(
        &[
            Item::Whiteout("app/scratch.bin"),
            Item::Whiteout("etc/old.conf"),
        ],
        mtime,
    );
    write_layout(
        dir,
        "v",
        &[
            (base_layer(), Comp::Gzip),
            (app, Comp::Gzip),
            (cleanup, Comp::Gzip),
        ],
    )
}

/// The naive image's base alone, in the layout `dir` (tag `v`).
pub fn base(dir: &Path) -> Written {
    write_layout(dir, "v", &[(base_layer(), Comp::Gzip)])
}
