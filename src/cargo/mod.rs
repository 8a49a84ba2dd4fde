//! A dependency skeleton for Cargo workspaces, compatible with cargo-chef's `recipe.json`.
//!
//! `strata recipe` reads a workspace ([`prepare`]: the members from [`metadata`], the path crates
//! beside them from [`workspace`]) into a [`recipe::Recipe`]: every local manifest, normalized so
//! that only what can change how dependencies compile is kept ([`normalize`]), local versions
//! masked so a version bump is not a dependency change ([`masking`]), optionally trimmed to what
//! some binaries need ([`minimize`]), plus `Cargo.lock` ([`lockfile`]), the toolchain file and the
//! cargo config, all written canonically ([`tables`]). `strata cook` writes that skeleton with
//! stub sources ([`cook`], [`stubs`]), compiles the dependencies ([`invoke`]) and removes every
//! trace of the local stub units ([`cleanup`]) so the real sources always rebuild.
//! [`fingerprint`] names a recipe with a short stable hash.

pub mod artifact;
pub mod cleanup;
pub mod cook;
pub mod fingerprint;
pub mod invoke;
pub mod lockfile;
pub mod masking;
pub mod metadata;
pub mod minimize;
pub mod normalize;
pub mod prepare;
pub mod recipe;
pub mod stubs;
pub mod tables;
pub mod workspace;

use std::process::Command;

/// A `cargo` command: `$CARGO` when set (strata runs under cargo), else `cargo` from `PATH` (the
/// rustup proxy, which honours the skeleton's `rust-toolchain` file).
pub fn cargo_command() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}
