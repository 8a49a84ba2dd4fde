//! The test harness of the `it` binary (libtest-mimic, `harness = false`): libtest's command line
//! and output, plus what libtest cannot do, reporting a test whose tool or fixture is missing as
//! `ignored (reason)` by name instead of `ok`.
//!
//! A test is a plain `fn()` in its module, listed by the module's closing [`tests!`] line (a test
//! left out of it is dead code, which clippy `-D warnings` refuses). [`skip`] ends a test by
//! unwinding with a [`Skip`] payload that [`run`] turns into `ignored`; the panic hook keeps those
//! unwinds silent. [`note_missing`] records a missing optional part: the test goes on, and then
//! shows as `ignored` with what did not run.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::process::ExitCode;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// One registered test: its full name (`module::fn`) and the function.
pub struct Test {
    name: String,
    run: fn(),
}

impl Test {
    /// A test named `module::name` for the function `run` of the module at `module_path`
    /// (`module_path!()`, whose crate prefix `it::` is dropped).
    pub fn new(module_path: &str, name: &str, run: fn()) -> Test {
        let module = module_path.split_once("::").map_or("", |(_, rest)| rest);
        Test {
            name: format!("{module}::{name}"),
            run,
        }
    }
}

/// Registers the listed test fns of the module it ends: expands to the module's `tests()`, which
/// the `modules!` list in main.rs collects.
#[macro_export]
macro_rules! tests {
    ($($name:ident),+ $(,)?) => {
        /// This module's tests, in the order listed.
        pub(crate) fn tests() -> Vec<$crate::support::harness::Test> {
            vec![$($crate::support::harness::Test::new(module_path!(), stringify!($name), $name)),+]
        }
    };
}

/// The panic payload of a test that cannot run here; the harness reports it as ignored.
pub struct Skip(pub String);

/// Ends the running test as ignored because of `reason` (never a failure, also under CI=true:
/// for a test that does not apply here, e.g. an environment-gated one). Use
/// [`super::require`] for a missing tool, which fails under CI instead.
pub fn skip(reason: impl Into<String>) -> ! {
    panic::panic_any(Skip(reason.into()))
}

thread_local! {
    /// What the running test noted as missing with [`note_missing`].
    static MISSING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Notes that an optional part of the running test did not run because `what` is missing: the
/// test is then reported as ignored, not ok, even when the rest passes.
pub fn note_missing(what: &str) {
    MISSING.with(|m| m.borrow_mut().push(what.to_string()));
}

/// Runs `tests` (and the harness's own layout check over `modules`) with libtest's command line
/// (filters, `--exact`, `--list`, `--include-ignored`, `--test-threads`, …) and summary line.
pub fn run(modules: &[&str], tests: Vec<Test>) -> ExitCode {
    let (mut args, filters) = arguments();
    // libtest's RUST_TEST_THREADS, which libtest-mimic does not read (`.ci/run` sets it: most
    // of these tests wait on Docker, registries and PyPI rather than on the CPU).
    if args.test_threads.is_none() {
        args.test_threads = std::env::var("RUST_TEST_THREADS")
            .ok()
            .and_then(|n| n.parse().ok());
    }
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Skip>() {
            default_hook(info);
        }
    }));
    let modules: Vec<String> = modules.iter().map(|m| m.to_string()).collect();
    let mut trials = vec![Trial::test(
        "harness::every_test_file_is_a_module",
        move || every_test_file_is_a_module(&modules),
    )];
    trials.extend(tests.into_iter().map(|test| {
        let name = test.name.clone();
        Trial::ignorable_test(test.name, move || timed(&name, || outcome(test.run)))
    }));
    if !filters.is_empty() {
        trials.retain(|t| {
            filters.iter().any(|f| match args.exact {
                true => t.name() == f,
                false => t.name().contains(f.as_str()),
            })
        });
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// libtest's command line, and its FILTERs when there are several (libtest runs a test that
/// matches any of them; libtest-mimic takes one, so [`run`] applies several itself, and the
/// summary then does not count what they filtered out).
fn arguments() -> (Arguments, Vec<String>) {
    /// The options that take their value as the next argument.
    const VALUED: &[&str] = &[
        "--test-threads",
        "--logfile",
        "--skip",
        "--color",
        "--format",
        "-Z",
    ];
    let argv: Vec<String> = std::env::args().collect();
    let mut filters = Vec::new();
    let mut rest = vec![argv[0].clone()];
    let mut args = argv[1..].iter();
    while let Some(arg) = args.next() {
        if VALUED.contains(&arg.as_str()) {
            rest.push(arg.clone());
            rest.extend(args.next().cloned());
        } else if arg.starts_with('-') {
            rest.push(arg.clone());
        } else {
            filters.push(arg.clone());
        }
    }
    if filters.len() < 2 {
        return (Arguments::from_args(), Vec::new());
    }
    (Arguments::from_iter(rest), filters)
}

/// Runs one test: a [`Skip`] unwind or a noted missing part is `ignored`, another panic a failure.
/// Tests slower than this are named on stderr with their time, so a CI log shows where its
/// minutes go (libtest-mimic prints no durations).
const SLOW: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `run`, naming the test `name` on stderr when it takes longer than [`SLOW`].
fn timed<T>(name: &str, run: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let result = run();
    let took = started.elapsed();
    if took > SLOW {
        eprintln!("[slow test] {name}: {:.1} s", took.as_secs_f64());
    }
    result
}

fn outcome(test: fn()) -> Result<Completion, Failed> {
    MISSING.with(|m| m.borrow_mut().clear());
    let result = panic::catch_unwind(AssertUnwindSafe(test));
    let missing = MISSING.with(|m| m.take());
    match result {
        Ok(()) if missing.is_empty() => Ok(Completion::Completed),
        Ok(()) => Ok(Completion::ignored_with(format!(
            "the rest passed; did not run without {}",
            missing.join(", ")
        ))),
        Err(payload) => match payload.downcast::<Skip>() {
            Ok(skip) => Ok(Completion::ignored_with(skip.0)),
            Err(payload) => Err(panic_message(payload.as_ref()).into()),
        },
    }
}

/// A panic's message, as libtest prints it.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied());
    match text {
        Some(text) => format!("test panicked: {text}"),
        None => "test panicked".to_string(),
    }
}

/// Every `tests/it/*.rs` is listed in main.rs's `modules!` (an unlisted file would not even be
/// compiled), and `tests/` holds no other test target: one binary compiles the support code once.
fn every_test_file_is_a_module(modules: &[String]) -> Result<(), Failed> {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let rust_files = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read the tests directory")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let stray = rust_files(&tests);
    if !stray.is_empty() {
        return Err(format!(
            "tests/{}.rs: move into tests/it/ as a module (see tests/it/main.rs)",
            stray.join(".rs, tests/")
        )
        .into());
    }
    let unlisted: Vec<String> = rust_files(&tests.join("it"))
        .into_iter()
        .filter(|f| f != "main" && !modules.contains(f))
        .collect();
    if !unlisted.is_empty() {
        return Err(format!(
            "tests/it/{}.rs not in main.rs's modules! list",
            unlisted.join(".rs, tests/it/")
        )
        .into());
    }
    Ok(())
}
