//! `postdesk stats --html FILE`: the report as one self-contained page.
//!
//! Everything is inline (CSS, SVG; no scripts, fonts or images from
//! anywhere), so the file can be mailed or opened offline. Charts are
//! hand-written SVG scaled by `viewBox`, so the page reflows on a phone.
//! Each chart has a title and description for screen readers and a data
//! table beside it. Everything customer-derived (subjects, and category,
//! tag and queue names) is escaped.

use std::fmt::Write as _;

use super::human;
use super::stats::{Band, Named, Stats, WEEKDAYS};

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--card:#fff;
--blue:#2f6fdf;--green:#1f9d73;--amber:#d97706;--red:#c2410c;}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header{background:#17324d;color:#fff;padding:28px 32px 24px}
header h1{margin:0;font-size:26px;font-weight:650;letter-spacing:.2px}
header p{margin:6px 0 0;color:#c5d3e2}
main{max-width:1180px;margin:0 auto;padding:24px 20px 48px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:14px;margin-bottom:22px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.kpi h2{margin:0;font-size:12.5px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.5px}
.kpi .v{font-size:25px;font-weight:650;margin-top:4px;white-space:nowrap}
.kpi .s{font-size:13px;color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:18px}
section,figure{background:var(--card);border:1px solid var(--line);border-radius:10px;margin:0;padding:16px 18px}
section h2,figure h2{margin:0 0 2px;font-size:16.5px}
figcaption{color:var(--muted);font-size:13px;margin-bottom:8px}
svg{width:100%;height:auto;display:block}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--muted)}
svg .lbl{fill:var(--ink);font-weight:600}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
details{margin-top:8px;font-size:13px}
details summary{cursor:pointer;color:var(--blue)}
.legend{display:flex;gap:16px;font-size:12.5px;color:var(--muted);margin:4px 0 6px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.empty{color:var(--muted);font-style:italic;padding:24px 0;text-align:center}
.wide{grid-column:1/-1}
footer{color:var(--muted);font-size:12.5px;text-align:center;margin-top:26px}
@media (max-width:520px){.wide{overflow-x:auto}.wide svg{min-width:620px}.grid{grid-template-columns:1fr}header{padding:20px}.kpi .v{font-size:22px}}
@media print{body{background:#fff}header{background:#fff;color:#000}header p{color:#333}}
"#;

fn pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{:.0}%", x * 100.0))
}

fn dur(x: Option<i64>) -> String {
    x.map_or("–".into(), human)
}

/// A round upper bound for an axis: 1, 2, 5, 10, 20, 50, ...
fn nice_max(v: usize) -> usize {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if step * m >= v.max(1) {
                return step * m;
            }
        }
        step *= 10;
    }
}

fn kpi(o: &mut String, title: &str, value: &str, sub: &str) {
    let _ = write!(
        o,
        r#"<div class="kpi"><h2>{}</h2><div class="v">{}</div><div class="s">{}</div></div>"#,
        esc(title),
        esc(value),
        esc(sub)
    );
}

