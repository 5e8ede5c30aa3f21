//! Commands that change a ticket, whoever gives them: an agent's
//! `#commands` at the top of a mail and an admin's `tickets set` and
//! `tickets merge` are applied here, by one function, and cause the same
//! status notices and timers.

use super::*;

/// An admin's change to one ticket.
#[derive(Debug, Clone)]
pub struct Request {
    pub commands: Vec<Command>,
    /// The ticket a `merge` names, followed through earlier merges, when
    /// it exists.
    pub merge_target: Option<Ticket>,
    /// What the merge was asked as, for the error when it does not exist.
    pub merge_asked: Option<String>,
    /// The tickets `link` commands name, each with the name it was asked
    /// by, merges followed, those that exist.
    pub link_targets: Vec<(String, Ticket)>,
}

/// What applying a list of commands did beyond the ticket itself.
#[derive(Debug, Default)]
pub(super) struct Applied {
    /// The ticket this one was merged into, as it must be afterwards.
    pub merged_into: Option<Ticket>,
    /// What became of each command, in order: done, or why not.
    pub outcomes: Vec<Result<(), String>>,
    /// The other sides of links, naming this ticket now.
    pub linked: Vec<Ticket>,
}

/// Checks and applies `commands` in order. A command that cannot be
/// applied (an unknown agent, a merge into nothing) is reported in
/// `errors` and skipped; the rest still apply, as each line of an agent's
/// mail stands on its own.
pub(super) fn apply_all(
    ticket: &mut Ticket,
    commands: &[Command],
    merge_target: Option<Ticket>,
    links: &[(String, Ticket)],
    desk: &Desk<'_>,
    errors: &mut Vec<String>,
) -> Applied {
    let mut applied = Applied::default();
    let mut target = merge_target;
    let today = desk.now.with_timezone(&desk.config.timezone()).date_naive();
    for c in commands {
        let outcome = match crate::command::check(c, desk.config) {
            Err(e) => Err(e),
            Ok(()) => match c {
                Command::Merge(asked) => match target.take() {
                    Some(mut into) if into.number != ticket.number => {
                        merge_tickets(ticket, &mut into, desk.now);
                        applied.merged_into = Some(into);
                        Ok(())
                    }
                    _ => Err(format!(
                        "#merge {asked}: no such ticket (or it is this one); `postdesk tickets list` shows them"
                    )),
                },
                Command::Link(asked) => {
                    let found = links
                        .iter()
                        .find(|(a, _)| a.eq_ignore_ascii_case(asked))
                        .map(|(_, t)| t);
                    match found {
                        Some(other) if other.number != ticket.number => {
                            let mut other = applied
                                .linked
                                .iter()
                                .position(|t| t.number == other.number)
                                .map(|i| applied.linked.remove(i))
                                .unwrap_or_else(|| other.clone());
                            let here = ticket.reference.clone();
                            crate::command::apply(ticket, &Command::Link(other.reference.clone()), desk.now, today);
                            crate::command::apply(&mut other, &Command::Link(here), desk.now, today);
                            applied.linked.push(other);
                            Ok(())
                        }
                        _ => Err(format!(
                            "#link {asked}: no such ticket (or it is this one); `postdesk tickets list` shows them"
                        )),
                    }
                }
                c => {
                    crate::command::apply(ticket, c, desk.now, today);
                    Ok(())
                }
            },
        };
        if let Err(e) = &outcome {
            errors.push(e.clone());
        }
        applied.outcomes.push(outcome);
    }
    applied
}

/// An admin's request: the commands applied as an agent's would be, the
/// lifecycle settled, and the customer told of a status change as the
/// desk's `[status_notices]` say. A request with any error changes
/// nothing: an admin at a terminal gets the error and tries again.
pub(super) fn request(
    ticket: Ticket,
    request: Request,
    thread: &Thread,
    desk: &Desk<'_>,
) -> Decision {
    let before = ticket.clone();
    let mut d = Decision::about(ticket);
    let mut errors = Vec::new();
    if request.merge_target.is_none() {
        if let Some(asked) = &request.merge_asked {
            errors.push(format!(
                "no ticket `{asked}` to merge into\n  hint: `postdesk tickets list` shows them"
            ));
        }
    }
    let applied = apply_all(
        &mut d.ticket,
        &request.commands,
        request.merge_target.clone(),
        &request.link_targets,
        desk,
        &mut errors,
    );
    if !errors.is_empty() {
        d.ticket = before;
        d.refused = errors;
        return d;
    }
    d.also.extend(applied.merged_into);
    d.also.extend(applied.linked);
    d.ticket.updated = desk.now;
    let cause = format!(
        "request/{}/{}",
        d.ticket.reference,
        desk.now.timestamp_millis()
    );
    d.notices.extend(status_notice(
        &cause,
        before.status,
        &d.ticket,
        &thread.ids,
        desk.config,
    ));
    if before.status != d.ticket.status {
        d.events.push(format!(
            "status {} -> {} by the admin",
            before.status, d.ticket.status
        ));
    }
    let held = d.hold(thread, desk);
    d.events.extend(held);
    d.settle(Some(&before), lifecycle::Event::Other, desk);
    for t in d.also.iter_mut() {
        let old = t.clone();
        lifecycle::settle(
            t,
            Some(&old),
            lifecycle::Event::Other,
            desk.now,
            desk.config,
            desk.calendars,
        );
    }
    d
}

/// Joins `from` into `into`: `from` is closed and points at `into`, which
/// gains its participants and tags and shows its messages.
pub fn merge_tickets(from: &mut Ticket, into: &mut Ticket, now: DateTime<Utc>) {
    from.merged_into = Some(into.number);
    // Closed without counting as resolved: the work goes on in `into`.
    from.status = Status::Closed;
    from.updated = now;
    // Tickets merged into `from` earlier come along: `into` shows their
    // messages too, and its customer thread includes theirs.
    for n in std::iter::once(from.number).chain(from.merged_from.iter().copied()) {
        if n != into.number && !into.merged_from.contains(&n) {
            into.merged_from.push(n);
        }
    }
    for p in from.participants.clone() {
        into.add_participant(&p);
    }
    for t in from.tags.clone() {
        if !into.tags.contains(&t) {
            into.tags.push(t);
        }
    }
    into.updated = now;
}
