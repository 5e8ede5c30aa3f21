//! The PostgreSQL schema and its migrations (`src/pg/migrations/`,
//! embedded at build time and applied by refinery, which records each in
//! `refinery_schema_history`).
//!
//! Design, from the sled layout in [`crate::store`]:
//! - One table per kind of record, keyed as the sled tree is. Each record
//!   is kept whole as `json` (not `jsonb`): byte for byte what postdesk
//!   wrote, so adding a field stays a `#[serde(default)]` and not a
//!   migration, a move can be checked by checksum, and `\u0000` in a
//!   customer's subject (which jsonb refuses) is kept.
//! - What is filtered or ordered by is a column beside the record, with an
//!   index: tickets by last update overall and per status, queue, assignee
//!   and requester (what `tickets list` filters by; requester and assignee
//!   lowercased, as the query compares them), by next deadline (the
//!   timers: a column, not a table, since the deadline is the ticket's own
//!   `timer_due`); the outbox by next attempt among queued entries. The
//!   secondary sled trees (`ticket_index`, `outq`, `timers`,
//!   `ticket_timer`) are these indexes and have no table.
//! - A message's mail is `bytea`. Until V5 it was stored as received and
//!   PostgreSQL compressed large values itself (TOAST); since V6 postdesk
//!   packs it (zstd, with the desk's mail dictionary since V8;
//!   [`crate::pg::mail`]) and `packed` says which a row holds; since V7
//!   the outbox's mail too (no dictionary). Quarantined mail stays as
//!   received.
//! - Keys that come from mail (Message-IDs, addresses) are `bytea`, since
//!   `text` cannot hold NUL and a hostile header can.
//! - `nodes` and `leases` are for several daemons on one database: who is
//!   alive, and who holds which inbox with a fencing token.
//! - V2: due times (`outbox.next_attempt`, `tickets.timer_due`) are kept
//!   in whole milliseconds, as sled's keys have them, so that both
//!   engines order due work alike and the index serves that order; and
//!   claims (`claimed_by`, `claim_until`; `timer_claimed_by`,
//!   `timer_claim_until`), taken with `FOR UPDATE SKIP LOCKED`, so that
//!   several nodes share the outbox and the timers without doing the same
//!   entry twice. A claim runs by the database's clock, as leases do.
//! - V5: a ticket's report summary (V3) is checked against its record when
//!   the row is written, by a trigger, instead of on every read, so that
//!   `stats` reads the summaries without hashing every record.
//! - V6: `messages.packed`, and `raw` stored `EXTERNAL` (out of line, not
//!   compressed again by the server): see the migration for why.
//! - V7: the same for `outbox.body` (a plan, then the built mail): the
//!   server's compression of it was the costliest statement of IMAP
//!   intake.
//! - V8: `mail_dicts` (the desk's mail dictionaries, one `current`) and
//!   `messages.dict` (the one a row is packed with): see
//!   `engine/dictionaries.rs`.
//! - V9: `messages.dict` references `mail_dicts`, so that no row can name
//!   a dictionary an erasure's re-pack deleted (a node that had not yet
//!   loaded the new one could write such a row a moment after the
//!   re-pack's own check).
//!
//! A database with a newer schema than this build knows is refused, by
//! [`apply`] and [`check`] alike: an older postdesk must not write records
//! a newer one laid out differently.

use super::PgError;

mod embedded {
    refinery::embed_migrations!("src/pg/migrations");
}

/// Where the schema stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Version {
    /// Applied in the database (0: none yet).
    pub database: u32,
    /// The newest this build knows.
    pub known: u32,
}

/// The newest schema version this build knows.
pub fn latest() -> u32 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| u32::try_from(m.version()).unwrap_or(0))
        .max()
        .unwrap_or(0)
}

/// The highest version applied to the database (0 on an empty one).
pub async fn applied(client: &tokio_postgres::Client, at: &str) -> Result<u32, PgError> {
    let row = client
        .query_one(
            "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
            &[],
        )
        .await
        .map_err(PgError::query(at, "read the schema version"))?;
    if !row.get::<_, bool>(0) {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM refinery_schema_history",
            &[],
        )
        .await
        .map_err(PgError::query(at, "read the schema version"))?;
    Ok(u32::try_from(row.get::<_, i64>(0)).unwrap_or(u32::MAX))
}

fn too_new(at: &str, v: Version) -> PgError {
    PgError::Other {
        at: at.to_string(),
        message: format!(
            "the database has schema version {}, this postdesk knows up to {}\n  hint: run the newer postdesk that migrated it",
            v.database, v.known
        ),
    }
}

/// Applies every pending migration, in one transaction, under an advisory
/// lock so that two `migrate` runs cannot interleave. Returns the versions
/// before (`database`) and the one now in place.
pub async fn apply(
    client: &mut tokio_postgres::Client,
    at: &str,
) -> Result<(u32, Version), PgError> {
    // Any constant works as long as every postdesk uses the same one.
    const LOCK: i64 = 0x706f_7374_6465_736b; // "postdesk"
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK])
        .await
        .map_err(PgError::query(at, "take the migration lock"))?;
    let result = apply_locked(client, at).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK])
        .await
        .map_err(PgError::query(at, "release the migration lock"));
    let done = result?;
    unlocked?;
    Ok(done)
}

async fn apply_locked(
    client: &mut tokio_postgres::Client,
    at: &str,
) -> Result<(u32, Version), PgError> {
    let before = applied(client, at).await?;
    let known = latest();
    if before > known {
        return Err(too_new(
            at,
            Version {
                database: before,
                known,
            },
        ));
    }
    embedded::migrations::runner()
        .set_grouped(true)
        .run_async(client)
        .await
        .map_err(|e| PgError::Other {
            at: at.to_string(),
            message: format!("migration failed, nothing was changed: {e}"),
        })?;
    let now = applied(client, at).await?;
    Ok((
        before,
        Version {
            database: now,
            known,
        },
    ))
}

/// Checks at start that the database has exactly this build's schema.
pub async fn check(client: &tokio_postgres::Client, at: &str) -> Result<Version, PgError> {
    let v = Version {
        database: applied(client, at).await?,
        known: latest(),
    };
    if v.database > v.known {
        return Err(too_new(at, v));
    }
    if v.database < v.known {
        return Err(PgError::Other {
            at: at.to_string(),
            message: format!(
                "the database has schema version {}, this postdesk needs {}\n  hint: run `postdesk migrate`",
                v.database, v.known
            ),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_migrations_are_embedded_in_order() {
        let runner = super::embedded::migrations::runner();
        let versions: Vec<u32> = runner
            .get_migrations()
            .iter()
            .map(|m| u32::try_from(m.version()).expect("positive"))
            .collect();
        assert_eq!(versions.first(), Some(&1));
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        assert_eq!(super::latest(), *versions.last().expect("one"));
    }
}
