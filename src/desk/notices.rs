//! What the templates of queued mail may show (the estimate, other open
//! tickets, earlier messages), and alerts to the admin.

use super::*;

/// The most of a customer's other tickets an agent notification lists.
const HISTORY_TICKETS: usize = 10;
/// Of those, the most that are finished (resolved or closed).
const HISTORY_FINISHED: usize = 5;
/// The most tickets read to find them (or a remembered language).
const HISTORY_READS: usize = 30;

impl Desk {
    /// An outbox entry and the mail it sends, as the worker would send it
    /// now: a mail not built yet is rendered with the templates in use
    /// (and not stored; the worker stores it before sending).
    pub fn outgoing(&self, id: u64) -> Result<Option<(outbox::Entry, Vec<u8>)>, outbox::MailError> {
        self.mailer().outgoing(id)
    }

    /// The last `n` messages of a ticket for an agent notification: who,
    /// when, and what they wrote (quotes stripped, cut short). Internal
    /// notes are included: notifications go to agents only.
    pub(super) fn history(
        &self,
        ticket: u64,
        n: usize,
    ) -> Result<Vec<(String, chrono::DateTime<Utc>, String)>, StoreError> {
        let messages = self.store.messages(ticket)?;
        let skip = messages.len().saturating_sub(n);
        Ok(messages
            .into_iter()
            .skip(skip)
            .map(|(rec, raw)| {
                let text = mail::parse_with(&raw, &self.config.intake.limits())
                    .map(|m| author_text(&m, &raw, self.config.mail.signatures))
                    .unwrap_or_default();
                let mut text: String = text.chars().take(600).collect();
                if rec.internal {
                    text = format!("(internal note) {text}");
                }
                let from = rec.from.map(|p| p.to_string()).unwrap_or_default();
                (from, rec.received, text)
            })
            .collect())
    }

    /// The acknowledgement's promise in words of language `lang`: the SLA
    /// target for the ticket's priority, or the desk's recent record if
    /// that is slower. `None` without a target, or for a language the
    /// estimate has no words in.
    pub(super) fn eta(
        &self,
        ticket: &ticket::Ticket,
        now: chrono::DateTime<Utc>,
        lang: &str,
    ) -> Option<String> {
        let class = crate::lifecycle::sla_class(ticket);
        let sla = self.config.sla.get(class);
        let target = sla.and_then(|s| s.first_response);
        let recent = self.recent_first_responses(&ticket.queue, ticket.priority.as_str());
        let wait = crate::eta::expected_wait(target, &recent)?;
        // With business hours the promise is in open time, and says so.
        match sla
            .and_then(|s| s.calendar.as_ref())
            .and_then(|c| self.calendars.get(c))
        {
            Some(cal) => cal.describe_in(now, wait, lang),
            None => crate::eta::describe_in(now, wait, self.config.timezone(), lang),
        }
    }

    /// What agents see of the customer's other tickets: open ones first
    /// (newest first), then the last few finished, at most
    /// [`HISTORY_TICKETS`]. Read through the customer index, newest
    /// numbers first and at most [`HISTORY_READS`] of them, so a customer
    /// with years of tickets costs a bounded number of reads; only tickets
    /// that name this customer as their requester are kept.
    pub(super) fn customer_history(
        &self,
        staged: &Staged,
        ticket: &ticket::Ticket,
    ) -> Result<Vec<ticket::Ticket>, StoreError> {
        let email = &ticket.requester.email;
        let mut numbers = self.store.tickets_of_customer(email)?;
        numbers.extend(staged.tickets_of(email));
        numbers.sort_unstable();
        numbers.dedup();
        let (mut open, mut finished) = (Vec::new(), Vec::new());
        for n in numbers.into_iter().rev().take(HISTORY_READS) {
            if n == ticket.number {
                continue;
            }
            let Some(t) = self.store.ticket(staged, n)? else {
                continue;
            };
            if t.merged_into.is_some() || !t.requester.email.eq_ignore_ascii_case(email) {
                continue;
            }
            if matches!(t.status, ticket::Status::Resolved | ticket::Status::Closed) {
                finished.push(t);
            } else {
                open.push(t);
            }
        }
        open.truncate(HISTORY_TICKETS);
        let room = HISTORY_TICKETS - open.len();
        open.extend(finished.into_iter().take(room.min(HISTORY_FINISHED)));
        Ok(open)
    }

