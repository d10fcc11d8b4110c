//! What the status page and the report page share: escaping, the style sheet, small inline
//! SVG charts. Every text that comes from outside (service names, log lines, issues) goes
//! through [`esc`], in text and in attributes alike.

use std::fmt::Write;

/// `s` as HTML text or a quoted attribute value: `& < > " '` become entities, so no input
/// becomes markup.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The style of both pages: no external resource, readable offline, light and dark.
pub const STYLE: &str = r#"
:root { --ok: #2e9d57; --partial: #e0a526; --bad: #d6453d; --none: #c9ccd1; --fg: #1d2329; --muted: #5c6670; --bg: #fff; --card: #f5f6f8; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa4ae; --bg: #14171a; --card: #1e2226; --none: #3a3f45; } }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1040px; padding: 24px 16px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 10px; } h3 { font-size: 15px; margin: 18px 0 6px; }
.muted, footer { color: var(--muted); font-size: 13px; }
.banner { border-radius: 8px; padding: 14px 18px; color: #fff; }
.banner.healthy { background: var(--ok); } .banner.degraded { background: var(--partial); color: #1d2329; } .banner.unhealthy, .banner.critical, .banner.error { background: var(--bad); } .banner.warning { background: var(--partial); color: #1d2329; }
.check { background: var(--card); border-radius: 8px; padding: 10px 14px; margin: 8px 0; }
.row { display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: baseline; }
.name { font-weight: 600; min-width: 160px; word-break: break-all; }
.pill { border-radius: 10px; padding: 0 8px; font-size: 12px; color: #fff; background: var(--none); }
.pill.healthy, .pill.ok { background: var(--ok); } .pill.degraded, .pill.warning { background: var(--partial); color: #1d2329; } .pill.unhealthy, .pill.critical, .pill.error { background: var(--bad); }
.uptime { font-variant-numeric: tabular-nums; font-size: 13px; } .uptime b { font-weight: 600; }
svg.bars { width: 100%; height: 28px; display: block; margin-top: 6px; }
svg.bars rect.ok { fill: var(--ok); } svg.bars rect.partial { fill: var(--partial); } svg.bars rect.bad { fill: var(--bad); } svg.bars rect.none { fill: var(--none); }
svg.spark { width: 220px; height: 32px; vertical-align: middle; } svg.spark polyline { fill: none; stroke: var(--fg); stroke-width: 1.5; }
svg.chart { width: 100%; height: 120px; display: block; } svg.chart rect { fill: var(--bad); } svg.chart line { stroke: var(--muted); stroke-width: 1; }
table { border-collapse: collapse; width: 100%; font-size: 14px; } th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--none); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: var(--card); padding: 8px 10px; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; font-size: 12.5px; max-height: 320px; }
a { color: inherit; }
"#;

/// The page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    )
}

/// A share as a percentage with two decimals, never rounded up to 100 % when short of it.
pub fn percent(share: f64) -> String {
    let p = (share * 10_000.0).floor() / 100.0;
    format!("{p:.2}%")
}

/// A sparkline of `values` (oldest first), scaled to its own range; its title says the range.
pub fn sparkline(values: &[u32], label: &str) -> String {
    if values.len() < 2 {
        return String::new();
    }
    let (min, max) = (
        *values.iter().min().unwrap_or(&0),
        *values.iter().max().unwrap_or(&0),
    );
    let span = f64::from((max - min).max(1));
    let step = 220.0 / (values.len() - 1) as f64;
    let mut points = String::new();
    for (i, v) in values.iter().enumerate() {
        let y = 30.0 - 28.0 * f64::from(v - min) / span;
        let _ = write!(points, "{:.1},{:.1} ", i as f64 * step, y);
    }
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 220 32\" role=\"img\" aria-label=\"{0}\"><title>{0}</title>\
         <polyline points=\"{1}\"/></svg>",
        esc(label),
        points.trim_end()
    )
}

/// A bar chart of `counts` (oldest first) with a baseline; each bar titled by `label(i)`.
pub fn bar_chart(counts: &[u64], label: impl Fn(usize) -> String) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let w = 600.0 / counts.len().max(1) as f64;
    let mut out = String::from(
        "<svg class=\"chart\" viewBox=\"0 0 600 120\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"errors over the window\"><line x1=\"0\" y1=\"119.5\" x2=\"600\" y2=\"119.5\"/>",
    );
    for (i, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let h = (116.0 * n as f64 / max).max(2.0);
        let _ = write!(
            out,
            "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{h:.2}\" data-count=\"{n}\"><title>{}</title></rect>",
            i as f64 * w + 0.5,
            119.0 - h,
            (w - 1.0).max(0.5),
            esc(&label(i))
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        for (input, expected) in [
            ("api", "api"),
            (
                "<script>alert('x')</script>",
                "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;",
            ),
            ("a\" onmouseover=\"x", "a&quot; onmouseover=&quot;x"),
            ("&lt;", "&amp;lt;"),
        ] {
            assert_eq!(esc(input), expected);
        }
    }

    #[test]
    fn percentages_are_never_rounded_up_to_whole() {
        assert_eq!(percent(1.0), "100.00%");
        assert_eq!(percent(0.99999), "99.99%");
        assert_eq!(percent(0.5), "50.00%");
        assert_eq!(percent(0.0), "0.00%");
    }

    #[test]
    fn charts_draw_a_bar_per_nonzero_count() {
        let svg = bar_chart(&[0, 3, 0, 6], |i| format!("<b>{i}</b>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("data-count=\"6\"") && svg.contains("&lt;b&gt;3&lt;/b&gt;"));
        assert_eq!(sparkline(&[5], "x"), "", "one point is no line");
        assert!(sparkline(&[5, 10, 5], "p50").contains("points=\"0.0,30.0 110.0,2.0 220.0,30.0\""));
    }
}
