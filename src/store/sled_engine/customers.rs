//! [`Customers`] over the `customers` tree: keys `email 0 ticket`.

use super::*;
use crate::store::engine::Customers;

impl Customers for Sled {
    fn tickets_of_customer(&self, email: &str) -> Result<Vec<u64>> {
        let mut prefix = email.to_ascii_lowercase().into_bytes();
        prefix.push(0);
        self.customers
            .scan_prefix(&prefix)
            .map(|r| {
                let (k, _) = r.map_err(self.io("read customers"))?;
                Ok(k.get(prefix.len()..).and_then(be_u64).unwrap_or(0))
            })
            .collect()
    }

    fn customers_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u64>)>> {
        let start = match after {
            // Every key of `after` is `after\0…`: the next address starts
            // past `after\x01`.
            Some(a) => {
                let mut k = a.to_ascii_lowercase().into_bytes();
                k.push(1);
                k
            }
            None => Vec::new(),
        };
        let mut page: Vec<(String, Vec<u64>)> = Vec::new();
        for r in self.customers.range(start..) {
            let (k, _) = r.map_err(self.io("read customers"))?;
            let Some(split) = k.iter().position(|b| *b == 0) else {
                continue;
            };
            let email = String::from_utf8_lossy(&k[..split]).into_owned();
            let ticket = k.get(split + 1..).and_then(be_u64).unwrap_or(0);
            let full = page.len() == limit;
            match page.last_mut() {
                Some((e, tickets)) if *e == email => tickets.push(ticket),
                _ if full => break,
                _ => page.push((email, vec![ticket])),
            }
        }
        Ok(page)
    }
}
