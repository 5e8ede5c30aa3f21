//! The read phase: what the store knows that a decision needs. Nothing
//! here decides; each function answers one question the core asks
//! (which ticket a message names, who wrote it, what the caps have seen,
//! where the round-robin stands).

use super::*;

impl Desk {
    /// What the rules say about a message, with whether the sender is new
    /// and whether it continues a ticket; `own_text` is what its author
    /// wrote, reply-stripped (the `sentiment` condition reads it). What the
    /// parallel stage read already comes along: the rules' pattern scan and
    /// the mood (as a first message or as a reply).
    pub(super) fn classify(
        &self,
        staged: &Staged,
        msg: &Inbound,
        inbox: &str,
        own_text: &str,
        is_reply: bool,
        (scan, mood): (
            Option<crate::rules::Prescan>,
            Option<crate::rules::EarlyMood>,
        ),
    ) -> Result<Classification, StoreError> {
        let rules = self.rules();
        if rules.rule_count() == 0 {
            return Ok(Classification {
                first_mood: crate::rules::Aside(
                    mood.and_then(|m| m.as_read(false)).filter(|_| !is_reply),
                ),
                ..Classification::default()
            });
        }
        let new_customer = self.store.tickets_of_customer(&msg.from.email)?.is_empty()
            && !staged.has_ticket_of(&msg.from.email);
        let lists = ViewLists::of(msg);
        let view = MessageView::from_inbound(msg, &lists, inbox, own_text, new_customer, is_reply);
        Ok(rules.classify_prescanned(&view, scan, mood))
    }

    /// A delivery report traced to mail the desk sent: through the signed
    /// envelope address (VERP) first, else through the returned mail's
    /// Message-ID. Plain-text reports count only when the guard finds the
    /// mail automatic, so a customer's question about a bounce is not read
    /// as one.
    pub(super) fn trace_bounce(
        &self,
        staged: &Staged,
        msg: &Inbound,
        raw: &[u8],
        guard: &mut Option<Option<crate::guard::Automatic>>,
    ) -> Result<Option<(u64, decide::Bounced)>, StoreError> {
        // The guard's verdict, read in the parallel stage when there was
        // one; what is read here is kept for the decision.
        let mut automatic = || {
            guard
                .get_or_insert_with(|| crate::guard::automatic(msg))
                .clone()
        };
        let token = msg
            .all_recipients()
            .find_map(|a| self.signer.verify_bounce(&self.own, a));
        // A report read by its wording (no machine sender, no report
        // subject) is still one when the guard says so.
        if token.is_none()
            && !crate::bounce::looks_like(msg.header("content-type"), &msg.from.email, &msg.subject)
            && !automatic().is_some_and(|a| a.kind == crate::guard::Kind::Bounce)
        {
            return Ok(None);
        }
        let Some(report) = crate::bounce::parse(raw) else {
            return Ok(None);
        };
        if !report.standard && automatic().is_none() {
            return Ok(None);
        }
        let mut traced = None;
        if let Some(id) = token {
            if let Some((entry, _)) = self.store.outbox_entry(id)? {
                let n = entry
                    .ticket
                    .as_deref()
                    .and_then(|r| self.any_prefix(|p| ticket::parse_reference(p, r)));
                if let Some(n) = n {
                    traced = Some((
                        n,
                        format!("envelope token of outbox mail {id}"),
                        Some(entry.kind.clone()),
                        Some(entry.recipients.clone()),
                    ));
                }
            }
        }
        if traced.is_none() {
            if let Some(id) = &report.original_message_id {
                if let Some(e) = self.store.lookup_id(staged, id)? {
                    if e.kind == IdKind::Sent {
                        traced = Some((e.ticket, format!("returned mail <{id}>"), None, None));
                    }
                }
            }
        }
        let Some((n, how, kind, sent_to)) = traced else {
            return Ok(None);
        };
        if self.store.ticket(staged, n)?.is_none() {
            return Ok(None);
        }
        let mut recipients = Vec::new();
        for r in report.recipients {
            // Words of a plain-text report name many addresses; only those
            // the mail went to count. A standard report names its own.
            let known = sent_to
                .as_ref()
                .is_none_or(|to| to.iter().any(|t| t.eq_ignore_ascii_case(&r.address)));
            if report.standard || known {
                let mark = self.store.mark(staged, &r.address)?;
                recipients.push((r, mark));
            }
        }
        Ok(Some((
            n,
            decide::Bounced {
                traced: how,
                kind,
                recipients,
            },
        )))
    }

