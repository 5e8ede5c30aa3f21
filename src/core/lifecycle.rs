//! What time does to a ticket: follow-ups and auto-close while it waits on
//! the customer, the satisfaction survey after it is resolved, and SLA
//! warnings and escalations. Pure, with the clock passed in.
//!
//! Timers are not separate records that could drift from the ticket: every
//! deadline is derived from the ticket's own fields (`pending_since`,
//! `resolved_at`, `sla_due`, ...) and what was already done is recorded on
//! the ticket too (`reminded`, `survey`, `warned`, `breached`). The store
//! indexes each ticket under its next deadline ([`next_due`]); the
//! scheduler calls [`tick`] for tickets that are due and writes the result
//! and its mail in one transaction. So a restart never skips a timer (an
//! overdue ticket is simply due) and never doubles one (the ticket says it
//! was done, and the outgoing Message-ID is derived from the deadline).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::calendar::Calendar;
use crate::config::Config;
use crate::decide::Notice;
use crate::mail::build::Auto;
use crate::ticket::{Person, Priority, SlaDue, SlaKind, Status, SurveyState, Ticket};

/// The compiled `[calendar.NAME]` tables.
pub type Calendars = BTreeMap<String, Calendar>;

/// What changed since the ticket was last settled, for SLA planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Created,
    CustomerWrote,
    AgentAnswered,
    Other,
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::days(3650))
}

fn followup_times(t: &Ticket, config: &Config) -> (Duration, Duration) {
    let q = config.queues.iter().find(|q| q.name == t.queue);
    (
        q.and_then(|q| q.remind_after)
            .unwrap_or(config.followup.remind_after),
        q.and_then(|q| q.autoclose_after)
            .unwrap_or(config.followup.autoclose_after),
    )
}

/// The SLA class of a ticket: the one a rule chose, else its priority's.
pub fn sla_class(t: &Ticket) -> &str {
    t.sla.as_deref().unwrap_or(t.priority.as_str())
}

fn calendar_of<'a>(config: &Config, cals: &'a Calendars, class: &str) -> Option<&'a Calendar> {
    config
        .sla
        .get(class)
        .and_then(|s| s.calendar.as_ref())
        .and_then(|c| cals.get(c))
}

/// A running target of `target` length from `start`, in the class's
/// calendar (open hours) or wall-clock time.
fn plan(
    kind: SlaKind,
    start: DateTime<Utc>,
    target: Duration,
    warn_share: f64,
    cal: Option<&Calendar>,
) -> SlaDue {
    let add = |d: Duration| match cal {
        Some(c) => c.add(start, d).unwrap_or(start + chrono(d)),
        None => start + chrono(d),
    };
    SlaDue {
        kind,
        started: start,
        warn_at: add(target.mul_f64(warn_share.clamp(0.0, 1.0))),
        due: add(target),
        warned: false,
        breached: false,
    }
}

/// Brings the derived fields up to date after a change: the pending clock,
/// the SLA targets, and the ticket's next deadline. `old` is the ticket
/// before the change (`None` for a new ticket).
pub fn settle(
    t: &mut Ticket,
    old: Option<&Ticket>,
    event: Event,
    now: DateTime<Utc>,
    config: &Config,
    cals: &Calendars,
) {
    // The follow-up clock runs while the ticket waits on the customer.
    if t.status == Status::Pending {
        if old.is_none_or(|o| o.status != Status::Pending) || event == Event::AgentAnswered {
            t.pending_since = Some(now);
            t.reminded = false;
        }
    } else {
        t.pending_since = None;
        // Whatever opened or finished it ends the snooze.
        t.snoozed_until = None;
    }
    if t.imported {
        t.sla_due.clear();
    } else {
        plan_sla(t, old, event, now, config, cals);
    }
    t.timer_due = next_due(t, config);
}

