//! Privacy requests (`customers export`, `customers erase`): the shell
//! side. It gathers the records that name a person, lets
//! [`crate::privacy`] say what becomes of each, and writes that in one
//! store transaction; the rewrite of the store that follows is the
//! caller's (the daemon, or [`crate::backend`] without one), because it
//! needs the store closed.
//!
//! A data-subject export holds the person's own data and what the desk
//! sent them: the messages they wrote (original bytes, as an mbox), and
//! their tickets with every message they could see. Agents' internal
//! notes are the desk's working notes about them, not theirs, and are
//! left out, as is which agent handled what beyond what the mail they got
//! showed.

use serde_json::json;

use crate::api::{CustomerRecords, ExportPage, ExportedMessage, Response};
use crate::privacy;
use crate::store::{Erasure, ErasureRecord};
use crate::ticket::Ticket;

use super::*;

/// The most bytes of mail one export page carries (one message more when
/// a single message is larger).
const EXPORT_PAGE_BYTES: usize = 8 << 20;

impl Desk {
    /// Tickets that name the person: asked by them, or listing them as a
    /// participant. A scan of every ticket: participants have no index,
    /// and a privacy request is rare.
    fn tickets_naming(&self, address: &str) -> Result<Vec<Ticket>, StoreError> {
        let mut out = Vec::new();
        for t in self.store.tickets() {
            let t = t?;
            let named = t.requester.email.eq_ignore_ascii_case(address)
                || t.participants
                    .iter()
                    .any(|p| p.trim().eq_ignore_ascii_case(address));
            if named {
                out.push(t);
            }
        }
        Ok(out)
    }

