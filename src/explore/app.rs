//! The explorer's state — the image's layers, the selected layer, the tree view and its
//! settings, the panes' cursors, the popup — and what each action does to it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::analysis::roles::{self, Evidence, OwnPackages, Role};
use crate::error::Result;
use crate::explore::files;
use crate::explore::keys::Action;
use crate::explore::load::{lock, Counter, Loaded, SharedTree};
use crate::explore::tree::{Change, Mode, Sort, Touch, View, ViewSpec};
use crate::ops::diff::Diffed;
use crate::ops::report::Reported;
use crate::report::escape;
use crate::source::OpenedImage;
use crate::units::human_bytes;

/// The panes that take the cursor, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The layer list.
    Layers,
    /// The file tree.
    Tree,
    /// Findings and dead files.
    Findings,
    /// The `--compare` delta.
    Compare,
}

/// A line of an input prompt: what it is for, and the text typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The filter, or the destination of a save.
    pub kind: PromptKind,
    /// What was typed.
    pub text: String,
}

/// What a prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// The tree's path filter (applied as it is typed).
    Filter,
    /// Where to save the file under the cursor.
    Save,
}

/// A window over the panes.
pub enum Popup {
    /// The key table.
    Help,
    /// Every layer that touched a path.
    History {
        /// The path.
        path: String,
        /// What each layer did.
        touches: Vec<Touch>,
    },
    /// The largest paths of the tree shown.
    Largest {
        /// Node, path and bytes, largest first.
        items: Vec<(u32, String, u64)>,
        /// The selected item.
        cursor: usize,
    },
    /// A file's head.
    Pager {
        /// The path and layer.
        title: String,
        /// The lines (escaped).
        lines: Vec<String>,
        /// The first line shown.
        scroll: usize,
    },
    /// An input line.
    Prompt(Prompt),
}

/// A line of the findings or compare pane, and where Enter takes the tree.
#[derive(Debug, Clone)]
pub struct Line {
    /// What the pane shows (escaped).
    pub text: String,
    /// The layer and path it is about, when it has one.
    pub jump: Option<(usize, String)>,
    /// A mark to colour the line with.
    pub change: Option<Change>,
}

/// One layer as the layer pane shows it.
#[derive(Debug, Clone)]
pub struct LayerRow {
    /// Compressed digest, when the manifest names it.
    pub digest: Option<String>,
    /// Uncompressed digest.
    pub diff_id: String,
    /// Bytes a pull transfers (from the manifest until the layer is read).
    pub compressed: Option<u64>,
    /// Bytes of the tar, once read.
    pub uncompressed: Option<u64>,
    /// The history command (escaped).
    pub created_by: String,
    /// Its role, once known.
    pub role: Option<Role>,
    /// Bytes it ships that later layers hide, once analyzed.
    pub dead: Option<u64>,
    /// Bytes its findings could give back, once analyzed.
    pub reclaimable: Option<u64>,
    /// Its findings (escaped lines).
    pub findings: Vec<String>,
    /// What a deploy where `--compare`'s image runs downloads of it (`Some(0)`: shared).
    pub deploy: Option<u64>,
}

/// The whole explorer.
pub struct App {
    /// The image, for file actions.
    pub image: Arc<OpenedImage>,
    /// What is known of each layer.
    pub layers: Vec<LayerRow>,
    /// The tree the loader fills.
    pub tree: SharedTree,
    /// Bytes read, for the progress line.
    pub counter: Arc<Counter>,
    /// The analysis, once done.
    pub reported: Option<Box<Reported>>,
    /// `--compare`'s image, when given, and its comparison once done.
    pub compare: Option<(String, Option<Box<Diffed>>)>,
    /// The focused pane.
    pub focus: Focus,
    /// The selected layer.
    pub layer: usize,
    /// Changes or aggregated.
    pub mode: Mode,
    /// Sibling order.
    pub sort: Sort,
    /// Hidden change kinds.
    pub hidden: [bool; 4],
    /// The filter as typed, and compiled (when valid and not empty).
    pub filter: (String, Option<regex::Regex>),
    /// Collapsed directories.
    pub collapsed: HashSet<u32>,
    /// The tree pane's rows.
    pub view: View,
    /// Set when the view must be built again.
    pub stale: bool,
    /// The tree cursor.
    pub cursor: usize,
    /// Findings pane lines and cursor.
    pub findings: (Vec<Line>, usize),
    /// Compare pane lines and cursor.
    pub changes: (Vec<Line>, usize),
    /// The popup shown, if any.
    pub popup: Option<Popup>,
    /// The last action's outcome (escaped).
    pub message: String,
    /// Rows of the tree pane at the last draw (a page).
    pub page: usize,
    /// The file action running, if any.
    pub job: Option<files::Job>,
    /// Set by quit.
    pub done: bool,
}

