//! Small desk-wide values kept with the records: the ticket prefixes the
//! desk has used and, on a store several nodes share, the token secret
//! (so a reply address one node signed verifies on every other).

use crate::store::Result;

pub trait Shared {
    /// A stored desk-wide value.
    fn shared(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// Stores a desk-wide value, durably.
    fn set_shared(&self, key: &str, value: &[u8]) -> Result<()>;

    /// The stored value, storing `value` first if there is none: two
    /// nodes starting at once agree on one.
    fn shared_or_insert(&self, key: &str, value: &[u8]) -> Result<Vec<u8>>;
}
