//! The decision for one stored message: which ticket it makes or changes,
//! what its record says, and who hears of it.

use super::*;

/// One arrival: the message and what threading found for it.
#[derive(Debug)]
pub struct Arrival<'a> {
    pub msg: &'a Inbound,
    pub threading: &'a Threading,
    /// The ticket named by `threading` (the shell loads it).
    pub existing: Option<Ticket>,
    /// The ids the message names that the index knows.
    pub known_references: &'a [String],
    /// Other tickets of the same thread, with the id linking each: see
    /// [`Event::Mail`].
    pub joins: Vec<(Ticket, String)>,
}

/// Decides intake for a message that is not a duplicate. `existing` is the
/// ticket named by `threading` (the shell loads it); when the shell could not
/// find it, the message opens a new ticket rather than being lost.
pub fn intake(
    arrival: Arrival<'_>,
    ctx: &Context<'_>,
    thread: &Thread,
    desk: &Desk<'_>,
) -> Decision {
    let Arrival {
        msg,
        threading,
        existing,
        known_references,
        joins,
    } = arrival;
    let config = desk.config;
    let now = desk.now;
    let old = existing.clone();
    let target_queue = assign::target_queue(ctx.rules, existing.as_ref(), ctx.queue);
    let (assignee, counters) = assign::pick(
        ctx.rules.assign.as_ref(),
        &target_queue,
        &ctx.assign,
        config,
    );
    let (mut ticket, mut created, mut reason) = match (threading, existing) {
        (Threading::Existing(_, reason), Some(t)) => (t, false, reason.clone()),
        _ => (
            new_ticket(msg, ctx, assignee.clone(), now),
            true,
            ThreadReason::New,
        ),
    };
    let live = ctx.mode == Mode::Live;
    let mut notices = Vec::new();
    let mut flags = Vec::new();
    let mut internal = false;
    let mut rejected = false;
    let mut thanks = false;
    let mut marks = Vec::new();
    let mut also = Vec::new();
    let mut answered = false;
    // Addresses the desk received this very message at are the desk's too.
    let own_here = own_for(desk.own, msg);

    // What the guard says of the message, read once (by the shell when it
    // asked already): the acknowledgement asks again.
    let automatic = match &ctx.automatic {
        Some(a) => a.clone(),
        None => crate::guard::automatic_reason(msg),
    };
    // The guards first: what they catch is stored and flagged, and answers
    // nothing. Order: the most specific reason wins the record.
    let quiet = if let Some(b) = &ctx.bounced {
        let (f, m, n) = bounce_effects(msg, &ticket, ctx, desk, b);
        flags.extend(f);
        marks = m;
        notices.extend(n);
        Some(format!("delivery report ({})", b.traced))
    } else if let Some(why) = crate::guard::own_loop_reason(msg, desk.own) {
        Some(format!("the desk's own mail came back: {why}"))
    } else if let Some(why) = &ctx.flood {
        Some(why.clone())
    } else if let Some(why) = &automatic {
        Some(format!("automatic mail ({why})"))
    } else if ctx.rules.spam && !created {
        Some("a rule marked it spam".to_string())
    } else {
        None
    };
    if let Some(why) = &quiet {
        flags.push(format!("{why}: stored, not answered"));
    }

    // A survey answer is recorded and thanked; it reopens the ticket only
    // when the comment asks for help.
    let survey = match (&ctx.survey_answer, ctx.author, created) {
        (Some(answer), Author::Customer, false) if ticket.survey.is_some() && quiet.is_none() => {
            Some(answer.clone())
        }
        _ => None,
    };
    if let Some((score, comment)) = &survey {
        let labels = config.survey.labels();
        let label = labels
            .get((*score as usize).saturating_sub(1))
            .cloned()
            .unwrap_or_else(|| score.to_string());
        if let Some(s) = ticket.survey.as_mut() {
            s.score = Some(*score);
            s.label = Some(label.clone());
            s.comment = comment.clone();
            s.answered_at = Some(now);
        }
        flags.push(format!("survey answer: {score} ({label})"));
        let mut thanks = Notice::new(
            "survey_thanks",
            vec![ticket.requester.clone()],
            &msg.message_id,
            Auto::Replied,
        );
        thanks.continue_thread(&thread_with(&thread.ids, msg));
        thanks.rating = Some((*score, label.clone()));
        notices.push(thanks);
        if *score <= config.survey.low_score {
            notices.extend(low_score_alert(
                msg,
                &ticket,
                config,
                *score,
                &label,
                comment.as_deref(),
            ));
        }
    }
    let reopen_for_help = survey.as_ref().is_some_and(|(_, c)| {
        config.survey.reopen_on_help && c.as_deref().is_some_and(lifecycle::asks_for_help)
    });

    // A customer writing to a closed ticket, or to a resolved one after
    // the reopen window, gets what the policy says; a plain "thank you"
    // to a finished ticket changes nothing.
    if !created
        && live
        && matches!(ctx.author, Author::Customer)
        && survey.is_none()
        && quiet.is_none()
    {
        let finished = matches!(ticket.status, Status::Resolved | Status::Closed);
        if finished
            && !config.agent_mail.reopen_on_thanks
            && crate::mail::thanks::is_thanks_only(ctx.stripped)
        {
            thanks = true;
            flags.push(format!(
                "thanks only: the ticket stays {} and nobody was notified (agent_mail.reopen_on_thanks)",
                ticket.status
            ));
        } else {
            match late_reply(&ticket, config, now) {
                Late::No | Late::Reopen => {}
                Late::NewTicket => {
                    let old = ticket.reference.clone();
                    // The customer's language goes on with them.
                    let language = ticket.language.take();
                    ticket = new_ticket(msg, ctx, assignee.clone(), now);
                    ticket.follows = Some(old);
                    ticket.language = language;
                    created = true;
                    reason = ThreadReason::New;
                }
                Late::Reject => {
                    rejected = true;
                    flags.push(format!(
                        "arrived after the ticket was {}; the customer was asked to write anew",
                        ticket.status
                    ));
                    notices.push(rejection(msg, &ticket, desk.own));
                }
            }
        }
    }

    // Tickets this message proves to be the same thread fold into this
    // one, as `tickets merge` folds them. Not when the message went
    // elsewhere after all (a new ticket for a late reply, a refusal) or
    // when a guard placed it (a delivery report, a flood).
    let mut joined = Vec::new();
    let guarded = matches!(reason, ThreadReason::Guard { .. });
    if !created && !rejected && !guarded {
        for (mut other, via) in joins {
            if other.number == ticket.number || other.merged_into.is_some() {
                continue;
            }
            let why = format!(
                "joined {} into {}: message <{}> links both threads (<{via}>)",
                other.reference, ticket.reference, msg.message_id
            );
            merge_tickets(&mut other, &mut ticket, now);
            flags.push(why.clone());
            joined.push(why);
            also.push(other);
        }
    }

    let sender_is_participant = ticket.is_participant(&msg.from.email);
    if (created || sender_is_participant) && matches!(ctx.author, Author::Customer) {
        // People the customer copied may continue the ticket; the desk's own
        // addresses and agents are never participants. When none of the
        // recipients is an address the desk knows, the message reached it
        // through an alias nobody told it of (or a Bcc): then any of them
        // may be the desk itself, and none is added.
        let copied: Vec<&Person> = msg.to.iter().chain(msg.cc.iter()).collect();
        let reached = copied.iter().any(|p| is_own(&own_here, &p.email));
        if reached {
            for p in copied {
                if !is_own(&own_here, &p.email) && config.agent(&p.email).is_none() {
                    ticket.add_participant(&p.email);
                }
            }
        } else if copied.iter().any(|p| {
            config.agent(&p.email).is_none() && !p.email.eq_ignore_ascii_case(&msg.from.email)
        }) {
            let list: Vec<&str> = copied.iter().map(|p| p.email.as_str()).collect();
            flags.push(format!(
                "reached the desk at an address it does not know ({}): nobody copied was added to the ticket; if that address is the desk's, add it to desk.aliases",
                list.join(", ")
            ));
        }
    }

    if !created {
        apply_reply_rules(&mut ticket, ctx, assignee.clone());
    }
    for name in &ctx.rules.matched {
        if !ticket.matched_rules.contains(name) {
            ticket.matched_rules.push(name.clone());
        }
    }

    // Held answers nobody released in time are gone.
    ticket.held.retain(|h| h.expires > now);

    match ctx.author {
        // An agent's out-of-office answering a notification must not reach
        // the customer, nor run as commands: it stays an internal note.
        Author::Agent { .. } if quiet.is_some() => internal = true,
        _ if quiet.is_some() => {}
        Author::Agent {
            email,
            note_address,
        } if !created => {
            let before = ticket.clone();
            let parsed = crate::command::parse_commands(ctx.stripped, email);
            internal = *note_address || parsed.commands.contains(&Command::Note);
            let mut errors = parsed.errors.clone();
            let applied = change::apply_all(
                &mut ticket,
                &parsed.commands,
                change::Named {
                    merge_target: ctx.merge_target.clone(),
                    links: &ctx.link_targets,
                    macros: &ctx.macros,
                    languages: ctx.languages,
                    agent: email,
                },
                desk,
                &mut errors,
            );
            let macro_used = applied.macro_used.clone();
            let status_set = applied.status_set;
            also.extend(applied.merged_into);
            also.extend(applied.linked);
            let mut outcomes = applied.outcomes;
            let mut relays = Vec::new();
            if let Some(i) = parsed.commands.iter().position(|c| *c == Command::Send) {
                let released = collide::release(&mut ticket, email, now);
                match &released {
                    Ok(h) => {
                        flags.push(format!(
                            "#send: released the answer held from <{}>",
                            h.message_id
                        ));
                        relays.push(collide::released_relay(h, &ticket, config, &thread.ids));
                    }
                    Err(e) => errors.push(e.clone()),
                }
                if let Some(o) = outcomes.get_mut(i) {
                    *o = released.map(|_| ());
                }
            }
            let always = config.agent_mail.transcript == "always";
            if !errors.is_empty() || (always && !parsed.lines.is_empty()) {
                notices.push(transcript(msg, &ticket, email, &parsed.lines, &outcomes));
            }
            // A macro refused (unknown, or its fields not applied) sends
            // nothing: the transcript says why, and the agent tries again.
            let is_macro = |l: &str| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case("#macro"))
            };
            let macro_refused = (parsed.below_macro.is_some() && macro_used.is_none())
                || parsed.lines.iter().any(|(l, r)| is_macro(l) && r.is_err())
                || parsed
                    .commands
                    .iter()
                    .zip(&outcomes)
                    .any(|(c, o)| matches!(c, Command::Macro(_)) && o.is_err());
            let has_answer = (!parsed.body.is_empty() || macro_used.is_some()) && !macro_refused;
            let news = if internal || !has_answer {
                Vec::new()
            } else {
                collide::news(ctx.answering.as_ref(), email, &ticket, config)
            };
            if parsed.body.is_empty() && parsed.commands.is_empty() && parsed.errors.is_empty() {
                // Nothing of the agent's own (a reply sent with only the
                // quote): nothing goes out, and the agent is told so.
                flags.push("nothing written above the quoted text; nothing sent".into());
                notices.push(nothing_sent(msg, &ticket, email));
            } else if macro_refused {
                flags.push("the macro was refused; nothing sent".into());
            } else if !has_answer {
                // Commands only: the customer hears of a status change when
                // the desk is set to tell them.
                notices.extend(status_notice(
                    &msg.message_id,
                    before.status,
                    &ticket,
                    &thread.ids,
                    config,
                ));
            } else if internal {
                flags.push("internal note".into());
                notices.extend(agent_notices(
                    msg,
                    &ticket,
                    config,
                    Some(email),
                    &parsed.body,
                    true,
                ));
            } else if !news.is_empty() {
                flags.push(format!(
                    "answer held: {} since the notification it answers; the agent may #send it",
                    news.iter()
                        .map(|n| n.what.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                notices.push(collide::hold(
                    msg,
                    &mut ticket,
                    email,
                    &parsed.body,
                    macro_used
                        .clone()
                        .map(|m| (m, parsed.below_macro.clone().unwrap_or_default())),
                    &news,
                    desk,
                ));
            } else {
                let mut n = relay(msg, &ticket, config, &thread.ids, email, &parsed.body);
                n.macro_answer = macro_used
                    .clone()
                    .map(|m| (m, parsed.below_macro.clone().unwrap_or_default()));
                relays.push(n);
            }
            if !relays.is_empty() {
                answered = true;
                for _ in &relays {
                    change::answered(&mut ticket, status_set, now);
                }
                notices.extend(relays);
            }
        }
        Author::Unverified { email, why } => {
            flags.push(format!("claims to be agent {email} but {why}; not relayed"));
            notices.extend(admin_alert(msg, &ticket, config, email, why));
        }
        Author::Outsider { email } => {
            flags.push(format!("{email} is not a participant of this ticket"));
            if live {
                notices.extend(agent_notices(
                    msg,
                    &ticket,
                    config,
                    None,
                    ctx.stripped,
                    false,
                ));
            }
        }
        Author::Customer if survey.is_some() && !reopen_for_help => {}
        Author::Customer if thanks => {}
        Author::Customer | Author::Agent { .. } => {
            if !created && live && !rejected {
                // A customer writing again means the desk owes an answer.
                if matches!(
                    ticket.status,
                    Status::Pending | Status::Resolved | Status::Closed
                ) {
                    set_status(&mut ticket, Status::Open, now);
                }
            }
            if live && !ticket.spam && !rejected {
                notices.extend(agent_notices(
                    msg,
                    &ticket,
                    config,
                    None,
                    ctx.stripped,
                    false,
                ));
            }
        }
    }

    // The language the desk writes to this customer in, chosen once from
    // their own mail (remembered, Content-Language, or their words) and
    // kept with the ticket; a guess from too little text is no choice.
    if live
        && matches!(ctx.author, Author::Customer)
        && quiet.is_none()
        && !rejected
        && ticket.language.is_none()
    {
        let text = match ctx.detected_language {
            Some(_) => String::new(),
            None => crate::language::detection_text(&msg.subject, ctx.stripped),
        };
        ticket.language = crate::language::choose(
            &crate::language::Evidence {
                remembered: ctx.remembered_language.as_ref(),
                content_language: msg.header("content-language"),
                text: &text,
                available: ctx.languages,
                detected: ctx.detected_language,
            },
            now,
        );
    }

    let received = match ctx.mode {
        Mode::Live => now,
        Mode::Import { .. } => msg.date.unwrap_or(now),
    };
    let seq = ticket.message_count;
    ticket.message_count += 1;
    if received > ticket.updated || created {
        ticket.updated = received;
    }
    flags.extend(msg.cuts.iter().map(|c| format!("not all read: {c}")));

    let remember_references = msg
        .in_reply_to
        .iter()
        .chain(msg.references.iter())
        .filter(|id| {
            let key = crate::mail::msgid::key(id);
            key != crate::mail::msgid::key(&msg.message_id)
                && !known_references
                    .iter()
                    .any(|k| crate::mail::msgid::key(k) == key)
        })
        .fold(Vec::new(), |mut acc: Vec<String>, id| {
            let key = crate::mail::msgid::key(id);
            if !acc.iter().any(|a| crate::mail::msgid::key(a) == key) {
                acc.push(id.clone());
            }
            acc
        });

    let mut ack_suppressed = None;
    if let (true, Some(why)) = (created, &quiet) {
        ack_suppressed = Some(why.clone());
    } else if created && !matches!(ctx.author, Author::Customer) {
        ack_suppressed = Some("the sender is not a customer (agent or unverified)".into());
    } else if created {
        match acknowledgement(msg, ctx, desk.own, automatic.as_deref()) {
            Ok(n) => notices.insert(0, n),
            Err(why) => ack_suppressed = Some(why),
        }
    }
    // Relayed answers carry the agent's files, stored with this message.
    for n in notices
        .iter_mut()
        .filter(|n| n.attachments && n.attachments_of.is_none())
    {
        n.attachments_of = Some((ticket.number, seq));
    }

    let mut d = Decision::about(ticket);
    d.created = created;
    d.notices = notices;
    d.also = also;
    d.events = joined;
    d.remember_references = remember_references;
    d.conversation = crate::thread::conversation_of(msg);
    d.ack_suppressed = ack_suppressed;
    d.marks = marks;
    d.counters = counters;
    let held = d.hold(thread, desk);
    if !held.is_empty() {
        if d.created && !d.notices.iter().any(|n| n.template.starts_with("ack")) {
            d.ack_suppressed.get_or_insert_with(|| held[0].clone());
        }
        flags.extend(held);
    }
    let event = if quiet.is_some() || thanks {
        // Automatic mail moves no clock: a ticket it opens has no SLA
        // and a ticket it joins keeps the plan it had.
        lifecycle::Event::Other
    } else if d.created {
        lifecycle::Event::Created
    } else if answered {
        lifecycle::Event::AgentAnswered
    } else if matches!(ctx.author, Author::Customer) {
        lifecycle::Event::CustomerWrote
    } else {
        lifecycle::Event::Other
    };
    let before = if d.created { None } else { old.as_ref() };
    d.settle(before, event, desk);
    for t in d
        .also
        .iter_mut()
        .filter(|t| t.merged_into == Some(d.ticket.number))
    {
        // A joined ticket is closed: its timers and SLA clock stop.
        let was = t.clone();
        lifecycle::settle(
            t,
            Some(&was),
            lifecycle::Event::Other,
            now,
            config,
            desk.calendars,
        );
    }
    d.quiet = quiet;
    d.record = Some(MessageRecord {
        ticket: d.ticket.number,
        seq,
        direction: Direction::Inbound,
        message_id: msg.message_id.clone(),
        from: Some(msg.from.clone()),
        to: msg.to.clone(),
        cc: msg.cc.clone(),
        subject: msg.subject.clone(),
        date: msg.date,
        received,
        origin: ctx.origin.to_string(),
        // Derived from the raw bytes when shown; storing it twice would
        // double the store and the write cost of every message.
        text: String::new(),
        attachments: msg.attachments.clone(),
        size: msg.size,
        thread: reason,
        rules: ctx.rules.matched.clone(),
        author: ctx.author.clone(),
        internal,
        flags,
        relayed: answered,
    });
    d
}

/// The customer's thread as it will be once `msg` is stored.
fn thread_with(ids: &[String], msg: &Inbound) -> Vec<String> {
    let mut ids = ids.to_vec();
    if !msg.message_id_synthetic && !ids.contains(&msg.message_id) {
        ids.push(msg.message_id.clone());
    }
    ids
}

enum Late {
    No,
    Reopen,
    NewTicket,
    Reject,
}

/// What a customer's reply to a finished ticket does: within the reopen
/// window a resolved ticket reopens; after it, or when closed, the policy.
fn late_reply(ticket: &Ticket, config: &Config, now: DateTime<Utc>) -> Late {
    let policy = &config.agent_mail;
    let within = ticket
        .resolved_at
        .is_some_and(|at| (now - at).to_std().unwrap_or_default() <= policy.reopen_window);
    match ticket.status {
        Status::Resolved if within => Late::Reopen,
        Status::Resolved | Status::Closed => match policy.after_window.as_str() {
            "reopen" => Late::Reopen,
            "reject" => Late::Reject,
            _ => Late::NewTicket,
        },
        _ => Late::No,
    }
}

/// What `on = ["reply"]` rules may change on an existing ticket. Priority
/// only goes up: a reply saying "still broken" must not calm an urgent
/// ticket down because a rule wrote `high`.
fn apply_reply_rules(ticket: &mut Ticket, ctx: &Context<'_>, assignee: Option<String>) {
    let r = ctx.rules;
    if let Some(p) = r.priority {
        ticket.priority = ticket.priority.max(p);
    }
    if let Some(c) = &r.category {
        ticket.category = c.clone();
    }
    if let Some(q) = &r.queue {
        ticket.queue = q.clone();
    }
    if let Some(a) = assignee {
        ticket.assignee = Some(a);
    }
    if let Some(s) = &r.sla {
        ticket.sla = Some(s.clone());
    }
    for t in &r.tags {
        if !ticket.tags.contains(t) {
            ticket.tags.push(t.clone());
        }
    }
}

fn new_ticket(
    msg: &Inbound,
    ctx: &Context<'_>,
    assignee: Option<String>,
    now: DateTime<Utc>,
) -> Ticket {
    let (status, when) = match ctx.mode {
        Mode::Live => (Status::New, now),
        Mode::Import { status } => (status, msg.date.unwrap_or(now)),
    };
    let mut ticket = Ticket {
        number: ctx.next_number,
        reference: crate::ticket::reference(ctx.prefix, ctx.next_number),
        subject: crate::mail::subject::ticket_subject(ctx.tags, &msg.subject),
        status,
        priority: ctx.rules.priority.unwrap_or(ctx.default_priority),
        category: ctx
            .rules
            .category
            .clone()
            .unwrap_or_else(|| ctx.default_category.to_string()),
        queue: ctx
            .rules
            .queue
            .clone()
            .unwrap_or_else(|| ctx.queue.to_string()),
        assignee,
        tags: ctx.rules.tags.clone(),
        requester: msg.from.clone(),
        participants: Vec::new(),
        inbox: ctx.inbox.to_string(),
        created: when,
        updated: when,
        message_count: 0,
        imported: matches!(ctx.mode, Mode::Import { .. }),
        first_response: None,
        spam: ctx.rules.spam,
        sla: ctx.rules.sla.clone(),
        matched_rules: Vec::new(),
        resolved_at: None,
        merged_into: None,
        merged_from: Vec::new(),
        follows: None,
        pending_since: None,
        reminded: false,
        autoclosed: false,
        survey: None,
        sla_due: Vec::new(),
        timer_due: None,
        agent_replies: 0,
        reopened: 0,
        sla_breaches: Vec::new(),
        held: Vec::new(),
        due: None,
        links: Vec::new(),
        time_worked: Default::default(),
        snoozed_until: None,
        language: None,
        // History is not read for its mood (it is not stripped either).
        // The rules may have read it already (as a first message, on the
        // same stripped text).
        sentiment: (ctx.mode == Mode::Live).then(|| {
            ctx.rules.first_mood.0.unwrap_or_else(|| {
                crate::mail::sentiment::of_message(&msg.subject, ctx.stripped, false)
            })
        }),
    };
    ticket.add_participant(&msg.from.email);
    ticket
}
