//! [`Customers`] over the `customers` table (primary key `(email,
//! ticket)`: both reads are ranges of it).

use super::{failed, PgEngine, Result};
use crate::store::engine::Customers;

impl Customers for PgEngine {
    fn tickets_of_customer(&self, email: &str) -> Result<Vec<u64>> {
        let email = email.to_ascii_lowercase();
        let generation = match self.recall(|c| c.customers.get(&email).cloned()) {
            Ok(hit) => return Ok(hit),
            Err(g) => g,
        };
        let found = self
            .rows(
                "read customers",
                "SELECT ticket FROM customers WHERE email = $1 ORDER BY ticket",
                &[&email.as_bytes()],
            )?
            .iter()
            .map(|r| {
                r.try_get::<_, i64>(0)
                    .map(|n| n.max(0) as u64)
                    .map_err(failed("read customers"))
            })
            .collect::<Result<Vec<u64>>>()?;
        self.remember(generation, |c| {
            c.customers.insert(email, found.clone());
        });
        Ok(found)
    }

    /// Keyset paging on the address: `bytea` compares bytewise, as sled's
    /// keys do, so both engines page in the same order.
    fn customers_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u64>)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // Two statements rather than `$1 IS NULL OR email > $1`, which
        // would not be planned as a range of the key.
        let rows = match after {
            Some(a) => self.rows(
                "read customers",
                "SELECT email, array_agg(ticket ORDER BY ticket) FROM customers \
                 WHERE email > $1 GROUP BY email ORDER BY email LIMIT $2",
                &[&a.to_ascii_lowercase().as_bytes(), &limit],
            )?,
            None => self.rows(
                "read customers",
                "SELECT email, array_agg(ticket ORDER BY ticket) FROM customers \
                 GROUP BY email ORDER BY email LIMIT $1",
                &[&limit],
            )?,
        };
        rows.iter()
            .map(|r| {
                let email: Vec<u8> = r.try_get(0).map_err(failed("read customers"))?;
                let tickets: Vec<i64> = r.try_get(1).map_err(failed("read customers"))?;
                Ok((
                    String::from_utf8_lossy(&email).into_owned(),
                    tickets.into_iter().map(|n| n.max(0) as u64).collect(),
                ))
            })
            .collect()
    }
}
