//! Desk-wide values in `meta (key bytea, value bytea)`.

use super::{failed, PgEngine, Result};
use crate::store::engine::Shared;
use crate::store::StoreError;

impl Shared for PgEngine {
    fn shared(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.meta(key)
    }

    fn set_shared(&self, key: &str, value: &[u8]) -> Result<()> {
        self.rows(
            "store a desk-wide value",
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key.as_bytes(), &value],
        )?;
        Ok(())
    }

    fn shared_or_insert(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        let what = "store a desk-wide value";
        // The first node's value wins; every node reads the one stored.
        let rows = self.rows(
            what,
            "WITH ins AS (INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO NOTHING RETURNING value) \
             SELECT value FROM ins UNION ALL SELECT value FROM meta WHERE key = $1",
            &[&key.as_bytes(), &value],
        )?;
        if let Some(r) = rows.first() {
            return r.try_get(0).map_err(failed(what));
        }
        // Two nodes starting at once on a fresh database: this insert
        // waited for the other's, then did nothing, and the statement's
        // snapshot (taken before the other committed) does not show the
        // other's row either. A new statement sees it.
        match self.meta(key)? {
            Some(v) => Ok(v),
            None => Err(StoreError::Corrupt {
                what: "a desk-wide value",
                detail: format!("`{key}` was neither stored nor found"),
            }),
        }
    }
}
