//! The treemap of a layer's directories: one squarified SVG view per expanded directory, the
//! root's shown first; with JavaScript a click on a directory zooms into its view, and without it
//! the same tree is a nested `<details>` list under the picture.

use crate::analysis::tree::TreeNode;
use crate::report::html::svg::{open, rect, text};
use crate::report::html::{data, escape};
use crate::units::human_bytes;

/// A rectangle in drawing units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Area {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// The worst aspect ratio of a row of `row` areas laid along a side of length `side`.
fn worst(row: &[f64], side: f64) -> f64 {
    let sum: f64 = row.iter().sum();
    let (min, max) = row
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let (s2, w2) = (sum * sum, side * side);
    (w2 * max / s2).max(s2 / (w2 * min))
}

/// Squarified treemap layout (Bruls, Huizing, van Wijk): rectangles for `values` (positive,
/// largest first) that tile `area` in proportion, as close to squares as the greedy rows allow.
pub(crate) fn squarify(values: &[f64], area: Area) -> Vec<Area> {
    let total: f64 = values.iter().sum();
    if total <= 0.0 || area.w <= 0.0 || area.h <= 0.0 {
        return Vec::new();
    }
    let scaled: Vec<f64> = values.iter().map(|v| v * area.w * area.h / total).collect();
    let mut out = Vec::with_capacity(values.len());
    let mut rest = area;
    let mut i = 0;
    while i < scaled.len() {
        let side = rest.w.min(rest.h);
        let mut j = i + 1;
        while j < scaled.len() && worst(&scaled[i..=j], side) <= worst(&scaled[i..j], side) {
            j += 1;
        }
        let row = &scaled[i..j];
        let sum: f64 = row.iter().sum();
        if rest.w >= rest.h {
            // A column on the left.
            let width = if rest.h > 0.0 { sum / rest.h } else { 0.0 };
            let mut y = rest.y;
            for v in row {
                let h = if width > 0.0 { v / width } else { 0.0 };
                out.push(Area {
                    x: rest.x,
                    y,
                    w: width,
                    h,
                });
                y += h;
            }
            rest.x += width;
            rest.w -= width;
        } else {
            // A row on top.
            let height = if rest.w > 0.0 { sum / rest.w } else { 0.0 };
            let mut x = rest.x;
            for v in row {
                let w = if height > 0.0 { v / height } else { 0.0 };
                out.push(Area {
                    x,
                    y: rest.y,
                    w,
                    h: height,
                });
                x += w;
            }
            rest.y += height;
            rest.h -= height;
        }
        i = j;
    }
    out
}

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 380.0;
const FOLDED: &str = "#c5ccd4";

/// Fill colours of a treemap: directories that zoom, other directories, and files.
pub(crate) struct Palette {
    /// A directory one can zoom into.
    pub zoom: &'static str,
    /// A file or a directory not expanded.
    pub leaf: &'static str,
}

fn describe(path: &str, n: &TreeNode) -> String {
    let files = if n.files == 1 { "file" } else { "files" };
    format!("{path} — {}, {} {files}", human_bytes(n.bytes), n.files)
}

fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// `name` in the top-left corner of `cell`, cut to fit, or nothing when the cell is too small.
fn label(name: &str, cell: &Area, class: &str) -> String {
    // About 7.5 drawing units per character at the page's label size.
    let fits = ((cell.w - 6.0) / 7.5).floor().max(0.0) as usize;
    if cell.h < 18.0 || fits < 4 {
        return String::new();
    }
    let shown = if name.chars().count() > fits {
        let cut: String = name.chars().take(fits - 1).collect();
        format!("{cut}…")
    } else {
        name.to_string()
    };
    text(cell.x + 4.0, cell.y + 14.0, "start", class, &shown)
}

/// How many views a directory and those below it take.
fn views_in(n: &TreeNode) -> usize {
    1 + n
        .children
        .iter()
        .filter(|c| !c.children.is_empty())
        .map(views_in)
        .sum::<usize>()
}

