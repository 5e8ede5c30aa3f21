//! How the command line shows tickets, status, notices and marks to a person
//! (every listing also has `--json` for scripts).
//!
//! Every text here that came from mail or from the network (subjects,
//! names, addresses, bodies, flags, server answers) goes through
//! [`safe`](super::safe) as it is printed, so a customer cannot drive the
//! admin's terminal with escape sequences; table cells through [`clip`].

use super::safe;
use super::*;

/// The table of `postdesk addresses list`.
pub(super) fn print_marks(marks: &[crate::bounce::Mark]) {
    let now = chrono::Utc::now();
    println!(
        "{:<32}  {:<11}  {:>4}  {:>4}  {:<16}  {:<10}  {:<20}  LAST REPORT",
        "ADDRESS", "LAST", "HARD", "SOFT", "WHEN", "TICKET", "HELD UNTIL"
    );
    for m in marks {
        let held = match m.suppressed_until {
            Some(u) if u > now => u.format("%Y-%m-%d %H:%M").to_string(),
            Some(_) => "(expired)".into(),
            None => "-".into(),
        };
        println!(
            "{:<32}  {:<11}  {:>4}  {:>4}  {:<16}  {:<10}  {:<20}  {}",
            clip(&m.address, 32),
            m.last.as_str(),
            m.hard_bounces,
            m.soft_bounces,
            m.last_at.format("%Y-%m-%d %H:%M"),
            safe::line(m.ticket.as_deref().unwrap_or("-")),
            held,
            clip(
                format!(
                    "{} {}",
                    m.status.as_deref().unwrap_or(""),
                    m.diagnostic.as_deref().unwrap_or("")
                )
                .trim(),
                60
            )
        );
    }
}

pub(super) fn print_notified(r: &crate::notify::Report, daemon: bool) {
    use crate::notify::RecipientState as S;
    if r.recipients.is_empty() {
        println!("no customer has a matching ticket");
        return;
    }
    println!("{:<36} {:<17} TICKETS", "CUSTOMER", "STATE");
    for p in &r.recipients {
        println!(
            "{:<36} {:<17} {}",
            clip(&p.email, 36),
            p.state.as_str(),
            safe::line(&p.tickets.join(", "))
        );
    }
    let count = |s: S| r.recipients.iter().filter(|p| p.state == s).count();
    if r.dry_run {
        println!(
            "\n{} customer(s) would get `{}` (notice {}); {} already did. Nothing was sent.",
            count(S::WouldSend),
            r.template,
            r.notice,
            count(S::AlreadyNotified)
        );
    } else {
        for p in r.recipients.iter().filter(|p| p.state == S::Held) {
            println!(
                "held: {}: {}",
                safe::line(&p.email),
                safe::line(p.held.as_deref().unwrap_or_default())
            );
        }
        println!(
            "\n{} queued, {} already notified, {} held by the guards, {} failed (notice {}).{}",
            count(S::Queued),
            count(S::AlreadyNotified),
            count(S::Held),
            count(S::Failed),
            r.notice,
            if daemon || count(S::Queued) == 0 {
                ""
            } else {
                " No daemon runs: the mail goes out when `postdesk serve` starts."
            }
        );
    }
}

