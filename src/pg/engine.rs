//! The PostgreSQL engine behind [`crate::store::engine::Engine`]: the
//! same primitives as the sled engine, over the V1 tables
//! (`migrations/V1__initial.sql`), which a move from sled
//! ([`super::copy`]) fills in the same shapes.
//!
//! One file per concept trait under `engine/` (see src/store/ENGINE.md).
//!
//! The trait is synchronous and the client async: the engine owns a
//! small runtime and blocks on it inside each primitive. Callers are
//! blocking threads (the daemon reaches the store through
//! `spawn_blocking`); blocking on a runtime's own worker would panic.

use super::{PgError, Settings};
use crate::store::StoreError;

mod backup;
mod behind;
mod cache;
mod claims;
mod customers;
mod dictionaries;
mod guard;
mod health;
mod intake;
mod listing;
mod messages;
mod outbox;
mod privacy;
mod quarantine;
mod shared;
mod timers;

pub use dictionaries::Recoded;

type Result<T> = std::result::Result<T, StoreError>;

/// Checked at build time: the engine has every primitive of the seam.
const _: fn() = || {
    fn engine<T: crate::store::engine::Engine>() {}
    engine::<PgEngine>();
};

pub struct PgEngine {
    settings: Settings,
    pool: deadpool_postgres::Pool,
    /// Drives the connections; one worker, as the callers block anyway.
    rt: Background,
    /// This node's write turn, while a decision holds it.
    turn: super::turn::Turn,
    /// The inbox leases this node holds (its daemon's lease loop keeps
    /// them): a write of mail from a leased inbox checks its fence.
    holds: std::sync::RwLock<Option<std::sync::Arc<super::lease::Holds>>>,
    /// Set when a staged set can never be written (its decision's write
    /// turn or an inbox's lease was lost under it): the daemon then closes
    /// the store, dropping the set, and opens it again; until then every
    /// write is refused, so that no source marks mail done that was not
    /// written. Nothing is lost: sources fetch unwritten mail again.
    fault: crate::store::fault::Fault,
    /// What decisions read while this node holds the turn ([`cache`]).
    cache: std::sync::Mutex<cache::Slot>,
    /// The mail dictionaries (schema V8): what new mail is packed with
    /// and every one a row may name ([`dictionaries`]).
    codec: std::sync::RwLock<std::sync::Arc<crate::store::codec::Codec>>,
    /// How many erasures the desk had when training samples were last
    /// read ([`PgEngine::install_dictionary`]).
    sampled_after: std::sync::atomic::AtomicI64,
    /// An import's batch being committed while the next is decided
    /// ([`behind`]).
    behind: std::sync::Mutex<behind::Behind>,
    /// Held by a write outside a decision while it takes and uses the
    /// turn ([`intake`]'s `write`).
    solo: std::sync::Mutex<()>,
}

impl std::fmt::Debug for PgEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgEngine({})", self.settings.describe())
    }
}

fn failed(what: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError + Copy {
    move |e| StoreError::Pg {
        what,
        detail: super::detail(&e),
    }
}

fn corrupt(what: &'static str) -> impl FnOnce(serde_json::Error) -> StoreError {
    move |e| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    }
}

/// A row's first column, a record as JSON text (`record::text`), read as
/// the `kind` it is: the one way the tables' records come back, so each
/// site says only what it reads (`what`, for a failed read) and what it
/// holds (`kind`, for an unreadable record).
fn record<T: serde::de::DeserializeOwned>(
    what: &'static str,
    kind: &'static str,
    row: &tokio_postgres::Row,
) -> Result<T> {
    let json: &str = row.try_get(0).map_err(failed(what))?;
    serde_json::from_str(json).map_err(corrupt(kind))
}

/// [`record`] of each row, in the rows' order.
fn records<T: serde::de::DeserializeOwned>(
    what: &'static str,
    kind: &'static str,
    rows: &[tokio_postgres::Row],
) -> Result<Vec<T>> {
    rows.iter().map(|r| record(what, kind, r)).collect()
}

/// The engine's runtime, shut down without waiting when the engine is
/// dropped: that may happen on an async thread (the daemon drops its last
/// desk there at exit), where a runtime's usual drop, which blocks, panics.
struct Background(Option<tokio::runtime::Runtime>);