/// Collects one view per expanded directory, depth first, and the `<details>` list.
struct Views<'a> {
    layer: usize,
    palette: &'a Palette,
    next_id: usize,
    views: String,
}

impl Views<'_> {
    fn id(&self, n: usize) -> String {
        format!("tm-{}-{n}", self.layer)
    }

    /// Renders the view of `node` (at `path`) and those below it; returns the `<details>` list
    /// item of `node`.
    fn view(&mut self, node: &TreeNode, path: &str, parent: Option<&str>) -> String {
        let id = self.id(self.next_id);
        self.next_id += 1;
        let values: Vec<f64> = node.children.iter().map(|c| c.bytes as f64).collect();
        let cells = squarify(
            &values,
            Area {
                x: 0.0,
                y: 0.0,
                w: WIDTH,
                h: HEIGHT,
            },
        );
        let mut svg = open(WIDTH, HEIGHT, &format!("treemap of {path}"));
        let mut list = String::new();
        let mut below = Vec::new();
        // Views get ids depth first: a zoomable child's id follows the views of earlier siblings.
        let mut offset = 0;
        for (child, cell) in node.children.iter().zip(&cells) {
            let cpath = child_path(path, &child.name);
            let zoomable = !child.children.is_empty();
            let (fill, class, label_class) = match (zoomable, child.folded > 0) {
                (true, _) => (self.palette.zoom, "cell zoom", "on-dark"),
                (false, true) => (FOLDED, "cell", ""),
                (false, false) => (self.palette.leaf, "cell", ""),
            };
            let mut g = format!("<g class=\"{class}\"");
            if zoomable {
                let target = self.id(self.next_id + offset);
                offset += views_in(child);
                g.push_str(&format!(
                    " data-zoom=\"{target}\" tabindex=\"0\" role=\"button\""
                ));
            }
            g.push('>');
            g.push_str(&rect(
                cell.x,
                cell.y,
                cell.w,
                cell.h,
                fill,
                &describe(&cpath, child),
                "",
            ));
            if zoomable && cell.w > 30.0 && cell.h > 40.0 {
                // The child's own children drawn inside it, under a one-line header.
                g.push_str(&label(
                    &format!("{} · {}", child.name, human_bytes(child.bytes)),
                    cell,
                    label_class,
                ));
                let inner = Area {
                    x: cell.x + 2.0,
                    y: cell.y + 20.0,
                    w: cell.w - 4.0,
                    h: cell.h - 22.0,
                };
                let values: Vec<f64> = child.children.iter().map(|c| c.bytes as f64).collect();
                for (grandchild, area) in child.children.iter().zip(squarify(&values, inner)) {
                    let fill = if grandchild.folded > 0 {
                        FOLDED
                    } else {
                        self.palette.leaf
                    };
                    let gpath = child_path(&cpath, &grandchild.name);
                    g.push_str(&rect(
                        area.x,
                        area.y,
                        area.w,
                        area.h,
                        fill,
                        &describe(&gpath, grandchild),
                        "",
                    ));
                    g.push_str(&label(&grandchild.name, &area, ""));
                }
            } else {
                g.push_str(&label(&child.name, cell, label_class));
                if cell.h >= 36.0 && cell.w >= 60.0 {
                    g.push_str(&text(
                        cell.x + 4.0,
                        cell.y + 31.0,
                        "start",
                        label_class,
                        &human_bytes(child.bytes),
                    ));
                }
            }
            g.push_str("</g>\n");
            svg.push_str(&g);
            if zoomable {
                below.push((child, cpath));
            } else {
                list.push_str(&format!(
                    "<li>{}</li>",
                    escape(&describe(&child.name, child))
                ));
            }
        }
        svg.push_str("</svg>\n");
        let head = match parent {
            Some(up) => format!(
                "<button type=\"button\" data-zoom=\"{up}\">↑ up</button> <span class=\"mono\">{}</span>",
                escape(path)
            ),
            None => format!("<span class=\"mono\">{}</span>", escape(path)),
        };
        let hidden = if parent.is_some() { " hidden" } else { "" };
        self.views.push_str(&format!(
            "<div class=\"view\" id=\"{id}\"{}{}{hidden}>{head} <span class=\"muted\">{}</span>\n{svg}</div>\n",
            data("path", path),
            data("bytes", node.bytes),
            escape(&describe("", node)[" — ".len()..]),
        ));
        // Children's views, in the order their ids were reserved.
        let mut nested = String::new();
        for (child, cpath) in below {
            nested.push_str(&self.view(child, &cpath, Some(&id)));
        }
        format!(
            "<li><details><summary>{}</summary><ul>{nested}{list}</ul></details></li>",
            escape(&describe(&node.name, node))
        )
    }
}

