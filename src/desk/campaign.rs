//! Notice campaigns (`postdesk notify`): one notice to every customer
//! with a matching ticket, once each, decided by the core like every
//! event (in that ticket's thread, under the caps of automatic mail) and
//! queued as a plan like all mail.

use super::*;

impl Desk {
    /// `postdesk notify`: see [`crate::notify`]. Every mail and its notice
    /// record are written in one transaction, then made durable; the outbox
    /// sends them like any other mail (and its caps apply).
    pub(super) fn notify(&self, filter: &crate::notify::Filter) -> Result<Response, StoreError> {
        use crate::notify::{Recipient, RecipientState, Report};
        let templates = self.templates();
        let refuse = |message: String| {
            Ok(Response::Error {
                message,
                retry: false,
            })
        };
        if let Some(kind) = crate::templates::kind_of(&filter.template) {
            return refuse(format!(
                "`{}` is the desk's own `{kind}` mail, not a notice\n  hint: write templates/notice_NAME.hbs (Subject: line, blank line, text) and give --template notice_NAME",
                filter.template
            ));
        }
        if !templates.contains(&filter.template) {
            return refuse(format!(
                "no template `{}` in {}\n  hint: write {}/{}.hbs (a Subject: line, a blank line, the text) and check it with `postdesk check`",
                filter.template,
                self.config.templates.dir.display(),
                self.config.templates.dir.display(),
                filter.template
            ));
        }
        let mut staged = self.lock_staged()?;
        self.store.commit(&mut staged)?;
        let tickets = self.store.tickets().collect::<Result<Vec<_>, _>>()?;
        let is_staff = |e: &str| decide::is_own(&self.own, e) || self.config.agent(e).is_some();
        let targets = crate::notify::targets(&tickets, filter, &is_staff);
        let notice_id = filter.notice_id();
        let now = Utc::now();
        let mut recipients = Vec::new();
        for target in targets {
            let Some(about) = target.tickets.first().copied() else {
                continue;
            };
            let mut r = Recipient {
                email: target.person.email.clone(),
                name: target.person.name.clone(),
                tickets: target.tickets.iter().map(|t| t.reference.clone()).collect(),
                state: RecipientState::WouldSend,
                outbox_id: None,
                held: None,
            };
            if let Some(given) = self.store.notice_given(&staged, &notice_id, &r.email)? {
                r.state = RecipientState::AlreadyNotified;
                r.outbox_id = Some(given.outbox_id);
            } else if !filter.dry_run {
                let thread = self.thread(&staged, about, None, true)?;
                let decision = decide::decide(
                    decide::Event::Notice {
                        ticket: Box::new(about.clone()),
                        campaign: decide::Campaign {
                            template: filter.template.clone(),
                            id: notice_id.clone(),
                            to: target.person.clone(),
                        },
                    },
                    &thread,
                    &self.decide_desk(now),
                );
                for (email, times) in &decision.sent {
                    self.store
                        .stage_auto_sent(&mut staged, email, times.clone());
                }
                let Some(notice) = decision.notices.first() else {
                    r.state = RecipientState::Held;
                    r.held = Some(decision.events.join("; "));
                    recipients.push(r);
                    continue;
                };
                let extras = Extras {
                    message_subject: about.subject.clone(),
                    other_tickets: target.tickets[1..].iter().map(|t| (*t).clone()).collect(),
                    reply_address: self
                        .signer
                        .reply_address(&self.config.desk.address, &about.reference),
                    ..Extras::default()
                };
                let id = self.store.next_outbox_id(&staged)?;
                let (entry, planned) =
                    compose::plan(&self.config, &self.signer, notice, about, &extras, id, now);
                match serde_json::to_vec(&planned) {
                    Ok(json) => {
                        self.store.stage_outgoing(
                            &mut staged,
                            entry,
                            Some(about.number),
                            None,
                            &json,
                        );
                        self.store.stage_notice(
                            &mut staged,
                            &notice_id,
                            &r.email,
                            &crate::store::NoticeRecord {
                                at: now,
                                outbox_id: id,
                                ticket: about.reference.clone(),
                            },
                        );
                        r.state = RecipientState::Queued;
                        r.outbox_id = Some(id);
                    }
                    Err(e) => {
                        tracing::error!(ticket = %about.reference, template = %filter.template, error = %e, "notice not queued");
                        r.state = RecipientState::Failed;
                    }
                }
            }
            recipients.push(r);
        }
        let queued = staged.has_outgoing();
        self.store.commit(&mut staged)?;
        drop(staged);
        if queued {
            self.store.flush()?;
            self.outbox_wake.notify_one();
        }
        Ok(Response::Notified(Report {
            notice: notice_id,
            template: filter.template.clone(),
            dry_run: filter.dry_run,
            recipients,
        }))
    }
}
