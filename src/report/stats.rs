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

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::summary::Summary;

#[cfg(test)]
#[path = "reference.rs"]
mod reference;
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

/// One subject shape's tickets created in the window: how many, and the
/// ten oldest once there are two (a shape seen once, most of them, costs
/// no allocation).
struct SubjectGroup {
    count: usize,
    first: (DateTime<Utc>, u64),
    more: Option<Box<Recurrence>>,
}

struct Recurrence {
    key: Box<str>,
    /// The ten oldest (creation, number), oldest first.
    oldest: Vec<(DateTime<Utc>, u64)>,
}

/// A subject shape's identity in memory: two 64-bit SipHashes of the key,
/// so the shapes seen once need not keep their text (two shapes would
/// have to collide in 128 bits to be counted as one).
fn shape_id(key: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let mut a = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    0x5eed_u16.hash(&mut b);
    key.hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// A counter keyed by text that allocates the key only the first time it
/// is seen (`entry(key.to_string())` would allocate per ticket).
trait Counter {
    fn bump(&mut self, key: &str, by: usize);
}

impl Counter for HashMap<String, usize> {
    fn bump(&mut self, key: &str, by: usize) {
        match self.get_mut(key) {
            Some(n) => *n += by,
            None => {
                self.insert(key.to_string(), by);
            }
        }
    }
}

impl Counter for BTreeMap<String, usize> {
    fn bump(&mut self, key: &str, by: usize) {
        match self.get_mut(key) {
            Some(n) => *n += by,
            None => {
                self.insert(key.to_string(), by);
            }
        }
    }
}

/// An address trimmed and lowercased ([`agent_key`]) without allocating
/// when it already is.
fn normalized(who: &str) -> std::borrow::Cow<'_, str> {
    let t = who.trim();
    if t.bytes().any(|b| b.is_ascii_uppercase()) || !t.is_ascii() {
        std::borrow::Cow::Owned(agent_key(who))
    } else {
        std::borrow::Cow::Borrowed(t)
    }
}

/// The report, one ticket summary at a time: [`Fold::add`] every summary,
/// in any order, then [`Fold::finish`]. It keeps what each figure needs
/// (the durations its percentiles sort, counters per day, subject shape,
/// domain and agent), never the tickets, so a report over the store's
/// summaries streams; [`compute`] runs full tickets through it.
pub struct Fold<'o> {
    o: &'o Options,
    scale: u32,
    counts: Counts,
    first: Vec<i64>,
    resolution: Vec<i64>,
    by_score: Vec<usize>,
    rating_sum: u64,
    fcr: Fcr,
    sla: SlaReport,
    backlog: Backlog,
    backlog_ages: Vec<i64>,
    oldest: Option<(DateTime<Utc>, u64)>,
    conv: Conversation,
    /// Per requester domain: created in the window, open now.
    domains: HashMap<String, (usize, usize)>,
    heat: Vec<Vec<usize>>,
    categories: HashMap<String, usize>,
    tags: HashMap<String, usize>,
    subjects: HashMap<u128, SubjectGroup>,
    /// Per local day: created, resolved, rating count, rating sum.
    days: BTreeMap<NaiveDate, (usize, usize, usize, u64)>,
    /// Per local day: tickets created with a first-message mood, negative.
    moods: BTreeMap<NaiveDate, (usize, usize)>,
    agents: BTreeMap<&'o str, AgentAcc>,
}

