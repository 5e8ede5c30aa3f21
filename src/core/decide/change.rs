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
    /// The desk's macros (`templates/macros/`), for a `macro` command.
    pub macros: Vec<Macro>,
    /// The languages the desk has templates for, the default first, for a
    /// `lang` command.
    pub languages: Vec<String>,
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
    /// The macro whose text answers the customer, when one was applied.
    pub macro_used: Option<String>,
    /// A command (or a macro's front matter) set the status or a snooze:
    /// an answer sent with it does not make the ticket pending.
    pub status_set: bool,
}

/// Checks and applies one command that needs nothing but the ticket: a
/// snooze's wake time is resolved in the desk's time zone here.
fn apply_one(ticket: &mut Ticket, c: &Command, desk: &Desk<'_>) -> Result<(), String> {
    crate::command::check(c, desk.config)?;
    let today = desk.now.with_timezone(&desk.config.timezone()).date_naive();
    match c {
        Command::Snooze(crate::command::Snooze::Off) => {
            crate::command::snooze(ticket, None, desk.now);
            Ok(())
        }
        Command::Snooze(s) => match s.wake_at(desk.now, desk.config.timezone()) {
            Some(at) => {
                crate::command::snooze(ticket, Some(at), desk.now);
                Ok(())
            }
            None => Err("#snooze: that moment has passed; name a later one".to_string()),
        },
        c => {
            crate::command::apply(ticket, c, desk.now, today);
            Ok(())
        }
    }
}

/// A macro's front matter, applied as the agent's own lines would be; any
/// bad line refuses the whole macro (its text is not sent either).
fn apply_macro(
    ticket: &mut Ticket,
    name: &str,
    macros: &[Macro],
    agent: &str,
    desk: &Desk<'_>,
    status_set: &mut bool,
) -> Result<(), String> {
    let Some(m) = macros.iter().find(|m| m.name.eq_ignore_ascii_case(name)) else {
        let known: Vec<&str> = macros.iter().map(|m| m.name.as_str()).collect();
        return Err(format!(
            "#macro {name}: no such macro (templates/macros/{name}.hbs); {}",
            if known.is_empty() {
                "this desk has none".to_string()
            } else {
                format!("the macros are {}", known.join(", "))
            }
        ));
    };
    let mut work = ticket.clone();
    for line in &m.commands {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        let c = crate::command::parse(verb, &args, agent)
            .map_err(|e| format!("#macro {name}: its line {e}"))?;
        if !crate::command::allowed_in_macro(&c) {
            return Err(format!(
                "#macro {name}: `#{line}` cannot be given by a macro"
            ));
        }
        apply_one(&mut work, &c, desk).map_err(|e| format!("#macro {name}: {e}"))?;
        *status_set |= matches!(c, Command::Status(_) | Command::Snooze(_));
    }
    *ticket = work;
    Ok(())
}

/// What the commands name that the shell looked up: a merge's target, the
/// linked tickets, the desk's macros; and who gives them (`""`: the admin).
pub(super) struct Named<'a> {
    pub merge_target: Option<Ticket>,
    pub links: &'a [(String, Ticket)],
    pub macros: &'a [Macro],
    /// The languages the templates have, the default first (`#lang`).
    pub languages: &'a [String],
    pub agent: &'a str,
}

/// Checks and applies `commands` in order. A command that cannot be
/// applied (an unknown agent, a merge into nothing) is reported in
/// `errors` and skipped; the rest still apply, as each line of an agent's
/// mail stands on its own.
pub(super) fn apply_all(
    ticket: &mut Ticket,
    commands: &[Command],
    named: Named<'_>,
    desk: &Desk<'_>,
    errors: &mut Vec<String>,
) -> Applied {
    let Named {
        merge_target,
        links,
        macros,
        languages,
        agent,
    } = named;
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
                Command::Lang(code) => set_language(ticket, code, languages, agent, desk.now),
                Command::Macro(_) if applied.macro_used.is_some() => {
                    Err("#macro: one macro per answer".to_string())
                }
                Command::Macro(name) => {
                    let mut set = false;
                    let done = apply_macro(ticket, name, macros, agent, desk, &mut set);
                    applied.status_set |= set && done.is_ok();
                    if done.is_ok() {
                        applied.macro_used = Some(name.clone());
                    }
                    done
                }
                c => apply_one(ticket, c, desk),
            },
        };
        if let Err(e) = &outcome {
            errors.push(e.clone());
        } else if matches!(c, Command::Status(_) | Command::Snooze(_)) {
            applied.status_set = true;
        }
        applied.outcomes.push(outcome);
    }
    applied
}

/// `#lang CODE`: the language the desk writes to the customer in from
/// now on, remembered with who chose it (their later tickets inherit
/// it). Only a language the templates have: anything else would be
/// promised and then written in the default language after all.
fn set_language(
    ticket: &mut Ticket,
    code: &str,
    languages: &[String],
    agent: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    if !languages.iter().any(|l| l == code) {
        return Err(format!(
            "#lang {code}: the desk has no templates in `{code}`; its languages are {} (a language is a directory of templates, e.g. templates/{code}/)",
            languages.join(", ")
        ));
    }
    use crate::language::{Language, Source};
    ticket.language = Some(Language {
        code: code.to_string(),
        by: if agent.is_empty() {
            Source::Admin
        } else {
            Source::Agent
        },
        at: now,
    });
    Ok(())
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
        Named {
            merge_target: request.merge_target.clone(),
            links: &request.link_targets,
            macros: &request.macros,
            languages: &request.languages,
            agent: "",
        },
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
    match &applied.macro_used {
        // A macro answers the customer, as an agent's answer by mail does:
        // the answer is the news, and the ticket then waits on them.
        Some(name) => {
            let mut n = relay_of(&cause, &d.ticket, desk.config, &thread.ids, "", "");
            n.on_behalf_of = d.ticket.assignee.clone();
            n.macro_answer = Some((name.clone(), String::new()));
            answered(&mut d.ticket, applied.status_set, desk.now);
            d.notices.push(n);
        }
        None => d.notices.extend(status_notice(
            &cause,
            before.status,
            &d.ticket,
            &thread.ids,
            desk.config,
        )),
    }
    if before.status != d.ticket.status {
        d.events.push(format!(
            "status {} -> {} by the admin",
            before.status, d.ticket.status
        ));
    }
    let held = d.hold(thread, desk);
    d.events.extend(held);
    let event = match applied.macro_used {
        Some(_) => lifecycle::Event::AgentAnswered,
        None => lifecycle::Event::Other,
    };
    d.settle(Some(&before), event, desk);
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

/// What relaying an answer does to the ticket: counted, the first
/// response noted, and pending (waiting on the customer) unless the
/// commands with it set a status themselves.
pub(super) fn answered(ticket: &mut Ticket, status_set: bool, now: DateTime<Utc>) {
    ticket.agent_replies += 1;
    if ticket.first_response.is_none() {
        ticket.first_response = Some(now);
    }
    if !status_set {
        set_status(ticket, Status::Pending, now);
    }
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
