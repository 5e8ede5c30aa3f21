//! Reads of the customer index: the tickets each requester opened.

use crate::store::Result;

/// The customer index as stored: by address (lowercase), the numbers of
/// the tickets that address opened.
pub trait Customers {
    /// Tickets the customer `email` (any case) has opened, oldest (lowest
    /// number) first.
    fn tickets_of_customer(&self, email: &str) -> Result<Vec<u64>>;

    /// Customers in address order (bytewise) strictly after `after` (any
    /// case), at most `limit` of them, each with their ticket numbers in
    /// ascending order. Reads the page, not the desk.
    fn customers_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u64>)>>;
}
