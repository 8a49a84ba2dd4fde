//! The terminal while the explorer runs: raw mode and the alternate screen on, and off again on
//! every way out — a normal quit (the guard's drop), an error returned (the same drop), a panic
//! (the panic hook restores before the message prints) and SIGTERM (the interrupt handler's hook).

use std::io::{stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::Terminal;

use crate::error::{Error, Result};

/// Whether the terminal is in the explorer's state (so restoring twice does nothing).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back: raw mode off, the main screen back, the cursor shown. Safe to call
/// from any thread, any number of times.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let mut out = stdout();
        let _ = execute!(out, terminal::LeaveAlternateScreen, cursor::Show);
        let _ = out.flush();
    }
}

/// The terminal in full-screen mode; dropping it restores the terminal.
pub struct TerminalGuard {
    /// What ratatui draws on.
    pub terminal: Terminal<CrosstermBackend<std::io::Stdout>>,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen, and installs the panic and interrupt hooks that
    /// undo it.
    pub fn enter() -> Result<TerminalGuard> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        crate::temp::on_interrupt(restore);
        let failed = |e: std::io::Error| Error::invalid(format!("cannot set up the terminal: {e}"));
        ACTIVE.store(true, Ordering::SeqCst);
        terminal::enable_raw_mode().map_err(failed)?;
        execute!(stdout(), terminal::EnterAlternateScreen, cursor::Hide).map_err(failed)?;
        let terminal = Terminal::new(CrosstermBackend::new(stdout())).map_err(failed)?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
