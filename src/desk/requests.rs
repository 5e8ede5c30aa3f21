//! Requests from the command line and the control socket: each one a
//! read, a pure decision where one is needed, and a write, answered the
//! same whether a daemon runs or the command opened the store itself.

use super::*;

impl Desk {
    pub(super) fn find_ticket(&self, reference: &str) -> Result<Option<u64>, StoreError> {
        let Some(n) = self.any_prefix(|p| ticket::parse_reference(p, reference)) else {
            return Ok(None);
        };
        Ok(self.store.ticket(&Staged::default(), n)?.map(|t| t.number))
    }

    /// Answers one request: the single code path behind every command.
    pub fn handle(&self, req: Request) -> Response {
        match self.try_handle(req) {
            Ok(r) => r,
            Err(e) => Response::Error {
                message: e.to_string(),
                retry: true,
            },
        }
    }

    pub(super) fn try_handle(&self, req: Request) -> Result<Response, StoreError> {
        Ok(match req {
            Request::Ping => Response::Pong {
                pid: std::process::id(),
            },
            Request::Ingest {
                inbox,
                origin,
                import_status,
                durable,
                raw,
            } => {
                let mode = match import_status {
                    Some(status) => Mode::Import { status },
                    None => Mode::Live,
                };
                let outcome = self.ingest(&raw, inbox.as_deref(), &origin, mode)?;
                if durable {
                    self.flush()?;
                }
                Response::Ingested(outcome)
            }
            Request::IngestBatch {
                inbox,
                import_status,
                origins,
                sizes,
                raw,
            } => {
                let mode = Mode::Import {
                    status: import_status,
                };
                match split_batch(raw, &origins, &sizes) {
                    Ok(messages) => self.ingest_batch(messages, inbox.as_deref(), mode),
                    Err(message) => Response::Error {
                        message,
                        retry: false,
                    },
                }
            }
            Request::Flush => {
                self.flush()?;
                Response::Flushed
            }
            Request::ListTickets {
                query,
                after,
                limit,
            } => {
                self.commit_staged()?;
                let after = match after.as_deref().map(str::parse::<crate::store::Cursor>) {
                    None => None,
                    Some(Ok(c)) => Some(c),
                    Some(Err(message)) => {
                        return Ok(Response::Error {
                            message,
                            retry: false,
                        })
                    }
                };
                let page = self.store.ticket_page(&query, after, limit)?;
                Response::TicketPage {
                    tickets: page.tickets,
                    next: page.next.map(|c| c.to_string()),
                }
            }
            Request::ShowTicket { reference } => {
                self.commit_staged()?;
                match self.find_ticket(&reference)? {
                    Some(n) => match self.store.ticket(&Staged::default(), n)? {
                        Some(ticket) => {
                            let mut messages = Vec::new();
                            for m in std::iter::once(n).chain(ticket.merged_from.iter().copied()) {
                                for (mut record, raw) in self.store.messages(m)? {
                                    record.text =
                                        mail::parse_with(&raw, &self.config.intake.limits()).map(|m| m.text).unwrap_or_default();
                                    messages.push(record);
                                }
                            }
                            messages.sort_by_key(|m| m.received);
                            let outgoing = self.outgoing_of(&ticket)?;
                            let next = crate::lifecycle::next_event(&ticket, &self.config);
                            Response::Ticket(Box::new(TicketView {
                                messages,
                                ticket,
                                outgoing,
                                next,
                            }))
                        }
                        None => not_found(&reference),
                    },
                    None => not_found(&reference),
                }
            }
            Request::ListQuarantine => Response::Quarantine(self.store.quarantined()?),
            Request::ListOutbox => {
                self.commit_staged()?;
                let mut entries = self.store.outbox_entries()?;
                self.describe_planned(&mut entries);
                Response::Outbox(entries)
            }
            Request::RetryOutbox { id, all } => {
                let mut changes = Vec::new();
                let now = Utc::now();
                for e in self.store.outbox_entries()? {
                    // Mail whose data was erased is never sent again.
                    let wanted = crate::privacy::sendable(&e) && match id {
                        Some(i) => e.id == i && e.state != outbox::State::Sent,
                        None if all => e.state != outbox::State::Sent,
                        None => e.state == outbox::State::Failed,
                    };
                    if wanted {
                        changes.push((e.clone(), outbox::requeued(e, now)));
                    }
                }
                // Mail a sender holds a claim on is being sent this moment
                // (by this node or, on a shared store, another one):
                // requeuing it could send it twice, so it is left alone.
                let requeued = self.store.update_unchanged_outbox(&changes)?;
                self.store.flush()?;
                self.outbox_wake.notify_one();
                match (id, requeued.is_empty(), changes.is_empty()) {
                    (Some(i), true, true) => {
                        return Ok(Response::Error {
                            message: format!("no unsent outbox entry {i}\n  hint: `postdesk outbox list` shows them"),
                            retry: false,
                        })
                    }
                    (Some(i), true, false) => {
                        return Ok(Response::Error {
                            message: format!("outbox entry {i} is being sent right now\n  hint: wait for this attempt to end (`postdesk outbox list` shows it), then retry if it failed"),
                            retry: true,
                        })
                    }
                    _ => {}
                }
                Response::Requeued(requeued)
            }
            Request::ShowCustomer { address } => {
                self.commit_staged()?;
                match self.customer(&address)? {
                    Some(view) => Response::Customer(Box::new(view)),
                    None => Response::Error {
                        message: format!(
                            "no customer {address}: no ticket was asked from that address\n  hint: `postdesk customers list` shows who has"
                        ),
                        retry: false,
                    },
                }
            }
            Request::ExportCustomer { address, after } => {
                self.export_customer(&address, after.as_deref())?
            }
            Request::EraseCustomer { address, by, force } => {
                self.erase_customer(&address, &by, force)?
            }
            Request::ListErasures => Response::Erasures(self.store.erasures()?),
            Request::ListCustomers { after, limit } => {
                self.commit_staged()?;
                let (customers, next) = self.customers(after.as_deref(), limit)?;
                Response::Customers { customers, next }
            }
            Request::ListAddresses => {
                self.commit_staged()?;
                Response::Addresses(self.store.marks()?)
            }
            Request::ClearAddress { address } => {
                let mut staged = self.lock_staged()?;
                let Some(mark) = self.store.mark(&staged, &address)? else {
                    return Ok(Response::Error {
                        message: format!(
                            "`{address}` is not marked\n  hint: `postdesk addresses list` shows the marked addresses"
                        ),
                        retry: false,
                    });
                };
                self.store.stage_mark(&mut staged, &address, None);
                self.store.commit(&mut staged)?;
                drop(staged);
                self.store.flush()?;
                Response::Addresses(vec![mark])
            }
            Request::PreviewTemplate {
                name,
                ticket,
                live,
                lang,
            } => self.preview(&name, ticket.as_deref(), live, lang.as_deref())?,
            Request::Stats {
                since_secs,
                queue,
                now,
            } => {
                self.commit_staged()?;
                let now = now.unwrap_or_else(Utc::now);
                let mut o = crate::report::Options::new(now);
                o.since = since_secs
                    .and_then(|s| chrono::Duration::try_seconds(s.min(i64::MAX as u64) as i64))
                    .and_then(|d| now.checked_sub_signed(d));
                o.queue = queue;
                o.sla_classes = self
                    .config
                    .sla
                    .iter()
                    .filter(|(_, s)| {
                        s.first_response.is_some()
                            || s.next_response.is_some()
                            || s.resolution.is_some()
                    })
                    .map(|(name, _)| name.clone())
                    .collect();
                o.scale = self.config.survey.labels().len() as u32;
                o.timezone = self.config.timezone();
                o.desk = self.config.desk.name.clone();
                for a in &self.config.agents {
                    let key = crate::report::stats::agent_key(&a.email);
                    if !o.agents.contains(&key) {
                        o.agents.push(key);
                    }
                }
                o.organizations = self
                    .config
                    .organizations
                    .iter()
                    .map(|g| {
                        let domains = g.domains.iter().map(|d| d.trim().to_ascii_lowercase());
                        (g.name.clone(), domains.collect())
                    })
                    .collect();
                // One summary at a time, never the tickets (issue 18); the
                // few tickets the report names are read at the end.
                let mut fold = crate::report::Fold::new(&o);
                self.store.for_each_summary(|s| fold.add(s))?;
                let stats = fold.finish(|n| {
                    let t = self.store.ticket(&Staged::default(), n).ok().flatten()?;
                    Some(crate::report::Shown {
                        reference: t.reference,
                        subject: t.subject,
                    })
                });
                Response::Stats(Box::new(stats))
            }
            Request::Notify(filter) => self.notify(&filter)?,
            Request::SetTicket {
                reference,
                commands,
            } => self.set_ticket(&reference, &commands)?,
            Request::MergeTickets { from, into } => self.merge_request(&from, &into)?,
            Request::Backup { dir } => {
                self.flush()?;
                match crate::backup::write(&self.store, self.config.state_dir(), &dir) {
                    Ok(m) => Response::BackedUp(m),
                    Err(e) => Response::Error {
                        message: format!("backup failed: {e}"),
                        retry: false,
                    },
                }
            }
            Request::VerifyStore => {
                self.commit_staged()?;
                Response::Verified(self.store.verify())
            }
            Request::Status => Response::Status(crate::status::Report {
                daemon: true,
                pid: std::process::id(),
                inboxes: self.sources.snapshot(),
                outbox_queued: self.store.outbox_len(),
                tickets: self.store.ticket_total()? as usize,
                quarantined: self.store.quarantine_len(),
                metrics: crate::metrics::get().listening(),
                stuck: None,
                cluster: None,
            }),
            Request::ExplainRules { inbox, live, raw } => match mail::parse_with(&raw, &self.config.intake.limits()) {
                Ok(msg) => {
                    let inbox = inbox
                        .or_else(|| self.config.inboxes.first().map(|i| i.name.clone()))
                        .unwrap_or_else(|| "default".into());
                    let staged = self.lock_staged()?;
                    let (facts, _) = self.facts(&staged, &msg)?;
                    let is_reply = matches!(thread::choose(&facts), Threading::Existing(..));
                    let new_customer = self.store.tickets_of_customer(&msg.from.email)?.is_empty()
                        && !staged.has_ticket_of(&msg.from.email);
                    drop(staged);
                    let lists = ViewLists::of(&msg);
                    let own_text = author_text(&msg, &raw, self.config.mail.signatures);
                    let view = MessageView::from_inbound(
                        &msg,
                        &lists,
                        &inbox,
                        &own_text,
                        new_customer,
                        is_reply,
                    );
                    match self.rules_for(live) {
                        Ok(rules) => {
                            let mut e = rules.explain(&view);
                            e.desk = Some(self.defaults_for(&e.result, &inbox));
                            Response::Explained(Box::new(e))
                        }
                        Err(message) => Response::Error { message, retry: false },
                    }
                }
                Err(e) => Response::Error {
                    message: format!("the file is not a message postdesk can read: {e}"),
                    retry: false,
                },
            },
            Request::ShowQuarantine { id } => match self.store.quarantined_entry(&id)? {
                Some((entry, raw)) => Response::QuarantineItem { entry, raw },
                None => Response::Error {
                    message: format!(
                        "no quarantine entry `{id}`\n  hint: `postdesk quarantine list` shows the ids"
                    ),
                    retry: false,
                },
            },
        })
    }

