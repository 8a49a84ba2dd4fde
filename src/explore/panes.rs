//! Drawing: the layer list, the selected layer's details, findings, the `--compare` delta and the
//! file tree side by side (stacked when the terminal is narrow), a progress line, the key hints,
//! and the popup on top. Marks are a letter always, and a colour unless `NO_COLOR` is set.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::explore::app::{App, Focus, Line, Popup, PromptKind};
use crate::explore::keys;
use crate::explore::load::lock;
use crate::explore::tree::{Change, Mode, Sort};
use crate::units::human_bytes;

/// Below this width the panes stack instead of sitting side by side.
const WIDE: u16 = 100;

/// Colours, or none with `NO_COLOR`.
struct Theme {
    color: bool,
}

impl Theme {
    fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn mark(&self, change: Change) -> Style {
        if !self.color {
            return Style::default();
        }
        Style::default().fg(match change {
            Change::Added => Color::Green,
            Change::Modified => Color::Yellow,
            Change::Removed => Color::Red,
            Change::Unchanged => return Style::default(),
        })
    }

    fn border(&self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::default().fg(Color::Cyan),
            (true, false) => Style::default().add_modifier(Modifier::BOLD),
            _ => Style::default(),
        }
    }

    fn cursor(&self, focused: bool) -> Style {
        match focused {
            true => Style::default().add_modifier(Modifier::REVERSED),
            false => Style::default().add_modifier(Modifier::UNDERLINED),
        }
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &mut App) {
    let theme = Theme::from_env();
    app.refresh();
    let [main, status, hints] = Layout::vertical([
        Constraint::Min(6),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let [left, right] =
        match main.width >= WIDE {
            true => Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(main),
            false => Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(main),
        };
    let layer_rows = (app.layers.len() as u16 + 3).min(left.height / 3).max(4);
    let mut constraints = vec![
        Constraint::Length(layer_rows),
        Constraint::Length(10),
        Constraint::Min(3),
    ];
    if app.compare.is_some() {
        constraints.push(Constraint::Min(3));
    }
    let areas = Layout::vertical(constraints).split(left);
    draw_layers(frame, app, &theme, areas[0]);
    draw_details(frame, app, areas[1]);
    draw_lines(frame, app, &theme, areas[2], Focus::Findings);
    if let Some(&area) = areas.get(3) {
        draw_lines(frame, app, &theme, area, Focus::Compare);
    }
    draw_tree(frame, app, &theme, right);
    let mut line = app.progress();
    if !app.message.is_empty() {
        line = format!("{line} | {}", app.message);
    }
    frame.render_widget(Paragraph::new(line), status);
    frame.render_widget(
        Paragraph::new(
            "Tab pane  ↑↓/jk move  Space collapse  ^F filter  ^L changes/aggregated  ^O sort  \
             ^A/^R/^M/^U hide  b largest  i history  v view  s save  ? help  q quit",
        )
        .style(Style::default().add_modifier(Modifier::DIM)),
        hints,
    );
    draw_popup(frame, app, &theme);
}

/// The first line to show so that `cursor` is visible in `height` lines.
fn offset(cursor: usize, height: usize) -> usize {
    (cursor + 1).saturating_sub(height.max(1))
}

fn block(title: String, focused: bool, theme: &Theme) -> Block<'static> {
    Block::bordered()
        .title(title)
        .border_style(theme.border(focused))
}

fn draw_layers(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let focused = app.focus == Focus::Layers;
    let compare = app.compare.is_some();
    let inner_height = area.height.saturating_sub(3) as usize;
    let mut lines = vec![TextLine::from(format!(
        "  #  role         compressed uncompressed{}  command",
        if compare { "    deploy" } else { "" }
    ))
    .style(Style::default().add_modifier(Modifier::BOLD))];
    let size = |s: Option<u64>| s.map_or("…".to_string(), human_bytes);
    let start = offset(app.layer, inner_height);
    for (i, row) in app.layers.iter().enumerate().skip(start).take(inner_height) {
        let deploy = match (compare, row.deploy) {
            (false, _) => String::new(),
            (true, Some(0)) => format!("{:>10}", "shared"),
            (true, bytes) => format!("{:>10}", size(bytes)),
        };
        let text = format!(
            "{}{i:>2}  {:<12} {:>10} {:>12}{deploy}  {}",
            if i == app.layer { ">" } else { " " },
            row.role.map_or("…", |r| r.as_str()),
            size(row.compressed),
            size(row.uncompressed),
            row.created_by
        );
        let mut line = TextLine::from(text);
        if i == app.layer {
            line = line.style(theme.cursor(focused));
        }
        lines.push(line);
    }
    let title = format!("Layers ({})", app.layers.len());
    frame.render_widget(
        Paragraph::new(lines).block(block(title, focused, theme)),
        area,
    );
}

fn draw_details(frame: &mut Frame, app: &App, area: Rect) {
    let Some(row) = app.layers.get(app.layer) else {
        frame.render_widget(Block::bordered().title("Layer details"), area);
        return;
    };
    let size = |s: Option<u64>| s.map_or("…".to_string(), human_bytes);
    let mut lines = vec![
        format!("digest   {}", row.digest.as_deref().map_or("…", short)),
        format!("diff_id  {}", short(&row.diff_id)),
        format!(
            "role {}  compressed {}  uncompressed {}",
            row.role.map_or("…", |r| r.as_str()),
            size(row.compressed),
            size(row.uncompressed)
        ),
        format!(
            "dead {}  reclaimable {}  findings {}",
            size(row.dead),
            size(row.reclaimable),
            row.findings.len()
        ),
        format!("command  {}", row.created_by),
    ];
    lines.extend(row.findings.iter().map(|f| format!("finding  {f}")));
    frame.render_widget(
        Paragraph::new(lines.into_iter().map(TextLine::from).collect::<Vec<_>>())
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(format!("Layer {} details", app.layer))),
        area,
    );
}

