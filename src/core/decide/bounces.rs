//! What a delivery report traced to the desk's own mail does to the
//! ticket it belongs to.

use super::*;

/// What a traced delivery report does: flags for the record, marks for the
/// addresses, and for a hard bounce of mail to a customer a note to the
/// people on the ticket (never to the customer, and never about internal
/// mail, whose bounce would otherwise be answered with more internal mail).
pub(super) fn bounce_effects(
    msg: &Inbound,
    ticket: &Ticket,
    ctx: &Context<'_>,
    desk: &Desk<'_>,
    b: &Bounced,
) -> (Vec<String>, Vec<crate::bounce::Mark>, Vec<Notice>) {
    use crate::bounce::{Mark, Severity};
    let mut flags = Vec::new();
    let mut marks = Vec::new();
    let mut hard = Vec::new();
    let kind = b.kind.as_deref().unwrap_or("mail");
    for (r, previous) in &b.recipients {
        let code = r
            .status
            .as_deref()
            .map(|s| format!(" {s}"))
            .unwrap_or_default();
        let said = r
            .diagnostic
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        flags.push(format!(
            "delivery report: {kind} to {} {}{code}{said}",
            r.address,
            r.severity.as_str()
        ));
        if !r.severity.is_failure() {
            continue;
        }
        let internal = desk.config.agent(&r.address).is_some()
            || desk
                .config
                .desk
                .admin
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&r.address))
            || is_own(desk.own, &r.address);
        let mark = Mark::after(
            previous.clone(),
            r,
            Some(&ticket.reference),
            desk.now,
            desk.config.guard.hard_bounce_suppress,
        );
        if r.severity == Severity::Hard {
            if let Some(until) = mark.suppressed_until {
                flags.push(format!(
                    "{} marked: no automatic mail to it until {}",
                    r.address,
                    until.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            if !internal {
                hard.push((r.clone(), mark.suppressed_until));
            }
        }
        marks.push(mark);
    }
    let mut notices = Vec::new();
    if !hard.is_empty() && ctx.mode == Mode::Live {
        let mut to = agents_to_notify(ticket, desk.config, None, false);
        if to.is_empty() {
            if let Some(admin) = &desk.config.desk.admin {
                to.push(Person {
                    name: None,
                    email: admin.clone(),
                });
            }
        }
        let lines: Vec<String> = hard
            .iter()
            .map(|(r, until)| {
                format!(
                    "  {}  {}{}\n    no automatic mail to it until {}",
                    r.address,
                    r.status.as_deref().unwrap_or("(no status code)"),
                    r.diagnostic
                        .as_deref()
                        .map(|d| format!(" {d}"))
                        .unwrap_or_default(),
                    until
                        .map(|u| u.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| "-".into())
                )
            })
            .collect();
        let first = &hard[0].0.address;
        for p in to {
            let mut n = Notice::new(
                "agent_notify",
                vec![p.clone()],
                &format!("{}/bounce", msg.message_id),
                Auto::Generated,
            );
            if desk.config.agent(&p.email).is_some() {
                n.agent = Some(p.email.clone());
            }
            n.plain = Some((
                format!("[{}] mail to {first} bounced", ticket.reference),
                format!(
                    "The {kind} sent for {} \"{}\" could not be delivered; the address does not work:\n\n{}\n\nThe report is stored on the ticket. Reach the customer another way to get a working address; `postdesk addresses clear ADDRESS` lifts the hold sooner, `postdesk addresses list` shows every marked address.\n",
                    ticket.reference,
                    ticket.subject,
                    lines.join("\n")
                ),
            ));
            notices.push(n);
        }
    }
    (flags, marks, notices)
}