    /// The sender's newest ticket, when they have opened as many tickets
    /// as `guard.new_tickets_per_sender` allows within its window. Agents
    /// and the desk itself are never limited.
    pub(super) fn over_new_ticket_limit(
        &self,
        staged: &Staged,
        msg: &Inbound,
        now: chrono::DateTime<Utc>,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let email = &msg.from.email;
        if self.config.agent(email).is_some() || decide::is_own(&self.own, email) {
            return Ok(None);
        }
        let limit = self.config.guard.new_tickets_per_sender;
        let mut numbers = self.store.tickets_of_customer(email)?;
        numbers.extend(staged.tickets_of(email));
        numbers.sort_unstable();
        numbers.dedup();
        let recent = numbers.iter().rev().take(limit.count as usize + 1);
        let mut created = Vec::new();
        let mut newest = None;
        for n in recent {
            if let Some(t) = self.store.ticket(staged, *n)? {
                newest = newest.or(Some(t.number));
                created.push(t.created);
            }
        }
        match (crate::caps::check(&created, &[limit], now), newest) {
            (Err(l), Some(n)) => Ok(Some((
                n,
                format!("{email} is over the new-ticket limit ({l}): joined their newest ticket"),
            ))),
            _ => Ok(None),
        }
    }

    /// The ticket a message joins, following merges (a few hops at most).
    pub(super) fn follow_merges(
        &self,
        staged: &Staged,
        number: u64,
    ) -> Result<Option<ticket::Ticket>, StoreError> {
        let mut t = self.store.ticket(staged, number)?;
        // Joins fold whole groups into the oldest ticket, so a chain can
        // grow by one per join; each hop is one keyed read.
        for _ in 0..64 {
            match t.as_ref().and_then(|t| t.merged_into) {
                Some(next) => t = self.store.ticket(staged, next)?,
                None => break,
            }
        }
        Ok(t)
    }

    /// A survey answer in `msg`: a rating address in the recipients, or a
    /// reply to the survey mail that starts with a score.
    pub(super) fn survey_answer(
        &self,
        msg: &Inbound,
        ticket: Option<&ticket::Ticket>,
        stripped: &str,
    ) -> Option<(u32, Option<String>)> {
        let survey = ticket?.survey.as_ref()?;
        let labels = self.config.survey.labels();
        let token_score = msg.all_recipients().find_map(|a| {
            self.any_prefix(|p| self.signer.verify_survey_address(&self.own, p, a))
                .map(|(_, s)| s)
        });
        let answers_survey =
            !survey.message_id.is_empty() && msg.in_reply_to.contains(&survey.message_id);
        if token_score.is_none() && !answers_survey {
            return None;
        }
        let token_score = token_score.filter(|s| (1..=labels.len() as u32).contains(s));
        crate::lifecycle::survey_answer(token_score, stripped, &labels)
    }