impl std::ops::Deref for Background {
    type Target = tokio::runtime::Runtime;
    fn deref(&self) -> &tokio::runtime::Runtime {
        match &self.0 {
            Some(rt) => rt,
            None => unreachable!("the runtime is taken only when the engine is dropped"),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl PgEngine {
    /// Connects and checks that the database has a schema this build
    /// knows (`postdesk migrate` makes it).
    pub fn connect(settings: &Settings) -> std::result::Result<PgEngine, PgError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postdesk-pg")
            .enable_all()
            .build()
            .map_err(|e| PgError::Other {
                at: settings.describe(),
                message: format!("cannot start the PostgreSQL client: {e}"),
            })?;
        let pool = rt.block_on(async { settings.pool() })?;
        let engine = PgEngine {
            settings: settings.clone(),
            pool,
            rt: Background(Some(rt)),
            turn: Default::default(),
            holds: Default::default(),
            fault: Default::default(),
            cache: Default::default(),
            codec: Default::default(),
            sampled_after: (-1).into(),
            behind: Default::default(),
            solo: Default::default(),
        };
        engine.rt.block_on(async {
            let client = engine.settings.connection(&engine.pool).await?;
            super::schema::check(&client, &engine.settings.describe()).await
        })?;
        engine.load_codec().map_err(|e| PgError::Other {
            at: settings.describe(),
            message: e.to_string(),
        })?;
        Ok(engine)
    }

    /// Takes this node's write turn for a decision (see [`super::turn`]).
    /// While it is held, what decisions read is remembered ([`cache`]).
    pub fn enter(&self) -> Result<()> {
        // A batch written behind holds the turn's connection: the turn is
        // this node's, and the cache is as that write left it.
        if self.turn_lent() {
            return Ok(());
        }
        self.rt
            .block_on(self.turn.take(&self.settings, &self.pool))
            .map_err(|e| StoreError::Unreachable(e.to_string()))?;
        self.set_caching(true);
        Ok(())
    }

    /// Records that the staged set can never be written (see the `fault`
    /// field): the daemon reopens the store, which drops it.
    fn unwritable(&self, why: &str) -> StoreError {
        let error = format!("{why}: the staged batch is dropped and its mail fetched again");
        tracing::warn!(at = %self.settings.describe(), "{error}");
        self.fault.record(&error);
        StoreError::Unreachable(error)
    }

    /// Gives the write turn back.
    pub fn leave(&self) {
        // Kept while a batch is written behind ([`behind`]).
        if self.turn_lent() {
            return;
        }
        self.set_caching(false);
        self.rt.block_on(self.turn.give_back());
    }

    /// The leases this node's daemon holds, for the fence check of writes.
    pub fn set_holds(&self, holds: std::sync::Arc<super::lease::Holds>) {
        *self.holds.write().unwrap_or_else(|p| p.into_inner()) = Some(holds);
    }

    /// This node's hold on an inbox's lease now, if it has one: what mail
    /// staged from that inbox is written under.
    pub fn hold(&self, inbox: &str) -> Option<super::lease::Hold> {
        match &*self.holds.read().unwrap_or_else(|p| p.into_inner()) {
            Some(h) => h.of([inbox]).pop(),
            None => None,
        }
    }

    /// Runs one query on a pooled connection and returns its rows.
    fn rows(
        &self,
        what: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        self.rt.block_on(async {
            let client = self.client(what).await?;
            client.query(sql, params).await.map_err(failed(what))
        })
    }

    /// A pooled connection, its failure said as `what` failing, once the
    /// batch written behind (if any) is committed: reads never go around
    /// it ([`behind`]).
    async fn client(&self, what: &'static str) -> Result<deadpool_postgres::Object> {
        self.settle_async().await;
        self.client_now(what).await
    }

    /// A pooled connection, without waiting for a batch written behind:
    /// for the read-ahead, which completes its answers with that batch.
    async fn client_now(&self, what: &'static str) -> Result<deadpool_postgres::Object> {
        self.settings
            .connection(&self.pool)
            .await
            .map_err(|e| StoreError::Pg {
                what,
                detail: e.to_string(),
            })
    }

    /// The first column of the first row, if any.
    fn one<T>(
        &self,
        what: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<T>>
    where
        T: for<'a> tokio_postgres::types::FromSql<'a>,
    {
        match self.rows(what, sql, params)?.first() {
            Some(row) => row.try_get(0).map_err(failed(what)),
            None => Ok(None),
        }
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.one(
            "read meta",
            "SELECT value FROM meta WHERE key = $1",
            &[&key.as_bytes()],
        )
    }

    fn guard(&self, kind: &'static str, email: &str) -> Result<Option<String>> {
        let email = email.trim().to_ascii_lowercase();
        let key = (kind, email);
        let generation = match self.recall(|c| c.guards.get(&key).cloned()) {
            Ok(hit) => return Ok(hit),
            Err(g) => g,
        };
        let found: Option<String> = self.one(
            "read address guards",
            "SELECT record::text FROM guard WHERE kind = $1 AND email = $2",
            &[&kind, &key.1.as_bytes()],
        )?;
        self.remember(generation, |c| {
            c.guards.insert(key, found.clone());
        });
        Ok(found)
    }
}

fn to_i64(what: &'static str, n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt {
        what,
        detail: format!("{n} is out of PostgreSQL's range"),
    })
}

fn json_text<T: serde::Serialize>(what: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(corrupt(what))
}
