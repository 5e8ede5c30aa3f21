//! `postdesk stats --csv`: the report as one table for spreadsheets.
//!
//! # Layout
//!
//! One header row, `section,item,metric,value`, then one row per figure:
//!
//! | section | item | metrics |
//! |---|---|---|
//! | `window` | – | `desk`, `since` (empty for all time), `now`, `queue` (empty for all), `timezone` |
//! | `summary` | – | `created`, `resolved`, `spam`, `first_response_count`, `first_response_median_secs`, `first_response_p90_secs`, `first_response_average_secs`, the same four for `resolution`, `csat_ratings`, `csat_average`, `csat_good_share`, `first_contact_rate`, `sla_attainment`, `reopened`, `reopen_rate`, `replies`, `replies_per_resolution`, `backlog_open`, `backlog_median_age_secs`, `backlog_oldest_age_secs`, `backlog_sla_breached` |
//! | `day` or `week` (the volume chart's bucket) | first day (YYYY-MM-DD) | `created`, `resolved`, `ratings`, `csat_average` |
//! | `weekly` | Monday (YYYY-MM-DD) | `created`, `resolved` |
//! | `agent` | address | `answered`, `first_response_median_secs`, `resolved`, `resolution_median_secs`, `ratings`, `csat_average`, `reopen_rate`, `minutes_worked` |
//! | `organization` | name | `created`, `open` |
//! | `backlog_status`, `backlog_queue`, `backlog_priority` | status, queue, priority | `open` |
//! | `category`, `tag` | name | `created` |
//! | `recurring` | normalized subject | `count`, `example`, `tickets` (references, space-separated) |
//!
//! Shares are fractions (0.6 for 60 %), durations seconds; a figure with no
//! value (a median of nothing) is an empty cell. Filtering on `section` and
//! pivoting on `metric` gives each table of the report.
//!
//! Cells are quoted when they hold a comma, quote or line break (RFC 4180),
//! and a cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets
//! a leading `'`, so a subject a customer wrote cannot become a formula
//! when the file is opened in a spreadsheet (OWASP "CSV injection").
//! Other control characters become spaces.

use std::fmt::Write as _;

use super::stats::Stats;

/// One cell, neutralised and escaped.
pub fn cell(s: &str) -> String {
    // Control characters (an escape sequence in a subject) would reach the
    // terminal when the CSV is not redirected: they become spaces.
    let s: String = s
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

struct Table(String);

impl Table {
    fn row(&mut self, section: &str, item: &str, metric: &str, value: impl ToString) {
        let _ = writeln!(
            self.0,
            "{},{},{},{}",
            cell(section),
            cell(item),
            cell(metric),
            cell(&value.to_string())
        );
    }
}

pub fn render(s: &Stats) -> String {
    let mut t = Table(String::from("section,item,metric,value\n"));
    let w = "window";
    t.row(w, "", "desk", &s.desk);
    t.row(w, "", "since", opt(s.since.map(|d| d.to_rfc3339())));
    t.row(w, "", "now", s.now.to_rfc3339());
    t.row(w, "", "queue", opt(s.queue.as_ref()));
    t.row(w, "", "timezone", &s.timezone);
    let m = "summary";
    t.row(m, "", "created", s.tickets.created);
    t.row(m, "", "resolved", s.tickets.resolved);
    t.row(m, "", "spam", s.tickets.spam);
    for (name, times) in [
        ("first_response", &s.first_response),
        ("resolution", &s.resolution),
    ] {
        t.row(m, "", &format!("{name}_count"), times.count);
        t.row(
            m,
            "",
            &format!("{name}_median_secs"),
            opt(times.median_secs),
        );
        t.row(m, "", &format!("{name}_p90_secs"), opt(times.p90_secs));
        t.row(
            m,
            "",
            &format!("{name}_average_secs"),
            opt(times.average_secs),
        );
    }
    t.row(m, "", "csat_ratings", s.csat.ratings);
    t.row(m, "", "csat_average", opt(s.csat.average));
    t.row(m, "", "csat_good_share", opt(s.csat.good_share));
    t.row(
        m,
        "",
        "first_contact_rate",
        opt(s.first_contact_resolution.rate),
    );
    t.row(m, "", "sla_attainment", opt(s.sla.attainment));
    let c = &s.conversation;
    t.row(m, "", "reopened", c.reopened);
    t.row(m, "", "reopen_rate", opt(c.reopen_rate));
    t.row(m, "", "replies", c.replies);
    t.row(
        m,
        "",
        "replies_per_resolution",
        opt(c.replies_per_resolution),
    );
    let b = &s.backlog;
    t.row(m, "", "backlog_open", b.open);
    t.row(m, "", "backlog_median_age_secs", opt(b.median_age_secs));
    t.row(m, "", "backlog_oldest_age_secs", opt(b.oldest_age_secs));
    t.row(m, "", "backlog_sla_breached", b.sla_breached);
    for p in &s.volume.points {
        let day = p.start.to_string();
        t.row(&s.volume.bucket, &day, "created", p.created);
        t.row(&s.volume.bucket, &day, "resolved", p.resolved);
        t.row(&s.volume.bucket, &day, "ratings", p.ratings);
        t.row(&s.volume.bucket, &day, "csat_average", opt(p.csat_average));
    }
    for wk in &s.weekly {
        let day = wk.start.to_string();
        t.row("weekly", &day, "created", wk.created);
        t.row("weekly", &day, "resolved", wk.resolved);
        t.row("weekly", &day, "first_mail_with_mood", wk.with_mood);
        t.row("weekly", &day, "first_mail_negative", wk.negative);
        t.row("weekly", &day, "negative_share", opt(wk.negative_share));
    }
    for a in &s.agents {
        let g = &a.agent;
        t.row("agent", g, "answered", a.answered);
        t.row(
            "agent",
            g,
            "first_response_median_secs",
            opt(a.first_response_median_secs),
        );
        t.row("agent", g, "resolved", a.resolved);
        t.row(
            "agent",
            g,
            "resolution_median_secs",
            opt(a.resolution_median_secs),
        );
        t.row("agent", g, "ratings", a.ratings);
        t.row("agent", g, "csat_average", opt(a.csat_average));
        t.row("agent", g, "reopen_rate", opt(a.reopen_rate));
        t.row("agent", g, "minutes_worked", a.minutes_worked);
    }
    for g in &s.organizations {
        t.row("organization", &g.name, "created", g.created);
        t.row("organization", &g.name, "open", g.open);
    }
    for (section, m) in [
        ("backlog_status", &b.by_status),
        ("backlog_queue", &b.by_queue),
        ("backlog_priority", &b.by_priority),
    ] {
        for (k, n) in m {
            t.row(section, k, "open", n);
        }
    }
    for n in &s.top_categories {
        t.row("category", &n.name, "created", n.count);
    }
    for n in &s.top_tags {
        t.row("tag", &n.name, "created", n.count);
    }
    for r in &s.recurring_subjects {
        t.row("recurring", &r.key, "count", r.count);
        t.row("recurring", &r.key, "example", &r.example);
        t.row("recurring", &r.key, "tickets", r.tickets.join(" "));
    }
    t.0
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_are_quoted_and_cannot_start_formulas() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("0.6"), "0.6");
        assert_eq!(cell("a\u{1b}[31mb"), "a [31mb");
    }
}
