//! The one decision path: every change to a ticket, whatever caused it,
//! is decided here (DESIGN.md, "The shape: one decision path").
//!
//! An [`Event`] (a customer's or an agent's mail, a due timer, an admin's
//! request) and the evidence the shell gathered for it go into
//! [`decide`]; out comes a [`Decision`]: the tickets as they must be
//! afterwards with the lifecycle already settled (follow-up clock, SLA
//! targets, next deadline), every mail to send as a [`Notice`] with its
//! recipients and threading headers, the holds of the guards applied, and
//! what the index and the counters must record. The shell writes it in one
//! transaction. So an admin's `tickets set --status resolved` and an
//! agent's `#status resolved` cannot behave differently: both are the same
//! commands applied by the same code ([`change`]).
//!
//! No I/O, no clock, no randomness: `now` and everything the store knows
//! come in as arguments.
//!
//! Beside this file: `intake` (mail), `change` (commands, by mail or from
//! the command line, and merges), `timer` (deadlines), `campaign` (notice
//! campaigns), `assign` (who gets a
//! new ticket), `notices` (who is told what), `holds` (the caps and bounce
//! holds on automatic mail), `bounces` (what a traced delivery report
//! does) and `collide` (an agent's answer overtaken by newer mail is held,
//! not sent, until the agent's `#send`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::agent::Author;
use crate::command::{Command, Macro};
use crate::config::Config;
use crate::lifecycle::{self, Calendars};
use crate::mail::build::Auto;
use crate::mail::subject::TagMatcher;
use crate::mail::Inbound;
use crate::rules::{Ack, Classification};
use crate::thread::Threading;
use crate::ticket::{Direction, MessageRecord, Person, Priority, Status, ThreadReason, Ticket};

mod assign;
mod bounces;
mod campaign;
mod change;
pub(crate) mod collide;
mod holds;
mod intake;
mod notices;
mod timer;

pub use assign::{counter_name as assign_counter, target_queue, AssignEvidence, Load};
use bounces::*;
pub use campaign::Campaign;
pub use change::{merge_tickets, Request};
pub use collide::Answering;
pub use holds::{capped_recipients, limit, Sent};
pub use intake::{intake, Arrival};
pub use notices::Notice;
use notices::*;
pub use timer::Due;

/// Whether mail is live (someone waits for an answer) or history being
/// imported (nothing is answered, dates come from the mail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Import { status: Status },
}

/// What the desk is, for every decision: its configuration, its calendars
/// and its own addresses, and the moment of the decision.
#[derive(Debug, Clone, Copy)]
pub struct Desk<'a> {
    pub config: &'a Config,
    pub calendars: &'a Calendars,
    /// The support address and its configured aliases, lowercased.
    pub own: &'a [String],
    pub now: DateTime<Utc>,
}

/// What the store knows about a ticket's thread and its customers that a
/// decision needs for the mail it sends.
#[derive(Debug, Clone, Default)]
pub struct Thread {
    /// Message-IDs of the ticket's customer mail, oldest first: every
    /// mail to the customer continues their own thread.
    pub ids: Vec<String>,
    /// What the caps know of each customer address the decision may
    /// write to (see [`Decision::caps_for`]): times of recent automatic
    /// mail and bounce marks.
    pub sent: HashMap<String, Sent>,
}

/// One event, with the evidence gathered for it.
#[derive(Debug)]
pub enum Event<'a> {
    /// A message that is not a duplicate, threaded to `existing` (loaded
    /// by the shell; `None` opens a ticket).
    Mail {
        msg: &'a Inbound,
        threading: &'a Threading,
        existing: Option<Ticket>,
        known_references: &'a [String],
        /// Tickets this message proves to be the same thread as
        /// `existing` (loaded by the shell, merges followed), each with
        /// the id that links it: they are merged into `existing`.
        joins: Vec<(Ticket, String)>,
        ctx: &'a Context<'a>,
    },
    /// A ticket whose next deadline has come.
    Timer { ticket: Box<Ticket>, due: Due },
    /// An admin's change from the command line or the control socket.
    Request {
        ticket: Box<Ticket>,
        request: Request,
    },
    /// A notice campaign's mail to one customer about their ticket.
    Notice {
        ticket: Box<Ticket>,
        campaign: Campaign,
    },
}

/// Decides one event: see the module docs.
pub fn decide(event: Event<'_>, thread: &Thread, desk: &Desk<'_>) -> Decision {
    match event {
        Event::Mail {
            msg,
            threading,
            existing,
            known_references,
            joins,
            ctx,
        } => intake::intake(
            intake::Arrival {
                msg,
                threading,
                existing,
                known_references,
                joins,
            },
            ctx,
            thread,
            desk,
        ),
        Event::Timer { ticket, due } => timer::timer(*ticket, &due, thread, desk),
        Event::Request { ticket, request } => change::request(*ticket, request, thread, desk),
        Event::Notice { ticket, campaign } => campaign::campaign(*ticket, &campaign, thread, desk),
    }
}