fn plan_sla(
    t: &mut Ticket,
    old: Option<&Ticket>,
    event: Event,
    now: DateTime<Utc>,
    config: &Config,
    cals: &Calendars,
) {
    if matches!(t.status, Status::Resolved | Status::Closed) || t.spam {
        t.sla_due.clear();
        return;
    }
    let class = sla_class(t).to_string();
    let Some(sla) = config.sla.get(&class) else {
        t.sla_due.clear();
        return;
    };
    let cal = calendar_of(config, cals, &class);
    let reclassed = old.is_some_and(|o| sla_class(o) != class);
    let reopened = old.is_some_and(|o| matches!(o.status, Status::Resolved | Status::Closed));
    if event == Event::Created || reclassed || reopened {
        // A new plan from the ticket's start: a priority change re-plans
        // the targets, it does not restart them.
        let start = if reopened { now } else { t.created };
        t.sla_due.clear();
        if t.first_response.is_none() {
            if let Some(d) = sla.first_response {
                t.sla_due
                    .push(plan(SlaKind::FirstResponse, start, d, sla.warn_at, cal));
            }
        }
        if let Some(d) = sla.resolution {
            t.sla_due
                .push(plan(SlaKind::Resolution, start, d, sla.warn_at, cal));
        }
    }
    match event {
        Event::AgentAnswered => t
            .sla_due
            .retain(|d| !matches!(d.kind, SlaKind::FirstResponse | SlaKind::NextResponse)),
        Event::CustomerWrote if t.first_response.is_some() => {
            if let Some(d) = sla.next_response {
                if !t.sla_due.iter().any(|x| x.kind == SlaKind::NextResponse) {
                    t.sla_due
                        .push(plan(SlaKind::NextResponse, now, d, sla.warn_at, cal));
                }
            }
        }
        _ => {}
    }
}

/// The next moment something is due for this ticket, if anything.
pub fn next_due(t: &Ticket, config: &Config) -> Option<DateTime<Utc>> {
    if t.imported || t.merged_into.is_some() {
        return None;
    }
    let mut due: Vec<DateTime<Utc>> = Vec::new();
    if let (Status::Pending, Some(at)) = (t.status, t.snoozed_until) {
        due.push(at);
    } else if let (Status::Pending, Some(since)) = (t.status, t.pending_since) {
        let (remind, close) = followup_times(t, config);
        if !t.reminded {
            due.push(since + chrono(remind));
        }
        due.push(since + chrono(close));
    }
    if let Some(at) = survey_due(t, config) {
        due.push(at);
    }
    for d in &t.sla_due {
        if !d.warned {
            due.push(d.warn_at);
        }
        if !d.breached {
            due.push(d.due);
        }
    }
    due.into_iter().min()
}

/// The next deadline of a ticket and what happens then, in words, for
/// `tickets show`: the same deadlines as [`next_due`], named.
pub fn next_event(t: &Ticket, config: &Config) -> Option<(DateTime<Utc>, String)> {
    if t.imported || t.merged_into.is_some() {
        return None;
    }
    let mut due: Vec<(DateTime<Utc>, String)> = Vec::new();
    if let (Status::Pending, Some(at)) = (t.status, t.snoozed_until) {
        due.push((
            at,
            "wakes from its snooze: open again, its assignee (else its queue's agents) told".into(),
        ));
    } else if let (Status::Pending, Some(since)) = (t.status, t.pending_since) {
        let (remind, close) = followup_times(t, config);
        if !t.reminded {
            due.push((
                since + chrono(remind),
                "follow-up reminder to the customer (waiting on them)".into(),
            ));
        }
        due.push((
            since + chrono(close),
            "resolved with a notice if the customer stays silent".into(),
        ));
    }
    if let Some(at) = survey_due(t, config) {
        due.push((at, "satisfaction survey".into()));
    }
    for d in &t.sla_due {
        let what = d.kind.as_str().replace('_', " ");
        if !d.warned {
            due.push((d.warn_at, format!("SLA {what} warning to the assignee")));
        }
        if !d.breached {
            due.push((d.due, format!("SLA {what} due (escalated if missed)")));
        }
    }
    due.into_iter().min_by_key(|(at, _)| *at)
}

