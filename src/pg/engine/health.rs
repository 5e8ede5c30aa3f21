//! Health over PostgreSQL: a probe row in `meta`. A failed
//! statement is not sticky here (the server may come back), so the
//! engine records no [`crate::store::fault::Fault`]; sizes are psql's.

use super::{PgEngine, Result};
use crate::store::engine::Health;

impl Health for PgEngine {
    /// A real write, committed (and so durable): a full disk or a
    /// read-only server fails it, as it would fail intake.
    fn probe(&self) -> Result<()> {
        let now = chrono::Utc::now().timestamp().to_be_bytes();
        self.rows(
            "write a probe",
            "INSERT INTO meta (key, value) VALUES ('probe'::bytea, $1) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&&now[..]],
        )?;
        Ok(())
    }
}
