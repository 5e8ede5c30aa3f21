//! Proactive notices (`postdesk notify`): one templated mail, an outage or
//! a maintenance window, to every customer with a matching ticket.
//!
//! Who gets it is decided here, purely, from the tickets: the requesters of
//! matching tickets, one notice per address however many tickets they have,
//! never an agent or the desk itself, never spam or merged tickets. Each
//! customer gets a mail of their own (no customer ever sees another's
//! address), about their newest matching ticket, so a reply threads there.
//! A notice has an id derived from the template, the filters and the
//! campaign name; the desk records it per customer in the same transaction
//! as the queued mail, so running the same command again sends nothing to
//! those already told, and only reaches customers who matched since.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ticket::{Person, Status, Ticket};

/// Which tickets' customers get the notice, and with which template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    pub template: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    /// Empty: tickets still being worked (new, open, pending).
    #[serde(default)]
    pub status: Vec<Status>,
    #[serde(default)]
    pub queue: Option<String>,
    /// Sending the same notice again later: a new name is a new notice.
    #[serde(default)]
    pub campaign: Option<String>,
    /// List who would get it; queue nothing.
    #[serde(default)]
    pub dry_run: bool,
}

impl Filter {
    /// The statuses that match: the given ones, or the working ones.
    pub fn statuses(&self) -> Vec<Status> {
        if self.status.is_empty() {
            vec![Status::New, Status::Open, Status::Pending]
        } else {
            self.status.clone()
        }
    }

    pub fn matches(&self, t: &Ticket) -> bool {
        let eq = |want: &Option<String>, have: &str| {
            want.as_ref().is_none_or(|w| w.eq_ignore_ascii_case(have))
        };
        !t.spam
            && t.merged_into.is_none()
            && self.statuses().contains(&t.status)
            && eq(&self.category, &t.category)
            && eq(&self.queue, &t.queue)
            && self
                .tag
                .as_ref()
                .is_none_or(|w| t.tags.iter().any(|g| g.eq_ignore_ascii_case(w)))
    }

    /// The notice's id: the same template, filters and campaign give the
    /// same id, which is what makes a rerun send nothing twice.
    pub fn notice_id(&self) -> String {
        let mut statuses: Vec<&str> = self.statuses().iter().map(|s| s.as_str()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let lower = |o: &Option<String>| o.as_deref().unwrap_or("").to_ascii_lowercase();
        let canonical = [
            self.template.clone(),
            lower(&self.category),
            lower(&self.tag),
            statuses.join(","),
            lower(&self.queue),
            self.campaign.clone().unwrap_or_default(),
        ]
        .join("\u{0}");
        let digest = Sha256::digest(canonical.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One customer to notify and the tickets that made them match, newest
/// first (the notice is about the first).
#[derive(Debug, Clone, PartialEq)]
pub struct Target<'a> {
    pub person: Person,
    pub tickets: Vec<&'a Ticket>,
}

/// The customers to notify, by address, each once. `is_staff` says whether
/// an address is the desk's own or an agent's: they are never notified.
pub fn targets<'a>(
    tickets: &'a [Ticket],
    filter: &Filter,
    is_staff: &dyn Fn(&str) -> bool,
) -> Vec<Target<'a>> {
    let mut by: BTreeMap<String, Target<'a>> = BTreeMap::new();
    for t in tickets.iter().filter(|t| filter.matches(t)) {
        let email = t.requester.email.trim().to_ascii_lowercase();
        if email.is_empty() || !email.contains('@') || is_staff(&email) {
            continue;
        }
        by.entry(email.clone())
            .or_insert_with(|| Target {
                person: Person {
                    name: t.requester.name.clone(),
                    email,
                },
                tickets: Vec::new(),
            })
            .tickets
            .push(t);
    }
    let mut out: Vec<Target<'a>> = by.into_values().collect();
    for t in &mut out {
        t.tickets
            .sort_by_key(|t| std::cmp::Reverse((t.created, t.number)));
    }
    out
}

/// What `notify` did (or, with `--dry-run`, would do), per customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub notice: String,
    pub template: String,
    pub dry_run: bool,
    pub recipients: Vec<Recipient>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub email: String,
    pub name: Option<String>,
    /// The matching tickets, newest first; the notice is about the first.
    pub tickets: Vec<String>,
    pub state: RecipientState,
    pub outbox_id: Option<u64>,
    /// Why the guards held it back (state `held`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// `--dry-run`: this customer would get it.
    WouldSend,
    /// Queued in the outbox now.
    Queued,
    /// Got this notice before; nothing sent.
    AlreadyNotified,
    /// The template failed for this customer (see the log); nothing sent.
    Failed,
    /// The guards held it back: over the automatic-mail caps for this
    /// address, or the address hard-bounced. Not recorded as given, so a
    /// later run can still reach this customer.
    Held,
}

