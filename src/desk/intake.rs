//! Intake: a message parsed, the evidence gathered, the decision taken
//! by the core, and the decision written, all under the staging lock so
//! each message sees every one before it.

use super::*;

impl Desk {
    /// Parses and stores one message (not yet flushed). Anything that is not
    /// a storable message goes to the quarantine; the only error is the
    /// store itself failing, which the caller must treat as "try later".
    pub fn ingest(
        &self,
        raw: &[u8],
        inbox: Option<&str>,
        origin: &str,
        mode: Mode,
    ) -> Result<Outcome, StoreError> {
        let prepared = self.prepare(raw.to_vec(), origin.to_string());
        self.ingest_prepared(prepared, inbox, mode)
    }

    /// Stores `messages` in order until the store refuses one (nothing
    /// flushed): [`Request::IngestBatch`]. They are prepared on every core
    /// first, and the store reads ahead for the batch, as an import
    /// without a daemon does with its reader thread.
    pub fn ingest_batch(
        &self,
        messages: Vec<(Vec<u8>, String)>,
        inbox: Option<&str>,
        mode: Mode,
    ) -> crate::api::Response {
        let prepared = self.prepare_all(messages);
        self.read_ahead(&prepared.iter().collect::<Vec<_>>());
        let mut outcomes = Vec::with_capacity(prepared.len());
        let mut refused = None;
        for p in prepared {
            match self.ingest_prepared(p, inbox, mode) {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    refused = Some(crate::api::Refusal {
                        message: e.to_string(),
                        retry: true,
                    });
                    break;
                }
            }
        }
        crate::api::Response::IngestedBatch { outcomes, refused }
    }

    /// [`Desk::prepare`] for a batch, split over the machine's cores, in
    /// order.
    fn prepare_all(&self, messages: Vec<(Vec<u8>, String)>) -> Vec<Prepared> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = messages.len().div_ceil(cores).max(1);
        if cores < 2 || messages.len() < 2 {
            return messages
                .into_iter()
                .map(|(raw, origin)| self.prepare(raw, origin))
                .collect();
        }
        let mut chunks = Vec::new();
        let mut messages = messages.into_iter();
        loop {
            let chunk: Vec<_> = messages.by_ref().take(per).collect();
            if chunk.is_empty() {
                break;
            }
            chunks.push(chunk);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .into_iter()
                            .map(|(raw, origin)| self.prepare(raw, origin))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    /// The CPU half of intake: parsing and compression, with no store
    /// access, so a bulk import can run it on another core.
    pub fn prepare(&self, raw: Vec<u8>, origin: String) -> Prepared {
        let parsed = mail::parse_with(&raw, &self.config.intake.limits()).map_err(|e| Rejected {
            reason: e.to_string(),
            not_mail: e.is_not_mail(),
        });
        let compressed = match parsed {
            Ok(_) => Some(self.store.codec().pack_mail(&raw)),
            Err(_) => None,
        };
        Prepared {
            raw,
            compressed,
            parsed,
            origin,
            live: None,
        }
    }

    /// [`Desk::prepare`] for mail that will be answered: also strips the
    /// quotes and scans the rules' patterns, so a source can do that
    /// beside the store work of the previous batch (see
    /// [`crate::source::imap`]). The result is the same as without it.
    pub fn prepare_live(&self, raw: Vec<u8>, origin: String) -> Prepared {
        let mut p = self.prepare(raw, origin);
        if let Ok(msg) = &p.parsed {
            let rules = self.rules();
            let scan = (rules.rule_count() > 0).then(|| {
                let lists = ViewLists::of(msg);
                rules.prescan(&MessageView::from_inbound(
                    msg, &lists, "", "", false, false,
                ))
            });
            let stripped = author_text(msg, &p.raw, self.config.mail.signatures);
            // Mail that names no earlier message most likely opens a
            // ticket; the rest most likely answers one. The serial half
            // uses a mood only if it was read as what the message turns out
            // to be, and reads it again otherwise.
            let first = msg.in_reply_to.is_empty() && msg.references.is_empty();
            let mood = (first || rules.reads_own_text()).then(|| crate::rules::EarlyMood {
                mood: crate::mail::sentiment::of_message(&msg.subject, &stripped, !first),
                as_reply: !first,
            });
            let languages = self.templates().languages();
            let language = (first && languages.len() > 1 && !self.language_given(msg, &languages))
                .then(|| {
                    crate::language::detect(&crate::language::detection_text(
                        &msg.subject,
                        &stripped,
                    ))
                });
            p.live = Some(Early {
                stripped,
                scan,
                mood,
                guard: Some(crate::guard::automatic(msg)),
                language,
            });
        }
        p
    }

    /// Whether a new ticket from `msg` will most likely get its language
    /// from elsewhere than its text: its `Content-Language` names one the
    /// desk writes, or its sender has tickets already (the language of
    /// those is remembered for them). Detection, the dearest reading of a
    /// message (whatlang scores some 40 languages), is then left to the
    /// decision, which runs it only if it still needs it: the outcome is
    /// the same either way.
    fn language_given(&self, msg: &Inbound, languages: &[String]) -> bool {
        let header = msg
            .header("content-language")
            .and_then(crate::language::content_language);
        if header.is_some_and(|c| languages.contains(&c)) {
            return true;
        }
        self.store
            .tickets_of_customer(&msg.from.email)
            .is_ok_and(|t| !t.is_empty())
    }

    /// Notes what deciding `batch` will read, so that a store that reads
    /// over the network asks for it in a few statements when the turn is
    /// next taken, rather than a few round trips per message.
    pub fn read_ahead(&self, batch: &[&Prepared]) {
        if !self.store.reads_ahead() {
            return;
        }
        let mut ahead = crate::store::ReadAhead::default();
        for p in batch {
            let Ok(msg) = &p.parsed else { continue };
            let given = std::iter::once(&msg.message_id)
                .chain(&msg.in_reply_to)
                .chain(&msg.references);
            for id in given {
                let key = crate::mail::msgid::key(id);
                if key != *id {
                    ahead.ids.push(id.clone());
                }
                ahead.ids.push(key);
            }
            ahead
                .addresses
                .push(msg.from.email.trim().to_ascii_lowercase());
        }
        ahead.ids.sort_unstable();
        ahead.ids.dedup();
        ahead.addresses.sort_unstable();
        ahead.addresses.dedup();
        let mut staged = self.staged.lock().unwrap_or_else(|p| p.into_inner());
        staged.ahead = Some(ahead);
    }

    /// The store half of intake, for a message from [`Desk::prepare`].
    pub fn ingest_prepared(
        &self,
        prepared: Prepared,
        inbox: Option<&str>,
        mode: Mode,
    ) -> Result<Outcome, StoreError> {
        self.ingest_prepared_at(prepared, inbox, mode, Utc::now())
    }

    /// [`Desk::ingest`] as if the message arrived at `now`: tests and
    /// benchmarks build a desk's history on a clock of their own (reports
    /// measure times between arrivals), as `run_timers` takes its `now`.
    pub fn ingest_at(
        &self,
        raw: &[u8],
        inbox: Option<&str>,
        origin: &str,
        mode: Mode,
        now: chrono::DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let prepared = self.prepare(raw.to_vec(), origin.to_string());
        self.ingest_prepared_at(prepared, inbox, mode, now)
    }

    pub(super) fn quarantine(
        &self,
        raw: &[u8],
        reason: String,
        origin: &str,
        not_mail: bool,
    ) -> Result<Outcome, StoreError> {
        let entry = self.store.quarantine(raw, &reason, origin, Utc::now())?;
        tracing::warn!(id = %entry.id, %origin, %reason, "quarantined");
        Ok(Outcome::Quarantined {
            id: entry.id,
            reason,
            not_mail,
        })
    }

    pub(super) fn ingest_prepared_at(
        &self,
        mut prepared: Prepared,
        inbox: Option<&str>,
        mode: Mode,
        now: chrono::DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let origin = prepared.origin.as_str();
        let msg = match prepared.parsed {
            Ok(m) => m,
            Err(r) => return self.quarantine(&prepared.raw, r.reason, origin, r.not_mail),
        };
        let inbox = inbox
            .map(str::to_string)
            .or_else(|| self.config.inboxes.first().map(|i| i.name.clone()))
            .unwrap_or_else(|| "default".to_string());
        let queue = self.config.queue_for_inbox(&inbox);

        let mut staged = self.lock_staged()?;
        self.store.stage_inbox(&mut staged, &inbox);
        let (facts, mut linked) = self.facts(&staged, &msg)?;
        let choice = thread::decide_links(&facts);
        let mut threading = choice.threading;
        if let Threading::Duplicate(t) = &threading {
            if self
                .store
                .lookup_id(&staged, &msg.message_id)?
                .map(|e| e.kind)
                == Some(IdKind::Sent)
            {
                tracing::warn!(
                    message_id = %msg.message_id,
                    "the desk's own mail came back (a Message-ID it sent); ignored"
                );
            }
            return Ok(Outcome::Duplicate {
                ticket: self.reference(&staged, *t),
            });
        }
        // A delivery report belongs with the mail that bounced, whatever
        // its headers say; a sender over the new-ticket limit is kept to
        // the tickets they have.
        let mut bounced = None;
        let mut flood = None;
        // The guard's verdict, read in the parallel stage when there was
        // one; the bounce check and the decision both ask.
        let mut guard = prepared.live.as_mut().and_then(|e| e.guard.take());
        if mode == Mode::Live {
            if let Some((n, b)) = self.trace_bounce(&staged, &msg, &prepared.raw, &mut guard)? {
                threading = Threading::Existing(
                    n,
                    ticket::ThreadReason::Guard {
                        why: format!("delivery report ({})", b.traced),
                    },
                );
                bounced = Some(b);
            } else if threading == Threading::New {
                if let Some((n, why)) = self.over_new_ticket_limit(&staged, &msg, now)? {
                    threading =
                        Threading::Existing(n, ticket::ThreadReason::Guard { why: why.clone() });
                    flood = Some(why);
                }
            }
        }
        let existing = match &threading {
            Threading::Existing(t, _) => match linked.remove(t) {
                Some(read) => Some(read),
                None => self.follow_merges(&staged, *t)?,
            },
            Threading::Duplicate(_) | Threading::New => None,
        };
        // The tickets this message proves to be the same thread (read with
        // the facts, merges followed), unless a guard placed it elsewhere.
        let mut joins = Vec::new();
        if bounced.is_none() && flood.is_none() {
            for j in &choice.joins {
                if let Some(t) = linked.remove(&j.ticket) {
                    if existing.as_ref().is_some_and(|e| e.number != t.number) {
                        joins.push((t, j.via.clone()));
                    }
                }
            }
        }
        let author = self.author(&staged, &msg, existing.as_ref())?;
        // Stripping costs a pass over the text: only live mail needs it
        // (history is never answered).
        let (early_stripped, scan, early_mood, early_language) = match prepared.live {
            Some(e) => (Some(e.stripped), e.scan, e.mood, e.language),
            None => (None, None, None, None),
        };
        // The early readings are of the customer's text, as stripped early.
        let customer = matches!((mode, &author), (Mode::Live, Author::Customer));
        let early_mood = early_mood.filter(|_| customer);
        let early_language = early_language.filter(|_| customer);
        let stripped = match (mode, &author) {
            (Mode::Live, Author::Agent { .. }) => {
                agent_text(&msg, &prepared.raw, self.config.mail.signatures)
            }
            (Mode::Live, Author::Customer) => early_stripped
                .unwrap_or_else(|| author_text(&msg, &prepared.raw, self.config.mail.signatures)),
            (Mode::Live, _) if mail::subject::is_forward(&msg.subject) => {
                reply_text(&msg, &prepared.raw, self.config.mail.signatures).text
            }
            (Mode::Live, _) => early_stripped
                .unwrap_or_else(|| author_text(&msg, &prepared.raw, self.config.mail.signatures)),
            (Mode::Import { .. }, _) => String::new(),
        };
        let agent = matches!(author, Author::Agent { .. });
        let survey_answer = self.survey_answer(&msg, existing.as_ref(), &stripped);
        let thread = decide::Thread {
            ids: match (&existing, agent) {
                (Some(t), true) => self.customer_thread(t)?,
                _ => Vec::new(),
            },
            sent: self.caps(
                &staged,
                &decide::Decision::caps_for_mail(
                    existing.as_ref(),
                    &author,
                    survey_answer.is_some(),
                    &msg,
                ),
            )?,
        };
        // An agent's `#merge REF` and `#link REF` need the tickets they name.
        let commands = match agent {
            true => crate::command::parse_commands(&stripped, "").commands,
            false => Vec::new(),
        };
        let merge_target = match commands.iter().find_map(|c| match c {
            crate::command::Command::Merge(r) => Some(r.clone()),
            _ => None,
        }) {
            Some(r) => self.named_ticket(&staged, &r)?,
            None => None,
        };
        let link_targets = self.link_targets(&staged, &commands)?;
        // An agent's answer to an old notification is held (see
        // `decide::Answering`); the messages since must be readable, so a
        // batch staged so far is written first.
        let answering = match (&existing, agent, mode) {
            (Some(t), true, Mode::Live) => {
                if !staged.is_empty() {
                    self.store.commit(&mut staged)?;
                }
                self.answering(&staged, &msg, t)?
            }
            _ => None,
        };
        let known: Vec<String> = facts
            .known_references
            .iter()
            .map(|k| k.message_id.clone())
            .collect();
        // History is not stripped (see above) unless a rule reads the
        // sender's own text.
        let imported_text = match mode {
            Mode::Import { .. } if self.rules().reads_own_text() => Some(author_text(
                &msg,
                &prepared.raw,
                self.config.mail.signatures,
            )),
            _ => None,
        };
        let own_text = imported_text.as_deref().unwrap_or(&stripped);
        let classification = self.classify(
            &staged,
            &msg,
            &inbox,
            own_text,
            existing.is_some(),
            (scan, early_mood),
        )?;
        let target = decide::target_queue(&classification, existing.as_ref(), &queue);
        let assign = self.assign_evidence(&staged, classification.assign.as_ref(), &target)?;
        // The customer's language is chosen once per ticket: what was
        // remembered for them is read only while this ticket has none.
        let languages = self.templates().languages();
        let remembered_language = match (&author, mode, &existing) {
            (Author::Customer, Mode::Live, None) => {
                self.remembered_language(&staged, &msg.from.email)?
            }
            (Author::Customer, Mode::Live, Some(t)) if t.language.is_none() => {
                self.remembered_language(&staged, &t.requester.email)?
            }
            _ => None,
        };
        let ctx = Context {
            prefix: &self.config.desk.ticket_prefix,
            tags: &self.tags,
            default_category: &self.config.desk.default_category,
            default_priority: self.default_priority,
            inbox: &inbox,
            queue: &queue,
            origin,
            mode,
            next_number: self.store.next_ticket_number(&staged)?,
            ack_template: self
                .config
                .ack
                .enabled
                .then_some(self.config.ack.template.as_str()),
            rules: &classification,
            assign,
            author: &author,
            stripped: &stripped,
            survey_answer,
            bounced,
            flood,
            merge_target,
            link_targets,
            macros: match agent {
                true => self.templates().macros(),
                false => Vec::new(),
            },
            answering,
            languages: &languages,
            remembered_language,
            detected_language: early_language,
            automatic: guard.map(|g| g.map(|a| a.reason)),
        };
        let assigned_before = existing.as_ref().and_then(|t| t.assignee.clone());
        let decision = decide::decide(
            decide::Event::Mail {
                msg: &msg,
                threading: &threading,
                existing,
                known_references: &known,
                joins,
                ctx: &ctx,
            },
            &thread,
            &self.decide_desk(now),
        );
        if let (Some(crate::rules::Assign::LeastOpen), Some(a)) =
            (&classification.assign, &decision.ticket.assignee)
        {
            if assigned_before.as_ref() != Some(a) {
                self.count_assignment(a);
            }
        }
        for e in &decision.events {
            tracing::info!(ticket = %decision.ticket.reference, event = %e, "threading");
        }
        if let Some(why) = &decision.ack_suppressed {
            tracing::info!(ticket = %decision.ticket.reference, reason = %why, "no acknowledgement");
        }
        self.write(
            &mut staged,
            &decision,
            Some(prepared.compressed.as_deref().unwrap_or(&prepared.raw)),
            Some(&msg),
            now,
        )?;
        if staged.len() >= self.config.intake.batch || staged.bytes() >= MAX_STAGED_BYTES {
            self.store.commit(&mut staged)?;
        }
        Ok(Outcome::Stored {
            ticket: decision.ticket.reference.clone(),
            created: decision.created,
            thread: decision
                .record
                .as_ref()
                .map(|r| r.thread.clone())
                .unwrap_or(ticket::ThreadReason::New),
        })
    }
}