/// The nodes of a shared store and the inboxes each one reads.
fn print_cluster(c: &crate::status::Cluster) {
    let live = c.live_nodes().count();
    println!("nodes        {live} serving ({} known)", c.nodes.len());
    for n in &c.nodes {
        let held: Vec<&str> = c
            .leases
            .iter()
            .filter(|l| l.holder.as_deref() == Some(n.id.as_str()) && l.expires_in_ms > 0)
            .map(|l| l.name.strip_prefix("inbox:").unwrap_or(&l.name))
            .collect();
        let ttl = i64::try_from(c.lease_ttl_ms).unwrap_or(i64::MAX);
        println!(
            "  {}  {}, version {}, seen {:.1}s ago{}; reads: {}",
            safe::line(&n.id),
            if n.seen_ms_ago <= ttl { "up" } else { "SILENT" },
            safe::line(&n.version),
            n.seen_ms_ago as f64 / 1000.0,
            if n.seen_ms_ago > ttl {
                " (its leases run out)"
            } else {
                ""
            },
            if held.is_empty() {
                "nothing".to_string()
            } else {
                held.iter()
                    .map(|h| safe::line(h))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    if !c.takeovers.is_empty() {
        println!("takeovers    the last {} of the day:", c.takeovers.len());
    }
    for t in &c.takeovers {
        println!(
            "  {} taken over by {} from {}, {:.1}s after its lease ran out, {} ago",
            safe::line(t.name.strip_prefix("inbox:").unwrap_or(&t.name)),
            safe::line(&t.holder),
            safe::line(&t.previous_holder),
            t.delay_ms as f64 / 1000.0,
            ago(t.ago_ms)
        );
    }
}

/// A time span for a human: seconds, minutes or hours.
fn ago(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        _ => format!("{}h", s / 3600),
    }
}

/// Tickets from which a sled desk's status says what sled costs in memory:
/// about 150 MiB of page table in every process that opens the store
/// (benches/RESULTS.md, "what sled costs at a million tickets").
const SLED_LARGE: usize = 300_000;

/// What `status` tells the admin of a large sled desk: sled keeps a table
/// of every page in memory while the store is open, about 50 bytes a key
/// whatever `[store] cache` says, and a ticket costs about ten keys. An
/// admin sizing a machine should hear it from the desk, not from the OOM
/// killer.
pub(super) fn sled_memory_hint(tickets: usize) -> Option<String> {
    (tickets >= SLED_LARGE).then(|| {
        let mib = tickets * 10 * 50 / (1024 * 1024);
        format!(
            "sled holds about {mib} MiB in memory for a desk this size, in the daemon and in every command run without it (about 50 bytes a key, ten keys a ticket); PostgreSQL holds none: `postdesk migrate --from sled --to postgres` (README, \"Which store\")"
        )
    })
}

pub(super) fn print_status(r: &crate::status::Report, on_sled: bool) {
    if let (true, Some(why)) = (r.daemon, &r.stuck) {
        println!("daemon       STUCK (pid {}): {}", r.pid, safe::line(why));
    } else if r.daemon {
        println!("daemon       running (pid {})", r.pid);
    } else {
        println!("daemon       not running: no inbox is being read (start `postdesk serve`)");
    }
    if r.stuck.is_some() && r.inboxes.is_empty() {
        println!("store        closed while it is reopened; counts come back with it");
    } else {
        println!(
            "store        {} tickets, {} quarantined, {} mail queued to send",
            r.tickets, r.quarantined, r.outbox_queued
        );
        if let Some(hint) = sled_memory_hint(r.tickets).filter(|_| on_sled) {
            println!("             {hint}");
        }
    }
    if let Some(c) = &r.cluster {
        print_cluster(c);
    }
    for i in &r.inboxes {
        println!();
        let held = r.cluster.as_ref().map(|c| match c.holder(&i.name) {
            Some(node) => format!(", read by node {}", safe::line(node)),
            None => ", read by NO node (its lease is free)".to_string(),
        });
        println!(
            "inbox {} ({}): {}{}",
            safe::line(&i.name),
            safe::line(&i.kind),
            if i.connected { "ok" } else { "NOT CONNECTED" },
            held.unwrap_or_default()
        );
        println!("  processed    {}", i.processed);
        if let Some(t) = i.last_success {
            println!("  last success {}", t.format("%Y-%m-%d %H:%M:%S UTC"));
        }
        if let Some(c) = &i.cursor {
            println!("  position     {}", safe::line(c));
        }
        if let (Some(e), Some(t)) = (&i.last_error, i.last_error_at) {
            println!(
                "  last error   {} ({})",
                safe::line(e),
                t.format("%Y-%m-%d %H:%M:%S UTC")
            );
        }
    }
}

pub(super) fn print_ticket_list(tickets: &[Ticket]) {
    if tickets.is_empty() {
        println!("no tickets");
        return;
    }
    print_ticket_header();
    for t in tickets {
        print_ticket_row(t);
    }
}

/// The column heads of a ticket list (printed once, before the first page).
pub(super) fn print_ticket_header() {
    println!(
        "{:<12} {:<8} {:<7} {:<10} {:<16} {:<11} {:<28} SUBJECT",
        "TICKET", "STATUS", "PRIO", "QUEUE", "UPDATED", "DUE", "REQUESTER"
    );
}

pub(super) fn print_ticket_row(t: &Ticket) {
    // A snoozed ticket shows when it wakes where others show their due
    // date: until then nobody needs to look at it.
    let (status, due) = match t.snoozed_until {
        Some(at) => (
            "snoozed".to_string(),
            format!("z{}", at.format("%m-%d %H:%M")),
        ),
        None => (
            t.status.to_string(),
            t.due.map_or_else(|| "-".to_string(), |d| d.to_string()),
        ),
    };
    println!(
        "{:<12} {:<8} {:<7} {:<10} {:<16} {:<11} {:<28} {}",
        safe::line(&t.reference),
        status,
        t.priority,
        safe::line(&t.queue),
        t.updated.format("%Y-%m-%d %H:%M"),
        due,
        clip(&t.requester.email, 28),
        clip(&t.subject, 60)
    );
}

pub(super) fn print_ticket(view: &TicketView) {
    let t = &view.ticket;
    println!("{}  {}", safe::line(&t.reference), safe::line(&t.subject));
    println!(
        "status {}  priority {}  category {}  queue {}  assignee {}",
        t.status,
        t.priority,
        safe::line(&t.category),
        safe::line(&t.queue),
        safe::line(t.assignee.as_deref().unwrap_or("-"))
    );
    println!("requester    {}", safe::line(&t.requester.to_string()));
    println!("participants {}", safe::line(&t.participants.join(", ")));
    if !t.tags.is_empty() {
        println!("tags         {}", safe::line(&t.tags.join(", ")));
    }
    if !t.matched_rules.is_empty() {
        println!("rules        {}", safe::line(&t.matched_rules.join(", ")));
    }
    if let Some(s) = t.sentiment {
        println!("first mail   {s} (its sentiment)");
    }
    if t.spam {
        println!("spam         yes (kept, never answered)");
    }
    if let Some(into) = t.merged_into {
        println!("merged into  #{into}");
    }
    if let Some(f) = &t.follows {
        println!("follows      {}", safe::line(f));
    }
    if let Some(d) = t.due {
        println!("due date     {}", d.format("%a %Y-%m-%d"));
    }
    if let Some(at) = t.snoozed_until {
        println!(
            "snoozed      until {} UTC (then open again, its agents told)",
            at.format("%a %Y-%m-%d %H:%M")
        );
    }
    if !t.links.is_empty() {
        println!("related      {}", safe::line(&t.links.join(", ")));
    }
    if let Some(l) = &t.language {
        println!("language     {} ({})", safe::line(&l.code), l.by.as_str());
    }
    if !t.time_worked.is_empty() {
        let total: u32 = t.time_worked.values().sum();
        let each: Vec<String> = t
            .time_worked
            .iter()
            .map(|(a, m)| format!("{a} {}", hours(*m)))
            .collect();
        println!(
            "time worked  {} ({})",
            hours(total),
            safe::line(&each.join(", "))
        );
    }
    let when = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d %H:%M UTC").to_string();
    if let Some((at, what)) = &view.next {
        println!("next timer   {}: {what}", when(*at));
    }
    if let Some(since) = t.pending_since {
        println!(
            "waiting      on the customer since {}{}",
            when(since),
            if t.reminded { " (reminded)" } else { "" }
        );
    }
    for s in &t.sla_due {
        let state = if s.breached {
            "BREACHED"
        } else if s.warned {
            "warned"
        } else {
            "running"
        };
        println!(
            "sla          {} due {} ({state})",
            s.kind.as_str().replace('_', " "),
            when(s.due)
        );
    }
    if let Some(s) = &t.survey {
        match (s.score, &s.label) {
            (Some(score), Some(label)) => println!(
                "survey       {score} ({}){}",
                safe::line(label),
                s.comment
                    .as_ref()
                    .map(|c| format!(": {}", safe::line(c)))
                    .unwrap_or_default()
            ),
            _ => println!("survey       sent {}, no answer yet", when(s.sent_at)),
        }
    }
    println!(
        "created {}  updated {}{}",
        t.created.format("%Y-%m-%d %H:%M:%S UTC"),
        t.updated.format("%Y-%m-%d %H:%M:%S UTC"),
        if t.imported { "  (imported)" } else { "" }
    );
    for h in &t.held {
        println!(
            "held answer  by {} at {} (until {}): {}",
            safe::line(&h.agent),
            when(h.at),
            when(h.expires),
            clip(&h.text.split_whitespace().collect::<Vec<_>>().join(" "), 80)
        );
    }
    print_outgoing(&view.outgoing);
    // Mail the guards held back never reached the outbox; its message's
    // record says what and why.
    for m in &view.messages {
        for f in m.flags.iter().filter(|f| f.starts_with("not sent: ")) {
            println!("  held          {}", safe::line(f));
        }
    }
    for m in &view.messages {
        println!();
        println!(
            "--- #{} {} {} <{}>",
            m.seq + 1,
            m.received.format("%Y-%m-%d %H:%M:%S"),
            safe::line(&m.from.as_ref().map(|p| p.to_string()).unwrap_or_default()),
            safe::line(&m.message_id)
        );
        println!("    subject: {}", safe::line(&m.subject));
        println!("    threaded: {}", safe::line(&m.thread.to_string()));
        if m.internal {
            println!("    INTERNAL NOTE (agents only)");
        }
        for f in &m.flags {
            println!("    flag: {}", safe::line(&f.to_string()));
        }
        if !m.rules.is_empty() {
            println!("    rules: {}", safe::line(&m.rules.join(", ")));
        }
        for a in &m.attachments {
            println!(
                "    attachment: {} ({}, {} bytes)",
                safe::line(&a.name),
                safe::line(&a.content_type),
                a.size
            );
        }
        println!();
        // Line by line (a body's own line breaks are kept, each indented);
        // within a line only tab may stay, so `text` and not `line`.
        for line in m.text.lines().take(200) {
            println!("    {}", safe::text(line));
        }
    }
}

/// A table cell: escaped for the terminal (see [`safe::cell`]), at most
/// `max` characters, so any text in a column is safe to print.
/// Minutes as people write them: `1h30m`, `25m`.
fn hours(m: u32) -> String {
    match (m / 60, m % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

pub(super) fn clip(s: &str, max: usize) -> String {
    safe::cell(s, max)
}

/// The mail sent (or to be sent) about a ticket, one line each: what the
/// customer and the agents got, and what is stuck and why.
fn print_outgoing(entries: &[crate::outbox::Entry]) {
    if entries.is_empty() {
        return;
    }
    println!("outgoing mail:");
    for e in entries {
        let when = e.sent_at.unwrap_or(e.created).format("%Y-%m-%d %H:%M UTC");
        let why = e
            .last_error
            .as_deref()
            .map(|w| format!(" ({})", clip(w, 80)))
            .unwrap_or_default();
        println!(
            "  #{:<5} {:<6} {when}  {:<14} to {}{why}",
            e.id,
            e.state,
            safe::line(&e.kind),
            safe::line(&e.recipients.join(", "))
        );
    }
}

pub(super) fn print_customers(page: &[crate::api::CustomerSummary], header: bool) {
    if header && !page.is_empty() {
        println!(
            "{:<36} {:<24} {:>7} {:>5} LAST UPDATE",
            "CUSTOMER", "ORGANIZATION", "TICKETS", "OPEN"
        );
    }
    for c in page {
        println!(
            "{:<36} {:<24} {:>7} {:>5} {}",
            clip(&c.address, 36),
            clip(&c.organization, 24),
            c.tickets,
            c.open,
            c.last_update
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "-".into())
        );
    }
}

pub(super) fn print_customer(v: &crate::api::CustomerView) {
    println!("customer     {}", safe::line(&v.address));
    if let Some(n) = &v.name {
        println!("name         {}", safe::line(n));
    }
    println!("organization {}", safe::line(&v.organization));
    if let Some(l) = &v.language {
        println!("language     {} ({})", safe::line(&l.code), l.by.as_str());
    }
    let open = v
        .tickets
        .iter()
        .filter(|t| !matches!(t.status, Status::Resolved | Status::Closed))
        .count();
    println!("tickets      {} ({open} open)", v.tickets.len());
    let ratings: Vec<u32> = v.tickets.iter().filter_map(|t| t.rating).collect();
    if !ratings.is_empty() {
        let avg = f64::from(ratings.iter().sum::<u32>()) / ratings.len() as f64;
        println!("ratings      {} given, average {avg:.1}", ratings.len());
    }
    if let Some(m) = &v.mark {
        println!("mark         {}", safe::line(&format!("{m:?}")));
    }
    if let Some(e) = &v.erasure {
        println!(
            "erased       {} by {}",
            e.at.format("%Y-%m-%d %H:%M UTC"),
            safe::line(&e.by)
        );
    }
    for t in &v.tickets {
        println!(
            "  {:<12} {:<8} {} {}{}",
            safe::line(&t.reference),
            t.status,
            t.updated.format("%Y-%m-%d %H:%M"),
            clip(&t.subject, 60),
            t.rating
                .map(|r| format!("  (rated {r})"))
                .unwrap_or_default()
        );
    }
}
