//! The write phase: a decision staged whole (tickets, the message, its
//! index entries, the caps and counters it moved, and every mail it
//! sends as a plan), then committed in one transaction and flushed before
//! any source is told the message is done.

use super::*;

impl Desk {
    /// What every decision knows of the desk, at `now`.
    pub(super) fn decide_desk(&self, now: chrono::DateTime<Utc>) -> decide::Desk<'_> {
        decide::Desk {
            config: &self.config,
            calendars: &self.calendars,
            own: &self.own,
            now,
        }
    }

    /// Stages a decision: everything it changes and every mail it sends,
    /// so the next commit writes them in one transaction. `compressed` is
    /// the message's stored bytes for a mail event; `msg` is the message,
    /// whose words the templates may show.
    pub(super) fn write(
        &self,
        staged: &mut Staged,
        decision: &decide::Decision,
        compressed: Option<&[u8]>,
        msg: Option<&Inbound>,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for m in &decision.marks {
            self.store.stage_mark(staged, &m.address, Some(m.clone()));
        }
        for (email, times) in &decision.sent {
            self.store.stage_auto_sent(staged, email, times.clone());
        }
        for (name, value) in &decision.counters {
            self.store.stage_counter(staged, name, *value);
        }
        match compressed {
            Some(c) if decision.record.is_some() => self.store.stage(staged, decision, c)?,
            _ => self.store.stage_ticket(staged, &decision.ticket),
        }
        for t in &decision.also {
            self.store.stage_ticket(staged, t);
        }
        self.plan_notices(staged, decision, msg, now)
    }

    /// Queues the decision's mail as plans; the outbox worker renders and
    /// builds each once before its first attempt (see
    /// [`compose::Planned`]). The plan carries what the templates show
    /// (the estimate, other open tickets, articles, earlier messages), read
    /// now. A notice that cannot be planned is logged, never a reason to
    /// lose the message.
    fn plan_notices(
        &self,
        staged: &mut Staged,
        decision: &decide::Decision,
        msg: Option<&Inbound>,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if decision.notices.is_empty() {
            return Ok(());
        }
        let ticket = &decision.ticket;
        let needs = |kind: &str| {
            decision
                .notices
                .iter()
                .any(|n| crate::templates::kind_of(&n.template) == Some(kind) && n.plain.is_none())
        };
        let mut extras = Extras {
            message_subject: msg.map_or_else(|| ticket.subject.clone(), |m| m.subject.clone()),
            reply_address: self
                .signer
                .reply_address(&self.config.desk.address, &ticket.reference),
            ..Extras::default()
        };
        if needs("ack") {
            extras.eta = self.eta(ticket, now, &self.config.desk.language);
            if let Some(l) = &ticket.language {
                if let Some(eta) = self.eta(ticket, now, &l.code) {
                    extras.eta_by_language.insert(l.code.clone(), eta);
                }
            }
            extras.other_tickets = self.other_open_tickets(staged, ticket)?;
            if let Some(m) = msg {
                extras.articles = self
                    .kb()
                    .map(|kb| kb.suggest(&m.subject, &m.text, 3))
                    .unwrap_or_default();
            }
        }
        if needs("agent_notify") {
            if !decision.created {
                extras.history = self.history(ticket.number, 3)?;
            }
            extras.customer_tickets = self.customer_history(staged, ticket)?;
            extras.organization = Some(self.config.organization_of(&ticket.requester.email));
        }
        for notice in &decision.notices {
            let id = self.store.next_outbox_id(staged)?;
            let (entry, planned) =
                compose::plan(&self.config, &self.signer, notice, ticket, &extras, id, now);
            match serde_json::to_vec(&planned) {
                Ok(json) => self.store.stage_outgoing(
                    staged,
                    entry,
                    Some(ticket.number),
                    notice.agent.as_deref().map(|a| (a, ticket.message_count)),
                    &json,
                ),
                Err(e) => tracing::error!(
                    ticket = %ticket.reference,
                    template = %notice.template,
                    error = %e,
                    "mail not queued"
                ),
            }
        }
        Ok(())
    }

    /// The staged set, held for one decision: the desk's own lock
    /// serializes this process's intakes, and [`Store::enter`] those of
    /// every node writing the same store, from the decision's first read
    /// until what it staged is written.
    pub(super) fn lock_staged(&self) -> Result<StagedGuard<'_>, StoreError> {
        // A panic while staging cannot leave a half-applied write behind
        // (nothing is written before commit), so a poisoned lock is usable.
        let mut staged = self.staged.lock().unwrap_or_else(|p| p.into_inner());
        self.store.enter(&mut staged)?;
        self.store.read_ahead(&mut staged);
        Ok(StagedGuard {
            staged,
            store: &self.store,
        })
    }

    /// Writes everything staged and makes it durable. Sources are marked
    /// done only after this returns.
    pub fn flush(&self) -> Result<(), StoreError> {
        let mut staged = self.lock_staged()?;
        let queued_mail = staged.has_outgoing();
        self.store.commit(&mut staged)?;
        drop(staged);
        self.store.flush()?;
        if queued_mail {
            self.outbox_wake.notify_one();
        }
        Ok(())
    }

    /// Writes everything staged (not necessarily durable yet), so that
    /// queries see every message acknowledged so far.
    pub(super) fn commit_staged(&self) -> Result<(), StoreError> {
        self.store.commit(&mut *self.lock_staged()?)
    }
}

/// The desk's staged set while one decision holds it. Dropped with
/// nothing left staged, it lets other nodes write again; with intakes
/// staged, they wait until the batch is written.
pub(super) struct StagedGuard<'a> {
    staged: std::sync::MutexGuard<'a, Staged>,
    store: &'a Store,
}

impl std::ops::Deref for StagedGuard<'_> {
    type Target = Staged;
    fn deref(&self) -> &Staged {
        &self.staged
    }
}

impl std::ops::DerefMut for StagedGuard<'_> {
    fn deref_mut(&mut self) -> &mut Staged {
        &mut self.staged
    }
}

impl Drop for StagedGuard<'_> {
    fn drop(&mut self) {
        self.store.leave(&mut self.staged);
    }
}
