//! `requirements.txt` as the Python dependency presets read it: `python::read_lockfile` on a file named
//! `requirements.txt`, then names, unpinned packages and the fingerprint (see `common::python_lockfile`).

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::python_lockfile("requirements", "requirements.txt", data);
});