    /// `tickets set`: the same commands an agent gives by mail (one per
    /// entry, `status pending`), decided by the same core function, so
    /// the same timers start and the customer hears the same notices.
    pub(super) fn set_ticket(
        &self,
        reference: &str,
        commands: &[String],
    ) -> Result<Response, StoreError> {
        let admin = self.config.desk.admin.clone().unwrap_or_default();
        let mut parsed = Vec::new();
        let mut errors = Vec::new();
        for line in commands {
            let mut words = line.split_whitespace();
            let verb = words.next().unwrap_or_default();
            let args: Vec<&str> = words.collect();
            match crate::command::parse(verb, &args, &admin) {
                Ok(c) => parsed.push(c),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Ok(Response::Error {
                message: errors.join("\n"),
                retry: false,
            });
        }
        self.change(reference, parsed)
    }

    pub(super) fn merge_request(&self, from: &str, into: &str) -> Result<Response, StoreError> {
        self.change(from, vec![crate::command::Command::Merge(into.to_string())])
    }

    /// An admin's change: gathered, decided and written like any other
    /// event; a refused change writes nothing and says why.
    fn change(
        &self,
        reference: &str,
        commands: Vec<crate::command::Command>,
    ) -> Result<Response, StoreError> {
        let now = Utc::now();
        let mut staged = self.lock_staged()?;
        let Some(t) = self.named_ticket(&staged, reference)? else {
            return Ok(not_found(reference));
        };
        let merge_asked = commands.iter().find_map(|c| match c {
            crate::command::Command::Merge(r) => Some(r.clone()),
            _ => None,
        });
        let merge_target = match &merge_asked {
            Some(r) => match self.named_ticket(&staged, r)? {
                Some(into) if into.number == t.number => {
                    return Ok(Response::Error {
                        message: format!("{reference} and {r} are already one ticket"),
                        retry: false,
                    })
                }
                found => found,
            },
            None => None,
        };
        let link_targets = self.link_targets(&staged, &commands)?;
        let thread = self.thread(&staged, &t, None, true)?;
        let decision = decide::decide(
            decide::Event::Request {
                ticket: Box::new(t),
                request: decide::Request {
                    commands,
                    merge_target,
                    merge_asked,
                    link_targets,
                    macros: self.templates().macros(),
                    languages: self.templates().languages(),
                },
            },
            &thread,
            &self.decide_desk(now),
        );
        if !decision.refused.is_empty() {
            return Ok(Response::Error {
                message: decision.refused.join("\n"),
                retry: false,
            });
        }
        for e in &decision.events {
            tracing::info!(ticket = %decision.ticket.reference, event = %e, "admin change");
        }
        self.write(&mut staged, &decision, None, None, now)?;
        let queued = staged.has_outgoing();
        self.store.commit(&mut staged)?;
        drop(staged);
        self.store.flush()?;
        if queued {
            self.outbox_wake.notify_one();
        }
        let mut tickets = vec![decision.ticket];
        tickets.extend(decision.also);
        Ok(Response::Tickets(tickets))
    }

    pub(super) fn preview(
        &self,
        name: &str,
        reference: Option<&str>,
        live: bool,
        lang: Option<&str>,
    ) -> Result<Response, StoreError> {
        let templates = match self.templates_for(live) {
            Ok(t) => t,
            Err(message) => {
                return Ok(Response::Error {
                    message,
                    retry: false,
                })
            }
        };
        let asked = match lang.map(|l| (l, crate::language::normalize(l))) {
            Some((_, Some(code))) if templates.languages().contains(&code) => Some(code),
            Some((l, _)) => {
                return Ok(Response::Error {
                    message: format!(
                        "--lang {l}: no templates in that language; the desk writes {} (a language is a directory such as {}/de/)",
                        templates.languages().join(", "),
                        self.config.templates.dir.display()
                    ),
                    retry: false,
                })
            }
            None => None,
        };
        let (data, inbox, lang) = match reference {
            Some(r) => {
                self.commit_staged()?;
                let Some(n) = self.find_ticket(r)? else {
                    return Ok(not_found(r));
                };
                let Some(t) = self.store.ticket(&Staged::default(), n)? else {
                    return Ok(not_found(r));
                };
                let first = self.store.messages(n)?.into_iter().next();
                let (text, subject) = first
                    .map(|(rec, raw)| {
                        let text = mail::parse_with(&raw, &self.config.intake.limits())
                            .map(|m| m.text)
                            .unwrap_or_default();
                        (text, rec.subject)
                    })
                    .unwrap_or_default();
                let mut notice = decide::Notice::preview(name, &t);
                notice.text = text.clone();
                let mut t = t;
                if let Some(code) = &asked {
                    t.language = Some(crate::language::Language {
                        code: code.clone(),
                        by: crate::language::Source::Admin,
                        at: Utc::now(),
                    });
                }
                let lang = compose::mail_language(&notice, &t).map(str::to_string);
                let now = Utc::now();
                let extras = Extras {
                    eta: self.eta(&t, now, &self.config.desk.language),
                    eta_by_language: lang
                        .iter()
                        .filter_map(|l| self.eta(&t, now, l).map(|e| (l.clone(), e)))
                        .collect(),
                    customer_tickets: self.customer_history(&Staged::default(), &t)?,
                    organization: Some(self.config.organization_of(&t.requester.email)),
                    other_tickets: self.other_open_tickets(&Staged::default(), &t)?,
                    articles: self
                        .kb()
                        .map(|kb| kb.suggest(&subject, &text, 3))
                        .unwrap_or_default(),
                    history: self.history(t.number, 3)?,
                    message_subject: subject,
                    attachments: Vec::new(),
                    reply_address: self
                        .signer
                        .reply_address(&self.config.desk.address, &t.reference),
                };
                (
                    compose::template_data(&self.config, &t, &notice, &extras),
                    Some(t.inbox),
                    lang,
                )
            }
            None => (self.sample_data(name, asked.as_deref()), None, asked),
        };
        Ok(
            match templates.render_in(name, inbox.as_deref(), lang.as_deref(), &data) {
                Ok(r) => Response::Preview(Preview {
                    subject: r.subject,
                    headers: r.headers,
                    text: r.text,
                    html: r.html,
                }),
                Err(e) => Response::Error {
                    message: e.to_string(),
                    retry: false,
                },
            },
        )
    }
}

impl Desk {
    /// The rules a dry run uses: the file on disk, as `check` reads it and
    /// the daemon will load it on its next reload (what the admin just
    /// edited), or with `live` the set the daemon has loaded now.
    fn rules_for(&self, live: bool) -> Result<RuleSet, String> {
        if live {
            return Ok(self.rules());
        }
        let templates = Templates::load_for(&self.config.templates.dir, &self.config.desk.language)
            .map_err(|e| e.to_string())?;
        RuleSet::load(
            &self.config.rules.file,
            &Known::from_config(&self.config, templates.names()),
        )
        .map_err(|e| e.to_string())
    }