impl App {
    /// The explorer's first state: the layers from the manifest and config, nothing read yet.
    pub fn new(
        image: Arc<OpenedImage>,
        tree: SharedTree,
        counter: Arc<Counter>,
        compare: Option<String>,
    ) -> App {
        let model = &image.image;
        let history = model.config.layer_history(model.layers.len());
        let evidence: Vec<Evidence> = model
            .config
            .diff_ids
            .iter()
            .zip(&history)
            .map(|(diff_id, history)| Evidence {
                diff_id,
                history: *history,
                entries: None,
            })
            .collect();
        let known = roles::assign_known(&evidence, None, &OwnPackages::default());
        let layers = model
            .layers
            .iter()
            .zip(&history)
            .enumerate()
            .map(|(i, (layer, history))| LayerRow {
                digest: layer.digest.as_ref().map(|d| d.to_string()),
                diff_id: layer.diff_id.to_string(),
                compressed: layer.size,
                uncompressed: None,
                created_by: history
                    .and_then(|h| h.created_by.as_deref())
                    .map(|c| escape::terminal(c).into_owned())
                    .unwrap_or_default(),
                role: known.get(i).copied().flatten(),
                dead: None,
                reclaimable: None,
                findings: Vec::new(),
                deploy: None,
            })
            .collect();
        App {
            image,
            layers,
            tree,
            counter,
            reported: None,
            compare: compare.map(|c| (c, None)),
            focus: Focus::Layers,
            layer: 0,
            mode: Mode::LayerChanges,
            sort: Sort::Size,
            hidden: [false; 4],
            filter: (String::new(), None),
            collapsed: HashSet::new(),
            view: View {
                rows: Vec::new(),
                largest: Vec::new(),
            },
            stale: true,
            cursor: 0,
            findings: (Vec::new(), 0),
            changes: (Vec::new(), 0),
            popup: None,
            message: String::new(),
            page: 10,
            job: None,
            done: false,
        }
    }

    /// Whether the loader has said all it will: the analysis, and the comparison when asked.
    pub fn loaded(&self) -> bool {
        self.reported.is_some() && !matches!(self.compare, Some((_, None)))
    }

    /// Takes in what the loader says; a failure ends the explorer with it.
    pub fn on_loaded(&mut self, loaded: Loaded) -> Result<()> {
        match loaded {
            Loaded::Layer(_) => self.stale = true,
            Loaded::Report(reported) => self.take_report(reported),
            Loaded::Compare(diffed) => self.take_compare(diffed),
            Loaded::Failed(e) => return Err(e),
        }
        Ok(())
    }

    fn take_report(&mut self, reported: Box<Reported>) {
        let analysis = &reported.report.analysis;
        for (row, layer) in self.layers.iter_mut().zip(&analysis.layers) {
            row.digest = Some(layer.digest.to_string());
            row.compressed = Some(layer.compressed_bytes);
            row.uncompressed = Some(layer.uncompressed_bytes);
            row.role = Some(layer.role);
            row.dead = Some(layer.dead_bytes);
            // What fixing the layer's findings gives back, each file counted once.
            let own: Vec<_> = analysis
                .findings
                .iter()
                .filter(|f| f.layer == layer.index)
                .cloned()
                .collect();
            row.reclaimable = Some(crate::analysis::reclaim::net_reclaimable(&own).total);
        }
        let mut lines = Vec::new();
        for f in &analysis.findings {
            if let Some(row) = self.layers.get_mut(f.layer) {
                row.findings.push(escape::terminal(&f.message).into_owned());
            }
            lines.push(Line {
                text: escape::terminal(&format!(
                    "{:<6} {:<18} L{:<2} {:>9}  {}",
                    f.severity.as_str(),
                    f.rule.id,
                    f.layer,
                    human_bytes(f.bytes),
                    f.path
                ))
                .into_owned(),
                jump: Some((f.layer, f.path.clone())),
                change: None,
            });
        }
        let dive = &analysis.dive;
        lines.push(Line {
            text: format!(
                "dead files: {} ({}); dive: efficiency {}, wasted {}",
                analysis.dead_bytes.files,
                human_bytes(analysis.dead_bytes.total),
                crate::units::percent(dive.efficiency),
                human_bytes(dive.wasted_bytes)
            ),
            jump: None,
            change: None,
        });
        for d in &analysis.dead_bytes.top {
            lines.push(Line {
                text: escape::terminal(&format!(
                    "dead   L{}→L{:<2} {:>9}  {}",
                    d.layer,
                    d.hidden_by,
                    human_bytes(d.bytes),
                    d.path
                ))
                .into_owned(),
                jump: Some((d.layer, d.path.clone())),
                change: None,
            });
        }
        self.findings = (lines, 0);
        self.message = format!(
            "analyzed: {} findings, {} reclaimable, {} dead",
            analysis.findings.len(),
            human_bytes(analysis.reclaimable.total),
            human_bytes(analysis.dead_bytes.total)
        );
        self.reported = Some(reported);
    }

