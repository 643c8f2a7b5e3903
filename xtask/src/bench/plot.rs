//! The ratios as a picture: a hand-written SVG bar chart on a log2 axis (no plotting
//! dependency), one bar per peer and scenario, from parity (1) to the ratio.

use std::fmt::Write;

use super::record::Record;
use super::report::format_ratio;
use super::spec;

const WIDTH: f64 = 900.0;
const LEFT: f64 = 210.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 64.0;
const ROW: f64 = 20.0;
const GAP: f64 = 10.0;
const BOTTOM: f64 = 46.0;
const FASTER: &str = "#2e7d32";
const SLOWER: &str = "#c62828";

/// The SVG document, or `None` when no record has a ratio to draw.
pub fn svg(records: &[Record], subtitle: &str) -> Option<String> {
    let bars: Vec<(&Record, f64)> = records
        .iter()
        .filter(|r| r.implementation != spec::SUBJECT)
        .filter_map(|r| {
            r.ratio
                .filter(|x| x.is_finite() && *x > 0.0)
                .map(|x| (r, x))
        })
        .collect();
    if bars.is_empty() {
        return None;
    }
    let (lo, hi) = bars.iter().fold((-1i32, 1i32), |(lo, hi), (_, ratio)| {
        let exponent = ratio.log2();
        (
            lo.min(exponent.floor() as i32).max(-12),
            hi.max(exponent.ceil() as i32).min(12),
        )
    });
    let plot_width = WIDTH - LEFT - RIGHT;
    let x = |ratio: f64| {
        let e = ratio.log2().clamp(f64::from(lo), f64::from(hi));
        LEFT + (e - f64::from(lo)) / f64::from(hi - lo) * plot_width
    };

    let groups = bars
        .windows(2)
        .filter(|w| w[0].0.scenario != w[1].0.scenario)
        .count();
    let height = TOP + bars.len() as f64 * ROW + groups as f64 * GAP + BOTTOM;
    let plot_bottom = height - BOTTOM + 6.0;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="22" font-size="15" font-weight="bold">cfutures / peer (log scale): below 1 = cfutures faster or smaller</text>"#
    );
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="40" fill="#555">{}</text>"##,
        escape(subtitle)
    );

    // Grid and axis labels at powers of two.
    for e in lo..=hi {
        let gx = x(2f64.powi(e));
        let (stroke, width) = if e == 0 { ("#222", 1.5) } else { ("#ddd", 1.0) };
        let _ = writeln!(
            out,
            r#"<line x1="{gx:.1}" y1="{:.1}" x2="{gx:.1}" y2="{plot_bottom:.1}" stroke="{stroke}" stroke-width="{width}"/>"#,
            TOP - 8.0
        );
        let label = if e >= 0 {
            format!("{}", 1u64 << e)
        } else {
            format!("1/{}", 1u64 << -e)
        };
        let _ = writeln!(
            out,
            r#"<text x="{gx:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
            plot_bottom + 16.0
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">ratio cfutures / peer (P2: inverse ratio of rates; M1: bytes)</text>"##,
        LEFT + plot_width / 2.0,
        plot_bottom + 34.0
    );

    let mut y = TOP;
    let mut previous: Option<&str> = None;
    for (record, ratio) in &bars {
        if previous.is_some_and(|p| p != record.scenario) {
            y += GAP;
        }
        previous = Some(&record.scenario);
        let title = spec::PEERS
            .iter()
            .find(|(id, _)| *id == record.implementation)
            .map_or(record.implementation.as_str(), |(_, title)| title);
        let (x0, x1) = (x(1.0), x(*ratio));
        let (left, width) = (x0.min(x1), (x1 - x0).abs().max(1.0));
        let colour = if *ratio < 1.0 { FASTER } else { SLOWER };
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{} vs {}</text>"#,
            LEFT - 8.0,
            y + ROW * 0.7,
            escape(&record.scenario),
            escape(title)
        );
        let _ = writeln!(
            out,
            r#"<rect x="{left:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{colour}"/>"#,
            y + 3.0,
            ROW - 6.0
        );
        // Beside the bar, on the side away from the labels: right of the parity line for a
        // bar that grows left, right of the bar's end otherwise.
        let tx = if *ratio < 1.0 {
            x0 + 4.0
        } else {
            left + width + 4.0
        };
        let _ = writeln!(
            out,
            r#"<text x="{tx:.1}" y="{:.1}">{}</text>"#,
            y + ROW * 0.7,
            format_ratio(*ratio)
        );
        y += ROW;
    }
    out.push_str("</svg>\n");
    Some(out)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(scenario: &str, implementation: &str, ratio: f64) -> Record {
        Record {
            median_ns: Some(1.0),
            ratio: Some(ratio),
            note: None,
            ..Record::note(scenario, implementation, "")
        }
    }

    #[test]
    fn one_bar_per_peer_ratio_coloured_by_side() {
        let records = vec![
            ratio("T1", "cfutures", 1.0),
            ratio("T1", "rayon", 0.5),
            ratio("T1", "cpython", 0.01),
            ratio("T2", "threadpool", 3.0),
            Record::note("T2", "cpython", "python3 not found"),
        ];
        let svg = svg(&records, "a <machine> & date").unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let bars = svg.matches(r##"height="14.0" fill="#"##).count();
        assert_eq!(bars, 3, "{svg}");
        assert_eq!(svg.matches(FASTER).count(), 2);
        assert_eq!(svg.matches(SLOWER).count(), 1);
        assert!(svg.contains("T1 vs CPython") && svg.contains("0.010"));
        assert!(svg.contains("a &lt;machine&gt; &amp; date"));
        assert!(
            svg.contains(">1/128<"),
            "the axis reaches the smallest ratio"
        );
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
    }

    #[test]
    fn nothing_to_draw() {
        assert_eq!(svg(&[ratio("T1", "cfutures", 1.0)], ""), None);
    }
}
