//! Health over PostgreSQL: a probe row in `meta`. A failed
//! statement is not sticky here (the server may come back); the one
//! [`crate::store::fault::Fault`] the engine records is a staged set that
//! can never be written (see `PgEngine::write`); sizes are psql's.

use super::{PgEngine, Result};
use crate::store::engine::Health;

impl Health for PgEngine {
    fn fault(&self) -> &crate::store::fault::Fault {
        &self.fault
    }

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