    fn take_compare(&mut self, diffed: Box<Diffed>) {
        let diff = &diffed.diff;
        for layer in &diff.shared_layers {
            if let Some(row) = self.layers.get_mut(layer.index) {
                row.deploy = Some(0);
            }
        }
        for layer in &diff.added_layers {
            if let Some(row) = self.layers.get_mut(layer.index) {
                row.deploy = Some(layer.compressed_bytes);
            }
        }
        let top = self.layers.len().saturating_sub(1);
        let mut lines = vec![Line {
            text: format!(
                "pull {} ({} of {} layers), push {}",
                human_bytes(diff.pull_bytes),
                diff.added_layers.len(),
                diff.new.layers,
                human_bytes(diff.push_bytes)
            ),
            jump: None,
            change: None,
        }];
        for f in diff.files.iter().flatten() {
            use crate::analysis::diff::files::Change as FileChange;
            let change = match f.change {
                FileChange::Added => Change::Added,
                FileChange::Removed => Change::Removed,
                FileChange::Modified | FileChange::MetadataOnly => Change::Modified,
            };
            let bytes = f.new_bytes.or(f.old_bytes).unwrap_or(0);
            lines.push(Line {
                text: escape::terminal(&format!(
                    "{} {:>9}  {}",
                    change.letter(),
                    human_bytes(bytes),
                    f.path
                ))
                .into_owned(),
                jump: Some((top, f.path.clone())),
                change: Some(change),
            });
        }
        if let Some(total) = diff.files_total.filter(|&t| t + 1 > lines.len()) {
            lines.push(Line {
                text: format!("… {} changed paths in all", total),
                jump: None,
                change: None,
            });
        }
        self.changes = (lines, 0);
        if let Some((_, slot)) = &mut self.compare {
            *slot = Some(diffed);
        }
    }

    /// Builds the tree view again when something it depends on changed, keeping the cursor on
    /// the same path when it is still shown.
    pub fn refresh(&mut self) {
        if !self.stale {
            return;
        }
        self.stale = false;
        let keep = self.view.rows.get(self.cursor).map(|r| r.node);
        let tree = lock(&self.tree);
        self.view = View::build(
            &tree,
            &ViewSpec {
                layer: self.layer,
                mode: self.mode,
                hidden: self.hidden,
                filter: self.filter.1.as_ref(),
                collapsed: &self.collapsed,
                sort: self.sort,
            },
        );
        drop(tree);
        self.cursor = keep
            .and_then(|n| self.view.rows.iter().position(|r| r.node == n))
            .unwrap_or(self.cursor)
            .min(self.view.rows.len().saturating_sub(1));
    }

    /// The progress line: layers in the tree, bytes read, what is still running.
    pub fn progress(&self) -> String {
        let applied = lock(&self.tree).applied();
        let read = self.counter.read.load(Ordering::Relaxed);
        let total = self.counter.total.load(Ordering::Relaxed);
        let compare = match &self.compare {
            Some((name, None)) if self.reported.is_some() => {
                format!("; comparing with {}", escape::terminal(name))
            }
            _ => String::new(),
        };
        let job = match &self.job {
            Some(job) => format!(
                "; {}: {} of {}",
                job.what,
                human_bytes(job.read.load(Ordering::Relaxed)),
                human_bytes(job.total)
            ),
            None => String::new(),
        };
        if self.reported.is_some() {
            return format!("{} layers read{compare}{job}", self.layers.len());
        }
        format!(
            "reading layers: {applied} of {} in the tree, {} of {} read; analyzing{compare}{job}",
            self.layers.len(),
            human_bytes(read),
            human_bytes(total)
        )
    }

