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
//!
//! Rates, averages and shares are rounded to three decimals.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::ticket::{Priority, SlaKind, Status, Ticket};

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

/// The SLA targets a ticket missed. Tickets from before `sla_breaches`
/// was kept say it with their `sla-breached-*` tags.
fn missed(t: &Ticket) -> Vec<SlaKind> {
    let mut out = t.sla_breaches.clone();
    for k in [
        SlaKind::FirstResponse,
        SlaKind::NextResponse,
        SlaKind::Resolution,
    ] {
        let tag = format!("sla-breached-{}", k.as_str().replace('_', "-"));
        if !out.contains(&k) && t.tags.contains(&tag) {
            out.push(k);
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

/// Computes the report. See the module documentation for each figure.
pub fn compute(tickets: &[Ticket], o: &Options) -> Stats {
    let in_window = |t: DateTime<Utc>| t <= o.now && o.since.is_none_or(|s| t >= s);
    let tz = o.timezone;
    let local_day = |t: DateTime<Utc>| tz.from_utc_datetime(&t.naive_utc()).date_naive();

    let mut counts = Counts {
        created: 0,
        resolved: 0,
        spam: 0,
    };
    let mut first = Vec::new();
    let mut resolution = Vec::new();
    let scale = o.scale.max(1);
    let good_from = (scale * 4).div_ceil(5).max(1);
    let mut by_score = vec![0usize; scale as usize];
    let mut rating_sum = 0u64;
    let mut fcr = Fcr {
        eligible: 0,
        first_contact: 0,
        rate: None,
    };
    let mut sla = SlaReport {
        tickets: 0,
        met: 0,
        breached: 0,
        attainment: None,
        breaches: [
            SlaKind::FirstResponse,
            SlaKind::NextResponse,
            SlaKind::Resolution,
        ]
        .iter()
        .map(|k| (k.as_str().to_string(), 0))
        .collect(),
    };
    let mut backlog_ages = Vec::new();
    let mut backlog = Backlog {
        open: 0,
        by_status: BTreeMap::new(),
        by_queue: BTreeMap::new(),
        by_priority: BTreeMap::new(),
        median_age_secs: None,
        oldest_age_secs: None,
        oldest: None,
        age: Vec::new(),
        sla_breached: 0,
    };
    let mut oldest: Option<(DateTime<Utc>, u64, &str)> = None;
    let mut heat = vec![vec![0usize; 24]; 7];
    let mut categories: HashMap<String, usize> = HashMap::new();
    let mut tags: HashMap<String, usize> = HashMap::new();
    let mut subjects: BTreeMap<String, Vec<&Ticket>> = BTreeMap::new();
    // Per local day: created, resolved, rating count, rating sum.
    let mut days: BTreeMap<NaiveDate, (usize, usize, usize, u64)> = BTreeMap::new();

    for t in tickets {
        if t.merged_into.is_some() {
            continue;
        }
        if o.queue.as_ref().is_some_and(|q| *q != t.queue) {
            continue;
        }
        if t.spam {
            if in_window(t.created) {
                counts.spam += 1;
            }
            continue;
        }
        let breaches = missed(t);
        if in_window(t.created) {
            counts.created += 1;
            let local = tz.from_utc_datetime(&t.created.naive_utc());
            heat[local.weekday().num_days_from_monday() as usize][local.hour() as usize] += 1;
            days.entry(local.date_naive()).or_default().0 += 1;
            *categories.entry(t.category.clone()).or_default() += 1;
            for tag in &t.tags {
                if !tag.starts_with("sla-breached-") {
                    *tags.entry(tag.clone()).or_default() += 1;
                }
            }
            let key = subject_key(&t.subject);
            if !key.is_empty() {
                subjects.entry(key).or_default().push(t);
            }
        }
        if let Some(at) = t.first_response.filter(|at| in_window(*at) && !t.imported) {
            first.push((at - t.created).num_seconds().max(0));
        }
        let resolved_at = t
            .resolved_at
            .filter(|at| finished(t.status) && in_window(*at));
        if let Some(at) = resolved_at {
            counts.resolved += 1;
            resolution.push((at - t.created).num_seconds().max(0));
            days.entry(local_day(at)).or_default().1 += 1;
            if t.agent_replies > 0 {
                fcr.eligible += 1;
                if t.agent_replies == 1 && t.reopened == 0 {
                    fcr.first_contact += 1;
                }
            }
            if o.sla_classes.contains(crate::lifecycle::sla_class(t)) {
                sla.tickets += 1;
                if breaches.is_empty() {
                    sla.met += 1;
                } else {
                    sla.breached += 1;
                    for k in &breaches {
                        *sla.breaches.entry(k.as_str().to_string()).or_default() += 1;
                    }
                }
            }
        }
        if let Some(score) = t.survey.as_ref().and_then(|s| {
            let at = s.answered_at.unwrap_or(s.sent_at);
            s.score.filter(|_| in_window(at)).map(|sc| (sc, at))
        }) {
            let (sc, at) = score;
            if (1..=scale).contains(&sc) {
                by_score[sc as usize - 1] += 1;
                rating_sum += sc as u64;
                let d = days.entry(local_day(at)).or_default();
                d.2 += 1;
                d.3 += sc as u64;
            }
        }
        if !finished(t.status) && t.created <= o.now {
            backlog.open += 1;
            *backlog
                .by_status
                .entry(t.status.as_str().into())
                .or_default() += 1;
            *backlog.by_queue.entry(t.queue.clone()).or_default() += 1;
            *backlog
                .by_priority
                .entry(t.priority.as_str().into())
                .or_default() += 1;
            backlog_ages.push((o.now - t.created).num_seconds().max(0));
            if !breaches.is_empty() || t.sla_due.iter().any(|d| d.breached) {
                backlog.sla_breached += 1;
            }
            if oldest.is_none_or(|(c, n, _)| (t.created, t.number) < (c, n)) {
                oldest = Some((t.created, t.number, &t.reference));
            }
        }
    }

    for s in Status::ALL.into_iter().filter(|s| !finished(*s)) {
        backlog.by_status.entry(s.as_str().into()).or_default();
    }
    for p in [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ] {
        backlog.by_priority.entry(p.as_str().into()).or_default();
    }
    backlog_ages.sort_unstable();
    backlog.median_age_secs = percentile(&backlog_ages, 50);
    backlog.oldest_age_secs = backlog_ages.last().copied();
    backlog.oldest = oldest.map(|(_, _, r)| r.to_string());
    backlog.age = bands(&backlog_ages, &AGE_BANDS);

    let ratings: usize = by_score.iter().sum();
    let good: usize = by_score[good_from as usize - 1..].iter().sum();
    let csat = Csat {
        ratings,
        scale,
        average: (ratings > 0).then(|| round3(rating_sum as f64 / ratings as f64)),
        good_share: share(good, ratings),
        good_from,
        by_score,
    };
    fcr.rate = share(fcr.first_contact, fcr.eligible);
    sla.attainment = share(sla.met, sla.tickets);

    let mut busiest: Vec<PeakHour> = heat
        .iter()
        .enumerate()
        .flat_map(|(d, hours)| {
            hours.iter().enumerate().map(move |(h, c)| PeakHour {
                day: WEEKDAYS[d].to_string(),
                hour: h as u32,
                count: *c,
            })
        })
        .filter(|p| p.count > 0)
        .collect();
    // Stable sort: ties stay in week order.
    busiest.sort_by_key(|p| std::cmp::Reverse(p.count));
    busiest.truncate(3);

    let mut recurring: Vec<Recurring> = subjects
        .into_iter()
        .filter(|(_, ts)| ts.len() >= o.recurring_min.max(2))
        .map(|(key, mut ts)| {
            ts.sort_by_key(|t| (t.created, t.number));
            Recurring {
                key,
                example: ts[0].subject.clone(),
                count: ts.len(),
                tickets: ts.iter().take(10).map(|t| t.reference.clone()).collect(),
            }
        })
        .collect();
    recurring.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    recurring.truncate(o.top);

    Stats {
        now: o.now,
        since: o.since,
        queue: o.queue.clone(),
        timezone: tz.name().to_string(),
        tickets: counts,
        first_response: times(first),
        resolution: times(resolution),
        csat,
        first_contact_resolution: fcr,
        sla,
        backlog,
        peak: Peak {
            hour_of_week: heat,
            busiest,
        },
        volume: volume(days, o, local_day),
        top_categories: top(categories, o.top),
        top_tags: top(tags, o.top),
        recurring_subjects: recurring,
    }
}

/// Daily (or, over long windows, weekly) points from the first day of the
/// window, or of the data without one, to today; empty days included.
fn volume(
    days: BTreeMap<NaiveDate, (usize, usize, usize, u64)>,
    o: &Options,
    local_day: impl Fn(DateTime<Utc>) -> NaiveDate,
) -> Volume {
    let end = local_day(o.now);
    let start = match o.since {
        Some(s) => local_day(s),
        None => days.keys().next().copied().unwrap_or(end),
    };
    let span = (end - start).num_days();
    let weekly = span > 92;
    let bucket_of = |d: NaiveDate| {
        if weekly {
            d - Duration::days(d.weekday().num_days_from_monday() as i64)
        } else {
            d
        }
    };
    let mut points: BTreeMap<NaiveDate, (usize, usize, usize, u64)> = BTreeMap::new();
    let mut d = bucket_of(start);
    // Bounded: at most ~5,000 buckets even for decades of history.
    for _ in 0..5000 {
        if d > end {
            break;
        }
        points.insert(d, (0, 0, 0, 0));
        d += Duration::days(if weekly { 7 } else { 1 });
    }
    for (day, (c, r, n, sum)) in days {
        if day < start || day > end {
            continue;
        }
        let p = points.entry(bucket_of(day)).or_default();
        p.0 += c;
        p.1 += r;
        p.2 += n;
        p.3 += sum;
    }
    Volume {
        bucket: if weekly { "week" } else { "day" }.into(),
        points: points
            .into_iter()
            .map(|(start, (created, resolved, ratings, sum))| Point {
                start,
                created,
                resolved,
                ratings,
                csat_average: (ratings > 0).then(|| round3(sum as f64 / ratings as f64)),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
