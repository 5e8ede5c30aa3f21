//! The report as it was computed before summaries (main at 6a29635):
//! reading full tickets, all held at once. Kept for tests only, as the
//! reference the summary fold must equal field for field.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};

use super::fold::{conversation, organizations, volume, weeks, AgentAcc};
use super::*;
use crate::ticket::{Priority, SlaKind, Status, Ticket};

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
    let mut conv = Conversation::default();
    let mut orgs: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut heat = vec![vec![0usize; 24]; 7];
    let mut categories: HashMap<String, usize> = HashMap::new();
    let mut tags: HashMap<String, usize> = HashMap::new();
    let mut subjects: BTreeMap<String, Vec<&Ticket>> = BTreeMap::new();
    // Per local day: created, resolved, rating count, rating sum.
    let mut days: BTreeMap<NaiveDate, (usize, usize, usize, u64)> = BTreeMap::new();
    // Per local day: tickets created with a first-message mood, negative.
    let mut moods: BTreeMap<NaiveDate, (usize, usize)> = BTreeMap::new();

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
        let open_now = !finished(t.status) && t.created <= o.now;
        if open_now || in_window(t.created) {
            let org = orgs
                .entry(o.organization_of_domain(&domain_of(&t.requester.email)))
                .or_default();
            org.0 += in_window(t.created) as usize;
            org.1 += open_now as usize;
        }
        if in_window(t.created) {
            counts.created += 1;
            let local = tz.from_utc_datetime(&t.created.naive_utc());
            heat[local.weekday().num_days_from_monday() as usize][local.hour() as usize] += 1;
            days.entry(local.date_naive()).or_default().0 += 1;
            if let Some(mood) = t.sentiment {
                let m = moods.entry(local.date_naive()).or_default();
                m.0 += 1;
                m.1 += usize::from(mood == crate::mail::sentiment::Sentiment::Negative);
            }
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
            conv.reopened += (t.reopened > 0) as usize;
            conv.replies += t.agent_replies as usize;
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

    conv.resolved = counts.resolved;
    let conversation = conversation(conv);
    let weekly = weeks(&days, &moods, o, local_day);
    Stats {
        desk: o.desk.clone(),
        conversation,
        weekly,
        agents: agents_scan(tickets, o),
        organizations: organizations(orgs, o.top),
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

/// The agents table by reading every ticket (whatever `--queue`).
fn agents_scan(tickets: &[Ticket], o: &Options) -> Vec<AgentStats> {
    let in_window = |t: DateTime<Utc>| t <= o.now && o.since.is_none_or(|s| t >= s);
    let scale = o.scale.max(1);
    let mut acc: BTreeMap<&str, AgentAcc> = o
        .agents
        .iter()
        .map(|a| (a.as_str(), AgentAcc::default()))
        .collect();
    for t in tickets
        .iter()
        .filter(|t| t.merged_into.is_none() && !t.spam)
    {
        if in_window(t.created) {
            for (who, m) in &t.time_worked {
                if let Some(a) = acc.get_mut(agent_key(who).as_str()) {
                    a.minutes += *m as u64;
                }
            }
        }
        let Some(a) = t
            .assignee
            .as_deref()
            .and_then(|who| acc.get_mut(agent_key(who).as_str()))
        else {
            continue;
        };
        if let Some(at) = t.first_response.filter(|at| in_window(*at) && !t.imported) {
            a.first.push((at - t.created).num_seconds().max(0));
        }
        if let Some(at) = t
            .resolved_at
            .filter(|at| finished(t.status) && in_window(*at))
        {
            a.resolution.push((at - t.created).num_seconds().max(0));
            a.reopened += (t.reopened > 0) as usize;
        }
        if let Some(s) = &t.survey {
            let at = s.answered_at.unwrap_or(s.sent_at);
            if let Some(sc) = s
                .score
                .filter(|sc| in_window(at) && (1..=scale).contains(sc))
            {
                a.ratings += 1;
                a.rating_sum += sc as u64;
            }
        }
    }
    o.agents
        .iter()
        .map(|a| acc.remove(a.as_str()).unwrap_or_default().finish(a))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::Summary;

    /// A small deterministic generator (no dependency for tests' dice).
    struct Dice(u64);

    impl Dice {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len() as u64) as usize]
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 23, 15, 30, 0).unwrap()
    }

    /// A desk's worth of tickets that exercise every branch of the report:
    /// spam, merges, imports, tickets created after `now`, ratings out of
    /// scale, old-style breach tags, agents written in odd case...
    fn desk(seed: u64, n: u64) -> Vec<Ticket> {
        let mut d = Dice(seed);
        let secs = |d: &mut Dice, max: u64| chrono::Duration::seconds(d.below(max) as i64);
        (1..=n)
            .map(|number| {
                let created = now() - secs(&mut d, 200 * 86_400) + secs(&mut d, 2 * 86_400)
                    + chrono::Duration::nanoseconds(d.below(1000) as i64);
                let status = d.pick(&["new", "open", "pending", "resolved", "closed"]);
                let who = d.pick(&["alice@desk.test", " Alice@Desk.test", "bob@desk.test", "zed@desk.test"]);
                let mut t: Ticket = serde_json::from_value(serde_json::json!({
                    "number": number,
                    "reference": format!("ACME-{number}"),
                    "subject": format!("{} {}", d.pick(&["Invoice", "Login broken", "Printer on fire", "???", "Café"]), d.below(50)),
                    "status": status,
                    "priority": d.pick(&["low", "normal", "high", "urgent"]),
                    "category": d.pick(&["billing", "technical", "general"]),
                    "queue": d.pick(&["general", "billing", "vip"]),
                    "requester": {"email": format!("c{}@{}", d.below(9), d.pick(&["customer.test", "Mail.Customer.test", "other.test", "x.other.test", "nodomain"]))},
                    "participants": [], "inbox": "main",
                    "created": created, "updated": created, "message_count": 1,
                }))
                .unwrap();
                if d.chance(60) {
                    t.assignee = Some(who.to_string());
                }
                t.imported = d.chance(10);
                t.spam = d.chance(5);
                if d.chance(4) {
                    t.merged_into = Some(1);
                }
                if d.chance(70) {
                    t.first_response = Some(created + secs(&mut d, 5 * 86_400));
                }
                if matches!(t.status, Status::Resolved | Status::Closed) || d.chance(10) {
                    t.resolved_at = Some(created + secs(&mut d, 20 * 86_400));
                }
                if d.chance(40) {
                    let sent_at = created + secs(&mut d, 30 * 86_400);
                    t.survey = Some(crate::ticket::SurveyState {
                        sent_at,
                        message_id: format!("s{number}@desk.test"),
                        score: d.chance(80).then(|| d.below(8) as u32),
                        label: None,
                        comment: None,
                        answered_at: d.chance(70).then(|| sent_at + secs(&mut d, 86_400)),
                    });
                }
                t.reopened = d.below(3) as u32 * u32::from(d.chance(30));
                t.agent_replies = d.below(4) as u32;
                t.sentiment = match d.below(4) {
                    0 => None,
                    1 => Some(crate::mail::sentiment::Sentiment::Negative),
                    2 => Some(crate::mail::sentiment::Sentiment::Neutral),
                    _ => Some(crate::mail::sentiment::Sentiment::Positive),
                };
                if d.chance(20) {
                    t.sla = Some(d.pick(&["gold", "silver"]).into());
                }
                for tag in ["money", "outage", "sla-breached-resolution", "sla-breached-first-response", "vip"] {
                    if d.chance(25) {
                        t.tags.push(tag.into());
                    }
                }
                if d.chance(20) {
                    t.sla_breaches.push(SlaKind::NextResponse);
                }
                if d.chance(20) {
                    t.sla_breaches.push(SlaKind::Resolution);
                }
                if d.chance(30) {
                    let due = crate::ticket::SlaDue {
                        kind: SlaKind::FirstResponse,
                        started: created,
                        warn_at: created,
                        due: created,
                        warned: false,
                        breached: d.chance(50),
                    };
                    t.sla_due.push(due);
                }
                if d.chance(30) {
                    t.time_worked.insert(who.to_string(), d.below(120) as u32);
                }
                t
            })
            .collect()
    }

    fn options(variant: u64) -> Options {
        let mut o = Options::new(now());
        o.since = match variant % 3 {
            0 => None,
            1 => Some(now() - chrono::Duration::days(30)),
            _ => Some(now() - chrono::Duration::days(7)),
        };
        o.queue = (variant % 4 == 3).then(|| "billing".to_string());
        o.sla_classes = ["high", "urgent", "gold"].map(String::from).into();
        o.scale = if variant.is_multiple_of(2) { 5 } else { 3 };
        o.timezone = chrono_tz::Europe::Berlin;
        o.recurring_min = 2 + (variant % 3) as usize;
        o.top = if variant.is_multiple_of(5) { 3 } else { 10 };
        o.desk = "ACME".into();
        o.agents = vec!["alice@desk.test".into(), "bob@desk.test".into()];
        o.organizations = vec![("Customer Corp".into(), vec!["customer.test".into()])];
        o
    }

    #[test]
    fn the_summary_fold_equals_the_full_ticket_report() {
        // That the desks reach every figure, not only zeros.
        let mut seen = [0usize; 9];
        for seed in 0..12u64 {
            let tickets = desk(seed, 50 + seed * 40);
            // The stored path: encoded, decoded, in another order.
            let stored: Vec<Vec<u8>> = tickets
                .iter()
                .rev()
                .map(|t| Summary::of(t).encode())
                .collect();
            for variant in 0..12u64 {
                let o = options(variant + seed);
                let expected = compute(&tickets, &o);
                for (i, n) in [
                    expected.recurring_subjects.len(),
                    expected
                        .agents
                        .iter()
                        .map(|a| a.answered + a.resolved + a.ratings)
                        .sum(),
                    expected
                        .agents
                        .iter()
                        .map(|a| a.minutes_worked as usize)
                        .sum(),
                    expected.sla.breached,
                    expected.csat.ratings,
                    expected.organizations.len(),
                    expected.conversation.reopened
                        + expected.first_contact_resolution.first_contact,
                    expected.backlog.sla_breached + expected.tickets.spam,
                    expected.weekly.iter().map(|w| w.negative).sum(),
                ]
                .into_iter()
                .enumerate()
                {
                    seen[i] += n;
                }
                assert_eq!(
                    super::super::compute(&tickets, &o),
                    expected,
                    "seed {seed}, variant {variant}"
                );
                let mut fold = Fold::new(&o);
                for bytes in &stored {
                    fold.add(&Summary::decode(bytes).unwrap());
                }
                let got = fold.finish(|n| {
                    let t = tickets.iter().find(|t| t.number == n)?;
                    Some(Shown {
                        reference: t.reference.clone(),
                        subject: t.subject.clone(),
                    })
                });
                assert_eq!(got, expected, "seed {seed}, variant {variant}, stored");
            }
        }
        assert!(
            seen.iter().all(|n| *n > 0),
            "figures never reached: {seen:?}"
        );
    }
}