    /// Takes in the file action's outcome once it is done: the pager, or the save's line.
    pub fn poll_job(&mut self) {
        let Some(outcome) = self.job.as_ref().and_then(|job| job.finished()) else {
            return;
        };
        self.job = None;
        match outcome {
            Ok(files::Outcome::Head {
                title,
                lines: Some(lines),
            }) => {
                self.popup = Some(Popup::Pager {
                    title,
                    lines,
                    scroll: 0,
                })
            }
            Ok(files::Outcome::Head { title, lines: None }) => {
                self.message = format!("{title}: binary, not shown (s saves it)")
            }
            Ok(files::Outcome::Saved(line)) => self.message = line,
            Err(e) => self.message = escape::terminal(&e.to_string()).into_owned(),
        }
    }

    /// Starts a file action on the file under the cursor unless one runs; `work` gets the image,
    /// the layer that ships the file, its path and the byte counter.
    fn start_job(
        &mut self,
        what: &str,
        work: impl FnOnce(
                &OpenedImage,
                usize,
                &str,
                &std::sync::atomic::AtomicU64,
            ) -> Result<files::Outcome>
            + Send
            + 'static,
    ) {
        if let Some(job) = &self.job {
            self.message = format!("busy: {}", job.what);
            return;
        }
        let Some(row) = self.view.rows.get(self.cursor).copied() else {
            return;
        };
        let path = lock(&self.tree).path(row.node);
        let Some(layer) = self.provider(row.node) else {
            self.message = format!("{}: removed in this layer", escape::terminal(&path));
            return;
        };
        let image = self.image.clone();
        let what = escape::terminal(&format!("{what} {path}")).into_owned();
        self.job = Some(files::Job::spawn(what, row.size, move |read| {
            work(&image, layer, &path, read)
        }));
    }

    /// Does what `action` asks in the focused pane or the popup.
    pub fn act(&mut self, action: Action) {
        if action == Action::Quit {
            self.done = true;
            return;
        }
        if self.popup.is_some() {
            self.act_in_popup(action);
            return;
        }
        match action {
            Action::NextPane | Action::PreviousPane => self.cycle_focus(action),
            Action::Filter => {
                self.popup = Some(Popup::Prompt(Prompt {
                    kind: PromptKind::Filter,
                    text: self.filter.0.clone(),
                }))
            }
            Action::Hide(change) => {
                self.hidden[change.slot()] ^= true;
                self.stale = true;
            }
            Action::Mode => {
                self.mode = match self.mode {
                    Mode::LayerChanges => Mode::Aggregated,
                    Mode::Aggregated => Mode::LayerChanges,
                };
                self.stale = true;
            }
            Action::Sort => {
                self.sort = match self.sort {
                    Sort::Size => Sort::Name,
                    Sort::Name => Sort::Size,
                };
                self.stale = true;
            }
            Action::ToggleAll => self.toggle_all(),
            Action::Help => self.popup = Some(Popup::Help),
            Action::Largest => self.show_largest(),
            _ => match self.focus {
                Focus::Layers => self.act_on_layers(action),
                Focus::Tree => self.act_on_tree(action),
                Focus::Findings => act_on_lines(self, action, findings_lines),
                Focus::Compare => act_on_lines(self, action, compare_lines),
            },
        }
    }

    fn cycle_focus(&mut self, action: Action) {
        let mut panes = vec![Focus::Layers, Focus::Tree, Focus::Findings];
        if self.compare.is_some() {
            panes.push(Focus::Compare);
        }
        let at = panes.iter().position(|&p| p == self.focus).unwrap_or(0);
        let next = match action {
            Action::PreviousPane => at + panes.len() - 1,
            _ => at + 1,
        };
        self.focus = panes[next % panes.len()];
    }

