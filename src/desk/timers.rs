//! The scheduler's side of the desk: tickets whose next deadline has
//! come (follow-ups, auto-close, surveys, SLA warnings and breaches),
//! decided by the core like every other event.

use super::*;

impl Desk {
    /// Fires every timer due at `now`. Each ticket's change and its mail
    /// are written together; the flush at the end makes them durable before
    /// the outbox sends anything. Returns how many tickets were handled.
    pub fn run_timers(&self, now: chrono::DateTime<Utc>) -> Result<usize, StoreError> {
        let mut staged = self.lock_staged()?;
        self.store.commit(&mut staged)?;
        let due = self.store.due_tickets(now, 200)?;
        let labels = self.config.survey.labels().len() as u32;
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
            let thread = self.thread(&staged, &t, None, true)?;
            let evidence = decide::Due {
                survey_addresses: (1..=labels)
                    .map(|score| {
                        let address = self.signer.survey_address(
                            &self.config.desk.address,
                            &t.reference,
                            score,
                        );
                        (score, address)
                    })
                    .collect(),
            };
            let reference = t.reference.clone();
            let decision = decide::decide(
                decide::Event::Timer {
                    ticket: Box::new(t),
                    due: evidence,
                },
                &thread,
                &self.decide_desk(now),
            );
            for e in &decision.events {
                tracing::info!(ticket = %reference, event = %e, "timer");
            }
            self.write(&mut staged, &decision, None, None, now)?;
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