/// The page.
pub fn render(s: &Stats) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let when = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d %H:%M UTC").to_string();
    let window = match s.since {
        Some(since) => format!("{} – {}", when(since), when(s.now)),
        None => format!("All time to {}", when(s.now)),
    };
    let queue = s
        .queue
        .as_deref()
        .map_or("all queues".to_string(), |q| format!("queue {q}"));
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{desk}Support report · {window}</title>
<style>{CSS}</style></head><body>
<header><h1>{desk}Support report</h1><p>{window} · {queue} · times of day in {tz}</p></header>
<main>
"#,
        window = esc(&window),
        queue = esc(&queue),
        tz = esc(&s.timezone),
        desk = if s.desk.is_empty() {
            String::new()
        } else {
            format!("{} · ", esc(&s.desk))
        },
    );

    o.push_str(r#"<div class="kpis">"#);
    kpi(
        &mut o,
        "Tickets",
        &s.tickets.created.to_string(),
        &format!("created · {} resolved", s.tickets.resolved),
    );
    kpi(
        &mut o,
        "First response",
        &dur(s.first_response.median_secs),
        &format!("median · p90 {}", dur(s.first_response.p90_secs)),
    );
    kpi(
        &mut o,
        "Resolution",
        &dur(s.resolution.median_secs),
        &format!("median · p90 {}", dur(s.resolution.p90_secs)),
    );
    kpi(
        &mut o,
        "Satisfaction",
        &s.csat
            .average
            .map_or("–".into(), |a| format!("{a:.1} / {}", s.csat.scale)),
        &format!(
            "{} good · {} rating(s)",
            pct(s.csat.good_share),
            s.csat.ratings
        ),
    );
    kpi(
        &mut o,
        "First contact",
        &pct(s.first_contact_resolution.rate),
        &format!(
            "{} of {} resolved with one answer",
            s.first_contact_resolution.first_contact, s.first_contact_resolution.eligible
        ),
    );
    kpi(
        &mut o,
        "SLA met",
        &pct(s.sla.attainment),
        &format!("{} of {} tickets", s.sla.met, s.sla.tickets),
    );
    kpi(
        &mut o,
        "Backlog",
        &s.backlog.open.to_string(),
        &format!("open · oldest {}", dur(s.backlog.oldest_age_secs)),
    );
    o.push_str("</div>\n<div class=\"grid\">\n");

    volume_chart(&mut o, s);
    response_chart(&mut o, s);
    csat_chart(&mut o, s);
    heatmap(&mut o, s);
    backlog_section(&mut o, s);
    top_section(&mut o, s);
    recurring_section(&mut o, s);
    agents_section(&mut o, s);
    work_section(&mut o, s);

    let _ = write!(
        o,
        "</div>\n<footer>Made by postdesk on {}. Durations are wall-clock time; medians and p90 are nearest-rank; SLA attainment is the desk's own verdict.</footer>\n</main></body></html>\n",
        esc(&when(s.now))
    );
    o
}