    fn act_on_layers(&mut self, action: Action) {
        let last = self.layers.len().saturating_sub(1);
        let layer = moved(self.layer, last, self.page, action).unwrap_or(self.layer);
        if layer != self.layer {
            self.layer = layer;
            self.cursor = 0;
            self.stale = true;
        } else if action == Action::Open || action == Action::Right {
            self.focus = Focus::Tree;
        }
    }

    fn act_on_tree(&mut self, action: Action) {
        let last = self.view.rows.len().saturating_sub(1);
        if let Some(cursor) = moved(self.cursor, last, self.page, action) {
            self.cursor = cursor;
            return;
        }
        let Some(row) = self.view.rows.get(self.cursor).copied() else {
            return;
        };
        let tree = lock(&self.tree);
        let (is_dir, path) = (tree.is_dir(row.node), tree.path(row.node));
        let parent = tree.parent(row.node);
        drop(tree);
        match action {
            Action::Toggle if is_dir => {
                if !self.collapsed.remove(&row.node) {
                    self.collapsed.insert(row.node);
                }
                self.stale = true;
            }
            Action::Right if is_dir => {
                self.stale |= self.collapsed.remove(&row.node);
            }
            Action::Left => {
                if is_dir && !self.collapsed.contains(&row.node) {
                    self.collapsed.insert(row.node);
                    self.stale = true;
                } else if let Some(at) = self.view.rows.iter().position(|r| r.node == parent) {
                    self.cursor = at;
                }
            }
            Action::History => {
                let touches = lock(&self.tree).history(row.node);
                self.popup = Some(Popup::History { path, touches });
            }
            Action::Open if !is_dir => self.view_file(),
            Action::Save if !is_dir => {
                let name = path.rsplit('/').next().unwrap_or("file");
                self.popup = Some(Popup::Prompt(Prompt {
                    kind: PromptKind::Save,
                    text: format!("./{name}"),
                }));
            }
            _ => {}
        }
    }

    /// The layer whose bytes the tree shows for node `n`.
    fn provider(&self, n: u32) -> Option<usize> {
        lock(&self.tree).provider(n, self.layer)
    }

    fn view_file(&mut self) {
        self.start_job("reading", |image, layer, path, read| {
            let head = files::head(image, layer, path, read)?;
            Ok(files::Outcome::Head {
                title: escape::terminal(&format!("{path} (layer {layer})")).into_owned(),
                lines: files::text_lines(&head),
            })
        });
    }

    fn save_file(&mut self, dest: &str) {
        let dest = PathBuf::from(dest);
        self.start_job("saving", move |image, layer, path, read| {
            let bytes = files::save(image, layer, path, &dest, read)?;
            Ok(files::Outcome::Saved(
                escape::terminal(&format!(
                    "saved {path} ({}) from layer {layer} to {}",
                    human_bytes(bytes),
                    dest.display()
                ))
                .into_owned(),
            ))
        });
    }

    fn toggle_all(&mut self) {
        if self.collapsed.is_empty() {
            let tree = lock(&self.tree);
            let all: HashSet<u32> = (1..tree.len() as u32)
                .filter(|&n| tree.is_dir(n) && tree.children(n).next().is_some())
                .collect();
            drop(tree);
            self.collapsed = all;
        } else {
            self.collapsed.clear();
        }
        self.stale = true;
    }

    fn show_largest(&mut self) {
        self.refresh();
        let tree = lock(&self.tree);
        let items = self
            .view
            .largest
            .iter()
            .take(20)
            .map(|&(n, bytes)| (n, tree.path(n), bytes))
            .collect();
        drop(tree);
        self.popup = Some(Popup::Largest { items, cursor: 0 });
    }

    /// Shows `path` of layer `layer` in the tree: that layer selected, its directories expanded,
    /// the cursor on it.
    fn jump(&mut self, layer: usize, path: &str, mode: Mode) {
        let tree = lock(&self.tree);
        let Some(node) = tree.find(path) else {
            self.message = format!("{}: not in the tree", escape::terminal(path));
            return;
        };
        let mut at = tree.parent(node);
        while at != crate::explore::tree::NONE {
            self.collapsed.remove(&at);
            at = tree.parent(at);
        }
        drop(tree);
        self.layer = layer.min(self.layers.len().saturating_sub(1));
        self.mode = mode;
        self.stale = true;
        self.refresh();
        match self.view.rows.iter().position(|r| r.node == node) {
            Some(row) => {
                self.cursor = row;
                self.focus = Focus::Tree;
            }
            None => {
                self.message = format!(
                    "{}: hidden by the filter or the hidden kinds",
                    escape::terminal(path)
                )
            }
        }
    }