impl<'o> Fold<'o> {
    pub fn new(o: &'o Options) -> Fold<'o> {
        let scale = o.scale.max(1);
        Fold {
            o,
            scale,
            counts: Counts {
                created: 0,
                resolved: 0,
                spam: 0,
            },
            first: Vec::new(),
            resolution: Vec::new(),
            by_score: vec![0usize; scale as usize],
            rating_sum: 0,
            fcr: Fcr {
                eligible: 0,
                first_contact: 0,
                rate: None,
            },
            sla: SlaReport {
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
            },
            backlog: Backlog {
                open: 0,
                by_status: BTreeMap::new(),
                by_queue: BTreeMap::new(),
                by_priority: BTreeMap::new(),
                median_age_secs: None,
                oldest_age_secs: None,
                oldest: None,
                age: Vec::new(),
                sla_breached: 0,
            },
            backlog_ages: Vec::new(),
            oldest: None,
            conv: Conversation::default(),
            domains: HashMap::new(),
            heat: vec![vec![0usize; 24]; 7],
            categories: HashMap::new(),
            tags: HashMap::new(),
            subjects: HashMap::new(),
            days: BTreeMap::new(),
            moods: BTreeMap::new(),
            agents: o
                .agents
                .iter()
                .map(|a| (a.as_str(), AgentAcc::default()))
                .collect(),
        }
    }

    fn in_window(&self, t: DateTime<Utc>) -> bool {
        t <= self.o.now && self.o.since.is_none_or(|s| t >= s)
    }

    fn local(&self, t: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
        self.o.timezone.from_utc_datetime(&t.naive_utc())
    }

    /// Counts one ticket.
    pub fn add(&mut self, t: &Summary<'_>) {
        if t.merged {
            return;
        }
        if !t.spam {
            self.add_agents(t);
        }
        if self.o.queue.as_ref().is_some_and(|q| *q != t.queue) {
            return;
        }
        if t.spam {
            if self.in_window(t.created) {
                self.counts.spam += 1;
            }
            return;
        }
        let created_in = self.in_window(t.created);
        let open_now = !t.finished() && t.created <= self.o.now;
        if open_now || created_in {
            let add = (usize::from(created_in), usize::from(open_now));
            match self.domains.get_mut(t.domain.as_ref()) {
                Some(d) => {
                    d.0 += add.0;
                    d.1 += add.1;
                }
                None => {
                    self.domains.insert(t.domain.to_string(), add);
                }
            }
        }
        if created_in {
            self.add_created(t);
        }
        if let Some(at) = t.first_response.filter(|at| self.in_window(*at)) {
            self.first.push((at - t.created).num_seconds().max(0));
        }
        if let Some(at) = t
            .resolved_at
            .filter(|at| t.finished() && self.in_window(*at))
        {
            self.add_resolved(t, at);
        }
        if let Some((at, sc)) = t.rating.filter(|(at, _)| self.in_window(*at)) {
            if (1..=self.scale).contains(&sc) {
                self.by_score[sc as usize - 1] += 1;
                self.rating_sum += u64::from(sc);
                let d = self.days.entry(self.local(at).date_naive()).or_default();
                d.2 += 1;
                d.3 += u64::from(sc);
            }
        }
        if open_now {
            let b = &mut self.backlog;
            b.open += 1;
            b.by_status.bump(t.status.as_str(), 1);
            b.by_queue.bump(&t.queue, 1);
            b.by_priority.bump(t.priority.as_str(), 1);
            self.backlog_ages
                .push((self.o.now - t.created).num_seconds().max(0));
            if !t.missed.is_empty() || !t.due_breached.is_empty() {
                b.sla_breached += 1;
            }
            if self.oldest.is_none_or(|old| (t.created, t.number) < old) {
                self.oldest = Some((t.created, t.number));
            }
        }
    }

    fn add_created(&mut self, t: &Summary<'_>) {
        self.counts.created += 1;
        let local = self.local(t.created);
        self.heat[local.weekday().num_days_from_monday() as usize][local.hour() as usize] += 1;
        self.days.entry(local.date_naive()).or_default().0 += 1;
        if let Some(negative) = t.negative {
            let m = self.moods.entry(local.date_naive()).or_default();
            m.0 += 1;
            m.1 += usize::from(negative);
        }
        self.categories.bump(&t.category, 1);
        for tag in &t.tags {
            self.tags.bump(tag, 1);
        }
        if !t.subject_key.is_empty() {
            let at = (t.created, t.number);
            match self.subjects.get_mut(&shape_id(&t.subject_key)) {
                None => {
                    self.subjects.insert(
                        shape_id(&t.subject_key),
                        SubjectGroup {
                            count: 1,
                            first: at,
                            more: None,
                        },
                    );
                }
                Some(g) => {
                    g.count += 1;
                    let r = g.more.get_or_insert_with(|| {
                        Box::new(Recurrence {
                            key: t.subject_key.as_ref().into(),
                            oldest: vec![g.first],
                        })
                    });
                    let i = r.oldest.partition_point(|x| *x < at);
                    if i < 10 {
                        r.oldest.insert(i, at);
                        r.oldest.truncate(10);
                    }
                }
            }
        }
    }

    fn add_resolved(&mut self, t: &Summary<'_>, at: DateTime<Utc>) {
        self.counts.resolved += 1;
        self.conv.reopened += usize::from(t.reopened > 0);
        self.conv.replies += t.agent_replies as usize;
        self.resolution.push((at - t.created).num_seconds().max(0));
        self.days.entry(self.local(at).date_naive()).or_default().1 += 1;
        if t.agent_replies > 0 {
            self.fcr.eligible += 1;
            if t.agent_replies == 1 && t.reopened == 0 {
                self.fcr.first_contact += 1;
            }
        }
        if self.o.sla_classes.contains(t.sla_class()) {
            let sla = &mut self.sla;
            sla.tickets += 1;
            if t.missed.is_empty() {
                sla.met += 1;
            } else {
                sla.breached += 1;
                for k in &t.missed {
                    sla.breaches.bump(k.as_str(), 1);
                }
            }
        }
    }

    /// The agents table's share of a ticket (whatever `--queue`).
    fn add_agents(&mut self, t: &Summary<'_>) {
        if self.agents.is_empty() {
            return;
        }
        if self.in_window(t.created) {
            for (who, m) in &t.time_worked {
                if let Some(a) = self.agents.get_mut(normalized(who).as_ref()) {
                    a.minutes += u64::from(*m);
                }
            }
        }
        let Some(who) = t.assignee.as_deref() else {
            return;
        };
        let (o, scale) = (self.o, self.scale);
        let in_window = |at: DateTime<Utc>| at <= o.now && o.since.is_none_or(|s| at >= s);
        let Some(a) = self.agents.get_mut(normalized(who).as_ref()) else {
            return;
        };
        if let Some(at) = t.first_response.filter(|at| in_window(*at)) {
            a.first.push((at - t.created).num_seconds().max(0));
        }
        if let Some(at) = t.resolved_at.filter(|at| t.finished() && in_window(*at)) {
            a.resolution.push((at - t.created).num_seconds().max(0));
            a.reopened += usize::from(t.reopened > 0);
        }
        if let Some((_, sc)) = t
            .rating
            .filter(|(at, sc)| in_window(*at) && (1..=scale).contains(sc))
        {
            a.ratings += 1;
            a.rating_sum += u64::from(sc);
        }
    }

    /// The report, asking `shown` for the reference (and subject) of the
    /// few tickets it names; one it cannot find is named by its number.
    pub fn finish(self, mut shown: impl FnMut(u64) -> Option<Shown>) -> Stats {
        let o = self.o;
        let tz = o.timezone;
        let local_day = |t: DateTime<Utc>| tz.from_utc_datetime(&t.naive_utc()).date_naive();
        let mut show = |n: u64| {
            shown(n).unwrap_or_else(|| Shown {
                reference: format!("#{n}"),
                subject: String::new(),
            })
        };
        let (scale, by_score, rating_sum) = (self.scale, self.by_score, self.rating_sum);
        let good_from = (scale * 4).div_ceil(5).max(1);
        let mut backlog = self.backlog;
        let mut backlog_ages = self.backlog_ages;
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
        backlog.oldest = self.oldest.map(|(_, n)| show(n).reference);
        backlog.age = bands(&backlog_ages, &AGE_BANDS);
        drop(backlog_ages);

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
        let mut fcr = self.fcr;
        fcr.rate = share(fcr.first_contact, fcr.eligible);
        let mut sla = self.sla;
        sla.attainment = share(sla.met, sla.tickets);

        let heat = self.heat;
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

        let min = o.recurring_min.max(2);
        let mut groups: Vec<(usize, Recurrence)> = self
            .subjects
            .into_values()
            .filter(|g| g.count >= min)
            .filter_map(|g| Some((g.count, *g.more?)))
            .collect();
        groups.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.key.cmp(&b.1.key)));
        groups.truncate(o.top);
        let recurring: Vec<Recurring> = groups
            .into_iter()
            .map(|(count, r)| {
                let named: Vec<Shown> = r.oldest.iter().map(|(_, n)| show(*n)).collect();
                Recurring {
                    key: r.key.into(),
                    example: named.first().map(|s| s.subject.clone()).unwrap_or_default(),
                    count,
                    tickets: named.into_iter().map(|s| s.reference).collect(),
                }
            })
            .collect();