    /// Weighs who wrote `msg`: see [`crate::agent`].
    pub(super) fn author(
        &self,
        staged: &Staged,
        msg: &Inbound,
        existing: Option<&ticket::Ticket>,
    ) -> Result<Author, StoreError> {
        let agent = self.config.agent(&msg.from.email).map(|a| a.email.as_str());
        let mut token_agent = None;
        let mut answered = None;
        if agent.is_some() {
            for address in msg.all_recipients() {
                if let Some((_, tag, note)) =
                    self.any_prefix(|p| self.signer.verify_agent_address(&self.own, p, address))
                {
                    token_agent = self
                        .config
                        .agents
                        .iter()
                        .find(|a| Signer::agent_tag(&a.email) == tag)
                        .map(|a| (a.email.as_str(), note));
                    break;
                }
            }
            for id in msg.in_reply_to.iter().chain(msg.references.iter()) {
                if let Some(a) = self.store.notified_agent(staged, id)? {
                    answered = self.config.agent(&a).map(|a| a.email.as_str());
                    if answered.is_some() {
                        break;
                    }
                }
            }
        }
        let policy = &self.config.agent_mail;
        let authenticated = policy.require_authentication.then(|| {
            crate::agent::authenticated(
                msg.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                &policy.trusted_servers,
            )
        });
        let evidence = crate::agent::Evidence {
            agent,
            token_agent,
            answered_notification_of: answered,
            authenticated,
            participant: existing.is_none_or(|t| t.is_participant(&msg.from.email)),
        };
        Ok(crate::agent::author(&msg.from.email, &evidence))
    }

    /// For an agent's mail about `t`: the newest notification of `t` it
    /// answers (its In-Reply-To and References), and the ticket's
    /// messages stored since, each with what its author wrote. Nothing is
    /// read beyond the ids when nothing happened since.
    pub(super) fn answering(
        &self,
        staged: &Staged,
        msg: &Inbound,
        t: &ticket::Ticket,
    ) -> Result<Option<decide::Answering>, StoreError> {
        let mut seen = None;
        for id in msg.in_reply_to.iter().chain(msg.references.iter()) {
            if let Some((_, Some((n, count)))) = self.store.notification(staged, id)? {
                if n == t.number && seen.is_none_or(|s| count > s) {
                    seen = Some(count);
                }
            }
        }
        let Some(seen) = seen else {
            return Ok(None);
        };
        let mut since = Vec::new();
        if seen < t.message_count {
            for (record, raw) in self.store.messages(t.number)? {
                if record.seq < seen {
                    continue;
                }
                let text = match mail::parse_with(&raw, &self.config.intake.limits()) {
                    Ok(m) => match &record.author {
                        Author::Agent { .. } => {
                            crate::command::parse_commands(
                                &agent_text(&m, &raw, self.config.mail.signatures),
                                "",
                            )
                            .body
                        }
                        _ => author_text(&m, &raw, self.config.mail.signatures),
                    },
                    Err(_) => String::new(),
                };
                since.push((record, text));
            }
        }
        Ok(Some(decide::Answering { seen, since }))
    }