    fn act_in_popup(&mut self, action: Action) {
        let Some(popup) = &mut self.popup else {
            return;
        };
        match popup {
            Popup::Pager { lines, scroll, .. } => {
                let last = lines.len().saturating_sub(1);
                match moved(*scroll, last, self.page, action) {
                    Some(s) => *scroll = s,
                    None => self.popup = None,
                }
            }
            Popup::Largest { items, cursor } => {
                let last = items.len().saturating_sub(1);
                if let Some(c) = moved(*cursor, last, self.page, action) {
                    *cursor = c;
                } else if action == Action::Open {
                    let target = items.get(*cursor).map(|(_, path, _)| path.clone());
                    self.popup = None;
                    if let Some(path) = target {
                        self.jump(self.layer, &path, self.mode);
                    }
                } else {
                    self.popup = None;
                }
            }
            Popup::Prompt(_) => {}
            Popup::Help | Popup::History { .. } => self.popup = None,
        }
    }

    /// A key typed while a prompt is open: edits it; Enter accepts, Esc cancels.
    pub fn type_in_prompt(&mut self, key: ratatui::crossterm::event::KeyEvent) {
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
        let Some(Popup::Prompt(prompt)) = &mut self.popup else {
            return;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => self.done = true,
            KeyCode::Char(c) if !ctrl => prompt.text.push(c),
            KeyCode::Backspace => {
                prompt.text.pop();
            }
            KeyCode::Enter => {
                let prompt = prompt.clone();
                self.popup = None;
                if prompt.kind == PromptKind::Save {
                    self.save_file(&prompt.text);
                }
            }
            KeyCode::Esc => {
                let kind = prompt.kind;
                self.popup = None;
                if kind == PromptKind::Filter {
                    self.set_filter(String::new());
                }
                return;
            }
            _ => {}
        }
        if let Some(Popup::Prompt(p)) = &self.popup {
            if p.kind == PromptKind::Filter {
                let text = p.text.clone();
                self.set_filter(text);
            }
        }
    }

    fn set_filter(&mut self, text: String) {
        if text == self.filter.0 {
            return;
        }
        let compiled = match text.is_empty() {
            true => None,
            false => match regex::Regex::new(&text) {
                Ok(re) => Some(re),
                Err(_) => {
                    self.message = "filter: not a valid regular expression yet".into();
                    self.filter.0 = text;
                    return;
                }
            },
        };
        self.message.clear();
        self.filter = (text, compiled);
        self.stale = true;
    }

    /// The line jumped to from the findings or compare pane.
    fn open_line(&mut self, line: Option<(usize, String)>, compare: bool) {
        if let Some((layer, path)) = line {
            let mode = match compare {
                true => Mode::Aggregated,
                false => Mode::LayerChanges,
            };
            self.jump(layer, &path, mode);
        }
    }
}

/// Up, down, page and home/end moves of a cursor over `0..=last`; `None` for other actions.
fn moved(at: usize, last: usize, page: usize, action: Action) -> Option<usize> {
    Some(match action {
        Action::Up => at.saturating_sub(1),
        Action::Down => (at + 1).min(last),
        Action::PageUp => at.saturating_sub(page.max(1)),
        Action::PageDown => (at + page.max(1)).min(last),
        Action::Home => 0,
        Action::End => last,
        _ => return None,
    })
}

fn findings_lines(app: &mut App) -> &mut (Vec<Line>, usize) {
    &mut app.findings
}

fn compare_lines(app: &mut App) -> &mut (Vec<Line>, usize) {
    &mut app.changes
}

/// Moves in, or opens a line of, the findings or compare pane (`lines` picks which).
fn act_on_lines(app: &mut App, action: Action, lines: fn(&mut App) -> &mut (Vec<Line>, usize)) {
    let page = app.page;
    let compare = app.focus == Focus::Compare;
    let (items, cursor) = lines(app);
    let last = items.len().saturating_sub(1);
    if let Some(c) = moved(*cursor, last, page, action) {
        *cursor = c;
    } else if action == Action::Open {
        let jump = items.get(*cursor).and_then(|l| l.jump.clone());
        app.open_line(jump, compare);
    }
}
