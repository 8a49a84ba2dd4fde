//! Self-contained HTML pages (`--format html`): one file with inline CSS, inline SVG and one small
//! inline script, readable without a server, without network access and without JavaScript (the
//! script only adds treemap drill-down). A Content-Security-Policy allows nothing but the page's
//! own styles and that exact script (by hash), so even a string that escaped escaping could not run
//! or load anything. Every figure a test or tool may want is also in a `data-*` attribute.

pub mod diff;
pub mod history;
pub mod replay;
pub mod report;
pub(crate) mod svg;
pub(crate) mod treemap;

use std::fmt::Display;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

pub(crate) use crate::report::escape::xml_escape as escape;
use crate::units::human_bytes;

/// The page's only script: counts errors and CSP violations into `data-*` attributes of `<html>`
/// (so a headless browser can prove the page ran clean), zooms treemap views, opens the view named
/// in the URL's fragment, and marks the page `data-script="ok"` once loaded.
const SCRIPT: &str = r#"(function () {
  var root = document.documentElement;
  function count(key) { root.dataset[key] = (+root.dataset[key] || 0) + 1; }
  window.addEventListener('error', function () { count('errors'); });
  document.addEventListener('securitypolicyviolation', function () { count('violations'); });
  function show(id) {
    var view = document.getElementById(id);
    if (!view || !view.classList.contains('view')) return false;
    var views = view.parentNode.children;
    for (var i = 0; i < views.length; i++) {
      if (views[i].classList.contains('view')) views[i].hidden = views[i] !== view;
    }
    return true;
  }
  function zoom(e) {
    var t = e.target.closest && e.target.closest('[data-zoom]');
    if (t && show(t.getAttribute('data-zoom'))) e.preventDefault();
  }
  document.addEventListener('click', zoom);
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' || e.key === ' ') zoom(e);
  });
  window.addEventListener('load', function () {
    if (location.hash) show(decodeURIComponent(location.hash.slice(1)));
    root.dataset.loadMs = Math.round(performance.now());
    root.dataset.script = 'ok';
  });
})();"#;

const STYLE: &str = r#"
:root{--base:#4f72a8;--base2:#86a3cf;--app:#d9782d;--app2:#f0a866;--shared:#9aa5b1;--new:#d9782d;--ink:#1d2430;--muted:#5d6776;--line:#dde2e8;--bg:#fff}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1em;margin:1.2em 0 .4em}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.card b{display:block;font-size:1.3em}
.card span{color:var(--muted);font-size:.85em}
svg{display:block;width:100%;height:auto;max-width:100%}
svg text{font-size:13px;fill:var(--ink)}
svg .on-dark{fill:#fff}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}
.bar{display:inline-block;height:.7em;background:var(--app2);margin-right:6px;vertical-align:middle;border-radius:2px}
.sev-high{color:#b3261e;font-weight:600}.sev-medium{color:#b35c00;font-weight:600}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:.9em;height:.9em;margin-right:4px;vertical-align:-.1em;border-radius:2px}
.view button{font:inherit;margin:4px 0;padding:2px 10px;cursor:pointer}
.cell.zoom{cursor:pointer}.cell.zoom:hover rect,.cell.zoom:focus rect{stroke:var(--ink);stroke-width:2}
details ul{margin:.2em 0 .2em 1.1em;padding:0;list-style:none}
details summary{cursor:pointer}
.grid{stroke:var(--line)}svg text.axis{font-size:11px;fill:var(--muted)}
polyline.compressed{stroke:var(--base);fill:none;stroke-width:2}polyline.app{stroke:var(--app);fill:none;stroke-width:2}
.dot-compressed{fill:var(--base)}.dot-app{fill:var(--app)}
@media (max-width:600px){body{font-size:14px}main{padding:10px}th,td{padding:3px 4px}}
"#;

/// The page's Content-Security-Policy: nothing may load; only inline styles and [`SCRIPT`] (by its
/// SHA-256) may run.
fn content_security_policy() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
    format!("default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'")
}

/// A whole page: `title` (plain text, escaped here) and `body` (HTML, already escaped).
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
<meta name=\"generator\" content=\"strata {version}\">\n\
<title>{title}</title>\n<style>{STYLE}</style>\n<script>{SCRIPT}</script>\n</head>\n\
<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        csp = content_security_policy(),
        version = env!("CARGO_PKG_VERSION"),
        title = escape(title),
    )
}

/// ` data-NAME="VALUE"`, the value escaped.
pub(crate) fn data(name: &str, value: impl Display) -> String {
    format!(" data-{name}=\"{}\"", escape(&value.to_string()))
}

/// One summary figure: a big number with a caption, its raw value in `data-NAME`.
pub(crate) fn card(name: &str, caption: &str, shown: &str, raw: impl Display) -> String {
    format!(
        "<div class=\"card\"{}><b>{}</b><span>{}</span></div>\n",
        data(name, raw),
        escape(shown),
        escape(caption)
    )
}

/// A table: `headers` (plain text; a leading `#` right-aligns the column, e.g. `#Bytes`) and the
/// `<tr>` rows, already rendered.
pub(crate) fn table(headers: &[&str], rows: &str) -> String {
    let mut out = String::from("<div class=\"scroll\"><table><thead><tr>");
    for h in headers {
        match h.strip_prefix('#') {
            Some(h) => out.push_str(&format!("<th class=\"num\">{}</th>", escape(h))),
            None => out.push_str(&format!("<th>{}</th>", escape(h))),
        }
    }
    out.push_str("</tr></thead><tbody>\n");
    out.push_str(rows);
    out.push_str("</tbody></table></div>\n");
    out
}

/// A right-aligned cell with a bar proportional to `bytes / max` and the size in words.
pub(crate) fn bytes_bar_cell(bytes: u64, max: u64) -> String {
    bar_cell(bytes, max, &human_bytes(bytes))
}

/// A right-aligned cell with a bar proportional to `bar / max` and the text `shown`.
pub(crate) fn bar_cell(bar: u64, max: u64, shown: &str) -> String {
    let width = if max == 0 {
        0.0
    } else {
        bar as f64 / max as f64 * 8.0
    };
    format!(
        "<td class=\"num\"><span class=\"bar\" style=\"width:{width:.2}em\"></span>{}</td>",
        escape(shown)
    )
}

/// A colour key: (CSS colour, label) pairs.
pub(crate) fn legend(items: &[(&str, &str)]) -> String {
    let mut out = String::from("<p class=\"legend\">");
    for (colour, label) in items {
        out.push_str(&format!(
            "<span><i style=\"background:{colour}\"></i>{}</span>",
            escape(label)
        ));
    }
    out.push_str("</p>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_page_script() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none';"));
        let hash = csp
            .rsplit("'sha256-")
            .next()
            .unwrap()
            .trim_end_matches('\'');
        let raw = base64::engine::general_purpose::STANDARD
            .decode(hash)
            .unwrap();
        assert_eq!(raw, Sha256::digest(SCRIPT).to_vec());
        assert!(page("t", "").contains(&format!("<script>{SCRIPT}</script>")));
    }

    #[test]
    fn strings_from_the_image_are_escaped() {
        let p = page("<script>x</script>", "");
        assert!(p.contains("<title>&lt;script&gt;x&lt;/script&gt;</title>"));
        assert_eq!(data("path", "\"><b>"), " data-path=\"&quot;&gt;&lt;b&gt;\"");
    }
}