fn survey_due(t: &Ticket, config: &Config) -> Option<DateTime<Utc>> {
    let s = &config.survey;
    let eligible = s.enabled
        && t.survey.is_none()
        && matches!(t.status, Status::Resolved | Status::Closed)
        && !t.spam
        && t.merged_into.is_none()
        && (!t.autoclosed || s.after_autoclose);
    eligible.then(|| t.resolved_at.unwrap_or(t.updated) + chrono(s.delay))
}

/// What a due ticket turns into at `now`.
#[derive(Debug, Clone)]
pub struct Tick {
    pub ticket: Ticket,
    pub notices: Vec<Notice>,
    /// What happened, for the log.
    pub events: Vec<String>,
}

fn customer_notice(t: &Ticket, template: &str, cause: String) -> Notice {
    let mut n = Notice::new_for(template, vec![t.requester.clone()], &cause, Auto::Generated);
    n.in_reply_to = None;
    n
}

/// Everything due for `t` at `now`, applied. `signer_survey` gives the
/// `mailto:` address for a score (the shell signs it).
pub fn tick(
    t: &Ticket,
    now: DateTime<Utc>,
    config: &Config,
    survey_address: &dyn Fn(u32) -> String,
) -> Tick {
    let mut t = t.clone();
    let mut notices = Vec::new();
    let mut events = Vec::new();
    let stamp = |d: DateTime<Utc>| d.timestamp().to_string();

    if t.snoozed_until.is_some() && t.status == Status::Pending {
        // Snoozed: no follow-up, no auto-close (waking is the decision's).
    } else if let (Status::Pending, Some(since)) = (t.status, t.pending_since) {
        let (remind, close) = followup_times(&t, config);
        let close_at = since + chrono(close);
        if now >= close_at {
            t.status = Status::Resolved;
            t.resolved_at = Some(now);
            t.autoclosed = true;
            t.pending_since = None;
            notices.push(customer_notice(
                &t,
                "autoclose",
                format!("timer/autoclose/{}", stamp(since)),
            ));
            events.push("resolved after waiting on the customer".into());
        } else if !t.reminded && now >= since + chrono(remind) {
            t.reminded = true;
            let mut n = customer_notice(&t, "followup", format!("timer/followup/{}", stamp(since)));
            n.autoclose_on = Some(close_at);
            notices.push(n);
            events.push("follow-up reminder".into());
        }
    }

    if let Some(at) = survey_due(&t, config) {
        if now >= at {
            let mut n = customer_notice(&t, "survey", format!("timer/survey/{}", stamp(at)));
            n.auto = Auto::Generated;
            n.ratings = config
                .survey
                .labels()
                .iter()
                .enumerate()
                .map(|(i, label)| {
                    let score = i as u32 + 1;
                    (score, label.clone(), survey_address(score))
                })
                .rev()
                .collect();
            t.survey = Some(SurveyState {
                sent_at: now,
                message_id: String::new(),
                score: None,
                label: None,
                comment: None,
                answered_at: None,
            });
            notices.push(n);
            events.push("satisfaction survey".into());
        }
    }

    let class = sla_class(&t).to_string();
    let sla = config.sla.get(&class);
    let mut raise = false;
    let mut escalated = false;
    for i in 0..t.sla_due.len() {
        let d = t.sla_due[i].clone();
        if !d.breached && now >= d.due {
            t.sla_due[i].breached = true;
            t.sla_due[i].warned = true;
            escalated = true;
            raise |= sla.is_some_and(|s| s.raise_priority);
            let to = config
                .queues
                .iter()
                .find(|q| q.name == t.queue)
                .and_then(|q| q.escalate_to.clone())
                .or_else(|| config.desk.admin.clone());
            if let Some(to) = to {
                let mut n = Notice::new_for(
                    "escalation",
                    vec![Person {
                        name: None,
                        email: to,
                    }],
                    &format!("timer/breach/{}/{}", d.kind.as_str(), stamp(d.due)),
                    Auto::Generated,
                );
                n.breach = Some((d.kind, d.due));
                notices.push(n);
            }
            if !t.sla_breaches.contains(&d.kind) {
                t.sla_breaches.push(d.kind);
            }
            let tag = format!("sla-breached-{}", d.kind.as_str()).replace('_', "-");
            if !t.tags.contains(&tag) {
                t.tags.push(tag);
            }
            events.push(format!("SLA {} breached", d.kind.as_str()));
        } else if !d.warned && now >= d.warn_at {
            t.sla_due[i].warned = true;
            let agents: Vec<Person> = match &t.assignee {
                Some(a) => vec![Person {
                    name: None,
                    email: a.clone(),
                }],
                None => config
                    .queue_agents(&t.queue)
                    .iter()
                    .map(|a| Person {
                        name: a.name.clone(),
                        email: a.email.clone(),
                    })
                    .collect(),
            };
            for p in agents {
                let mut n = Notice::new_for(
                    "agent_notify",
                    vec![p.clone()],
                    &format!("timer/warn/{}/{}", d.kind.as_str(), stamp(d.due)),
                    Auto::Generated,
                );
                n.agent = Some(p.email.clone());
                n.plain = Some((
                    format!("[{}] {} due soon", t.reference, d.kind.as_str().replace('_', " ")),
                    format!(
                        "Ticket {} ({}) is due for its {} at {} UTC.\n\nAnswer this mail to reply to the customer.\n",
                        t.reference,
                        t.subject,
                        d.kind.as_str().replace('_', " "),
                        d.due.format("%Y-%m-%d %H:%M")
                    ),
                ));
                notices.push(n);
            }
            events.push(format!("SLA {} warning", d.kind.as_str()));
        }
    }
    if raise {
        t.priority = match t.priority {
            Priority::Low => Priority::Normal,
            Priority::Normal => Priority::High,
            Priority::High | Priority::Urgent => Priority::Urgent,
        };
    }
    if escalated && config.status_notices.escalated {
        let mut n = customer_notice(&t, "status", format!("timer/escalated/{}", stamp(now)));
        n.status_change = Some((t.status, t.status));
        n.escalated = true;
        notices.push(n);
    }
    if !notices.is_empty() {
        t.updated = now;
    }
    t.timer_due = next_due(&t, config);
    Tick {
        ticket: t,
        notices,
        events,
    }
}