    /// The language remembered for a customer: the one chosen last
    /// (latest `at`) among their newest tickets, read through the
    /// customer index (at most [`HISTORY_READS`] tickets), the batch
    /// staged so far included.
    pub(super) fn remembered_language(
        &self,
        staged: &Staged,
        email: &str,
    ) -> Result<Option<crate::language::Language>, StoreError> {
        let mut numbers = self.store.tickets_of_customer(email)?;
        numbers.extend(staged.tickets_of(email));
        numbers.sort_unstable();
        numbers.dedup();
        let mut best: Option<crate::language::Language> = None;
        for n in numbers.into_iter().rev().take(HISTORY_READS) {
            if let Some(l) = self.store.ticket(staged, n)?.and_then(|t| t.language) {
                if best.as_ref().is_none_or(|b| l.at > b.at) {
                    best = Some(l);
                }
            }
        }
        Ok(best)
    }

    pub(super) fn recent_first_responses(&self, queue: &str, priority: &str) -> Vec<Duration> {
        let mut cache = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = cache
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < HISTORY_TTL);
        if !fresh {
            let since = Utc::now() - chrono::Duration::days(HISTORY_DAYS);
            let mut by = ResponseTimes::new();
            // Tickets created since then were updated since then too: the
            // last-update index reads recent tickets only, not the desk.
            for t in self.store.tickets_updated_since(since).flatten() {
                if let Some(first) = t.first_response {
                    if t.created >= since {
                        if let Ok(d) = (first - t.created).to_std() {
                            by.entry((t.queue.clone(), t.priority.as_str().to_string()))
                                .or_default()
                                .push(d);
                        }
                    }
                }
            }
            *cache = Some((Instant::now(), by));
        }
        cache
            .as_ref()
            .and_then(|(_, by)| by.get(&(queue.to_string(), priority.to_string())).cloned())
            .unwrap_or_default()
    }

    /// The customer's other tickets still open, newest first, at most five.
    pub(super) fn other_open_tickets(
        &self,
        staged: &Staged,
        ticket: &ticket::Ticket,
    ) -> Result<Vec<ticket::Ticket>, StoreError> {
        let mut out = Vec::new();
        for n in self
            .store
            .tickets_of_customer(&ticket.requester.email)?
            .into_iter()
            .rev()
        {
            if n == ticket.number {
                continue;
            }
            if let Some(t) = self.store.ticket(staged, n)? {
                if !matches!(t.status, ticket::Status::Resolved | ticket::Status::Closed) {
                    out.push(t);
                }
            }
            if out.len() == 5 {
                break;
            }
        }
        Ok(out)
    }

    /// Queues a mail to the admin about the desk itself (not a ticket) and
    /// makes it durable. Returns false when no `desk.admin` is configured.
    /// The same `cause` queued twice is one Message-ID, so a retry after a
    /// crash does not send a second copy.
    pub fn alert_admin(&self, cause: &str, subject: &str, body: &str) -> Result<bool, StoreError> {
        let Some(admin) = self.config.desk.admin.clone() else {
            return Ok(false);
        };
        let now = Utc::now();
        let mut staged = self.lock_staged()?;
        let id = self.store.next_outbox_id(&staged)?;
        let (entry, planned) = compose::plan_alert(
            &self.config,
            &self.signer,
            &admin,
            &compose::Alert {
                cause,
                subject,
                body,
            },
            id,
            now,
        );
        match serde_json::to_vec(&planned) {
            Ok(json) => {
                self.store
                    .stage_outgoing(&mut staged, entry, None, None, &json);
            }
            Err(e) => {
                tracing::error!(%cause, "cannot queue the alert to {admin}: {e}");
                return Ok(false);
            }
        }
        drop(staged);
        self.flush()?;
        Ok(true)
    }
}