/// A digest as docker shows it: the algorithm and 12 hex digits.
fn short(digest: &str) -> &str {
    let end = digest.find(':').map_or(0, |c| c + 13).min(digest.len());
    digest.get(..end).unwrap_or(digest)
}

fn draw_lines(frame: &mut Frame, app: &App, theme: &Theme, area: Rect, pane: Focus) {
    let focused = app.focus == pane;
    let ((lines, cursor), title) = match pane {
        Focus::Compare => (
            &app.changes,
            match &app.compare {
                Some((name, _)) => format!(
                    "Compare: a deploy where {} runs",
                    crate::report::escape::terminal(name)
                ),
                None => String::new(),
            },
        ),
        _ => (&app.findings, "Findings and dead files".to_string()),
    };
    let height = area.height.saturating_sub(2) as usize;
    let start = offset(*cursor, height);
    let shown: Vec<TextLine> = match lines.is_empty() {
        true => vec![TextLine::from("… (when the layers are read)")],
        false => lines
            .iter()
            .enumerate()
            .skip(start)
            .take(height)
            .map(|(i, line)| styled(line, i == *cursor, focused, theme))
            .collect(),
    };
    frame.render_widget(
        Paragraph::new(shown).block(block(title, focused, theme)),
        area,
    );
}

fn styled(line: &Line, selected: bool, focused: bool, theme: &Theme) -> TextLine<'static> {
    let mut text = TextLine::from(line.text.clone());
    if let Some(change) = line.change {
        text = text.style(theme.mark(change));
    }
    if selected {
        text = text.patch_style(theme.cursor(focused));
    }
    text
}