/// A survey answer: the score from a rating address, or the number (or
/// word) a reply starts with; the rest is the comment.
pub fn survey_answer(
    token_score: Option<u32>,
    text: &str,
    labels: &[String],
) -> Option<(u32, Option<String>)> {
    let first = text.trim_start();
    if let Some(score) = token_score {
        let comment = first.trim();
        return Some((score, (!comment.is_empty()).then(|| comment.to_string())));
    }
    // "3", "3 - took a while", "3/5: fine", "good, thanks"
    let word: String = first.chars().take_while(|c| c.is_alphanumeric()).collect();
    let score = if let Ok(n) = word.parse::<u32>() {
        (1..=labels.len() as u32).contains(&n).then_some(n)
    } else {
        labels
            .iter()
            .position(|l| l.eq_ignore_ascii_case(&word))
            .map(|i| i as u32 + 1)
    }?;
    let rest = first[word.len()..]
        .trim_start_matches(|c: char| c.is_whitespace() || "-–—:,./5".contains(c))
        .trim();
    Some((score, (!rest.is_empty()).then(|| rest.to_string())))
}

/// Whether a survey comment asks for more help (then the ticket reopens).
pub fn asks_for_help(comment: &str) -> bool {
    let c = comment.to_ascii_lowercase();
    [
        "still",
        "not fixed",
        "not solved",
        "not working",
        "doesn't work",
        "does not work",
        "help",
        "problem",
        "again",
        "reopen",
    ]
    .iter()
    .any(|w| c.contains(w))
}
