//! A ticket whose deadline has come: what [`lifecycle::tick`] says time
//! does to it, with the mail in the customer's thread and the guards'
//! holds applied, like any other decision.

use super::*;

/// What a due ticket's decision needs beyond the ticket and its thread.
#[derive(Debug, Clone, Default)]
pub struct Due {
    /// The signed `mailto:` address for each score of a survey (signing
    /// needs the desk's secret, which the shell holds).
    pub survey_addresses: Vec<(u32, String)>,
}

pub(super) fn timer(ticket: Ticket, due: &Due, thread: &Thread, desk: &Desk<'_>) -> Decision {
    let address = |score: u32| {
        due.survey_addresses
            .iter()
            .find(|(s, _)| *s == score)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| desk.config.desk.address.clone())
    };
    let mut ticket = ticket;
    let mut woken = Vec::new();
    let mut woke = None;
    if let (Status::Pending, Some(at)) = (ticket.status, ticket.snoozed_until) {
        if at <= desk.now {
            woken = wake(&mut ticket, at, desk);
            woke = Some(at);
        }
    }
    let tick = lifecycle::tick(&ticket, desk.now, desk.config, &address);
    let mut d = Decision::about(tick.ticket);
    d.events = tick.events;
    d.notices = tick.notices;
    if let Some(at) = woke {
        d.events
            .insert(0, format!("woke from its snooze (until {at})"));
    }
    d.notices.extend(woken);
    for n in d.notices.iter_mut() {
        if n.to
            .iter()
            .any(|p| p.email.eq_ignore_ascii_case(&d.ticket.requester.email))
        {
            n.continue_thread(&thread.ids);
        }
    }
    let held = d.hold(thread, desk);
    d.events.extend(held);
    // The survey's Message-ID is known now (it is derived from what the
    // notice says), so an answer to it finds the ticket.
    let survey_id = d
        .notices
        .iter()
        .find(|n| n.template == "survey")
        .map(|n| n.message_id(&d.ticket.reference, desk.config));
    if let (Some(id), Some(s)) = (survey_id, d.ticket.survey.as_mut()) {
        s.message_id = id;
    }
    // A ticket whose next deadline did not move would be due again at
    // once; nothing left to do means no deadline.
    if d.ticket.timer_due.is_some_and(|t| t <= desk.now) && d.notices.is_empty() {
        d.ticket.timer_due = None;
    }
    d
}

/// A snoozed ticket's time has come: it is open again, and its assignee
/// (else whoever hears of a new ticket on its queue) is told, once: the
/// notification's Message-ID comes from the wake time.
fn wake(ticket: &mut Ticket, at: DateTime<Utc>, desk: &Desk<'_>) -> Vec<Notice> {
    ticket.snoozed_until = None;
    ticket.pending_since = None;
    set_status(ticket, Status::Open, desk.now);
    ticket.updated = desk.now;
    agents_to_notify(ticket, desk.config, None, false)
        .into_iter()
        .map(|p| {
            let mut n = Notice::new(
                "agent_notify",
                vec![p.clone()],
                &format!("timer/wake/{}", at.timestamp()),
                Auto::Generated,
            );
            n.agent = Some(p.email.clone());
            n.plain = Some((
                format!("[{}] awake: {}", ticket.reference, ticket.subject),
                format!(
                    "Ticket {} ({}) was snoozed until {} UTC and is open again.\n\nAnswer this mail to reply to the customer.\n\n{}\n",
                    ticket.reference,
                    ticket.subject,
                    at.format("%Y-%m-%d %H:%M"),
                    crate::command::help()
                ),
            ));
            n
        })
        .collect()
}