    pub(super) fn export_customer(
        &self,
        address: &str,
        after: Option<&str>,
    ) -> Result<Response, StoreError> {
        self.commit_staged()?;
        let address = address.trim().to_ascii_lowercase();
        let tickets = self.tickets_naming(&address)?;
        let mark = self.store.mark(&Staged::default(), &address)?;
        if tickets.is_empty() && mark.is_none() {
            return Ok(Response::Error {
                message: format!("the desk holds nothing about {address}"),
                retry: false,
            });
        }
        let after = match after {
            None => None,
            Some(a) => match a
                .split_once('-')
                .and_then(|(t, s)| Some((t.parse::<u64>().ok()?, s.parse::<u32>().ok()?)))
            {
                Some(c) => Some(c),
                None => {
                    return Ok(Response::Error {
                        message: format!("`{a}` is not an export cursor"),
                        retry: false,
                    })
                }
            },
        };
        let mut page = ExportPage::default();
        if after.is_none() {
            page.records = Some(self.customer_records(&address, &tickets, mark)?);
        }
        let mut last = None;
        'tickets: for t in &tickets_in_order(&tickets) {
            for (m, raw) in self.store.messages(t.number)? {
                if after.is_some_and(|a| (m.ticket, m.seq) <= a)
                    || !privacy::written_by(&m, &address)
                {
                    continue;
                }
                if !page.messages.is_empty() && page.raw.len() + raw.len() > EXPORT_PAGE_BYTES {
                    page.next = last.map(|(t, s)| format!("{t}-{s}"));
                    break 'tickets;
                }
                page.messages.push(ExportedMessage {
                    ticket: t.reference.clone(),
                    sender: address.clone(),
                    date: m.date.unwrap_or(m.received),
                    len: raw.len(),
                });
                page.raw.extend_from_slice(&raw);
                last = Some((m.ticket, m.seq));
            }
        }
        Ok(Response::CustomerExport(Box::new(page)))
    }

    /// `customer.json` and `tickets.json`.
    fn customer_records(
        &self,
        address: &str,
        tickets: &[Ticket],
        mark: Option<crate::bounce::Mark>,
    ) -> Result<CustomerRecords, StoreError> {
        let limits = self.config.intake.limits();
        // Mail the desk sent (or will send) them, for each ticket.
        let mut sent: Vec<crate::outbox::Entry> = self
            .store
            .outbox_entries()?
            .into_iter()
            .filter(|e| e.recipients.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .collect();
        self.describe_planned(&mut sent);
        let mut shown = Vec::new();
        for t in tickets_in_order(tickets) {
            let mut messages = Vec::new();
            for (m, raw) in self.store.messages(t.number)? {
                if !privacy::visible_to_customer(&m) {
                    continue;
                }
                let text = mail::parse_with(&raw, &limits)
                    .map(|p| p.text)
                    .unwrap_or_default();
                messages.push(json!({
                    "from": m.from,
                    "to": m.to,
                    "cc": m.cc,
                    "subject": m.subject,
                    "date": m.date,
                    "received": m.received,
                    "direction": m.direction,
                    "written_by_you": privacy::written_by(&m, address),
                    "text": text,
                    "attachments": m.attachments,
                }));
            }
            shown.push(json!({
                "reference": t.reference,
                "subject": t.subject,
                "status": t.status,
                "priority": t.priority,
                "created": t.created,
                "updated": t.updated,
                "requested_by_you": t.requester.email.eq_ignore_ascii_case(address),
                "participants": t.participants,
                "rating": t.survey.as_ref().map(|s| json!({
                    "score": s.score,
                    "label": s.label,
                    "comment": s.comment,
                    "answered_at": s.answered_at,
                })),
                "messages": messages,
                "sent_to_you": sent
                    .iter()
                    .filter(|e| e.ticket.as_deref() == Some(t.reference.as_str()))
                    .map(|e| json!({
                        "kind": e.kind,
                        "subject": e.subject,
                        "created": e.created,
                        "state": e.state,
                        "sent_at": e.sent_at,
                    }))
                    .collect::<Vec<_>>(),
            }));
        }
        let name = tickets
            .iter()
            .filter(|t| t.requester.email.eq_ignore_ascii_case(address))
            .max_by_key(|t| t.updated)
            .and_then(|t| t.requester.name.clone());
        let ratings: Vec<_> = tickets
            .iter()
            .filter_map(|t| {
                let s = t.survey.as_ref()?;
                Some(json!({"ticket": t.reference, "score": s.score?, "label": s.label}))
            })
            .collect();
        let customer = json!({
            "address": address,
            "name": name,
            "organization": self.config.organization_of(address),
            "tickets": tickets.len(),
            "ratings": ratings,
            "bounce_mark": mark,
            "exported_at": chrono::Utc::now(),
            "note": "messages.mbox holds the mail you wrote, as it arrived (mboxrd). tickets.json holds every ticket you asked or were copied on, with each message you could see and the mail the desk sent you about it; agents' internal notes are not part of it.",
        });
        Ok(CustomerRecords {
            customer,
            tickets: serde_json::Value::Array(shown),
        })
    }

    /// Erases a person (see [`crate::privacy`] for what goes and what
    /// stays) in one transaction. Refuses while mail to them is queued,
    /// unless `force` (which cancels it). The store still holds old copies
    /// in its log until it is rewritten: the answer says so with
    /// `rewritten: None`.
    pub(super) fn erase_customer(
        &self,
        address: &str,
        by: &str,
        force: bool,
    ) -> Result<Response, StoreError> {
        let address = address.trim().to_ascii_lowercase();
        let refuse = |message: String| {
            Ok(Response::Error {
                message,
                retry: false,
            })
        };
        if privacy::is_pseudonym(&address) {
            return refuse(format!("{address} is already a pseudonym of an erasure"));
        }
        if address.is_empty() || !address.contains('@') {
            return refuse(format!("`{address}` is not an address"));
        }
        let pseudonym = self.signer.pseudonym(&address);
        // Intake waits meanwhile: nothing of theirs can arrive half-erased.
        let mut staged = self.lock_staged()?;
        self.store.commit(&mut staged)?;
        let mut tickets = self.tickets_naming(&address)?;
        let requested: Vec<u64> = tickets
            .iter()
            .filter(|t| t.requester.email.eq_ignore_ascii_case(&address))
            .map(|t| t.number)
            .collect();
        let references: Vec<String> = tickets
            .iter()
            .filter(|t| requested.contains(&t.number))
            .map(|t| t.reference.clone())
            .collect();
        let mut outbox = Vec::new();
        let mut queued = 0usize;
        for e in self.store.outbox_entries()? {
            if privacy::entry_concerns(&e, &address, &references) {
                if e.state == outbox::State::Queued {
                    queued += 1;
                }
                let mut new = e.clone();
                privacy::scrub_entry(&mut new, &address, &pseudonym);
                outbox.push((e, new));
            }
        }
        let mark = self.store.mark(&staged, &address)?;
        if tickets.is_empty() && mark.is_none() && outbox.is_empty() {
            // Erased before, perhaps without the rewrite finishing: the
            // rewrite is what is left to do.
            if let Some(record) = self.store.erasure(&pseudonym)? {
                return Ok(self.reclaimed(record));
            }
            return refuse(format!("the desk holds nothing about {address}"));
        }
        if queued > 0 && !force {
            return refuse(format!(
                "{queued} mail(s) to {address} or about their tickets are still queued\n  hint: wait until they are sent (`postdesk outbox list`), or add --force to cancel them"
            ));
        }
        // The names they went by, as the desk saw them: what mail of others
        // that stays may show next to their address.
        let mut names: Vec<String> = tickets
            .iter()
            .filter(|t| t.requester.email.eq_ignore_ascii_case(&address))
            .filter_map(|t| t.requester.name.clone())
            .collect();
        let mut stored = Vec::new();
        for t in &tickets {
            for (m, raw) in self.store.messages(t.number)? {
                let people = m.from.iter().chain(&m.to).chain(&m.cc);
                names.extend(
                    people
                        .filter(|p| p.email.trim().eq_ignore_ascii_case(&address))
                        .filter_map(|p| p.name.clone()),
                );
                stored.push((requested.contains(&t.number), m, raw));
            }
        }
        names.retain(|n| n.trim().chars().count() >= 3);
        names.sort();
        names.dedup();
        let mut messages = Vec::new();
        for (theirs, mut m, raw) in stored {
            let before = m.clone();
            let kept = if privacy::scrub_message(&mut m, &address, &pseudonym, theirs) {
                Vec::new()
            } else {
                let mut kept = replace_ignore_case(&raw, &address, &pseudonym);
                for n in &names {
                    kept = replace_ignore_case(&kept, n.trim(), privacy::ERASED);
                }
                kept
            };
            if m != before || kept != raw {
                messages.push((m, kept));
            }
        }
        for t in &mut tickets {
            privacy::scrub_ticket(t, &address, &pseudonym);
        }
        let mut quarantine = Vec::new();
        for q in self.store.quarantined()? {
            if let Some((_, raw)) = self.store.quarantined_entry(&q.id)? {
                if contains_ignore_case(&raw, address.as_bytes()) {
                    quarantine.push(q.id);
                }
            }
        }
        // No automatic mail to the pseudonym, ever: the guards' own way.
        let mut new_mark = mark.clone().unwrap_or(crate::bounce::Mark {
            address: String::new(),
            last: crate::bounce::Severity::Hard,
            last_at: chrono::Utc::now(),
            status: None,
            diagnostic: None,
            ticket: None,
            hard_bounces: 0,
            soft_bounces: 0,
            suppressed_until: None,
        });
        new_mark.address = pseudonym.clone();
        new_mark.last = crate::bounce::Severity::Hard;
        new_mark.status = Some("erased".into());
        new_mark.diagnostic = None;
        new_mark.suppressed_until = chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc());
        let record = ErasureRecord {
            pseudonym: pseudonym.clone(),
            at: chrono::Utc::now(),
            by: by.to_string(),
            tickets: tickets.len(),
            messages: messages.len(),
            outgoing: outbox.len(),
            cancelled: if force { queued } else { 0 },
            quarantined: quarantine.len(),
        };
        let erasure = Erasure {
            address,
            pseudonym,
            tickets,
            messages,
            outbox,
            conversations_of: requested,
            quarantine,
            mark: new_mark,
            record: record.clone(),
        };
        self.store.apply_erasure(&erasure)?;
        tracing::info!(pseudonym = %record.pseudonym, by = %record.by, "a customer was erased; the store is rewritten next");
        Ok(self.reclaimed(record))
    }

    /// The answer to a written erasure once the store let go of the old
    /// copies it can (PostgreSQL rewrites its tables now: `rewritten`
    /// says how many records they hold). `rewritten: None`: the store
    /// still holds old copies until it is rewritten offline (sled, whose
    /// log keeps them), which the daemon or the command does next. A
    /// failure leaves the erasure written and says to run it again.
    fn reclaimed(&self, record: crate::store::ErasureRecord) -> Response {
        match self.store.reclaim_erased() {
            Ok(rewritten) => Response::Erased { record, rewritten },
            Err(e) => Response::rewrite_failed(&record, &e.to_string()),
        }
    }
}

/// Tickets by number: the order of the export.
fn tickets_in_order(tickets: &[Ticket]) -> Vec<&Ticket> {
    let mut v: Vec<&Ticket> = tickets.iter().collect();
    v.sort_by_key(|t| t.number);
    v
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The bytes with every occurrence of `needle` (an address or a name, any
/// case) replaced: mail of other people that copied or quoted the person
/// keeps its text but no longer names them. Names written in an encoded
/// form (RFC 2047, quoted-printable) are not found.
fn replace_ignore_case(raw: &[u8], needle: &str, with: &str) -> Vec<u8> {
    let (address, pseudonym) = (needle, with);
    let needle = address.as_bytes();
    if !contains_ignore_case(raw, needle) {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw
            .get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            out.extend_from_slice(pseudonym.as_bytes());
            i += needle.len();
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_replaced_in_any_case() {
        let out = replace_ignore_case(
            b"Cc: Carol <CAROL@x.test>, b@y",
            "carol@x.test",
            "e@erased.invalid",
        );
        assert_eq!(out, b"Cc: Carol <e@erased.invalid>, b@y");
        assert!(!contains_ignore_case(b"abc", b""));
    }
}