/// The treemap views of one layer's tree and, for readers without JavaScript, the same tree as
/// nested `<details>` lists.
pub(crate) fn layer_treemap(layer: usize, tree: &TreeNode, palette: &Palette) -> String {
    if tree.children.is_empty() {
        return "<p class=\"muted\">No regular files in this layer.</p>\n".to_string();
    }
    let mut views = Views {
        layer,
        palette,
        next_id: 0,
        views: String::new(),
    };
    let list = views.view(tree, "/", None);
    format!(
        "<div class=\"views\"{}>\n{}</div>\n<details class=\"tree\"><summary>Directory list</summary><ul>{list}</ul></details>\n",
        data("layer", layer),
        views.views
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: Area = Area {
        x: 0.0,
        y: 0.0,
        w: 600.0,
        h: 400.0,
    };

    #[test]
    fn squarify_tiles_the_area_in_proportion() {
        // The example of the paper: 6 6 4 3 2 2 1 in a 6 × 4 rectangle (here scaled by 100).
        let values = [6.0, 6.0, 4.0, 3.0, 2.0, 2.0, 1.0];
        let cells = squarify(&values, AREA);
        assert_eq!(cells.len(), values.len());
        for (v, c) in values.iter().zip(&cells) {
            assert!((c.w * c.h - v * 10_000.0).abs() < 1e-6, "{c:?} for {v}");
            assert!(c.x >= -1e-9 && c.y >= -1e-9);
            assert!(c.x + c.w <= 600.0 + 1e-9 && c.y + c.h <= 400.0 + 1e-9);
        }
        // The first two are the paper's 3 × 2 rectangles side by side in one column.
        assert!((cells[0].w - 300.0).abs() < 1e-6 && (cells[0].h - 200.0).abs() < 1e-6);
        assert_eq!(squarify(&[], AREA), vec![]);
        assert_eq!(squarify(&[0.0], AREA), vec![]);
    }

    fn node(name: &str, bytes: u64, children: Vec<TreeNode>) -> TreeNode {
        TreeNode {
            name: name.into(),
            bytes,
            files: children.len().max(1) as u64,
            folded: 0,
            dir: !children.is_empty(),
            children,
        }
    }

    #[test]
    fn each_zoomable_directory_links_to_its_own_view() {
        let tree = node(
            "/",
            30,
            vec![
                node(
                    "usr",
                    20,
                    vec![
                        node("lib", 15, vec![node("x", 15, vec![])]),
                        node("bin", 5, vec![]),
                    ],
                ),
                node("<script>", 10, vec![node("y", 10, vec![])]),
            ],
        );
        let palette = Palette {
            zoom: "#000",
            leaf: "#888",
        };
        let html = layer_treemap(2, &tree, &palette);
        for (id, path) in [
            ("tm-2-0", "/"),
            ("tm-2-1", "/usr"),
            ("tm-2-2", "/usr/lib"),
            ("tm-2-3", "/&lt;script&gt;"),
        ] {
            assert!(
                html.contains(&format!("id=\"{id}\" data-path=\"{path}\"")),
                "{id} {path}\n{html}"
            );
        }
        assert!(html.contains("data-zoom=\"tm-2-1\""));
        assert!(html.contains("data-zoom=\"tm-2-2\""));
        assert!(html.contains("data-zoom=\"tm-2-3\""));
        assert!(!html.contains("<script>"));
    }
}