fn figure_start(o: &mut String, id: &str, title: &str, caption: &str, wide: bool) {
    let _ = write!(
        o,
        r#"<figure{} aria-labelledby="{id}-h"><h2 id="{id}-h">{}</h2><figcaption>{}</figcaption>"#,
        if wide { r#" class="wide""# } else { "" },
        esc(title),
        esc(caption)
    );
}

fn svg_start(o: &mut String, id: &str, w: u32, h: u32, title: &str, desc: &str) {
    let _ = write!(
        o,
        r#"<svg viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-t {id}-d"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    );
}

/// Horizontal grid lines and their labels for a 0..=max axis.
fn y_axis(o: &mut String, left: f64, right: f64, top: f64, bottom: f64, max: usize) {
    // Whole numbers only: counts have no halves.
    let steps = max.clamp(1, 5);
    for i in 0..=steps {
        let v = max as f64 * i as f64 / steps as f64;
        let y = bottom - (bottom - top) * i as f64 / steps as f64;
        let _ = write!(
            o,
            r##"<line x1="{left}" x2="{right}" y1="{y:.1}" y2="{y:.1}" stroke="#e4e7eb"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left - 6.0,
            y + 4.0,
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        );
    }
}

fn volume_chart(o: &mut String, s: &Stats) {
    let pts = &s.volume.points;
    figure_start(
        o,
        "vol",
        "Volume over time",
        &format!("Tickets created and resolved per {}", s.volume.bucket),
        true,
    );
    let total_c: usize = pts.iter().map(|p| p.created).sum();
    let total_r: usize = pts.iter().map(|p| p.resolved).sum();
    if total_c + total_r == 0 {
        o.push_str(r#"<p class="empty">No tickets in this window.</p></figure>"#);
        return;
    }
    o.push_str(r##"<div class="legend"><span><i style="background:#2f6fdf"></i>created</span><span><i style="background:#1f9d73"></i>resolved</span></div>"##);
    let (w, h) = (1000.0, 260.0);
    let (left, right, top, bottom) = (44.0, w - 12.0, 12.0, h - 30.0);
    let max = nice_max(
        pts.iter()
            .map(|p| p.created.max(p.resolved))
            .max()
            .unwrap_or(0),
    );
    svg_start(
        o,
        "vol",
        w as u32,
        h as u32,
        "Volume over time",
        &format!(
            "{total_c} tickets created and {total_r} resolved over {} {}s; the table below has every value.",
            pts.len(),
            s.volume.bucket
        ),
    );
    y_axis(o, left, right, top, bottom, max);
    let n = pts.len().max(1) as f64;
    let slot = (right - left) / n;
    let bar = (slot * 0.62).max(1.0);
    let y = |v: usize| bottom - (bottom - top) * v as f64 / max as f64;
    let label_every = (pts.len() / 10).max(1);
    for (i, p) in pts.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let _ = write!(
            o,
            r##"<rect x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" rx="2" fill="#2f6fdf"><title>{}: {} created, {} resolved</title></rect>"##,
            y(p.created),
            bottom - y(p.created),
            p.start,
            p.created,
            p.resolved
        );
        if i % label_every == 0 {
            let _ = write!(
                o,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                left + slot * (i as f64 + 0.5),
                bottom + 18.0,
                p.start.format("%b %-d")
            );
        }
    }
    let line: Vec<String> = pts
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", left + slot * (i as f64 + 0.5), y(p.resolved)))
        .collect();
    let _ = write!(
        o,
        r##"<polyline points="{}" fill="none" stroke="#1f9d73" stroke-width="2.5" stroke-linejoin="round"/>"##,
        line.join(" ")
    );
    if pts.len() <= 60 {
        for (i, p) in pts.iter().enumerate() {
            let _ = write!(
                o,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#1f9d73"/>"##,
                left + slot * (i as f64 + 0.5),
                y(p.resolved)
            );
        }
    }
    let _ = write!(
        o,
        r##"<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#9aa5b1"/></svg>"##
    );
    o.push_str(
        r#"<details><summary>Data table</summary><table><tr><th>From</th><th class="n">Created</th><th class="n">Resolved</th></tr>"#,
    );
    for p in pts {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            p.start, p.created, p.resolved
        );
    }
    o.push_str("</table></details></figure>\n");
}

fn bar_chart(o: &mut String, id: &str, title: &str, bands: &[Band], color: &str) {
    let (w, h) = (520.0, 240.0);
    let (left, right, top, bottom) = (40.0, w - 10.0, 14.0, h - 30.0);
    let max = nice_max(bands.iter().map(|b| b.count).max().unwrap_or(0));
    let total: usize = bands.iter().map(|b| b.count).sum();
    let desc = bands
        .iter()
        .map(|b| format!("{}: {}", b.label, b.count))
        .collect::<Vec<_>>()
        .join("; ");
    svg_start(
        o,
        id,
        w as u32,
        h as u32,
        title,
        &format!("{total} in all. {desc}"),
    );
    y_axis(o, left, right, top, bottom, max);
    let slot = (right - left) / bands.len().max(1) as f64;
    let bar = slot * 0.66;
    for (i, b) in bands.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let hgt = (bottom - top) * b.count as f64 / max as f64;
        let _ = write!(
            o,
            r#"<rect x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{hgt:.1}" rx="3" fill="{color}"><title>{}: {}</title></rect>"#,
            bottom - hgt,
            esc(&b.label),
            b.count
        );
        if b.count > 0 {
            let _ = write!(
                o,
                r#"<text class="lbl" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar / 2.0,
                bottom - hgt - 4.0,
                b.count
            );
        }
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x + bar / 2.0,
            bottom + 18.0,
            esc(&b.label)
        );
    }
    let _ = write!(
        o,
        r##"<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#9aa5b1"/></svg>"##
    );
}

