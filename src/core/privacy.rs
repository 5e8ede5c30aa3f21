//! Privacy requests, the pure part: what a person's erasure does to each
//! record that names them, and which records an export shows them.
//!
//! The shell gathers the records (tickets, message records, outbox entries,
//! the bounce mark) and writes what these functions return in one store
//! transaction; the store then rewrites itself so that no old copy of the
//! erased bytes stays in its log (see `crate::store::privacy`).
//!
//! Policy, in one place:
//! - An erased person becomes a pseudonym (`erased-<keyed hash>@erased.invalid`,
//!   see [`crate::token::Signer::pseudonym`]): stable per address, so the
//!   counts and ratings of reports stay consistent and a second request for
//!   the same address finds the same records; keyed by the desk's secret, so
//!   a guessed address cannot be hashed and compared.
//! - In tickets they opened, every message body is dropped (agents' answers
//!   quote them and speak about them), the subject (their words) and every
//!   free text the desk kept about the conversation (survey comment, held
//!   answers) go. Numbers stay: times, counts, status, ratings' scores,
//!   queue, category, SLA facts.
//! - In other tickets (they were copied), only their own messages lose
//!   their bodies, and their address is replaced where it is listed.
//! - Mail the desk sent them (or about their tickets, to agents, which
//!   quotes them) loses its bytes and its subject; queued mail is cancelled.
//! - Message-IDs stay: they are ids, and threading needs them.

use crate::outbox::{Entry, State};
use crate::ticket::{MessageRecord, Person, Ticket};

/// What replaces a subject or a name that was the person's own text.
pub const ERASED: &str = "[erased]";
/// The domain of every pseudonym: `.invalid` never resolves (RFC 2606), so
/// no mail can reach it.
pub const PSEUDONYM_DOMAIN: &str = "erased.invalid";