/// What the author of `msg` wrote, without quotes and signature: what
/// agents read in notifications. A forward keeps the mail it forwards
/// (a customer's "see below" is about what is below).
pub(super) fn author_text(
    msg: &Inbound,
    raw: &[u8],
    signatures: crate::mail::quote::Signatures,
) -> String {
    crate::mail::quote::strip_message_with(msg, raw, signatures)
        .0
        .text
}

/// What the author of `msg` wrote, stripped as a reply whatever its
/// subject: for anything not from a customer, so that an agent who
/// forwards a notification (internal notes, their own token) never has it
/// relayed.
fn reply_text(
    msg: &Inbound,
    raw: &[u8],
    signatures: crate::mail::quote::Signatures,
) -> crate::mail::quote::Stripped {
    use crate::mail::quote::{strip_message_as_with, Kind};
    strip_message_as_with(msg, raw, Kind::Reply, signatures).0
}

/// What an agent wrote for the customer: stripped as a reply, and nothing
/// when nothing of theirs survived. The stripper then keeps the quote (or
/// the signature) rather than return nothing, which for a customer's mail
/// is right and for an agent's would relay the notification they answered
/// (internal notes, their token) or their own signature.
pub(super) fn agent_text(
    msg: &Inbound,
    raw: &[u8],
    signatures: crate::mail::quote::Signatures,
) -> String {
    let stripped = reply_text(msg, raw, signatures);
    if stripped.cuts.iter().any(|c| !c.is_cut()) {
        String::new()
    } else {
        stripped.text
    }
}
