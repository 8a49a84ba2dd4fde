//! Docker's `config.json` as the registry source reads it for credentials:
//! `Credentials::resolve` (through `docker_credential`: `auths` with `auth`, `username`/`password`,
//! `identitytoken`, `credHelpers`, `credsStore`) for Docker Hub, a loopback registry and another
//! host. `DOCKER_CONFIG` points at the target's scratch directory and `PATH` at nowhere, so a
//! credential helper the input names is looked for and not found (no program runs).

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use strata::source::distribution::Credentials;

static ENV: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    ENV.call_once(|| {
        std::env::set_var("DOCKER_CONFIG", common::scratch_dir("docker_config"));
        std::env::set_var("PATH", "/nonexistent-strata-fuzz");
    });
    common::scratch_named("docker_config", "config.json", data);
    for registry in ["index.docker.io", "localhost:5000", "ghcr.io"] {
        let credentials = Credentials::resolve(registry, None);
        let _ = format!("{credentials:?}");
    }
});