        let mut orgs: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (domain, (created, open)) in self.domains {
            let org = orgs.entry(o.organization_of_domain(&domain)).or_default();
            org.0 += created;
            org.1 += open;
        }

        let mut conv = self.conv;
        conv.resolved = self.counts.resolved;
        let conversation = conversation(conv);
        let weekly = weeks(&self.days, &self.moods, o, local_day);
        let mut agents = self.agents;
        Stats {
            desk: o.desk.clone(),
            conversation,
            weekly,
            agents: o
                .agents
                .iter()
                .map(|a| agents.remove(a.as_str()).unwrap_or_default().finish(a))
                .collect(),
            organizations: organizations(orgs, o.top),
            now: o.now,
            since: o.since,
            queue: o.queue.clone(),
            timezone: tz.name().to_string(),
            tickets: self.counts,
            first_response: times(self.first),
            resolution: times(self.resolution),
            csat,
            first_contact_resolution: fcr,
            sla,
            backlog,
            peak: Peak {
                hour_of_week: heat,
                busiest,
            },
            volume: volume(self.days, o, local_day),
            top_categories: top(self.categories, o.top),
            top_tags: top(self.tags, o.top),
            recurring_subjects: recurring,
        }
    }
}
/// The rates of a [`Conversation`] from its counts.
fn conversation(mut c: Conversation) -> Conversation {
    c.reopen_rate = share(c.reopened, c.resolved);
    c.replies_per_resolution =
        (c.resolved > 0).then(|| round3(c.replies as f64 / c.resolved as f64));
    c
}