    /// What a ticket gets where the rules say nothing, and the SLA
    /// targets that will apply, for a dry run's result.
    fn defaults_for(
        &self,
        c: &crate::rules::Classification,
        inbox: &str,
    ) -> crate::rules::DeskDefaults {
        let priority = c.priority.unwrap_or(self.default_priority);
        let class = c
            .sla
            .clone()
            .unwrap_or_else(|| priority.as_str().to_string());
        let human = |d: Duration| humantime::format_duration(d).to_string();
        let sla = self
            .config
            .sla
            .get(&class)
            .map(|s| {
                let calendar = s
                    .calendar
                    .as_deref()
                    .map(|c| format!(" ({c} hours)"))
                    .unwrap_or_default();
                [
                    ("first response", s.first_response),
                    ("next response", s.next_response),
                    ("resolution", s.resolution),
                ]
                .into_iter()
                .filter_map(|(what, d)| d.map(|d| format!("{what} {}{calendar}", human(d))))
                .collect()
            })
            .unwrap_or_default();
        crate::rules::DeskDefaults {
            category: self.config.desk.default_category.clone(),
            priority: self.default_priority.as_str().to_string(),
            queue: self.config.queue_for_inbox(inbox),
            ack: self
                .config
                .ack
                .enabled
                .then(|| self.config.ack.template.clone()),
            sla_class: class,
            sla,
        }
    }

