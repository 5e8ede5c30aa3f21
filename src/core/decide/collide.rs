//! Collisions: two agents answering the same notification must not both
//! reach the customer, and nobody should answer a question the customer
//! has since taken back. An agent's answer that replies to a notification
//! older than another agent's answer or a newer customer message on the
//! ticket is held: the agent is told what happened since and may release
//! it as written (`#send`) or write again. Commands and internal notes
//! are never held: they do not speak to the customer.
//!
//! "Older" is counted in the ticket's messages, not in clock time: every
//! mail to an agent remembers how many of the ticket's messages it had
//! seen (the shell keeps that with the notification's Message-ID), so two
//! mails in the same second are still ordered.

use super::*;
use crate::ticket::Held;

/// What the shell found about the newest notification an agent's mail
/// answers (through In-Reply-To or References).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answering {
    /// How many of the ticket's messages that notification had seen.
    pub seen: u32,
    /// The ticket's messages stored since, oldest first, each with what
    /// its author wrote (quotes stripped, an agent's commands removed).
    pub since: Vec<(MessageRecord, String)>,
}

/// One thing that happened on the ticket since a notification.
#[derive(Debug, Clone, PartialEq)]
pub struct News {
    pub at: DateTime<Utc>,
    /// `Bob answered`, `the customer wrote`.
    pub what: String,
    pub excerpt: String,
}

/// What happened since the notification `agent` answered that makes their
/// answer stale: the customer's (or a participant's) mail that was not
/// kept quiet, and other agents' answers that reached the customer. An
/// answer to no known notification is never held: nothing says it is old.
pub(super) fn news(
    answering: Option<&Answering>,
    agent: &str,
    ticket: &Ticket,
    config: &Config,
) -> Vec<News> {
    let Some(a) = answering else {
        return Vec::new();
    };
    a.since
        .iter()
        .filter(|(r, _)| r.seq >= a.seen && r.ticket == ticket.number)
        .filter_map(|(r, text)| {
            let what = match &r.author {
                Author::Customer if !r.internal && !quiet(r) => {
                    let from = r.from.as_ref().map(|p| p.email.as_str()).unwrap_or("");
                    if from.eq_ignore_ascii_case(&ticket.requester.email) || from.is_empty() {
                        "the customer wrote".to_string()
                    } else {
                        format!("{from} (on the ticket) wrote")
                    }
                }
                Author::Agent { email, .. } if r.relayed && !email.eq_ignore_ascii_case(agent) => {
                    let name = config
                        .agent(email)
                        .and_then(|a| a.name.clone())
                        .unwrap_or_else(|| email.clone());
                    format!("{name} answered")
                }
                _ => return None,
            };
            Some(News {
                at: r.received,
                what,
                excerpt: excerpt(text, 200),
            })
        })
        .collect()
}

/// A message the guards kept quiet (automatic mail, a loop, a delivery
/// report) asked nothing: it makes no answer stale.
fn quiet(r: &MessageRecord) -> bool {
    r.flags
        .iter()
        .any(|f| f.ends_with(": stored, not answered"))
}

/// `text` on one line, cut at `max` characters.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let one: Vec<&str> = text.split_whitespace().collect();
    let one = one.join(" ");
    if one.chars().count() <= max {
        one
    } else {
        let cut: String = one.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Holds `body`, the answer of `agent` in `msg`, on the ticket, and tells
/// the agent what happened since, in one mail they can answer: its
/// Reply-To carries their token, and as the newest mail about the ticket
/// an answer to it goes out normally.
pub(super) fn hold(
    msg: &Inbound,
    ticket: &mut Ticket,
    agent: &str,
    body: &str,
    macro_answer: Option<(String, String)>,
    news: &[News],
    desk: &Desk<'_>,
) -> Notice {
    let expires = desk.now
        + chrono::Duration::from_std(desk.config.agent_mail.hold_expires)
            .unwrap_or(chrono::Duration::days(1));
    ticket.held.push(Held {
        agent: agent.to_ascii_lowercase(),
        message_id: msg.message_id.clone(),
        seq: ticket.message_count,
        at: desk.now,
        expires,
        text: body.to_string(),
        macro_answer,
    });
    let tz = desk.config.timezone();
    let today = desk.now.with_timezone(&tz).date_naive();
    let when = |at: DateTime<Utc>| {
        let local = at.with_timezone(&tz);
        if local.date_naive() == today {
            local.format("%H:%M").to_string()
        } else {
            local.format("%Y-%m-%d %H:%M").to_string()
        }
    };
    let lines: Vec<String> = news
        .iter()
        .map(|n| {
            if n.excerpt.is_empty() {
                format!("  - {} at {}", n.what, when(n.at))
            } else {
                format!("  - {} at {}: \"{}\"", n.what, when(n.at), n.excerpt)
            }
        })
        .collect();
    let quoted: Vec<String> = body.lines().map(|l| format!("  | {l}")).collect();
    let mut n = Notice::new(
        "agent_notify",
        vec![Person {
            name: desk.config.agent(agent).and_then(|a| a.name.clone()),
            email: agent.to_string(),
        }],
        &format!("{}/held", msg.message_id),
        Auto::Generated,
    );
    n.agent = Some(agent.to_string());
    n.in_reply_to = (!msg.message_id_synthetic).then(|| msg.message_id.clone());
    n.plain = Some((
        format!("[{}] your answer was held: the ticket moved on", ticket.reference),
        format!(
            "Your answer to {} was NOT sent to the customer: the ticket changed after the notification you answered.\n\n{}\n\nYour answer, as you wrote it:\n\n{}\n\nTo send it anyway, reply to this mail with the single line\n\n  #send\n\nTo write a new answer instead, reply to this mail with it: it goes out as usual.\nThe held answer can be sent until {} ({}).\n",
            ticket.reference,
            lines.join("\n"),
            quoted.join("\n"),
            expires.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            tz.name(),
        ),
    ));
    n
}

/// Takes the newest held answer of `agent` off the ticket for `#send`, or
/// says why there is none to send.
pub(super) fn release(
    ticket: &mut Ticket,
    agent: &str,
    now: DateTime<Utc>,
) -> Result<Held, String> {
    let mine = |h: &Held| h.agent.eq_ignore_ascii_case(agent);
    let newest = ticket
        .held
        .iter()
        .enumerate()
        .filter(|(_, h)| mine(h))
        .max_by_key(|(_, h)| (h.at, h.seq))
        .map(|(i, _)| i);
    match newest {
        Some(i) if ticket.held[i].expires > now => Ok(ticket.held.remove(i)),
        Some(i) => {
            let h = ticket.held.remove(i);
            Err(format!(
                "#send: your held answer of {} expired at {} UTC; write it again (agent_mail.hold_expires)",
                h.at.format("%Y-%m-%d %H:%M"),
                h.expires.format("%Y-%m-%d %H:%M")
            ))
        }
        None => Err(format!(
            "#send: you have no held answer on {} (held answers expire after agent_mail.hold_expires); write your answer again",
            ticket.reference
        )),
    }
}

/// The relay of a released answer: what it would have been when written,
/// the same Message-ID (its cause is the held mail), the same files, in
/// the customer's thread as it is now.
pub(super) fn released_relay(
    held: &Held,
    ticket: &Ticket,
    config: &Config,
    thread_ids: &[String],
) -> Notice {
    let mut n = relay_of(
        &held.message_id,
        ticket,
        config,
        thread_ids,
        &held.agent,
        &held.text,
    );
    n.attachments_of = Some((ticket.number, held.seq));
    n.macro_answer = held.macro_answer.clone();
    n
}
