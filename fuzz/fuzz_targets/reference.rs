//! Image references as users type them (`report`, `check`, `copy`, `build --from`...):
//! `ImageRef::parse` and `parse_destination` (transports, paths, registry and Docker Hub names),
//! `Repository::parse`, `registry_host`, `is_loopback` and `pinned_base`, then the parsed
//! reference's display.

#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::source::reference::{pinned_base, registry_host, ImageRef, Repository};
use strata::source::scheme::is_loopback;

const DIGEST: &str = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fuzz_target!(|data: &[u8]| {
    // Command-line arguments reach strata as UTF-8 (clap refuses the rest).
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [ImageRef::parse(s), ImageRef::parse_destination(s)] {
        match parsed {
            Ok(r) => {
                let _ = r.to_string();
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    if let Ok(repo) = Repository::parse(s) {
        let _ = (repo.registry(), repo.path(), repo.is_short_name());
        let _ = (repo.tagged("latest"), repo.to_string());
    }
    if let Some(host) = registry_host(s) {
        let _ = is_loopback(host);
    }
    let _ = is_loopback(s);
    let _ = pinned_base(s, Some(DIGEST));
    let _ = pinned_base(s, None);
});
