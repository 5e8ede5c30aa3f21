//! The numbers of `postdesk stats`, computed from tickets and the clock.
//!
//! # Definitions
//!
//! The report covers a window `[since, now]` (all time without `--since`)
//! and, with `--queue`, the tickets currently in that queue. Spam and
//! tickets merged into another are left out of every figure. Durations are
//! wall-clock time (business hours are not subtracted); SLA attainment is
//! the desk's own verdict, which counts open hours where an SLA class names
//! a calendar.
//!
//! - **created**: tickets created in the window. Volume, peak times, top
//!   categories, tags and recurring subjects are about these.
//! - **first response time**: from a ticket's creation to the first answer
//!   an agent sent the customer, for tickets first answered in the window.
//! - **resolution time**: from creation to the (last) resolution, for
//!   tickets resolved or closed in the window and still so now.
//! - **percentiles**: nearest rank: the p-th percentile of n sorted values
//!   is the value at position ⌈p·n/100⌉ (so the median of 4 values is the
//!   2nd).
//! - **CSAT**: survey ratings given in the window: the average score and
//!   the share of good ratings, a score of at least 80 % of the scale (4 or
//!   5 of 5, 3 of 3).
//! - **first-contact resolution**: among tickets resolved in the window that
//!   got at least one answer, the share resolved with exactly one agent
//!   answer and never reopened.
//! - **SLA attainment**: among tickets resolved in the window whose SLA
//!   class has targets, the share with no target breached.
//! - **backlog**: tickets not resolved or closed at `now`, whatever the
//!   window, by status, queue and priority; age is `now` minus creation.
//! - **peak times**: tickets created per hour of the week, Monday first, in
//!   the desk's time zone (`desk.timezone`).
//! - **recurring subjects**: subjects seen on at least
//!   [`Options::recurring_min`] created tickets once lowercased, with
//!   numbers replaced by `#` and punctuation and spacing evened out.
//! - **conversation**: among tickets resolved in the window, the share that
//!   had been reopened (reopen rate) and agent answers per resolution.
//! - **weeks**: created and resolved per week (Monday first, local time)
//!   from the window's first week (or the data's) to this one.
//! - **agents**: per `[[agent]]`, over the tickets assigned to them now and
//!   whatever `--queue` (an agent's work is not one queue's): first answers
//!   given in the window and their median, resolutions in the window, their
//!   median and the share reopened, and survey ratings given in the window.
//!   Time worked is the minutes an agent logged with `#time` on tickets
//!   created in the window, whoever those tickets are assigned to.
//! - **organisations**: requesters grouped by `[[organization]]` domains
//!   (else their own domain): tickets created in the window, and open now.
//!
//! Rates, averages and shares are rounded to three decimals.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::summary::Summary;

mod fold;
#[cfg(test)]
#[path = "reference.rs"]
mod reference;
use crate::ticket::{Status, Ticket};
pub use fold::Fold;

/// What the report is about, and the desk settings it needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub now: DateTime<Utc>,
    /// The window's start; `None` for all time.
    pub since: Option<DateTime<Utc>>,
    pub queue: Option<String>,
    /// SLA classes (priority names or named classes) that have a target.
    pub sla_classes: BTreeSet<String>,
    /// The survey scale: scores run 1..=scale, higher is better.
    pub scale: u32,
    pub timezone: chrono_tz::Tz,
    /// How many tickets make a subject recurring.
    pub recurring_min: usize,
    /// How many categories, tags and subjects to list.
    pub top: usize,
    /// The desk's name (`[desk] name`), for titles.
    pub desk: String,
    /// The agents the agents table lists (`[[agent]]`), lowercased.
    pub agents: Vec<String>,
    /// `[[organization]]`s: name and domains (trimmed, lowercased), which
    /// group requesters.
    pub organizations: Vec<(String, Vec<String>)>,
}

impl Options {
    /// The organisation of a requester's domain: the `[[organization]]`
    /// listing it (or a parent domain), else the domain itself (as
    /// `Config::organization_of`).
    pub fn organization_of_domain(&self, domain: &str) -> String {
        self.organizations
            .iter()
            .find(|(_, domains)| {
                domains.iter().any(|d| {
                    domain
                        .strip_suffix(d.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
                })
            })
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| domain.to_string())
    }
}