    /// Message-IDs of the customer mail in a ticket, oldest first.
    pub(super) fn customer_thread(&self, t: &ticket::Ticket) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        for n in std::iter::once(t.number).chain(t.merged_from.iter().copied()) {
            for r in self.store.message_records(n)? {
                if matches!(r.author, Author::Customer)
                    && !r.message_id.ends_with(".postdesk.invalid")
                {
                    ids.push(r.message_id);
                }
            }
        }
        // Long threads: the first and the most recent ids are what clients use.
        if ids.len() > 20 {
            let tail = ids.split_off(ids.len() - 19);
            ids.truncate(1);
            ids.extend(tail);
        }
        Ok(ids)
    }

    /// Gathers what the store knows that bears on threading `msg`: every
    /// ticket its token, its In-Reply-To and References (each id, nearest
    /// first), its own id (named earlier by a message that arrived first)
    /// and its Outlook conversation point at, merges followed, with each
    /// ticket's requester and whether the sender takes part in it. All
    /// keyed reads: one per id, one per distinct ticket.
    ///
    /// Beside the facts: the linked tickets as read, by number, so the
    /// intake does not read the ticket it joins a second time.
    pub(super) fn facts(
        &self,
        staged: &Staged,
        msg: &Inbound,
    ) -> Result<(Facts, HashMap<u64, ticket::Ticket>), StoreError> {
        let mut facts = Facts {
            tag_prefix: self.config.desk.ticket_prefix.clone(),
            ..Facts::default()
        };
        let mut tickets: HashMap<u64, Option<ticket::Ticket>> = HashMap::new();
        // The ticket a number stands for now (merges followed), read once.
        let mut resolve = |n: u64| -> Result<Option<u64>, StoreError> {
            let t = match tickets.entry(n) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(self.follow_merges(staged, n)?)
                }
            };
            Ok(t.as_ref().map(|t| t.number))
        };
        if let Some(entry) = self.store.lookup_id(staged, &msg.message_id)? {
            match entry.kind {
                IdKind::Stored | IdKind::Sent => {
                    facts.duplicate_of = Some(entry.ticket);
                    return Ok((facts, HashMap::new()));
                }
                IdKind::Referenced => {
                    if let Some(t) = resolve(entry.ticket)? {
                        facts.referenced_by = Some((msg.message_id.clone(), t));
                    }
                }
                IdKind::Conversation => {}
            }
        }
        for address in msg.all_recipients() {
            let n = self.any_prefix(|prefix| {
                self.signer
                    .verify_address(&self.own, prefix, address)
                    .or_else(|| {
                        self.signer
                            .verify_agent_address(&self.own, prefix, address)
                            .map(|(n, _, _)| n)
                    })
                    .or_else(|| {
                        self.signer
                            .verify_survey_address(&self.own, prefix, address)
                            .map(|(n, _)| n)
                    })
            });
            if let Some(n) = n {
                if let Some(t) = resolve(n)? {
                    facts.token = Some((address.to_string(), t));
                    break;
                }
            }
        }
        // In-Reply-To names the direct parent; References nearest-last.
        let mut seen = std::collections::HashSet::new();
        let ids = msg
            .in_reply_to
            .iter()
            .chain(msg.references.iter().rev())
            .filter(|id| seen.insert(crate::mail::msgid::key(id)));
        for id in ids {
            let Some(entry) = self.store.lookup_id(staged, id)? else {
                continue;
            };
            let seen = match entry.kind {
                IdKind::Stored | IdKind::Sent => true,
                IdKind::Referenced => false,
                IdKind::Conversation => continue,
            };
            if let Some(t) = resolve(entry.ticket)? {
                facts.known_references.push(thread::Known {
                    message_id: id.clone(),
                    ticket: t,
                    seen,
                });
            }
        }
        if !thread::names_a_parent(msg) {
            if let Some(key) = thread::conversation_of(msg) {
                if let Some(entry) = self.store.lookup_id(staged, &key)? {
                    if entry.kind == IdKind::Conversation {
                        facts.conversation = resolve(entry.ticket)?;
                    }
                }
            }
        }
        let read: HashMap<u64, ticket::Ticket> = tickets
            .into_values()
            .flatten()
            .map(|t| (t.number, t))
            .collect();
        for t in read.values() {
            facts.linked.push(thread::Linked {
                number: t.number,
                requester: t.requester.email.to_ascii_lowercase(),
                participant: t.is_participant(&msg.from.email),
            });
        }
        facts.linked.sort_by_key(|l| l.number);
        for n in self.tags.numbers(&msg.subject) {
            if let Some(t) = self.store.ticket(staged, n)? {
                facts.tagged.push((n, t.is_participant(&msg.from.email)));
            }
        }
        Ok((facts, read))
    }

    pub(super) fn reference(&self, staged: &Staged, number: u64) -> String {
        match self.store.ticket(staged, number) {
            Ok(Some(t)) => t.reference,
            _ => ticket::reference(&self.config.desk.ticket_prefix, number),
        }
    }

    /// What a rule's round-robin or least-open `assign` needs: the queue's
    /// round-robin position, or the agents' open tickets (counted now and
    /// then, and kept current between counts by our own assignments).
    pub(super) fn assign_evidence(
        &self,
        staged: &Staged,
        assign: Option<&crate::rules::Assign>,
        queue: &str,
    ) -> Result<decide::AssignEvidence, StoreError> {
        use crate::rules::Assign;
        let mut evidence = decide::AssignEvidence::default();
        match assign {
            Some(Assign::RoundRobin) => {
                evidence.round_robin =
                    self.store.counter(staged, &decide::assign_counter(queue))?;
            }
            Some(Assign::LeastOpen) => {
                let mut cache = self.open_load.lock().unwrap_or_else(|p| p.into_inner());
                if cache
                    .as_ref()
                    .is_none_or(|(at, _)| at.elapsed() >= HISTORY_TTL)
                {
                    // From the report summaries: a small record per ticket,
                    // not the ticket (issue 18).
                    let mut load = decide::Load::new();
                    self.store.for_each_summary(|s| {
                        if let (Some(a), false) = (&s.assignee, s.finished()) {
                            match load.get_mut(a.to_ascii_lowercase().as_str()) {
                                Some(n) => *n += 1,
                                None => {
                                    load.insert(a.to_ascii_lowercase(), 1);
                                }
                            }
                        }
                    })?;
                    *cache = Some((Instant::now(), load));
                }
                if let Some((_, load)) = cache.as_ref() {
                    evidence.open_load = load.clone();
                }
            }
            _ => {}
        }
        Ok(evidence)
    }

    /// Counts a least-open assignment the decision made, so the next
    /// assignment before the recount sees it.
    pub(super) fn count_assignment(&self, agent: &str) {
        let mut cache = self.open_load.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, load)) = cache.as_mut() {
            *load.entry(agent.to_ascii_lowercase()).or_insert(0) += 1;
        }
    }

    /// What the caps know of each address: recent automatic mail and
    /// bounce marks.
    pub(super) fn caps(
        &self,
        staged: &Staged,
        addresses: &[String],
    ) -> Result<HashMap<String, decide::Sent>, StoreError> {
        let mut sent = HashMap::new();
        for e in addresses {
            if self.config.agent(e).is_some() || decide::is_own(&self.own, e) {
                continue;
            }
            sent.insert(
                e.clone(),
                decide::Sent {
                    times: self.store.auto_sent(staged, e)?,
                    mark: self.store.mark(staged, e)?,
                },
            );
        }
        Ok(sent)
    }

    /// The thread evidence of a ticket's decision: its customer mail and
    /// what the caps know of the addresses it may write to.
    pub(super) fn thread(
        &self,
        staged: &Staged,
        t: &ticket::Ticket,
        msg: Option<&Inbound>,
        with_ids: bool,
    ) -> Result<decide::Thread, StoreError> {
        Ok(decide::Thread {
            ids: if with_ids {
                self.customer_thread(t)?
            } else {
                Vec::new()
            },
            sent: self.caps(staged, &decide::Decision::caps_for(Some(t), msg))?,
        })
    }

    /// The tickets the `#link REF`s among `commands` name, each with its
    /// REF, merges followed, those that exist.
    pub(super) fn link_targets(
        &self,
        staged: &Staged,
        commands: &[crate::command::Command],
    ) -> Result<Vec<(String, ticket::Ticket)>, StoreError> {
        let mut out = Vec::new();
        for c in commands {
            if let crate::command::Command::Link(r) = c {
                if let Some(t) = self.named_ticket(staged, r)? {
                    out.push((r.clone(), t));
                }
            }
        }
        Ok(out)
    }

    /// The ticket a reference names, followed through merges.
    pub(super) fn named_ticket(
        &self,
        staged: &Staged,
        reference: &str,
    ) -> Result<Option<ticket::Ticket>, StoreError> {
        match self.any_prefix(|p| ticket::parse_reference(p, reference)) {
            Some(n) => self.follow_merges(staged, n),
            None => Ok(None),
        }
    }
}
