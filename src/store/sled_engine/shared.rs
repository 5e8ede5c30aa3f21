//! Desk-wide values in `meta`, by name.

use super::*;
use crate::store::engine::Shared;

impl Shared for Sled {
    fn shared(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .meta
            .get(key)
            .map_err(self.io("read a desk-wide value"))?
            .map(|v| v.to_vec()))
    }

    fn set_shared(&self, key: &str, value: &[u8]) -> Result<()> {
        self.meta
            .insert(key, value)
            .map_err(self.io("store a desk-wide value"))?;
        Ok(())
    }

    fn shared_or_insert(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        // One process holds a sled store: compare-and-swap from nothing
        // is enough.
        let _ = self
            .meta
            .compare_and_swap(key, None as Option<&[u8]>, Some(value))
            .map_err(self.io("store a desk-wide value"))?;
        Ok(self.shared(key)?.unwrap_or_else(|| value.to_vec()))
    }
}
