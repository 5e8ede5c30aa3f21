//! A notice campaign's mail to one customer (`postdesk notify`): about
//! their ticket, in its thread, and under the same caps as every
//! automatic mail (an outage notice must not be the sixth mail in ten
//! minutes to someone, nor go to an address that bounced).

use super::*;

/// One recipient of a campaign.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// The notice's template (`notice_outage`).
    pub template: String,
    /// The campaign's id: with the template and the recipient it makes the
    /// Message-ID, so a campaign run twice queues one mail each.
    pub id: String,
    pub to: Person,
}

pub(super) fn campaign(ticket: Ticket, c: &Campaign, thread: &Thread, desk: &Desk<'_>) -> Decision {
    let mut d = Decision::about(ticket);
    let mut n = Notice::new(
        &c.template,
        vec![c.to.clone()],
        &format!("notice/{}", c.id),
        Auto::Generated,
    );
    n.continue_thread(&thread.ids);
    d.notices.push(n);
    d.events = d.hold(thread, desk);
    d
}
