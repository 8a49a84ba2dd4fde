//! The stub sources cook writes in place of every local target: just enough for cargo to build
//! the target, and so compile every dependency it has. Each carries a crate doc comment so lint
//! settings such as `missing_docs = "deny"` in `RUSTFLAGS` do not break them.

use crate::cargo::recipe::TargetKind;

/// The first line of every stub (a macro so the stubs below can be `concat!`ed constants).
macro_rules! header {
    () => {
        "//! Stub written by `strata cook`; the real sources replace it.\n"
    };
}

/// Libraries and harnessed tests: nothing but the doc comment.
const DOC: &str = header!();

const MAIN: &str = concat!(header!(), "\nfn main() {}\n");

const NO_STD_LIB: &str = concat!(header!(), "\n#![no_std]\n");

/// The panic handler every `no_std` entry point needs.
macro_rules! panic_handler {
    () => {
        "\n#[panic_handler]\nfn on_panic(_: &core::panic::PanicInfo) -> ! {\n    loop {}\n}\n"
    };
}

const NO_STD_MAIN: &str = concat!(header!(), "\n#![no_std]\n#![no_main]\n", panic_handler!());

/// A harnessed test without `std` needs the (nightly) custom test framework feature.
const NO_STD_HARNESS: &str = concat!(
    header!(),
    "\n#![no_std]\n#![no_main]\n#![feature(custom_test_frameworks)]\n#![test_runner(run_tests)]\n",
    "\nfn run_tests(_: &[&dyn Fn()]) {}\n",
    panic_handler!()
);

/// The stub for a target. `harness` matters for tests and benches (`harness = false` needs a
/// `main`); `no_std` gives `#![no_std]` stubs except for proc-macros and build scripts, which
/// always run on the host.
pub fn stub(kind: TargetKind, harness: bool, no_std: bool) -> &'static str {
    match (kind, no_std) {
        (TargetKind::BuildScript, _) => MAIN,
        (
            TargetKind::Lib {
                is_proc_macro: true,
            },
            _,
        )
        | (TargetKind::Lib { .. }, false) => DOC,
        (TargetKind::Lib { .. }, true) => NO_STD_LIB,
        (TargetKind::Bin | TargetKind::Example, false) => MAIN,
        (TargetKind::Bin | TargetKind::Example, true) => NO_STD_MAIN,
        (TargetKind::Test | TargetKind::Bench, false) => {
            if harness {
                DOC
            } else {
                MAIN
            }
        }
        (TargetKind::Test | TargetKind::Bench, true) => {
            if harness {
                NO_STD_HARNESS
            } else {
                NO_STD_MAIN
            }
        }
    }
}

/// Whether a file holds a stub (strata's, or cargo-chef's empty file and `fn main() {}`), so
/// cooking again over a cooked directory is not "overwriting real sources".
pub fn is_stub(contents: &str) -> bool {
    [DOC, MAIN, NO_STD_LIB, NO_STD_MAIN, NO_STD_HARNESS].contains(&contents)
        || matches!(contents.trim(), "" | "fn main() {}" | "#![no_std]")
}