    /// The templates a preview renders: the files on disk, checked as
    /// `check` checks them, or with `live` the set the daemon has loaded.
    fn templates_for(&self, live: bool) -> Result<Arc<Templates>, String> {
        if live {
            return Ok(self.templates());
        }
        let templates = Templates::load_for(&self.config.templates.dir, &self.config.desk.language)
            .map_err(|e| e.to_string())?;
        templates.check().map_err(|e| e.to_string())?;
        Ok(Arc::new(templates))
    }

    /// Sample data for a template, with this desk's name, address and
    /// ticket prefix: a preview should look like the desk's own mail.
    fn sample_data(&self, name: &str, lang: Option<&str>) -> serde_json::Value {
        let data =
            crate::templates::sample_data_in(name, lang.unwrap_or(&self.config.desk.language));
        let desk = &self.config.desk;
        let (local, domain) = desk
            .address
            .rsplit_once('@')
            .unwrap_or((desk.address.as_str(), "example.com"));
        let text = serde_json::to_string(&data).unwrap_or_default();
        let text = text
            .replace("support@example.com", &desk.address)
            .replace("support+", &format!("{local}+"))
            .replace("@example.com", &format!("@{domain}"))
            .replace("Acme Support", &desk.name)
            .replace("ACME-", &format!("{}-", desk.ticket_prefix));
        serde_json::from_str(&text).unwrap_or(data)
    }