fn draw_tree(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let focused = app.focus == Focus::Tree;
    let mut title = match app.mode {
        Mode::LayerChanges => format!("Files: layer {} changes", app.layer),
        Mode::Aggregated => format!("Files: filesystem up to layer {}", app.layer),
    };
    title.push_str(match app.sort {
        Sort::Size => ", by size",
        Sort::Name => ", by name",
    });
    let hidden: String = Change::ALL
        .iter()
        .filter(|c| app.hidden[c.slot()])
        .map(|c| c.letter())
        .collect();
    if !hidden.is_empty() {
        title.push_str(&format!(", hiding {hidden}"));
    }
    if !app.filter.0.is_empty() {
        title.push_str(&format!(
            ", filter /{}/",
            crate::report::escape::terminal(&app.filter.0)
        ));
    }
    let height = area.height.saturating_sub(3) as usize;
    app.page = height.max(1);
    let width = area.width.saturating_sub(2) as usize;
    let mut lines =
        vec![TextLine::from("   M      size  path")
            .style(Style::default().add_modifier(Modifier::BOLD))];
    let tree = lock(&app.tree);
    if tree.applied() <= app.layer {
        lines.push(TextLine::from(format!(
            "… layer {} is being read",
            app.layer
        )));
    }
    let start = offset(app.cursor, height);
    for (i, row) in app.view.rows.iter().enumerate().skip(start).take(height) {
        let depth = row.depth as usize;
        let indent = match depth * 2 > width / 2 {
            true => format!("…{depth}… "),
            false => "  ".repeat(depth),
        };
        let marker = match (tree.is_dir(row.node), app.collapsed.contains(&row.node)) {
            (true, true) => "▸ ",
            (true, false) => "▾ ",
            _ => "  ",
        };
        let name = crate::report::escape::terminal(tree.name(row.node)).into_owned();
        let mut line = TextLine::from(vec![
            Span::styled(
                format!(
                    "{} {} ",
                    if i == app.cursor { ">" } else { " " },
                    row.change.letter()
                ),
                theme.mark(row.change),
            ),
            Span::raw(format!("{:>9}  {indent}{marker}", human_bytes(row.size))),
            Span::styled(name, theme.mark(row.change)),
        ]);
        if i == app.cursor {
            line = line.patch_style(theme.cursor(focused));
        }
        lines.push(line);
    }
    drop(tree);
    title.push_str(&format!(" ({} shown)", app.view.rows.len()));
    frame.render_widget(
        Paragraph::new(lines).block(block(title, focused, theme)),
        area,
    );
}

/// A rectangle `percent` of `area` in each direction, centred.
fn centred(area: Rect, percent: u16) -> Rect {
    let w = area.width * percent / 100;
    let h = area.height * percent / 100;
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_popup(frame: &mut Frame, app: &App, theme: &Theme) {
    let Some(popup) = &app.popup else {
        return;
    };
    let area = match popup {
        Popup::Prompt(_) => {
            let full = frame.area();
            Rect::new(full.x, full.height.saturating_sub(5), full.width, 3)
        }
        _ => centred(frame.area(), 80),
    };
    let height = area.height.saturating_sub(2) as usize;
    let (title, lines): (String, Vec<TextLine>) = match popup {
        Popup::Help => (
            "Keys (Esc closes)".into(),
            keys::help()
                .into_iter()
                .map(|(k, h)| TextLine::from(format!("{k:<18} {h}")))
                .collect(),
        ),
        Popup::History { path, touches } => (
            format!(
                "History of {} (Esc closes)",
                crate::report::escape::terminal(path)
            ),
            touches
                .iter()
                .map(|t| {
                    TextLine::from(format!(
                        "{} layer {:<3} {:>10}",
                        t.change.letter(),
                        t.layer,
                        human_bytes(t.size)
                    ))
                    .style(theme.mark(t.change))
                })
                .collect(),
        ),
        Popup::Largest { items, cursor } => (
            "Largest paths (Enter jumps, Esc closes)".into(),
            items
                .iter()
                .enumerate()
                .skip(offset(*cursor, height))
                .map(|(i, (_, path, bytes))| {
                    let line = TextLine::from(format!(
                        "{:>10}  {}",
                        human_bytes(*bytes),
                        crate::report::escape::terminal(path)
                    ));
                    match i == *cursor {
                        true => line.style(theme.cursor(true)),
                        false => line,
                    }
                })
                .collect(),
        ),
        Popup::Pager {
            title,
            lines,
            scroll,
        } => (
            format!(
                "{title} (first {} kB; Esc closes)",
                crate::explore::files::HEAD_BYTES / 1000
            ),
            lines
                .iter()
                .skip(*scroll)
                .take(height)
                .map(|l| TextLine::from(l.clone()))
                .collect(),
        ),
        Popup::Prompt(prompt) => (
            match prompt.kind {
                PromptKind::Filter => "Filter paths (regex; Enter keeps, Esc clears)".into(),
                PromptKind::Save => "Save to (Enter saves, Esc cancels)".into(),
            },
            vec![TextLine::from(format!(
                "{}▏",
                crate::report::escape::terminal(&prompt.text)
            ))],
        ),
    };
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block(title, true, theme)), area);
}