/// Organisations with tickets created in the window or open now, most
/// created first (then most open, then by name), at most `n`.
fn organizations(orgs: BTreeMap<String, (usize, usize)>, n: usize) -> Vec<OrgStats> {
    let mut v: Vec<OrgStats> = orgs
        .into_iter()
        .filter(|(_, (c, op))| *c > 0 || *op > 0)
        .map(|(name, (created, open))| OrgStats {
            name,
            created,
            open,
        })
        .collect();
    v.sort_by(|a, b| {
        b.created
            .cmp(&a.created)
            .then_with(|| b.open.cmp(&a.open))
            .then_with(|| a.name.cmp(&b.name))
    });
    v.truncate(n);
    v
}

/// Created and resolved per week (Monday first), from the first week of
/// the window (or of the data) to this week; empty weeks included.
fn weeks(
    days: &BTreeMap<NaiveDate, (usize, usize, usize, u64)>,
    moods: &BTreeMap<NaiveDate, (usize, usize)>,
    o: &Options,
    local_day: impl Fn(DateTime<Utc>) -> NaiveDate,
) -> Vec<Week> {
    let monday = |d: NaiveDate| d - Duration::days(d.weekday().num_days_from_monday() as i64);
    let end = local_day(o.now);
    let start = match o.since {
        Some(s) => local_day(s),
        None => days.keys().next().copied().unwrap_or(end),
    };
    let mut weeks: BTreeMap<NaiveDate, (usize, usize, usize, usize)> = BTreeMap::new();
    let mut d = monday(start);
    // Bounded: ~100 years of weeks.
    for _ in 0..5200 {
        if d > end {
            break;
        }
        weeks.insert(d, (0, 0, 0, 0));
        d += Duration::days(7);
    }
    for (day, (c, r, _, _)) in days.range(start..=end) {
        let w = weeks.entry(monday(*day)).or_default();
        w.0 += c;
        w.1 += r;
    }
    for (day, (with_mood, negative)) in moods.range(start..=end) {
        let w = weeks.entry(monday(*day)).or_default();
        w.2 += with_mood;
        w.3 += negative;
    }
    weeks
        .into_iter()
        .map(|(start, (created, resolved, with_mood, negative))| Week {
            start,
            created,
            resolved,
            with_mood,
            negative,
            negative_share: share(negative, with_mood),
        })
        .collect()
}

/// What every agent's figures count, before the medians are taken.
#[derive(Debug, Default)]
struct AgentAcc {
    pub first: Vec<i64>,
    pub resolution: Vec<i64>,
    pub reopened: usize,
    pub ratings: usize,
    pub rating_sum: u64,
    pub minutes: u64,
}

impl AgentAcc {
    fn finish(self, agent: &str) -> AgentStats {
        let (mut first, mut resolution) = (self.first, self.resolution);
        first.sort_unstable();
        resolution.sort_unstable();
        AgentStats {
            agent: agent.to_string(),
            answered: first.len(),
            first_response_median_secs: percentile(&first, 50),
            resolved: resolution.len(),
            resolution_median_secs: percentile(&resolution, 50),
            ratings: self.ratings,
            csat_average: (self.ratings > 0)
                .then(|| round3(self.rating_sum as f64 / self.ratings as f64)),
            reopen_rate: share(self.reopened, resolution.len()),
            minutes_worked: self.minutes,
        }
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
