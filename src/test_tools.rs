//! Unit-test helpers for tests that run host tools (gzip, gcc): a missing tool fails under
//! `CI=true` and skips with a notice elsewhere, as the integration tests' `support::require` does.

/// Whether `tool` runs (`tool --version`); when it does not, panics in CI and prints
/// "SKIPPED: ..." elsewhere so the caller can return.
pub(crate) fn require_tool(tool: &str) -> bool {
    let runs = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        let ci = matches!(std::env::var("CI").as_deref(), Ok("true" | "1" | "yes"));
        assert!(!ci, "{tool} is required in CI but missing");
        eprintln!("SKIPPED: {tool} is missing on this machine (it is required when CI=true)");
    }
    runs
}
