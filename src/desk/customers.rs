//! `customers list` and `customers show`: what the desk knows of a person,
//! read from the customer index (their tickets) and the address marks.

use crate::api::{CustomerSummary, CustomerTicket, CustomerView};
use crate::store::{Staged, StoreError};
use crate::ticket::{Status, Ticket};

use super::Desk;

/// The most a page may hold; a caller asking for more pages again.
pub const MAX_PAGE: usize = 500;

impl Desk {
    /// Every ticket a customer asked, newest first (merged ones left out:
    /// they live on in the ticket they joined).
    fn customer_tickets(&self, address: &str) -> Result<Vec<Ticket>, StoreError> {
        let staged = Staged::default();
        let mut tickets = Vec::new();
        for n in self.store.tickets_of_customer(address)? {
            if let Some(t) = self.store.ticket(&staged, n)? {
                if t.merged_into.is_none() {
                    tickets.push(t);
                }
            }
        }
        tickets.sort_by_key(|t| std::cmp::Reverse(t.updated));
        Ok(tickets)
    }

    pub(super) fn customer(&self, address: &str) -> Result<Option<CustomerView>, StoreError> {
        let address = address.trim().to_ascii_lowercase();
        let tickets = self.customer_tickets(&address)?;
        let mark = self.store.mark(&Staged::default(), &address)?;
        let erasure = if crate::privacy::is_pseudonym(&address) {
            self.store.erasure(&address)?
        } else {
            None
        };
        if tickets.is_empty() && mark.is_none() && erasure.is_none() {
            return Ok(None);
        }
        Ok(Some(CustomerView {
            name: tickets
                .iter()
                .find_map(|t| t.requester.name.clone().filter(|n| !n.is_empty())),
            organization: self.config.organization_of(&address),
            language: tickets
                .iter()
                .filter_map(|t| t.language.clone())
                .max_by_key(|l| l.at),
            tickets: tickets
                .iter()
                .map(|t| CustomerTicket {
                    reference: t.reference.clone(),
                    status: t.status,
                    subject: t.subject.clone(),
                    updated: t.updated,
                    rating: t.survey.as_ref().and_then(|s| s.score),
                })
                .collect(),
            mark,
            erasure,
            address,
        }))
    }

    pub(super) fn customers(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<CustomerSummary>, Option<String>), StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let page = self.store.customers_page(after, limit + 1)?;
        let more = page.len() > limit;
        let mut out = Vec::new();
        for (address, _) in page.into_iter().take(limit) {
            let tickets = self.customer_tickets(&address)?;
            out.push(CustomerSummary {
                organization: self.config.organization_of(&address),
                tickets: tickets.len(),
                open: tickets
                    .iter()
                    .filter(|t| !matches!(t.status, Status::Resolved | Status::Closed))
                    .count(),
                last_update: tickets.first().map(|t| t.updated),
                address,
            });
        }
        let next = more
            .then(|| out.last().map(|c| c.address.clone()))
            .flatten();
        Ok((out, next))
    }
}
