//! strata's integration tests, one binary (the support code compiles once), one module per area:
//! `cargo test --test it [FILTER]`, names `module::test` (`cargo test --test it container::`).
//!
//! The harness (tests/it/support/harness.rs) reports a test whose tool or fixture is missing as
//! `ignored (reason)` by name, never as `ok`; under CI=true a missing tool fails the test. A new
//! area is a file `tests/it/<area>.rs` whose test fns are plain `fn`s listed by its closing
//! `crate::tests![...]`, and its name in the `modules!` list below.

mod support;

/// Declares the test modules and collects their tests, so each is named once.
macro_rules! modules {
    ($($module:ident),+ $(,)?) => {
        $(mod $module;)+

        fn main() -> std::process::ExitCode {
            let mut tests = Vec::new();
            $(tests.extend($module::tests());)+
            support::harness::run(&[$(stringify!($module)),+], tests)
        }
    };
}

modules![
    architecture,
    bloat,
    build,
    cargo_cache,
    cargo_caching,
    cargo_cli,
    cargo_dogfood,
    cargo_skeleton,
    compat,
    container,
    copy,
    crash_safety,
    debian_base,
    diff_check,
    docker,
    dockerfile_gen,
    ecosystems,
    engine,
    explore,
    findings,
    formats,
    fuzz_regressions,
    history,
    hostile,
    hostile_depth,
    hostile_names,
    indexes,
    html,
    journey,
    journey_errors,
    layouts,
    libraries,
    lint,
    mirrors,
    mutate,
    network_faults,
    optimize,
    optimize_ecosystems,
    optimize_seed,
    planted,
    presets,
    push_faults,
    python_fingerprint,
    python_lock,
    replay,
    rebase,
    references,
    reproducible,
    registry,
    registry_tls,
    roles,
    rule_table,
    sample,
    sizes,
    startup,
    verified_layers,
    writers,
];
