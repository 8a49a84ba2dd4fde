//! Small inline-SVG building blocks shared by the HTML pages: a linear scale with round tick
//! values, an x axis, rectangles and labels with tooltips, and stacked horizontal bars. Every
//! drawing uses a `viewBox` and no fixed size, so it scales with the page (phones included).

use crate::report::html::escape;

/// A linear map from values `0..=max` to positions `start..=end`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    max: f64,
    start: f64,
    end: f64,
}

impl Scale {
    /// `0..=max` onto `start..=end`; a zero or negative `max` maps everything to `start`.
    pub(crate) fn new(max: f64, start: f64, end: f64) -> Scale {
        Scale { max, start, end }
    }

    /// Where `value` lands.
    pub(crate) fn at(&self, value: f64) -> f64 {
        if self.max <= 0.0 {
            return self.start;
        }
        self.start + (self.end - self.start) * value / self.max
    }

    /// About `count` round tick values (1, 2 or 5 × 10ⁿ apart) from 0 to at most `max`.
    pub(crate) fn ticks(&self, count: usize) -> Vec<f64> {
        if self.max <= 0.0 || count == 0 {
            return vec![0.0];
        }
        let rough = self.max / count as f64;
        let magnitude = 10f64.powf(rough.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= rough)
            .unwrap_or(10.0 * magnitude);
        (0..)
            .map(|i| i as f64 * step)
            .take_while(|v| *v <= self.max * (1.0 + 1e-9))
            .collect()
    }
}

/// The opening tag of a drawing `width` × `height` user units wide, labelled for screen readers.
pub(crate) fn open(width: f64, height: f64, label: &str) -> String {
    format!(
        "<svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">\n",
        escape(label)
    )
}

/// A rectangle with a tooltip; `extra` holds further (already escaped) attributes.
pub(crate) fn rect(
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    fill: &str,
    tooltip: &str,
    extra: &str,
) -> String {
    format!(
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{fill}\" stroke=\"#fff\"{extra}><title>{}</title></rect>",
        escape(tooltip)
    )
}

/// A label at (`x`, `y`); `anchor` is `start`, `middle` or `end`.
pub(crate) fn text(x: f64, y: f64, anchor: &str, class: &str, content: &str) -> String {
    format!(
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" class=\"{class}\">{}</text>",
        escape(content)
    )
}

/// A horizontal axis at `y` with a tick and a label (formatted by `label`) per tick value.
pub(crate) fn x_axis(scale: &Scale, y: f64, ticks: usize, label: impl Fn(f64) -> String) -> String {
    let mut out = format!(
        "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#5d6776\"/>",
        scale.at(0.0),
        scale.at(scale.max)
    );
    for t in scale.ticks(ticks) {
        let x = scale.at(t);
        out.push_str(&format!(
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y}\" y2=\"{}\" stroke=\"#5d6776\"/>",
            y + 5.0
        ));
        out.push_str(&text(x, y + 19.0, "middle", "muted", &label(t)));
    }
    out.push('\n');
    out
}

/// One piece of a stacked bar.
pub(crate) struct Segment {
    /// Its value on the scale.
    pub value: f64,
    /// CSS colour.
    pub fill: String,
    /// The tooltip.
    pub tooltip: String,
    /// A label drawn inside when it fits.
    pub label: String,
    /// Further attributes (already escaped), such as `data-*`.
    pub extra: String,
}

/// A bar of `segments` laid end to end from the scale's origin, `height` tall at `y`.
pub(crate) fn stacked_bar(scale: &Scale, y: f64, height: f64, segments: &[Segment]) -> String {
    let mut out = String::new();
    let mut sum = 0.0;
    for s in segments {
        let (x0, x1) = (scale.at(sum), scale.at(sum + s.value));
        sum += s.value;
        out.push_str(&rect(x0, y, x1 - x0, height, &s.fill, &s.tooltip, &s.extra));
        // About 7.5 user units per character at the page's label size.
        if (x1 - x0) > 7.5 * s.label.chars().count() as f64 + 8.0 {
            out.push_str(&text(
                (x0 + x1) / 2.0,
                y + height / 2.0 + 4.5,
                "middle",
                "on-dark",
                &s.label,
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_within_range() {
        let s = Scale::new(1234.0, 0.0, 100.0);
        assert_eq!(s.ticks(5), vec![0.0, 500.0, 1000.0]);
        assert_eq!(
            s.ticks(10),
            vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0, 1200.0]
        );
        assert_eq!(Scale::new(10.0, 0.0, 1.0).ticks(2), vec![0.0, 5.0, 10.0]);
        assert_eq!(Scale::new(0.0, 0.0, 1.0).ticks(4), vec![0.0]);
        assert_eq!(s.at(617.0), 50.0);
    }

    #[test]
    fn a_stacked_bar_lays_segments_end_to_end() {
        let seg = |value: f64| Segment {
            value,
            fill: "red".into(),
            tooltip: "<t>".into(),
            label: String::new(),
            extra: String::new(),
        };
        let out = stacked_bar(
            &Scale::new(4.0, 0.0, 400.0),
            0.0,
            10.0,
            &[seg(1.0), seg(3.0)],
        );
        assert!(out.contains("x=\"0.0\" y=\"0.0\" width=\"100.0\""));
        assert!(out.contains("x=\"100.0\" y=\"0.0\" width=\"300.0\""));
        assert!(out.contains("<title>&lt;t&gt;</title>"));
    }
}