/// A requester's domain, lowercased.
pub fn domain_of(email: &str) -> String {
    email
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// An agent as tickets name them: trimmed, lowercased.
pub fn agent_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

impl Options {
    pub fn new(now: DateTime<Utc>) -> Options {
        Options {
            now,
            since: None,
            queue: None,
            sla_classes: BTreeSet::new(),
            scale: 5,
            timezone: chrono_tz::UTC,
            recurring_min: 3,
            top: 10,
            desk: String::new(),
            agents: Vec::new(),
            organizations: Vec::new(),
        }
    }
}

/// The whole report; its field names are the `--json` contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub now: DateTime<Utc>,
    pub since: Option<DateTime<Utc>>,
    pub queue: Option<String>,
    pub timezone: String,
    pub tickets: Counts,
    pub first_response: Times,
    pub resolution: Times,
    pub csat: Csat,
    pub first_contact_resolution: Fcr,
    pub sla: SlaReport,
    pub backlog: Backlog,
    pub peak: Peak,
    pub volume: Volume,
    pub top_categories: Vec<Named>,
    pub top_tags: Vec<Named>,
    pub recurring_subjects: Vec<Recurring>,
    /// The desk's name.
    #[serde(default)]
    pub desk: String,
    /// Of the tickets resolved in the window: how many had been reopened,
    /// and how many answers they took.
    #[serde(default)]
    pub conversation: Conversation,
    /// Created and resolved per week (starting Monday), whatever the
    /// window's length.
    #[serde(default)]
    pub weekly: Vec<Week>,
    /// Per `[[agent]]`, over the whole desk whatever `--queue`.
    #[serde(default)]
    pub agents: Vec<AgentStats>,
    /// Organisations by tickets created in the window, then open now.
    #[serde(default)]
    pub organizations: Vec<OrgStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub resolved: usize,
    pub reopened: usize,
    pub reopen_rate: Option<f64>,
    pub replies: usize,
    pub replies_per_resolution: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Week {
    pub start: NaiveDate,
    pub created: usize,
    pub resolved: usize,
    /// Of the tickets created that week, those whose first message had a
    /// mood kept (live mail; not imported history), and how many of them
    /// read negative: how many customers arrive angry.
    #[serde(default)]
    pub with_mood: usize,
    #[serde(default)]
    pub negative: usize,
    /// `negative / with_mood`; `None` for a week without such tickets (no
    /// data is not a calm week).
    #[serde(default)]
    pub negative_share: Option<f64>,
}

/// One agent's figures, about the tickets assigned to them now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentStats {
    pub agent: String,
    /// First answers given in the window.
    pub answered: usize,
    pub first_response_median_secs: Option<i64>,
    pub resolved: usize,
    pub resolution_median_secs: Option<i64>,
    pub ratings: usize,
    pub csat_average: Option<f64>,
    /// Of their tickets resolved in the window, the share reopened before.
    pub reopen_rate: Option<f64>,
    /// Minutes they logged (`#time`) on tickets created in the window,
    /// whoever the ticket is assigned to.
    pub minutes_worked: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgStats {
    pub name: String,
    /// Tickets created in the window.
    pub created: usize,
    /// Open now.
    pub open: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Created in the window.
    pub created: usize,
    /// Resolved or closed in the window.
    pub resolved: usize,
    /// Spam created in the window (left out of everything else).
    pub spam: usize,
}

/// A duration statistic, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Times {
    pub count: usize,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
    pub average_secs: Option<i64>,
    /// How many fall in each band, shortest first.
    pub distribution: Vec<Band>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub label: String,
    /// The band holds durations below this (the last band has none).
    pub below_secs: Option<i64>,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Csat {
    pub ratings: usize,
    pub scale: u32,
    pub average: Option<f64>,
    /// Share of ratings at or above `good_from`.
    pub good_share: Option<f64>,
    pub good_from: u32,
    /// How many ratings gave each score, 1 first.
    pub by_score: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fcr {
    /// Resolved in the window with at least one agent answer.
    pub eligible: usize,
    /// Of those, one answer and never reopened.
    pub first_contact: usize,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaReport {
    /// Resolved in the window, with targets.
    pub tickets: usize,
    pub met: usize,
    pub breached: usize,
    pub attainment: Option<f64>,
    /// Missed targets of those tickets, by kind.
    pub breaches: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backlog {
    pub open: usize,
    pub by_status: BTreeMap<String, usize>,
    pub by_queue: BTreeMap<String, usize>,
    pub by_priority: BTreeMap<String, usize>,
    pub median_age_secs: Option<i64>,
    pub oldest_age_secs: Option<i64>,
    pub oldest: Option<String>,
    pub age: Vec<Band>,
    /// Open tickets that already missed an SLA target.
    pub sla_breached: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// `[weekday][hour]`, Monday first, hours 0–23 in `timezone`.
    pub hour_of_week: Vec<Vec<usize>>,
    /// The three busiest hours, busiest first.
    pub busiest: Vec<PeakHour>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeakHour {
    pub day: String,
    pub hour: u32,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// `day` for windows up to 92 days, else `week` (starting Monday).
    pub bucket: String,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The bucket's first day, in the desk's time zone.
    pub start: NaiveDate,
    pub created: usize,
    pub resolved: usize,
    pub ratings: usize,
    pub csat_average: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    pub name: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recurring {
    /// The normalized form tickets were grouped by.
    pub key: String,
    /// The subject of the first such ticket, as written.
    pub example: String,
    pub count: usize,
    /// Their references, oldest first (at most ten).
    pub tickets: Vec<String>,
}

/// The first-response bands of the distribution chart.
const RESPONSE_BANDS: [(&str, Option<i64>); 7] = [
    ("< 15m", Some(900)),
    ("15m–1h", Some(3600)),
    ("1–4h", Some(4 * 3600)),
    ("4–8h", Some(8 * 3600)),
    ("8–24h", Some(86_400)),
    ("1–3d", Some(3 * 86_400)),
    ("≥ 3d", None),
];

const AGE_BANDS: [(&str, Option<i64>); 5] = [
    ("< 1d", Some(86_400)),
    ("1–3d", Some(3 * 86_400)),
    ("3–7d", Some(7 * 86_400)),
    ("7–30d", Some(30 * 86_400)),
    ("≥ 30d", None),
];

pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| round3(part as f64 / whole as f64))
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn bands(values: &[i64], table: &[(&str, Option<i64>)]) -> Vec<Band> {
    let mut out: Vec<Band> = table
        .iter()
        .map(|(label, below)| Band {
            label: label.to_string(),
            below_secs: *below,
            count: 0,
        })
        .collect();
    for v in values {
        if let Some(b) = out
            .iter_mut()
            .find(|b| b.below_secs.is_none_or(|lim| *v < lim))
        {
            b.count += 1;
        }
    }
    out
}

fn times(mut values: Vec<i64>) -> Times {
    values.sort_unstable();
    let average = (!values.is_empty())
        .then(|| (values.iter().map(|v| *v as i128).sum::<i128>() / values.len() as i128) as i64);
    Times {
        count: values.len(),
        median_secs: percentile(&values, 50),
        p90_secs: percentile(&values, 90),
        average_secs: average,
        distribution: bands(&values, &RESPONSE_BANDS),
    }
}

/// The grouping key of a subject: lowercased, numbers as `#`, anything
/// that is not a letter, digit or `#` as single spaces.
pub fn subject_key(subject: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    let mut space = false;
    for c in subject.chars().flat_map(char::to_lowercase) {
        if c.is_numeric() {
            if !in_number {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                out.push('#');
                space = false;
            }
            in_number = true;
            continue;
        }
        in_number = false;
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else {
            space = true;
        }
    }
    out
}

fn finished(s: Status) -> bool {
    matches!(s, Status::Resolved | Status::Closed)
}

fn top(counts: HashMap<String, usize>, n: usize) -> Vec<Named> {
    let mut v: Vec<Named> = counts
        .into_iter()
        .map(|(name, count)| Named { name, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v.truncate(n);
    v
}

/// What the report prints of the few tickets it names (the oldest open
/// one, the recurring subjects' first ones), read by number at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub reference: String,
    pub subject: String,
}

/// Computes the report from full tickets: the same [`Fold`] the store's
/// summaries go through, so both answer alike by construction. See the
/// module documentation for each figure.
pub fn compute(tickets: &[Ticket], o: &Options) -> Stats {
    let mut fold = Fold::new(o);
    for t in tickets {
        fold.add(&Summary::of(t));
    }
    let by_number: HashMap<u64, &Ticket> = tickets.iter().map(|t| (t.number, t)).collect();
    fold.finish(|n| {
        by_number.get(&n).map(|t| Shown {
            reference: t.reference.clone(),
            subject: t.subject.clone(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::fold::{conversation, organizations, weeks};
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 90), Some(4));
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 50), Some(5));
    }

    #[test]
    fn subjects_group_by_shape() {
        assert_eq!(subject_key("Invoice 1234 missing!"), "invoice # missing");
        assert_eq!(subject_key("  INVOICE #99 -- Missing"), "invoice # missing");
        assert_eq!(subject_key("Café: cannot log in"), "café cannot log in");
        assert_eq!(subject_key("???"), "");
    }

    #[test]
    fn good_ratings_start_at_four_fifths_of_the_scale() {
        for (scale, good) in [(5, 4), (3, 3), (10, 8), (2, 2), (1, 1)] {
            assert_eq!((scale * 4u32).div_ceil(5).max(1), good, "scale {scale}");
        }
    }

    fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn requesters_group_by_organisation_then_domain() {
        let mut o = Options::new(utc(2026, 3, 9));
        o.organizations = vec![("Acme".into(), vec!["acme.test".into()])];
        assert_eq!(domain_of("Ann@Mail.Acme.test"), "mail.acme.test");
        assert_eq!(domain_of("no-domain"), "");
        assert_eq!(o.organization_of_domain("acme.test"), "Acme");
        assert_eq!(o.organization_of_domain("mail.acme.test"), "Acme");
        assert_eq!(o.organization_of_domain("notacme.test"), "notacme.test");
        assert_eq!(agent_key(" Alice@Desk.test "), "alice@desk.test");
    }

    #[test]
    fn organisations_rank_by_created_then_open_then_name() {
        let orgs = BTreeMap::from([
            ("b".to_string(), (2, 0)),
            ("a".to_string(), (2, 0)),
            ("c".to_string(), (1, 5)),
            ("d".to_string(), (1, 6)),
            ("gone".to_string(), (0, 0)),
        ]);
        let names: Vec<String> = organizations(orgs.clone(), 10)
            .into_iter()
            .map(|g| g.name)
            .collect();
        assert_eq!(names, ["a", "b", "d", "c"]);
        assert_eq!(organizations(orgs, 1).len(), 1);
    }

    #[test]
    fn weeks_start_on_monday_and_include_empty_ones() {
        // Wednesday 4 March to Monday 23 March 2026.
        let mut o = Options::new(utc(2026, 3, 23));
        o.since = Some(utc(2026, 3, 4));
        let days = BTreeMap::from([
            (day(2026, 3, 3), (9, 9, 0, 0)), // before the window
            (day(2026, 3, 4), (2, 1, 0, 0)),
            (day(2026, 3, 8), (1, 0, 0, 0)), // Sunday: same week
            (day(2026, 3, 23), (0, 3, 0, 0)),
        ]);
        let w = weeks(&days, &BTreeMap::new(), &o, |t| t.date_naive());
        let got: Vec<(NaiveDate, usize, usize)> =
            w.iter().map(|w| (w.start, w.created, w.resolved)).collect();
        assert_eq!(
            got,
            [
                (day(2026, 3, 2), 3, 1),
                (day(2026, 3, 9), 0, 0),
                (day(2026, 3, 16), 0, 0),
                (day(2026, 3, 23), 0, 3),
            ]
        );
    }

    #[test]
    fn conversation_rates_need_a_resolution() {
        let c = conversation(Conversation::default());
        assert_eq!((c.reopen_rate, c.replies_per_resolution), (None, None));
        let c = conversation(Conversation {
            resolved: 3,
            reopened: 1,
            replies: 5,
            ..Conversation::default()
        });
        assert_eq!(c.reopen_rate, Some(0.333));
        assert_eq!(c.replies_per_resolution, Some(1.667));
    }
}
