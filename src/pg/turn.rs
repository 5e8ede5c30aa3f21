//! The write turn: several `serve` nodes on one database decide one at a
//! time (see [`crate::store::Store::enter`]).
//!
//! Why one at a time and not optimistic transactions: a decision reads a
//! handful of things whose *absence* matters as much as their presence
//! (no ticket yet answers this Message-ID, so a new one is opened; the
//! highest ticket number, so the next one is that plus one; no timer was
//! fired yet). Two nodes deciding at once could both open a ticket for one
//! conversation. Checking every such read at commit is what SERIALIZABLE
//! does, at the price of retries that redo the whole decision; holding a
//! turn costs one lock round trip per batch, and a single desk decides
//! thousands of messages a second on one core, more than a support
//! address receives. Sending mail, the slow part, needs no turn: the
//! outbox is claimed entry by entry.
//!
//! The turn is a session-level advisory lock on one dedicated connection,
//! held from the first read of a decision to the commit of its batch; the
//! batch's transaction runs on that same connection. If the node dies,
//! its connection closes and the server drops the lock; a node whose
//! machine vanished is noticed by the server's TCP keepalives, which the
//! turn sets short on its session.

use tokio_postgres::GenericClient;

use super::{PgError, Settings};

/// The advisory lock key of the write turn ("pdturn"); every postdesk
/// uses the same one, and no other lock of postdesk uses it.
const TURN: i64 = 0x7064_7475_726e;

/// How long a node waits for the turn before it gives up the decision
/// and says so (its source retries; nothing was taken).
const WAIT: &str = "60s";

/// The connection holding the turn, while held.
pub struct Turn {
    held: std::sync::Mutex<Option<deadpool_postgres::Object>>,
}

impl Default for Turn {
    fn default() -> Self {
        Turn {
            held: std::sync::Mutex::new(None),
        }
    }
}

impl Drop for Turn {
    /// A turn dropped while held (its engine closed mid-batch) closes its
    /// connection rather than return it to the pool still holding the
    /// lock: the server then frees the turn.
    fn drop(&mut self) {
        if let Some(client) = self.slot().take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

impl Turn {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<deadpool_postgres::Object>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_held(&self) -> bool {
        self.slot().is_some()
    }

    /// Waits for the turn (at most [`WAIT`]) on a connection of `pool`,
    /// and keeps that connection until [`Turn::give_back`].
    pub async fn take(
        &self,
        settings: &Settings,
        pool: &deadpool_postgres::Pool,
    ) -> Result<(), PgError> {
        if self.is_held() {
            return Ok(());
        }
        let at = settings.describe();
        let client = settings.connection(pool).await?;
        client
            .batch_execute(&format!(
                "SET lock_timeout = '{WAIT}'; SET tcp_keepalives_idle = 5; \
                 SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3"
            ))
            .await
            .map_err(PgError::query(&at, "prepare the write turn's session"))?;
        match client
            .execute("SELECT pg_advisory_lock($1)", &[&TURN])
            .await
        {
            Ok(_) => {
                *self.slot() = Some(client);
                Ok(())
            }
            Err(e) => {
                let detail = super::detail(&e);
                // Never back to the pool in a state nobody knows.
                drop(deadpool_postgres::Object::take(client));
                Err(PgError::Query {
                    at,
                    what: format!(
                        "wait for the write turn (another node held it over {WAIT}: is one stuck?)"
                    ),
                    detail,
                })
            }
        }
    }

    /// Runs `f` on the connection holding the turn.
    pub async fn with<T, F>(&self, f: F) -> Option<T>
    where
        F: AsyncFnOnce(&mut deadpool_postgres::Object) -> T,
    {
        let mut client = self.lend()?;
        let out = f(&mut client).await;
        self.restore(client);
        Some(out)
    }

    /// Takes the connection holding the turn out, for a write that runs
    /// on it while this node goes on (an import's write-behind,
    /// [`crate::pg::engine`]'s `behind`). Until [`Turn::restore`] the
    /// turn reads as not held here: the lender must know it still is.
    pub fn lend(&self) -> Option<deadpool_postgres::Object> {
        // Taken out while in use: the caller is the one decision that
        // holds the turn, so nobody else looks meanwhile.
        self.slot().take()
    }

    /// Puts a lent connection back.
    pub fn restore(&self, client: deadpool_postgres::Object) {
        if client.is_closed() {
            // The server dropped the session, and the lock with it: the
            // turn is no longer held, and a dead connection kept here
            // would fail every later write of this node (and a pool
            // must not get it back either).
            drop(deadpool_postgres::Object::take(client));
        } else {
            *self.slot() = Some(client);
        }
    }

    /// Gives the turn back. A connection that cannot say so is closed
    /// instead, which gives the turn back too.
    pub async fn give_back(&self) {
        let Some(client) = self.slot().take() else {
            return;
        };
        if client
            .execute("SELECT pg_advisory_unlock($1)", &[&TURN])
            .await
            .is_err()
        {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// Whether some session holds this database's turn now (for tests and
/// `status`). `pg_locks` lists every database's locks, and every desk on
/// a cluster takes the same key in its own database.
pub async fn held_elsewhere(client: &impl GenericClient, at: &str) -> Result<bool, PgError> {
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND ((classid::bigint << 32) | objid::bigint) = $1",
            &[&TURN],
        )
        .await
        .map_err(PgError::query(at, "look for the write turn"))?;
    let n: i64 = row
        .try_get(0)
        .map_err(PgError::query(at, "look for the write turn"))?;
    Ok(n > 0)
}