/// Whether an address is a pseudonym an erasure gave.
pub fn is_pseudonym(address: &str) -> bool {
    address
        .trim()
        .to_ascii_lowercase()
        .ends_with(&format!("@{PSEUDONYM_DOMAIN}"))
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn scrub_person(p: &mut Person, address: &str, pseudonym: &str) -> bool {
    if same(&p.email, address) {
        p.email = pseudonym.to_string();
        p.name = None;
        true
    } else {
        false
    }
}

/// A ticket with the person replaced by the pseudonym. `requested`: they
/// opened it, so its subject and free texts are theirs too. Returns
/// whether anything changed.
pub fn scrub_ticket(t: &mut Ticket, address: &str, pseudonym: &str) -> bool {
    let requested = scrub_person(&mut t.requester, address, pseudonym);
    let mut changed = requested;
    for p in &mut t.participants {
        if same(p, address) {
            *p = pseudonym.to_string();
            changed = true;
        }
    }
    if requested {
        t.subject = ERASED.to_string();
        if let Some(s) = &mut t.survey {
            s.comment = None;
        }
        for h in &mut t.held {
            h.text.clear();
            h.macro_answer = None;
        }
    }
    changed
}

/// Whether the person asked this ticket (after or before scrubbing).
pub fn requested_by(t: &Ticket, address: &str, pseudonym: &str) -> bool {
    same(&t.requester.email, address) || same(&t.requester.email, pseudonym)
}

/// A message record with the person replaced. Returns whether its body
/// must go: it is theirs, or it belongs to a ticket they opened.
pub fn scrub_message(
    m: &mut MessageRecord,
    address: &str,
    pseudonym: &str,
    in_their_ticket: bool,
) -> bool {
    let mut theirs = false;
    if let Some(from) = &mut m.from {
        theirs = scrub_person(from, address, pseudonym);
    }
    for p in m.to.iter_mut().chain(m.cc.iter_mut()) {
        scrub_person(p, address, pseudonym);
    }
    let drop_body = theirs || in_their_ticket;
    if drop_body {
        m.subject = ERASED.to_string();
        m.text.clear();
        for a in &mut m.attachments {
            a.name = ERASED.to_string();
        }
        m.size = 0;
    }
    drop_body
}

/// Whether erasing touches this outbox entry: it went (or goes) to the
/// person, or it is about one of their tickets (agents' copies quote them).
pub fn entry_concerns(e: &Entry, address: &str, their_tickets: &[String]) -> bool {
    e.recipients.iter().any(|r| same(r, address))
        || e.ticket
            .as_ref()
            .is_some_and(|t| their_tickets.iter().any(|x| x.eq_ignore_ascii_case(t)))
}

/// An outbox entry with its recipient replaced and its mail gone; queued
/// mail is cancelled (failed, with the reason), never sent.
pub fn scrub_entry(e: &mut Entry, address: &str, pseudonym: &str) {
    for r in &mut e.recipients {
        if same(r, address) {
            *r = pseudonym.to_string();
        }
    }
    e.subject = ERASED.to_string();
    e.size = 0;
    e.planned = false;
    e.in_flight = false;
    if e.state == State::Queued {
        e.state = State::Failed;
        e.last_error = Some("cancelled: its recipient's data was erased".into());
    } else if e.last_error.is_some() {
        // A transport's words may quote the address.
        e.last_error = Some("erased".into());
    }
}

/// Whether an entry may be sent again: mail whose data was erased never is.
pub fn sendable(e: &Entry) -> bool {
    !(e.subject == ERASED && e.size == 0 && e.recipients.iter().any(|r| is_pseudonym(r)))
}

/// Whether a message is shown in a person's export: everything of a
/// ticket they could see, never the agents' internal notes.
pub fn visible_to_customer(m: &MessageRecord) -> bool {
    !m.internal
}

/// Whether the person wrote this message.
pub fn written_by(m: &MessageRecord, address: &str) -> bool {
    m.from.as_ref().is_some_and(|p| same(&p.email, address))
}

/// One line that begins a message in an mbox (mboxrd): the sender and a
/// date in `asctime` form.
pub fn mbox_from_line(sender: &str, date: chrono::DateTime<chrono::Utc>) -> String {
    let sender: String = sender
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    let sender = if sender.is_empty() {
        "MAILER-DAEMON".to_string()
    } else {
        sender
    };
    format!("From {sender} {}\n", date.format("%a %b %e %H:%M:%S %Y"))
}

/// A message's bytes as an mboxrd entry: every line that begins with any
/// number of `>` and then `From ` gets one more `>`, so a reader can undo it
/// exactly; line ends become `\n`; a blank line ends it.
pub fn mboxrd_body(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 64);
    for line in raw.split_inclusive(|b| *b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let quoted = body.iter().position(|b| *b != b'>').unwrap_or(body.len());
        if body[quoted..].starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(body);
        out.push(b'\n');
    }
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mboxrd_quotes_from_lines_at_any_depth_and_ends_with_a_blank_line() {
        let raw = b"Subject: x\r\n\r\nFrom here on\r\n>From there\r\nnot From\r\nend";
        let out = String::from_utf8(mboxrd_body(raw)).unwrap();
        assert_eq!(
            out,
            "Subject: x\n\n>From here on\n>>From there\nnot From\nend\n\n"
        );
    }

    #[test]
    fn a_from_line_has_no_space_in_the_sender() {
        let d = chrono::DateTime::from_timestamp(0, 0).unwrap();
        assert_eq!(
            mbox_from_line("a b@x", d),
            "From ab@x Thu Jan  1 00:00:00 1970\n"
        );
        assert!(mbox_from_line("", d).starts_with("From MAILER-DAEMON "));
    }

    fn ticket(requester: &str, participants: &[&str]) -> Ticket {
        serde_json::from_value(serde_json::json!({
            "number": 7, "reference": "ACME-7", "subject": "My armadillo",
            "status": "resolved", "priority": "normal", "category": "general",
            "queue": "general", "requester": {"name": "Carolyn Q", "email": requester},
            "participants": participants, "inbox": "main",
            "created": "2026-01-01T00:00:00Z", "updated": "2026-01-02T00:00:00Z",
            "message_count": 3,
            "survey": {"sent_at": "2026-01-02T00:00:00Z", "message_id": "s@x",
                       "score": 2, "comment": "the armadillo deserved better"}
        }))
        .unwrap()
    }

    #[test]
    fn a_ticket_they_asked_keeps_its_numbers_and_loses_their_words() {
        let mut t = ticket("carol@x.test", &["carol@x.test", "hank@y.test"]);
        assert!(scrub_ticket(&mut t, "Carol@X.test", "e@erased.invalid"));
        assert_eq!(t.requester.email, "e@erased.invalid");
        assert_eq!(t.requester.name, None);
        assert_eq!(t.participants, vec!["e@erased.invalid", "hank@y.test"]);
        assert_eq!(t.subject, ERASED);
        let survey = t.survey.as_ref().unwrap();
        assert_eq!((survey.score, survey.comment.as_deref()), (Some(2), None));
        assert_eq!(t.message_count, 3);
        assert!(requested_by(&t, "carol@x.test", "e@erased.invalid"));
    }

    #[test]
    fn a_ticket_they_were_copied_on_keeps_its_subject() {
        let mut t = ticket("hank@y.test", &["hank@y.test", "carol@x.test"]);
        assert!(scrub_ticket(&mut t, "carol@x.test", "e@erased.invalid"));
        assert_eq!(t.subject, "My armadillo");
        assert_eq!(t.requester.email, "hank@y.test");
        assert_eq!(t.participants, vec!["hank@y.test", "e@erased.invalid"]);
        let mut other = ticket("ivy@z.test", &["ivy@z.test"]);
        assert!(!scrub_ticket(
            &mut other,
            "carol@x.test",
            "e@erased.invalid"
        ));
    }

    #[test]
    fn pseudonyms_are_recognised_and_erased_mail_is_never_sent_again() {
        assert!(is_pseudonym("erased-0a1b2c3d4e@erased.invalid"));
        assert!(!is_pseudonym("carol@customer.test"));
        let mut e: Entry = serde_json::from_value(serde_json::json!({
            "id": 1, "ticket": "ACME-1", "kind": "ack", "message_id": "m@x",
            "envelope_from": "support@x", "recipients": ["Carol@Customer.test"],
            "subject": "Re: secret", "size": 10, "created": "2026-01-01T00:00:00Z",
            "state": "queued", "attempts": 0, "next_attempt": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert!(entry_concerns(&e, "carol@customer.test", &[]));
        assert!(sendable(&e));
        scrub_entry(&mut e, "carol@customer.test", "erased-1@erased.invalid");
        assert_eq!(e.state, State::Failed);
        assert_eq!(e.recipients, vec!["erased-1@erased.invalid".to_string()]);
        assert!(!sendable(&e));
    }
}