/// Everything about one arrival that an intake decision depends on.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub prefix: &'a str,
    pub tags: &'a TagMatcher,
    pub default_category: &'a str,
    pub default_priority: Priority,
    pub inbox: &'a str,
    pub queue: &'a str,
    pub origin: &'a str,
    pub mode: Mode,
    /// The number a new ticket would get.
    pub next_number: u64,
    /// The acknowledgement template the desk uses when no rule names one;
    /// `None` when acknowledgements are off.
    pub ack_template: Option<&'a str>,
    /// What the rule file said about this message.
    pub rules: &'a Classification,
    /// What a rule's round-robin or least-open `assign` needs.
    pub assign: AssignEvidence,
    /// Who wrote the message (the shell weighs the evidence).
    pub author: &'a Author,
    /// What the author wrote, without quoted text and signature.
    pub stripped: &'a str,
    /// A satisfaction survey answer: the score and the comment.
    pub survey_answer: Option<(u32, Option<String>)>,
    /// A delivery report the shell traced to mail the desk sent.
    pub bounced: Option<Bounced>,
    /// Why the shell put a would-be new ticket into the sender's newest
    /// one (the new-ticket limit), if it did.
    pub flood: Option<String>,
    /// The ticket an agent's `#merge REF` names, followed through earlier
    /// merges, when it exists.
    pub merge_target: Option<Ticket>,
    /// The tickets an agent's `#link REF`s name, each with the REF,
    /// merges followed, those that exist.
    pub link_targets: Vec<(String, Ticket)>,
    /// The desk's macros, for an agent's `#macro NAME`.
    pub macros: Vec<crate::command::Macro>,
    /// For an agent's mail: the newest notification it answers and what
    /// happened on the ticket since (see `collide`).
    pub answering: Option<Answering>,
    /// The languages the desk has templates for, the default first: what
    /// a ticket's language may be (see [`crate::language`]).
    pub languages: &'a [String],
    /// The language remembered for the sender from their other tickets
    /// (the one chosen last), if any.
    pub remembered_language: Option<crate::language::Language>,
    /// The language detected in [`crate::language::detection_text`] of
    /// this message and `stripped`, when the shell ran detection already;
    /// `None` leaves it to the decision.
    pub detected_language: Option<Option<&'static str>>,
    /// What the guard says of the message ([`crate::guard::automatic`]'s
    /// reason), when the shell asked already (off the serial store path,
    /// or for a delivery report); `None` leaves it to the decision. It
    /// depends on the message alone, so either way the answer is the same.
    pub automatic: Option<Option<String>>,
}

/// A delivery report traced to the desk's own mail.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounced {
    /// How it was traced, for the record.
    pub traced: String,
    /// The kind of mail that bounced (`ack`, `reply`, ...), when known.
    pub kind: Option<String>,
    /// The recipients it reports on, each with the address's mark so far.
    pub recipients: Vec<(crate::bounce::Recipient, Option<crate::bounce::Mark>)>,
}

/// What to write for one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The ticket as it must be afterwards, lifecycle settled.
    pub ticket: Ticket,
    pub created: bool,
    /// The stored message's record (mail events only).
    pub record: Option<MessageRecord>,
    /// Other tickets the event changed (the other side of a merge).
    pub also: Vec<Ticket>,
    /// Message-IDs this message mentions that the desk has never seen: kept
    /// pointing at this ticket so their message, arriving late, finds it.
    pub remember_references: Vec<String>,
    /// The message's Outlook conversation key, kept pointing at this
    /// ticket when no ticket has it yet (see [`crate::thread::conversation_key`]).
    pub conversation: Option<String>,
    /// Mail to send, holds and caps already applied.
    pub notices: Vec<Notice>,
    /// Why an acknowledgement was not sent for a new ticket, if it was not.
    pub ack_suppressed: Option<String>,
    /// Why the message was kept quiet (automatic, own loop, flood, spam, a
    /// delivery report): stored, but it answers nothing, reopens nothing
    /// and moves no SLA clock.
    pub quiet: Option<String>,
    /// Addresses to mark because of a delivery report.
    pub marks: Vec<crate::bounce::Mark>,
    /// The caps' new record of automatic mail per customer address.
    pub sent: Vec<(String, Vec<DateTime<Utc>>)>,
    /// Counters to move (a queue's round-robin position).
    pub counters: Vec<(String, u64)>,
    /// Why a request was refused: nothing is to be written then.
    pub refused: Vec<String>,
    /// What happened, for the log.
    pub events: Vec<String>,
}

