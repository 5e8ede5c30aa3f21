//! The guards' scans over `guard (kind, email)`.

use super::{corrupt, failed, PgEngine, Result};
use crate::bounce;
use crate::store::engine::Guard;

impl Guard for PgEngine {
    /// By address: `bytea` orders byte by byte, as sled's keys.
    fn marks(&self) -> Result<Vec<bounce::Mark>> {
        let what = "read address marks";
        self.rows(
            what,
            "SELECT record::text FROM guard WHERE kind = 'mark' ORDER BY email",
            &[],
        )?
        .iter()
        .map(|r| {
            let record: String = r.try_get(0).map_err(failed(what))?;
            serde_json::from_str(&record).map_err(corrupt("address mark"))
        })
        .collect()
    }
}