fn response_chart(o: &mut String, s: &Stats) {
    let f = &s.first_response;
    figure_start(
        o,
        "frt",
        "First response time",
        &format!(
            "How long customers waited for the first answer · median {} · p90 {}",
            dur(f.median_secs),
            dur(f.p90_secs)
        ),
        false,
    );
    if f.count == 0 {
        o.push_str(r#"<p class="empty">No ticket was answered in this window.</p></figure>"#);
        return;
    }
    bar_chart(
        o,
        "frt",
        "First response time distribution",
        &f.distribution,
        "#2f6fdf",
    );
    o.push_str("</figure>\n");
}

fn csat_chart(o: &mut String, s: &Stats) {
    let c = &s.csat;
    figure_start(
        o,
        "csat",
        "Satisfaction",
        &format!(
            "Average survey score per {} (1–{}) · {} good overall",
            s.volume.bucket,
            c.scale,
            pct(c.good_share)
        ),
        false,
    );
    let rated: Vec<(usize, &super::stats::Point)> = s
        .volume
        .points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.ratings > 0)
        .collect();
    if rated.is_empty() {
        o.push_str(r#"<p class="empty">No survey was answered in this window.</p></figure>"#);
        return;
    }
    let (w, h) = (520.0, 240.0);
    let (left, right, top, bottom) = (40.0, w - 14.0, 14.0, h - 30.0);
    let scale = c.scale.max(2) as f64;
    let n = s.volume.points.len().max(1) as f64;
    let x = |i: usize| left + (right - left) * (i as f64 + 0.5) / n;
    let y = |v: f64| bottom - (bottom - top) * (v - 1.0) / (scale - 1.0);
    svg_start(
        o,
        "csat",
        w as u32,
        h as u32,
        "Satisfaction trend",
        &format!(
            "{} ratings, average {}; {}",
            c.ratings,
            c.average.map_or("–".into(), |a| format!("{a:.1}")),
            rated
                .iter()
                .map(|(_, p)| format!(
                    "{}: {:.1} from {}",
                    p.start,
                    p.csat_average.unwrap_or(0.0),
                    p.ratings
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    );
    for v in 1..=c.scale.max(2) {
        let yy = y(v as f64);
        let _ = write!(
            o,
            r##"<line x1="{left}" x2="{right}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e4e7eb"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v}</text>"##,
            left - 6.0,
            yy + 4.0
        );
    }
    // The good zone.
    let good = y(c.good_from as f64);
    let _ = write!(
        o,
        r##"<rect x="{left}" y="{top}" width="{:.1}" height="{:.1}" fill="#1f9d73" opacity="0.07"/>"##,
        right - left,
        good - top
    );
    let line: Vec<String> = rated
        .iter()
        .map(|(i, p)| format!("{:.1},{:.1}", x(*i), y(p.csat_average.unwrap_or(1.0))))
        .collect();
    let _ = write!(
        o,
        r##"<polyline points="{}" fill="none" stroke="#d97706" stroke-width="2.5" stroke-linejoin="round"/>"##,
        line.join(" ")
    );
    for (i, p) in &rated {
        let _ = write!(
            o,
            r##"<circle cx="{:.1}" cy="{:.1}" r="{:.1}" fill="#d97706"><title>{}: {:.1} from {} rating(s)</title></circle>"##,
            x(*i),
            y(p.csat_average.unwrap_or(1.0)),
            3.0 + (p.ratings as f64).sqrt().min(4.0),
            p.start,
            p.csat_average.unwrap_or(0.0),
            p.ratings
        );
    }
    let first = s.volume.points.first().map(|p| p.start);
    let last = s.volume.points.last().map(|p| p.start);
    if let (Some(a), Some(b)) = (first, last) {
        let _ = write!(
            o,
            r#"<text x="{left}" y="{:.1}">{}</text><text x="{right}" y="{:.1}" text-anchor="end">{}</text>"#,
            bottom + 18.0,
            a.format("%b %-d"),
            bottom + 18.0,
            b.format("%b %-d")
        );
    }
    o.push_str("</svg>");
    o.push_str(r#"<details><summary>Ratings by score</summary><table><tr><th>Score</th><th class="n">Ratings</th></tr>"#);
    for (i, n) in c.by_score.iter().enumerate().rev() {
        let _ = write!(o, r#"<tr><td>{}</td><td class="n">{n}</td></tr>"#, i + 1);
    }
    o.push_str("</table></details></figure>\n");
}

fn heatmap(o: &mut String, s: &Stats) {
    let grid = &s.peak.hour_of_week;
    figure_start(
        o,
        "heat",
        "Peak times",
        &format!(
            "Tickets created by hour of the week ({}) · busiest: {}",
            s.timezone,
            if s.peak.busiest.is_empty() {
                "none".to_string()
            } else {
                s.peak
                    .busiest
                    .iter()
                    .map(|p| format!("{} {:02}:00 ({})", p.day, p.hour, p.count))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        true,
    );
    let max = grid.iter().flatten().copied().max().unwrap_or(0);
    let (cell, gap, left, top) = (36.0, 3.0, 44.0, 8.0);
    let w = left + 24.0 * (cell + gap) + 8.0;
    let h = top + 7.0 * (cell * 0.72 + gap) + 26.0;
    let ch = cell * 0.72;
    svg_start(
        o,
        "heat",
        w as u32,
        h as u32,
        "Tickets by hour of the week",
        &format!(
            "A grid of 7 days by 24 hours; darker is busier; at most {max} ticket(s) in one hour."
        ),
    );
    for (d, hours) in grid.iter().enumerate().take(7) {
        let yy = top + d as f64 * (ch + gap);
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 8.0,
            yy + ch / 2.0 + 4.0,
            WEEKDAYS[d]
        );
        for (hr, n) in hours.iter().enumerate().take(24) {
            let xx = left + hr as f64 * (cell + gap);
            let fill = if *n == 0 || max == 0 {
                "#eef1f5".to_string()
            } else {
                // From a pale to a deep blue, by share of the busiest hour.
                let t = (*n as f64 / max as f64).sqrt();
                let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
                format!(
                    "#{:02x}{:02x}{:02x}",
                    mix(207.0, 23.0),
                    mix(224.0, 64.0),
                    mix(250.0, 140.0)
                )
            };
            let _ = write!(
                o,
                r#"<rect x="{xx:.1}" y="{yy:.1}" width="{cell}" height="{ch:.1}" rx="3" fill="{fill}"><title>{} {hr:02}:00–{:02}:00: {n} ticket(s)</title></rect>"#,
                WEEKDAYS[d],
                (hr + 1) % 24
            );
        }
    }
    for hr in (0..24).step_by(3) {
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{hr:02}:00</text>"#,
            left + hr as f64 * (cell + gap) + cell / 2.0,
            top + 7.0 * (ch + gap) + 16.0
        );
    }
    o.push_str("</svg>");
    o.push_str(r#"<details><summary>Data table</summary><table><tr><th>Day</th>"#);
    for hr in 0..24 {
        let _ = write!(o, r#"<th class="n">{hr}</th>"#);
    }
    o.push_str("</tr>");
    for (d, hours) in grid.iter().enumerate().take(7) {
        let _ = write!(o, "<tr><th>{}</th>", WEEKDAYS[d]);
        for n in hours {
            let _ = write!(o, r#"<td class="n">{n}</td>"#);
        }
        o.push_str("</tr>");
    }
    o.push_str("</table></details></figure>\n");
}

fn counts_table(o: &mut String, head: &str, rows: &[(String, usize)]) {
    let _ = write!(
        o,
        r#"<table><tr><th>{}</th><th class="n">Tickets</th></tr>"#,
        esc(head)
    );
    if rows.is_empty() {
        o.push_str(r#"<tr><td colspan="2" class="empty">none</td></tr>"#);
    }
    for (name, n) in rows {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="n">{n}</td></tr>"#,
            esc(name)
        );
    }
    o.push_str("</table>");
}

fn backlog_section(o: &mut String, s: &Stats) {
    let b = &s.backlog;
    let _ = write!(
        o,
        r#"<section aria-labelledby="bl-h"><h2 id="bl-h">Backlog</h2><figcaption>{} open now · median age {} · oldest {}{}{}</figcaption>"#,
        b.open,
        dur(b.median_age_secs),
        dur(b.oldest_age_secs),
        b.oldest
            .as_ref()
            .map(|r| format!(" ({})", esc(r)))
            .unwrap_or_default(),
        if b.sla_breached > 0 {
            format!(" · {} past an SLA target", b.sla_breached)
        } else {
            String::new()
        }
    );
    if b.open > 0 {
        bar_chart(o, "age", "Backlog by age", &b.age, "#c2410c");
    }
    let order = ["new", "open", "pending", "urgent", "high", "normal", "low"];
    let rows = |m: &std::collections::BTreeMap<String, usize>| {
        let mut v: Vec<(String, usize)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        v.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
        v
    };
    o.push_str(r#"<div style="display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:12px;margin-top:10px">"#);
    o.push_str("<div>");
    counts_table(o, "Status", &rows(&b.by_status));
    o.push_str("</div><div>");
    counts_table(o, "Priority", &rows(&b.by_priority));
    o.push_str("</div><div>");
    counts_table(o, "Queue", &rows(&b.by_queue));
    o.push_str("</div></div></section>\n");
}

fn named_rows(v: &[Named]) -> Vec<(String, usize)> {
    v.iter().map(|n| (n.name.clone(), n.count)).collect()
}

fn top_section(o: &mut String, s: &Stats) {
    o.push_str(r#"<section aria-labelledby="top-h"><h2 id="top-h">Categories and tags</h2><figcaption>Of the tickets created in this window</figcaption><div style="display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:14px">"#);
    o.push_str("<div>");
    counts_table(o, "Category", &named_rows(&s.top_categories));
    o.push_str("</div><div>");
    counts_table(o, "Tag", &named_rows(&s.top_tags));
    o.push_str("</div></div>");
    let sla = &s.sla;
    let _ = write!(
        o,
        r#"<h2 style="margin-top:16px">SLA</h2><figcaption>{} of {} resolved tickets with targets met them ({})</figcaption><table><tr><th>Target missed</th><th class="n">Tickets</th></tr>"#,
        sla.met,
        sla.tickets,
        pct(sla.attainment)
    );
    for (k, n) in &sla.breaches {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="n">{n}</td></tr>"#,
            esc(&k.replace('_', " "))
        );
    }
    o.push_str("</table></section>\n");
}

fn agents_section(o: &mut String, s: &Stats) {
    o.push_str(r#"<section class="wide" aria-labelledby="agents-h"><h2 id="agents-h">Agents</h2><figcaption>Tickets assigned to each agent now, over the whole desk; time worked is what they logged with #time on tickets created in this window</figcaption>"#);
    if s.agents.is_empty() {
        o.push_str(r#"<p class="empty">No agents configured.</p></section>"#);
        return;
    }
    o.push_str(r#"<table><tr><th>Agent</th><th class="n">Answered</th><th class="n">First response (median)</th><th class="n">Resolved</th><th class="n">Resolution (median)</th><th class="n">CSAT</th><th class="n">Reopened</th><th class="n">Time worked</th></tr>"#);
    for a in &s.agents {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&a.agent),
            a.answered,
            esc(&dur(a.first_response_median_secs)),
            a.resolved,
            esc(&dur(a.resolution_median_secs)),
            esc(&a
                .csat_average
                .map_or("–".into(), |c| format!("{c:.1} ({})", a.ratings))),
            esc(&pct(a.reopen_rate)),
            esc(&human(a.minutes_worked as i64 * 60)),
        );
    }
    o.push_str("</table></section>\n");
}

fn work_section(o: &mut String, s: &Stats) {
    let c = &s.conversation;
    let _ = write!(
        o,
        r#"<section aria-labelledby="work-h"><h2 id="work-h">Created and resolved per week</h2><figcaption>{} answers per resolution; {} of {} resolved tickets had been reopened ({})</figcaption><details open><summary>Weeks</summary><table><tr><th>Week of</th><th class="n">Created</th><th class="n">Resolved</th><th class="n">Angry first mail</th></tr>"#,
        esc(&c
            .replies_per_resolution
            .map_or("–".into(), |r| format!("{r:.1}"))),
        c.reopened,
        c.resolved,
        esc(&pct(c.reopen_rate)),
    );
    for w in s.weekly.iter().rev() {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            w.start,
            w.created,
            w.resolved,
            esc(&match w.negative_share {
                Some(_) => format!(
                    "{} ({} of {})",
                    pct(w.negative_share),
                    w.negative,
                    w.with_mood
                ),
                None => "–".into(),
            })
        );
    }
    o.push_str(r#"</table></details></section><section aria-labelledby="org-h"><h2 id="org-h">Organisations</h2><figcaption>Tickets created in this window, and open now</figcaption>"#);
    if s.organizations.is_empty() {
        o.push_str(r#"<p class="empty">No tickets.</p></section>"#);
        return;
    }
    o.push_str(
        r#"<table><tr><th>Organisation</th><th class="n">Created</th><th class="n">Open</th></tr>"#,
    );
    for g in &s.organizations {
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&g.name),
            g.created,
            g.open
        );
    }
    o.push_str("</table></section>\n");
}

fn recurring_section(o: &mut String, s: &Stats) {
    o.push_str(r#"<section class="wide" aria-labelledby="rec-h"><h2 id="rec-h">Recurring issues</h2><figcaption>Subjects seen on several tickets (case, numbers and punctuation evened out)</figcaption>"#);
    if s.recurring_subjects.is_empty() {
        o.push_str(r#"<p class="empty">No subject came up often enough.</p></section>"#);
        return;
    }
    o.push_str(
        r#"<table><tr><th class="n">Count</th><th>Subject (as first written)</th><th>Tickets</th></tr>"#,
    );
    for r in &s.recurring_subjects {
        let mut refs = r.tickets.join(", ");
        if r.count > r.tickets.len() {
            refs.push_str(", …");
        }
        let _ = write!(
            o,
            r#"<tr><td class="n">{}</td><td>{}</td><td>{}</td></tr>"#,
            r.count,
            esc(&r.example),
            esc(&refs)
        );
    }
    o.push_str("</table></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(esc("a\u{7}b"), "a b");
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(51), 100);
    }
}
