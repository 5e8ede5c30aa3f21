//! The scheduler's side of the desk: tickets whose next deadline has
//! come (follow-ups, auto-close, surveys, SLA warnings and breaches).

use super::*;

impl Desk {
    /// Fires every timer due at `now`: follow-ups, auto-closes, surveys,
    /// SLA warnings and escalations. Each ticket's change and its mail are
    /// written together; the flush at the end makes them durable before
    /// the outbox sends anything. Returns how many tickets were handled.
    pub fn run_timers(&self, now: chrono::DateTime<Utc>) -> Result<usize, StoreError> {
        let mut staged = self.lock_staged();
        self.store.commit(&mut staged)?;
        let due = self.store.due_tickets(now, 200)?;
        let mut handled = 0;
        for n in &due {
            let Some(t) = self.store.ticket(&staged, *n)? else {
                continue;
            };
            if t.timer_due.is_none_or(|d| d > now) {
                // The index runs ahead of a ticket changed meanwhile: re-file.
                self.store.stage_ticket(&mut staged, &t);
                continue;
            }
            let address = |score| {
                self.signer
                    .survey_address(&self.config.desk.address, &t.reference, score)
            };
            let mut tick = crate::lifecycle::tick(&t, now, &self.config, &address);
            for h in self.limit_notices(&mut staged, &mut tick.notices, now)? {
                tick.events.push(h);
            }
            let reply_address = self
                .signer
                .reply_address(&self.config.desk.address, &t.reference);
            let extras = Extras {
                message_subject: t.subject.clone(),
                reply_address,
                ..Extras::default()
            };
            let templates = self.templates();
            for notice in &tick.notices {
                let id = self.store.next_outbox_id()?;
                match compose::compose(
                    &self.config,
                    &self.signer,
                    &templates,
                    notice,
                    &tick.ticket,
                    &extras,
                    id,
                    now,
                ) {
                    Ok((entry, bytes)) => {
                        if notice.template == "survey" {
                            if let Some(s) = tick.ticket.survey.as_mut() {
                                s.message_id = entry.message_id.clone();
                            }
                        }
                        self.store.stage_outgoing(
                            &mut staged,
                            entry,
                            Some(t.number),
                            notice.agent.as_deref(),
                            &bytes,
                        );
                    }
                    Err(e) => {
                        tracing::error!(ticket = %t.reference, template = %notice.template, error = %e, "timer mail not queued")
                    }
                }
            }
            for e in &tick.events {
                tracing::info!(ticket = %t.reference, event = %e, "timer");
            }
            // A ticket whose next deadline did not move would be due again
            // at once; nothing left to do means no deadline.
            if tick.ticket.timer_due.is_some_and(|d| d <= now) && tick.notices.is_empty() {
                tick.ticket.timer_due = None;
            }
            self.store.stage_ticket(&mut staged, &tick.ticket);
            handled += 1;
        }
        let queued = staged.has_outgoing();
        self.store.commit(&mut staged)?;
        drop(staged);
        if handled > 0 || !due.is_empty() {
            self.store.flush()?;
        }
        if queued {
            self.outbox_wake.notify_one();
        }
        Ok(handled)
    }
}
