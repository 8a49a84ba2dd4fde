//! `strata explore`: the interactive layer explorer. The layer list shows at once, from the
//! manifest and config; a background thread runs `report`'s streaming analysis (and `diff`'s for
//! `--compare`) and fills the file tree layer by layer as scans finish. The modules: [`tree`] the
//! compact change tree, [`load`] the background thread, [`app`] the state and what each key does,
//! [`keys`] the bindings, [`panes`] the drawing, [`terminal`] the guard that restores the
//! terminal, [`files`] viewing and saving a file from its layer.

pub mod app;
pub mod files;
pub mod keys;
pub mod load;
pub mod panes;
pub mod terminal;
pub mod tree;

use std::io::IsTerminal;
use std::sync::mpsc::TryRecvError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyEventKind};

use crate::error::{Error, Result};
use crate::ops::diff::DiffRequest;
use crate::ops::report::ReportRequest;
use crate::ops::{open_image, Reading};
use app::{App, Popup};
use load::Counter;
use terminal::TerminalGuard;

/// How often the screen is drawn again while nothing is typed (the progress line moves).
const TICK: Duration = Duration::from_millis(100);

/// Hidden, for the test of the panic path only (tests/it/explore.rs): when set, the explorer
/// panics once its first screen is drawn, so the test can see the terminal restored and the
/// message readable. Not in `--help`: no user has a reason to set it.
const TEST_PANIC: &str = "STRATA_EXPLORE_TEST_PANIC";

/// What to explore.
pub struct ExploreRequest {
    /// The image, its base, filter and reading options, as `report` takes them (the progress
    /// reporter is the explorer's own).
    pub report: ReportRequest,
    /// The image a deploy is compared against (`--compare`).
    pub compare: Option<String>,
}

/// Runs the explorer until `q`; refuses to start unless standard input and output are a terminal.
pub fn explore(req: ExploreRequest) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "strata explore needs a terminal; for pipes and files use strata report",
        ));
    }
    let counter = Arc::new(Counter::default());
    let mut report = req.report;
    report.reading.progress = counter.clone();
    let opened = Arc::new(open_image(&report.image, &report.reading.source)?);
    let compare = req.compare.as_ref().map(|other| DiffRequest {
        old: other.clone(),
        new: report.image.clone(),
        files: true,
        top: 500,
        base: report.base.clone(),
        reading: Reading {
            source: report.reading.source.clone(),
            threads: report.reading.threads,
            progress: counter.clone(),
        },
    });
    let tree = Arc::new(Mutex::new(tree::ChangeTree::default()));
    let loaded = load::start(opened.clone(), report, compare, tree.clone());
    let mut app = App::new(opened, tree, counter, req.compare);
    let mut guard = TerminalGuard::enter()?;
    let drawn = |e: std::io::Error| Error::invalid(format!("drawing the terminal: {e}"));
    let panic_on_purpose = std::env::var_os(TEST_PANIC).is_some();
    loop {
        loop {
            match loaded.try_recv() {
                Ok(message) => app.on_loaded(message)?,
                Err(TryRecvError::Empty) => break,
                // The loader ends after its last message; before it, only by a panic.
                Err(TryRecvError::Disconnected) if !app.loaded() => {
                    return Err(Error::invalid("the analysis stopped unexpectedly"))
                }
                Err(TryRecvError::Disconnected) => break,
            }
        }
        app.poll_job();
        guard
            .terminal
            .draw(|frame| panes::draw(frame, &mut app))
            .map_err(drawn)?;
        if panic_on_purpose {
            panic!("{TEST_PANIC} is set: the explorer panics on purpose");
        }
        if app.done {
            return Ok(());
        }
        if !event::poll(TICK).map_err(drawn)? {
            continue;
        }
        if let Event::Key(key) = event::read().map_err(drawn)? {
            if key.kind != KeyEventKind::Press {
                continue;
            }
            if matches!(app.popup, Some(Popup::Prompt(_))) {
                app.type_in_prompt(key);
            } else if let Some(action) = keys::action(key) {
                app.act(action);
            }
        }
    }
}