impl Decision {
    fn about(ticket: Ticket) -> Decision {
        Decision {
            ticket,
            created: false,
            record: None,
            also: Vec::new(),
            remember_references: Vec::new(),
            conversation: None,
            notices: Vec::new(),
            ack_suppressed: None,
            quiet: None,
            marks: Vec::new(),
            sent: Vec::new(),
            counters: Vec::new(),
            refused: Vec::new(),
            events: Vec::new(),
        }
    }

    /// The customer addresses whose cap history a decision about `ticket`
    /// (and `msg`, for mail) may need: everyone automatic mail can go to.
    pub fn caps_for(ticket: Option<&Ticket>, msg: Option<&Inbound>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |e: &str| {
            let e = e.to_ascii_lowercase();
            if !out.contains(&e) {
                out.push(e);
            }
        };
        if let Some(t) = ticket {
            add(&t.requester.email);
        }
        if let Some(m) = msg {
            add(&m.from.email);
            if let Some(r) = &m.reply_to {
                add(&r.email);
            }
        }
        out
    }

    /// The customer addresses whose cap history a decision about `msg`
    /// needs: only when it can send a customer automatic mail (an
    /// acknowledgement, a status notice after an agent's command, a
    /// survey's thanks, a reply to a closed ticket), so the common reply
    /// costs no reads for them.
    pub fn caps_for_mail(
        existing: Option<&Ticket>,
        author: &Author,
        survey_answer: bool,
        msg: &Inbound,
    ) -> Vec<String> {
        let may_answer = match existing {
            None => true,
            Some(t) => {
                matches!(author, Author::Agent { .. })
                    || survey_answer
                    || matches!(t.status, Status::Resolved | Status::Closed)
            }
        };
        if may_answer {
            Decision::caps_for(existing, Some(msg))
        } else {
            Vec::new()
        }
    }

    /// Applies the guards' holds to the decided mail, with the history in
    /// `thread.sent`, and records what the caps must remember.
    fn hold(&mut self, thread: &Thread, desk: &Desk<'_>) -> Vec<String> {
        let mut sent = thread.sent.clone();
        let before: HashMap<String, usize> = sent
            .iter()
            .map(|(e, s)| (e.clone(), s.times.len()))
            .collect();
        let held = limit(
            &mut self.notices,
            &mut sent,
            desk.config,
            desk.own,
            desk.now,
        );
        for (e, s) in sent {
            // Only what the shell gathered is written back: an address it
            // did not read would otherwise lose its history.
            let Some(n) = before.get(&e) else { continue };
            if s.times.last() == Some(&desk.now) || *n != s.times.len() {
                self.sent.push((e, s.times));
            }
        }
        self.sent.sort();
        held
    }

    /// Brings the ticket's derived fields (clocks, SLA plan, next
    /// deadline) up to date after `event`.
    fn settle(&mut self, old: Option<&Ticket>, event: lifecycle::Event, desk: &Desk<'_>) {
        lifecycle::settle(
            &mut self.ticket,
            old,
            event,
            desk.now,
            desk.config,
            desk.calendars,
        );
    }
}

/// Moves a ticket to `status`, keeping the resolution time and the reopen
/// count that reports read.
pub fn set_status(ticket: &mut Ticket, status: Status, now: DateTime<Utc>) {
    let finished = |s: Status| matches!(s, Status::Resolved | Status::Closed);
    // Closed straight from work counts as resolved then too: reports measure
    // resolution time to it, and the survey and reopen window start there.
    if finished(status) && !finished(ticket.status) {
        ticket.resolved_at = Some(now);
    }
    if finished(ticket.status) && !finished(status) {
        ticket.reopened += 1;
    }
    ticket.status = status;
}

/// True for the desk's addresses, with or without a `+token`.
pub fn is_own(own: &[String], email: &str) -> bool {
    let email = email.to_ascii_lowercase();
    let base = match email.split_once('+') {
        Some((local, rest)) => match rest.rsplit_once('@') {
            Some((_, domain)) => format!("{local}@{domain}"),
            None => email.clone(),
        },
        None => email.clone(),
    };
    own.contains(&base)
}

/// The desk's addresses as far as one message shows them: the configured
/// ones, plus the address the receiving server says it delivered the
/// message to (`Delivered-To`, `X-Original-To`, `Envelope-To`), which is
/// the desk's even when nobody told the desk of that alias.
pub fn own_for(own: &[String], msg: &Inbound) -> Vec<String> {
    let mut out = own.to_vec();
    for name in ["delivered-to", "x-original-to", "envelope-to"] {
        for (n, v) in &msg.headers {
            if !n.eq_ignore_ascii_case(name) {
                continue;
            }
            let v = v.trim().trim_start_matches('<').trim_end_matches('>');
            let v = v.to_ascii_lowercase();
            let base = match v.split_once('+') {
                Some((local, rest)) => match rest.rsplit_once('@') {
                    Some((_, domain)) => format!("{local}@{domain}"),
                    None => v.clone(),
                },
                None => v.clone(),
            };
            if base.contains('@') && !out.contains(&base) {
                out.push(base);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