    /// The outbox entries about a ticket (and the tickets merged into it),
    /// oldest first; mail not built yet shows the subject it will have.
    pub(super) fn outgoing_of(
        &self,
        ticket: &ticket::Ticket,
    ) -> Result<Vec<outbox::Entry>, StoreError> {
        let mut refs = vec![ticket.reference.clone()];
        for n in &ticket.merged_from {
            refs.push(self.reference(&Staged::default(), *n));
        }
        let mut entries: Vec<outbox::Entry> = self
            .store
            .outbox_entries()?
            .into_iter()
            .filter(|e| e.ticket.as_ref().is_some_and(|r| refs.contains(r)))
            .collect();
        self.describe_planned(&mut entries);
        Ok(entries)
    }

    /// Mail not built yet is listed with the subject it will have, or
    /// with why it cannot be built.
    pub(super) fn describe_planned(&self, entries: &mut [outbox::Entry]) {
        for e in entries.iter_mut().filter(|e| e.planned) {
            match self.outgoing(e.id) {
                Ok(Some((built, _))) => e.subject = built.subject,
                Ok(None) => {}
                Err(err) => {
                    e.last_error
                        .get_or_insert_with(|| format!("cannot be built: {err}"));
                }
            }
        }
    }
}

fn not_found(reference: &str) -> Response {
    Response::Error {
        message: format!("no ticket `{reference}`\n  hint: `postdesk tickets list` shows them"),
        retry: false,
    }
}

/// The messages of a [`Request::IngestBatch`]: its blob cut at `sizes`,
/// each with its origin. A blob that does not add up is refused whole.
fn split_batch(
    raw: Vec<u8>,
    origins: &[String],
    sizes: &[u64],
) -> Result<Vec<(Vec<u8>, String)>, String> {
    // The sizes come from the socket: summed without wrapping, so that
    // sizes that wrap around to the blob's length cannot slice past it.
    let total = sizes
        .iter()
        .try_fold(0u64, |sum, &size| sum.checked_add(size));
    if origins.len() != sizes.len() || total != Some(raw.len() as u64) {
        return Err(format!(
            "malformed request: a batch of {} origins and {} sizes adding up to {} bytes came with {} bytes of mail",
            origins.len(),
            sizes.len(),
            total.map_or_else(|| "more than 2^64".to_string(), |t| t.to_string()),
            raw.len()
        ));
    }
    let mut rest = raw.as_slice();
    Ok(sizes
        .iter()
        .zip(origins)
        .map(|(&size, origin)| {
            let (one, after) = rest.split_at(size as usize);
            rest = after;
            (one.to_vec(), origin.clone())
        })
        .collect())
}

#[cfg(test)]
mod split_tests {
    use super::split_batch;

    #[test]
    fn a_batch_is_cut_at_its_sizes_and_sizes_that_do_not_add_up_are_refused() {
        let origins = vec!["a".to_string(), "b".to_string()];
        let cut = split_batch(b"onetwo!".to_vec(), &origins, &[3, 4]).expect("adds up");
        assert_eq!(
            cut,
            vec![
                (b"one".to_vec(), "a".to_string()),
                (b"two!".to_vec(), "b".to_string())
            ]
        );
        assert!(split_batch(b"onetwo!".to_vec(), &origins, &[3, 3]).is_err());
        assert!(split_batch(b"onetwo!".to_vec(), &origins[..1], &[3, 4]).is_err());
        // Sizes that wrap around to the blob's length.
        assert!(split_batch(b"onetwo!".to_vec(), &origins, &[u64::MAX, 8]).is_err());
    }
}
