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
    let tick = lifecycle::tick(&ticket, desk.now, desk.config, &address);
    let mut d = Decision::about(tick.ticket);
    d.events = tick.events;
    d.notices = tick.notices;
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
