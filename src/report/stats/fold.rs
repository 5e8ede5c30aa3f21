//! The fold behind `postdesk stats`: one ticket summary at a time into
//! what each figure needs, then the report. Apart from the report's
//! shapes and definitions ([`super`]) because this is the part that has to
//! stay streaming (a million summaries, no tickets kept) and fast.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

use super::{
    agent_key, bands, finished, percentile, round3, share, times, top, AgentStats, Backlog,
    Conversation, Counts, Csat, Fcr, Options, OrgStats, Peak, PeakHour, Point, Recurring, Shown,
    SlaReport, Stats, Summary, Volume, Week, AGE_BANDS, WEEKDAYS,
};
use crate::ticket::{Priority, SlaKind, Status};

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
pub(super) fn conversation(mut c: Conversation) -> Conversation {
    c.reopen_rate = share(c.reopened, c.resolved);
    c.replies_per_resolution =
        (c.resolved > 0).then(|| round3(c.replies as f64 / c.resolved as f64));
    c
}

/// Organisations with tickets created in the window or open now, most
/// created first (then most open, then by name), at most `n`.
pub(super) fn organizations(orgs: BTreeMap<String, (usize, usize)>, n: usize) -> Vec<OrgStats> {
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
pub(super) fn weeks(
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
pub(super) struct AgentAcc {
    pub first: Vec<i64>,
    pub resolution: Vec<i64>,
    pub reopened: usize,
    pub ratings: usize,
    pub rating_sum: u64,
    pub minutes: u64,
}

impl AgentAcc {
    pub(super) fn finish(self, agent: &str) -> AgentStats {
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
pub(super) fn volume(
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
