//! `postdesk stats` in a terminal: a manager's summary, one figure a line,
//! labels aligned, durations in words a person reads at a glance.
//!
//! Subjects, tags and names in it come from customers' mail: each is
//! escaped with [`safe`] as it is placed, so the summary cannot carry
//! terminal escape sequences (see that module for why).

use std::fmt::Write as _;

use crate::cli::safe;

use super::human;
use super::stats::{Band, Named, Stats, Times};

const LABEL: usize = 18;

fn line(o: &mut String, label: &str, value: String) {
    let _ = writeln!(o, "{label:<LABEL$}{value}");
}

fn pct(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |x| format!("{:.0}%", x * 100.0))
}

fn dur(x: Option<i64>) -> String {
    x.map_or("n/a".into(), human)
}

fn times(t: &Times, what: &str) -> String {
    if t.count == 0 {
        return format!("no ticket {what} yet");
    }
    format!(
        "median {:<8} p90 {:<8} ({} {what})",
        dur(t.median_secs),
        dur(t.p90_secs),
        t.count
    )
}

fn list(items: &[Named]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|n| format!("{} {}", safe::line(&n.name), n.count))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bands(b: &[Band]) -> String {
    b.iter()
        .map(|b| format!("{} {}", safe::line(&b.label), b.count))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole summary, ready to print.
pub fn render(s: &Stats) -> String {
    let mut o = String::new();
    let when = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d %H:%M UTC").to_string();
    let window = match s.since {
        Some(since) => format!("{} to {}", when(since), when(s.now)),
        None => format!("all time to {}", when(s.now)),
    };
    let queue = s.queue.as_deref().map_or("all queues".to_string(), |q| {
        format!("queue {}", safe::line(q))
    });
    let desk = if s.desk.is_empty() {
        String::new()
    } else {
        format!("{} ", safe::line(&s.desk))
    };
    let _ = writeln!(o, "{desk}Support report: {window}, {queue}");
    let _ = writeln!(o);
    line(
        &mut o,
        "Tickets",
        format!(
            "{} created, {} resolved{}",
            s.tickets.created,
            s.tickets.resolved,
            if s.tickets.spam > 0 {
                format!(" ({} spam left out)", s.tickets.spam)
            } else {
                String::new()
            }
        ),
    );
    line(
        &mut o,
        "First response",
        times(&s.first_response, "answered"),
    );
    line(&mut o, "Resolution", times(&s.resolution, "resolved"));
    let c = &s.csat;
    line(
        &mut o,
        "Satisfaction",
        match c.average {
            Some(avg) => format!(
                "{avg:.1} of {} on average, {} good ({}+) from {} rating(s)",
                c.scale,
                pct(c.good_share),
                c.good_from,
                c.ratings
            ),
            None => "no ratings yet".into(),
        },
    );
    let f = &s.first_contact_resolution;
    line(
        &mut o,
        "First contact",
        match f.rate {
            Some(_) => format!(
                "{} resolved with one answer ({} of {})",
                pct(f.rate),
                f.first_contact,
                f.eligible
            ),
            None => "no answered ticket resolved yet".into(),
        },
    );
    let sla = &s.sla;
    line(
        &mut o,
        "SLA met",
        match sla.attainment {
            Some(_) => {
                let missed: Vec<String> = sla
                    .breaches
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(k, n)| format!("{} {n}", k.replace('_', " ")))
                    .collect();
                format!(
                    "{} ({} of {}){}",
                    pct(sla.attainment),
                    sla.met,
                    sla.tickets,
                    if missed.is_empty() {
                        String::new()
                    } else {
                        format!("; missed: {}", missed.join(", "))
                    }
                )
            }
            None => "no resolved ticket with SLA targets".into(),
        },
    );
    let c = &s.conversation;
    line(
        &mut o,
        "Conversation",
        match c.replies_per_resolution {
            Some(r) => format!(
                "{r:.1} answers per resolution, {} reopened ({} of {})",
                pct(c.reopen_rate),
                c.reopened,
                c.resolved
            ),
            None => "no ticket resolved yet".into(),
        },
    );
    let _ = writeln!(o);
    let b = &s.backlog;
    let join = |m: &std::collections::BTreeMap<String, usize>, order: &[&str]| {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
        keys.iter()
            .map(|k| format!("{} {}", safe::line(k), m[*k]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    line(
        &mut o,
        "Backlog",
        format!(
            "{} open: {}",
            b.open,
            join(&b.by_status, &["new", "open", "pending"])
        ),
    );
    if b.open > 0 {
        line(&mut o, "  by queue", join(&b.by_queue, &[]));
        line(
            &mut o,
            "  by priority",
            join(&b.by_priority, &["urgent", "high", "normal", "low"]),
        );
        line(
            &mut o,
            "  age",
            format!(
                "median {}, oldest {}{}",
                dur(b.median_age_secs),
                dur(b.oldest_age_secs),
                b.oldest
                    .as_ref()
                    .map(|r| format!(" ({})", safe::line(r)))
                    .unwrap_or_default()
            ),
        );
        line(&mut o, "  age bands", bands(&b.age));
        if b.sla_breached > 0 {
            line(
                &mut o,
                "  SLA missed",
                format!("{} open ticket(s)", b.sla_breached),
            );
        }
    }
    let _ = writeln!(o);
    line(
        &mut o,
        "Peak times",
        if s.peak.busiest.is_empty() {
            "no tickets".into()
        } else {
            format!(
                "{}, {}",
                s.peak
                    .busiest
                    .iter()
                    .map(|p| format!("{} {:02}:00 ({})", p.day, p.hour, p.count))
                    .collect::<Vec<_>>()
                    .join(", "),
                s.timezone
            )
        },
    );
    line(&mut o, "Top categories", list(&s.top_categories));
    line(&mut o, "Top tags", list(&s.top_tags));
    if s.recurring_subjects.is_empty() {
        line(&mut o, "Recurring", "none".into());
    } else {
        line(
            &mut o,
            "Recurring",
            "count  subject (as first written)      tickets".into(),
        );
        for r in &s.recurring_subjects {
            let mut refs = r.tickets.join(", ");
            if r.count > r.tickets.len() {
                refs.push_str(", …");
            }
            let _ = writeln!(
                o,
                "{:LABEL$}{:>5}  {:<32}  {}",
                "",
                r.count,
                safe::cell(&r.example, 32),
                safe::line(&refs)
            );
        }
    }
    if !s.agents.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<28} {:>8} {:>10} {:>8} {:>10} {:>9} {:>8} {:>8}",
            "Agents",
            "answered",
            "first resp",
            "resolved",
            "resolution",
            "CSAT",
            "reopened",
            "worked"
        );
        for a in &s.agents {
            let _ = writeln!(
                o,
                "  {:<26} {:>8} {:>10} {:>8} {:>10} {:>9} {:>8} {:>8}",
                safe::cell(&a.agent, 26),
                a.answered,
                dur(a.first_response_median_secs),
                a.resolved,
                dur(a.resolution_median_secs),
                a.csat_average
                    .map_or("n/a".into(), |c| format!("{c:.1} ({})", a.ratings)),
                pct(a.reopen_rate),
                human(a.minutes_worked as i64 * 60),
            );
        }
    }
    if !s.organizations.is_empty() {
        line(
            &mut o,
            "Organisations",
            s.organizations
                .iter()
                .map(|g| {
                    format!(
                        "{} {} created, {} open",
                        safe::line(&g.name),
                        g.created,
                        g.open
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    if !s.weekly.is_empty() {
        // The last twelve weeks fit a screen; the HTML report and the CSV
        // have every week.
        let shown = s.weekly.len().min(12);
        let _ = writeln!(o);
        let _ = writeln!(o, "Week of       created resolved  angry first mail");
        for w in &s.weekly[s.weekly.len() - shown..] {
            let angry = match w.negative_share {
                Some(share) => format!("{:>4.0}% of {}", share * 100.0, w.with_mood),
                None => "-".into(),
            };
            let _ = writeln!(
                o,
                "  {}  {:>7} {:>8}  {angry}",
                w.start, w.created, w.resolved
            );
        }
        if shown < s.weekly.len() {
            let _ = writeln!(
                o,
                "  ({} earlier weeks: `--html FILE` or `--csv`)",
                s.weekly.len() - shown
            );
        }
    }
    let points = &s.volume.points;
    if !points.is_empty() && points.len() <= 31 {
        let _ = writeln!(o);
        let _ = writeln!(o, "Volume per {}   created resolved", s.volume.bucket);
        let max = points.iter().map(|p| p.created).max().unwrap_or(0).max(1);
        for p in points {
            let bar = "█".repeat((p.created * 30).div_ceil(max).min(30));
            let _ = writeln!(
                o,
                "  {}  {:>7} {:>8}  {bar}",
                p.start, p.created, p.resolved
            );
        }
    } else if !points.is_empty() {
        let _ = writeln!(
            o,
            "\n{} {}s of volume: `--html FILE` charts them",
            points.len(),
            s.volume.bucket
        );
    }
    o
}
