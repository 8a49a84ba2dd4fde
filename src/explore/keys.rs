//! The key bindings: one table that both maps keys to actions and writes the help screen. dive's
//! keys where dive has one (Tab, arrows and hjkl, Space, Ctrl+F, Ctrl+A/R/M/U, Ctrl+L, Ctrl+O);
//! terminals send Ctrl+M as Enter, so each hide toggle also has a capital letter.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::explore::tree::Change;

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the explorer.
    Quit,
    /// Focus the next pane.
    NextPane,
    /// Focus the previous pane.
    PreviousPane,
    /// Move up one line.
    Up,
    /// Move down one line.
    Down,
    /// Up one page.
    PageUp,
    /// Down one page.
    PageDown,
    /// To the first line.
    Home,
    /// To the last line.
    End,
    /// Collapse the directory, or go to its parent.
    Left,
    /// Expand the directory.
    Right,
    /// Collapse or expand the directory under the cursor.
    Toggle,
    /// Collapse every directory, or expand them all when all are collapsed.
    ToggleAll,
    /// Edit the path filter (a regular expression).
    Filter,
    /// Show or hide one kind of change.
    Hide(Change),
    /// Switch between the selected layer's changes and the filesystem up to it.
    Mode,
    /// Sort by size or by name.
    Sort,
    /// Every layer that touched the path under the cursor.
    History,
    /// The largest paths in the tree shown.
    Largest,
    /// Open: view the file, or jump to the finding's or change's path.
    Open,
    /// Save the file under the cursor, from the layer that ships it.
    Save,
    /// The help screen.
    Help,
    /// Close the popup.
    Close,
}

/// One binding: the keys, how the help names them, what they do.
struct Binding {
    keys: &'static [(KeyModifiers, KeyCode)],
    names: &'static str,
    help: &'static str,
    action: Action,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

#[rustfmt::skip]
const BINDINGS: &[Binding] = &[
    Binding { keys: &[(NONE, KeyCode::Tab)], names: "Tab / Shift+Tab", help: "next / previous pane", action: Action::NextPane },
    Binding { keys: &[(NONE, KeyCode::BackTab)], names: "", help: "", action: Action::PreviousPane },
    Binding { keys: &[(NONE, KeyCode::Up), (NONE, KeyCode::Char('k'))], names: "Up / k", help: "move up", action: Action::Up },
    Binding { keys: &[(NONE, KeyCode::Down), (NONE, KeyCode::Char('j'))], names: "Down / j", help: "move down", action: Action::Down },
    Binding { keys: &[(NONE, KeyCode::PageUp), (CTRL, KeyCode::Char('b'))], names: "PgUp / PgDn", help: "page up / down", action: Action::PageUp },
    Binding { keys: &[(NONE, KeyCode::PageDown)], names: "", help: "", action: Action::PageDown },
    Binding { keys: &[(NONE, KeyCode::Home), (NONE, KeyCode::Char('g'))], names: "Home / End", help: "first / last line", action: Action::Home },
    Binding { keys: &[(NONE, KeyCode::End), (NONE, KeyCode::Char('G'))], names: "", help: "", action: Action::End },
    Binding { keys: &[(NONE, KeyCode::Left), (NONE, KeyCode::Char('h'))], names: "Left / h", help: "collapse the directory, or go to its parent", action: Action::Left },
    Binding { keys: &[(NONE, KeyCode::Right), (NONE, KeyCode::Char('l'))], names: "Right / l", help: "expand the directory", action: Action::Right },
    Binding { keys: &[(NONE, KeyCode::Char(' '))], names: "Space", help: "collapse / expand the directory", action: Action::Toggle },
    Binding { keys: &[(CTRL, KeyCode::Char(' ')), (NONE, KeyCode::Char('z'))], names: "Ctrl+Space / z", help: "collapse / expand all directories", action: Action::ToggleAll },
    Binding { keys: &[(CTRL, KeyCode::Char('f')), (NONE, KeyCode::Char('/'))], names: "Ctrl+F / '/'", help: "filter paths by a regular expression", action: Action::Filter },
    Binding { keys: &[(CTRL, KeyCode::Char('a')), (NONE, KeyCode::Char('A'))], names: "Ctrl+A / A", help: "show / hide added paths", action: Action::Hide(Change::Added) },
    Binding { keys: &[(CTRL, KeyCode::Char('r')), (NONE, KeyCode::Char('R'))], names: "Ctrl+R / R", help: "show / hide removed paths", action: Action::Hide(Change::Removed) },
    Binding { keys: &[(CTRL, KeyCode::Char('m')), (NONE, KeyCode::Char('M'))], names: "Ctrl+M / M", help: "show / hide modified paths", action: Action::Hide(Change::Modified) },
    Binding { keys: &[(CTRL, KeyCode::Char('u')), (NONE, KeyCode::Char('U'))], names: "Ctrl+U / U", help: "show / hide unchanged paths", action: Action::Hide(Change::Unchanged) },
    Binding { keys: &[(CTRL, KeyCode::Char('l'))], names: "Ctrl+L", help: "the layer's changes / the filesystem up to the layer", action: Action::Mode },
    Binding { keys: &[(CTRL, KeyCode::Char('o'))], names: "Ctrl+O", help: "sort by size / by name", action: Action::Sort },
    Binding { keys: &[(NONE, KeyCode::Char('i'))], names: "i", help: "the path's history across layers", action: Action::History },
    Binding { keys: &[(NONE, KeyCode::Char('b'))], names: "b", help: "jump to the largest paths", action: Action::Largest },
    Binding { keys: &[(NONE, KeyCode::Enter), (NONE, KeyCode::Char('v'))], names: "Enter / v", help: "view the file; on a finding or change, jump to its path", action: Action::Open },
    Binding { keys: &[(NONE, KeyCode::Char('s'))], names: "s", help: "save the file from its layer to a path", action: Action::Save },
    Binding { keys: &[(NONE, KeyCode::Char('?'))], names: "?", help: "this help", action: Action::Help },
    Binding { keys: &[(NONE, KeyCode::Esc)], names: "Esc", help: "close the popup", action: Action::Close },
    Binding { keys: &[(NONE, KeyCode::Char('q')), (CTRL, KeyCode::Char('c'))], names: "q / Ctrl+C", help: "quit", action: Action::Quit },
];

/// The action `key` is bound to.
pub fn action(key: KeyEvent) -> Option<Action> {
    // Shift is part of the character ('A', '?'); only Control selects another binding.
    let modifiers = key.modifiers & KeyModifiers::CONTROL;
    BINDINGS
        .iter()
        .find(|b| b.keys.contains(&(modifiers, key.code)))
        .map(|b| b.action)
}

/// The help screen's lines: the keys, and what they do.
pub fn help() -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| !b.names.is_empty())
        .map(|b| (b.names, b.help))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dives_keys_and_their_letters_map_to_the_same_actions() {
        let key = |m, c| action(KeyEvent::new(c, m));
        assert_eq!(
            key(CTRL, KeyCode::Char('a')),
            Some(Action::Hide(Change::Added))
        );
        assert_eq!(
            key(KeyModifiers::SHIFT, KeyCode::Char('A')),
            Some(Action::Hide(Change::Added))
        );
        assert_eq!(key(NONE, KeyCode::Char('a')), None);
        assert_eq!(key(CTRL, KeyCode::Char(' ')), Some(Action::ToggleAll));
        assert_eq!(key(NONE, KeyCode::Char(' ')), Some(Action::Toggle));
        assert_eq!(key(CTRL, KeyCode::Char('c')), Some(Action::Quit));
    }
}