impl RecipientState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientState::WouldSend => "would send",
            RecipientState::Queued => "queued",
            RecipientState::AlreadyNotified => "already notified",
            RecipientState::Failed => "failed",
            RecipientState::Held => "held",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn ticket(n: u64, email: &str, status: Status, category: &str, tags: &[&str]) -> Ticket {
        let at =
            Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + chrono::Duration::hours(n as i64);
        Ticket {
            number: n,
            reference: format!("ACME-{n}"),
            subject: "s".into(),
            status,
            priority: crate::ticket::Priority::Normal,
            category: category.into(),
            queue: "general".into(),
            assignee: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            requester: Person {
                name: None,
                email: email.into(),
            },
            participants: vec![email.into()],
            inbox: "main".into(),
            created: at,
            updated: at,
            message_count: 1,
            imported: false,
            first_response: None,
            spam: false,
            sla: None,
            matched_rules: vec![],
            resolved_at: None,
            merged_into: None,
            merged_from: vec![],
            follows: None,
            pending_since: None,
            reminded: false,
            autoclosed: false,
            survey: None,
            sla_due: vec![],
            timer_due: None,
            agent_replies: 0,
            reopened: 0,
            sla_breaches: vec![],
            held: vec![],
            due: None,
            links: vec![],
            time_worked: Default::default(),
            snoozed_until: None,
            language: None,
            sentiment: None,
        }
    }

    fn filter() -> Filter {
        Filter {
            template: "notice_outage".into(),
            category: Some("technical".into()),
            tag: None,
            status: vec![],
            queue: None,
            campaign: None,
            dry_run: false,
        }
    }

    #[test]
    fn each_matching_customer_once_newest_ticket_first() {
        let mut spam = ticket(5, "eve@c.test", Status::Open, "technical", &[]);
        spam.spam = true;
        let tickets = vec![
            ticket(1, "Ann@C.test", Status::Open, "technical", &[]),
            ticket(2, "bob@c.test", Status::Open, "billing", &[]),
            ticket(3, "ann@c.test", Status::Pending, "technical", &[]),
            ticket(4, "cy@c.test", Status::Closed, "technical", &[]),
            spam,
            ticket(6, "alice@desk.test", Status::New, "technical", &[]),
        ];
        let staff = |e: &str| e == "alice@desk.test";
        let t = targets(&tickets, &filter(), &staff);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].person.email, "ann@c.test");
        let refs: Vec<&str> = t[0].tickets.iter().map(|t| t.reference.as_str()).collect();
        assert_eq!(refs, ["ACME-3", "ACME-1"]);

        let mut closed = filter();
        closed.status = vec![Status::Closed];
        let t = targets(&tickets, &closed, &staff);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].person.email, "cy@c.test");
    }

    #[test]
    fn tags_match_without_case() {
        let tickets = vec![ticket(1, "a@c.test", Status::Open, "x", &["Outage-EU"])];
        let f = Filter {
            category: None,
            tag: Some("outage-eu".into()),
            ..filter()
        };
        assert_eq!(targets(&tickets, &f, &|_| false).len(), 1);
    }

    #[test]
    fn notice_ids_follow_template_filters_and_campaign() {
        let a = filter();
        let mut b = filter();
        b.dry_run = true;
        b.category = Some("TECHNICAL".into());
        assert_eq!(
            a.notice_id(),
            b.notice_id(),
            "dry run and case do not matter"
        );
        b.status = vec![Status::Pending, Status::Open, Status::New];
        assert_eq!(
            a.notice_id(),
            b.notice_id(),
            "the default statuses spelled out"
        );
        b.campaign = Some("second".into());
        assert_ne!(a.notice_id(), b.notice_id());
        assert_eq!(a.notice_id().len(), 16);
    }
}
