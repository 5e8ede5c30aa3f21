//! What the templates of queued mail may show (the estimate, other open
//! tickets, earlier messages), and alerts to the admin.

use super::*;

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

    /// The acknowledgement's promise in words: the SLA target for the
    /// ticket's priority, or the desk's recent record if that is slower.
    pub(super) fn eta(
        &self,
        ticket: &ticket::Ticket,
        now: chrono::DateTime<Utc>,
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
            Some(cal) => Some(cal.describe(now, wait)),
            None => Some(crate::eta::describe(now, wait, self.config.timezone())),
        }
    }

    pub(super) fn recent_first_responses(&self, queue: &str, priority: &str) -> Vec<Duration> {
        let mut cache = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = cache
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < HISTORY_TTL);
        if !fresh {
            let since = Utc::now() - chrono::Duration::days(HISTORY_DAYS);
            let mut by = ResponseTimes::new();
            for t in self.store.tickets().flatten() {
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
        let mut staged = self.lock_staged();
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
