//! [`Backup`] over the tables: every table read through a server-side
//! cursor in one read-only REPEATABLE READ transaction (one snapshot: one
//! moment of the desk), rows turned back into records by
//! [`rows::record_of`]; records written with binary COPY, a run of one
//! table at a time, in one transaction.

use std::collections::BTreeMap;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::ToSql;
use tokio_postgres::IsolationLevel;

use super::{failed, PgEngine, Result};
use crate::pg::copy::SECRET_KEY;
use crate::pg::portal::for_each_row;
use crate::pg::rows::{self, Table, Value};
use crate::store::engine::Backup;
use crate::store::portable::Record;
use crate::store::StoreError;

/// Rows per round trip of the export, and per COPY of the import.
const BATCH_ROWS: usize = 1000;
/// Bytes of rows held before they are copied.
const BATCH_BYTES: usize = 8 << 20;

/// The tables in export order: an index entry before the notification
/// an engine may keep in it (see [`Backup::import_records`]).
const ORDER: [Table; 12] = [
    Table::Meta,
    Table::Tickets,
    Table::Messages,
    Table::Msgids,
    Table::Notified,
    Table::Customers,
    Table::Quarantine,
    Table::QuarantineRaw,
    Table::Cursors,
    Table::Outbox,
    Table::Guard,
    Table::Erasures,
];

fn bad_row(e: rows::RowError) -> StoreError {
    StoreError::Corrupt {
        what: "row",
        detail: e.to_string(),
    }
}

impl Backup for PgEngine {
    /// The token secret, which a move keeps in `meta`, is not a record:
    /// a desk's secret travels beside its records (the backup's secret
    /// file), never in an export of them.
    fn export_records(&self, f: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
        let what = "export";
        self.rt.block_on(async {
            let mut client =
                self.settings
                    .connection(&self.pool)
                    .await
                    .map_err(|e| StoreError::Pg {
                        what,
                        detail: e.to_string(),
                    })?;
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(failed(what))?;
            // The dictionaries the snapshot's rows are packed with.
            let codec = super::dictionaries::codec_in(&tx)
                .await
                .map_err(failed(what))?;
            for table in ORDER {
                let statement = tx
                    .prepare(&format!(
                        "SELECT {} FROM {}",
                        table.column_list(),
                        table.name()
                    ))
                    .await
                    .map_err(failed(what))?;
                let each = |row: tokio_postgres::Row| {
                    let values = rows::values(&row).map_err(failed(what))?;
                    let secret = table == Table::Meta
                        && matches!(values.first(), Some(Value::Bytes(k)) if k == SECRET_KEY.as_bytes());
                    if !secret {
                        f(rows::record_of(table, values, &codec).map_err(bad_row)?)?;
                    }
                    Ok(())
                };
                for_each_row(&tx, &statement, &[], BATCH_ROWS, failed(what), each).await?;
            }
            tx.commit().await.map_err(failed(what))
        })
    }

    /// One transaction, refused when any table holds a row; rows are
    /// gathered per table and copied when a table's gather is full, so
    /// interleaved records (an index entry, its notification) still make
    /// few COPY runs, and memory is bounded by the gathers.
    fn import_records(&self, next: &mut dyn FnMut() -> Result<Option<Record>>) -> Result<u64> {
        self.import(next, false)
    }

    /// The tables are emptied (`TRUNCATE`) in the import's transaction:
    /// an import that fails, or that `next` refuses at its end, leaves
    /// the records that were there.
    fn replace_records(&self, next: &mut dyn FnMut() -> Result<Option<Record>>) -> Result<u64> {
        self.import(next, true)
    }
}

impl PgEngine {
    /// [`Backup::import_records`], into empty tables or, with `replace`,
    /// into tables emptied first in the same transaction.
    fn import(
        &self,
        next: &mut dyn FnMut() -> Result<Option<Record>>,
        replace: bool,
    ) -> Result<u64> {
        let what = "import";
        let done = self.rt.block_on(async {
            let mut client =
                self.settings
                    .connection(&self.pool)
                    .await
                    .map_err(|e| StoreError::Pg {
                        what,
                        detail: e.to_string(),
                    })?;
            let tx = client.transaction().await.map_err(failed(what))?;
            tx.execute("SELECT pg_advisory_xact_lock(20)", &[])
                .await
                .map_err(failed(what))?;
            if replace {
                let tables: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
                tx.execute(&format!("TRUNCATE {}", tables.join(", ")), &[])
                    .await
                    .map_err(failed(what))?;
            }
            for t in Table::ALL {
                // The token secret is no record (see `export_records`):
                // any command that opened the desk made one, and a
                // restore overwrites it with the backup's.
                let secret = SECRET_KEY.as_bytes();
                let row = match t {
                    Table::Meta => {
                        tx.query_one(
                            "SELECT EXISTS (SELECT 1 FROM meta WHERE key <> $1::bytea)",
                            &[&secret],
                        )
                        .await
                    }
                    _ => {
                        let query = format!("SELECT EXISTS (SELECT 1 FROM {})", t.name());
                        tx.query_one(&query, &[]).await
                    }
                };
                let full: bool = row
                    .map_err(failed(what))?
                    .try_get(0)
                    .map_err(failed(what))?;
                if full {
                    return Err(StoreError::NotEmpty(t.name()));
                }
            }
            let mut gathered: BTreeMap<Table, (Vec<Vec<Value>>, usize)> = BTreeMap::new();
            let mut written = 0u64;
            while let Some(record) = next()? {
                let (table, row) = rows::row_of(&record).map_err(bad_row)?;
                let size: usize = row
                    .iter()
                    .map(|v| match v {
                        Value::Bytes(b) | Value::Json(b) => b.len(),
                        Value::Text(s) => s.len(),
                        _ => 8,
                    })
                    .sum();
                let (rows, bytes) = gathered.entry(table).or_default();
                rows.push(row);
                *bytes += size;
                written += 1;
                if rows.len() >= BATCH_ROWS || *bytes >= BATCH_BYTES {
                    let rows = std::mem::take(rows);
                    *bytes = 0;
                    copy(&tx, table, &rows).await.map_err(failed(what))?;
                }
            }
            for (table, (rows, _)) in gathered {
                copy(&tx, table, &rows).await.map_err(failed(what))?;
            }
            tx.commit().await.map_err(failed(what))?;
            Ok(written)
        });
        // What this node's turn had read may be old now.
        self.forget_reads();
        done
    }
}

/// One binary COPY of rows into a table.
async fn copy(
    tx: &tokio_postgres::Transaction<'_>,
    table: Table,
    rows: &[Vec<Value>],
) -> std::result::Result<(), tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            table.name(),
            table.column_list()
        ))
        .await?;
    let types: Vec<_> = table.columns().iter().map(|(_, ty)| ty.clone()).collect();
    let mut writer = Box::pin(BinaryCopyInWriter::new(sink, &types));
    for row in rows {
        let refs: Vec<&(dyn ToSql + Sync)> = row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        writer.as_mut().write(&refs).await?;
    }
    writer.as_mut().finish().await?;
    Ok(())
}
