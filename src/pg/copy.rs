//! `postdesk migrate --from sled DIR --to postgres`: a sled desk copied
//! into an empty PostgreSQL database, then verified.
//!
//! The desk is read through [`Store::export`], the backup's reading (one
//! moment of the desk, writes paused), as a stream: an OS pipe from the
//! export to a thread that decodes records ([`crate::store::portable`])
//! into rows, and a bounded channel of batches from there to binary COPY.
//! Memory stays bounded by a few batches whatever the desk's size.
//!
//! The whole copy is one transaction: a move that fails half-way leaves
//! the database as empty as it was, so running it again is the way to
//! resume, and a database that holds records already is refused (two
//! desks must not mix). Before the commit every table is read back in
//! the same transaction; its row count and checksum
//! ([`super::rows::Digest`]) must equal those of the rows sent, else
//! nothing is committed.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::ToSql;

use super::portal::for_each_row;
use super::rows::{row_of, Digest, Table, Value};
use super::schema::{self, Version};
use super::{PgError, Settings};
use crate::store::codec::Codec;
use crate::store::portable::{decode_records, Reader};
use crate::store::Store;

/// Rows sent per batch (fewer when they are large).
const BATCH_ROWS: usize = 1000;
const BATCH_BYTES: usize = 8 << 20;
/// Batches in flight between the decoding thread and the database.
const IN_FLIGHT: usize = 4;
/// The `meta` key the token secret is kept under in the database.
pub const SECRET_KEY: &str = "token_secret";

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error(transparent)]
    Pg(#[from] PgError),
    #[error("{0} holds no sled store (no {0}/store)\n  hint: give the desk's state_dir, where `store` and `secret` are")]
    NoStore(std::path::PathBuf),
    #[error("reading the sled store: {0}")]
    Source(String),
    #[error("the database {at} already holds records (in {tables})\n  hint: a move goes into an empty database only; create a new one, or drop this one's tables if it is a failed experiment")]
    NotEmpty { at: String, tables: String },
    #[error("the database {at} does not hold what was sent ({tables}): nothing was committed")]
    Mismatch { at: String, tables: String },
}

/// One table's rows and checksum as sent and as read back.
#[derive(Debug, Clone)]
pub struct TableReport {
    pub table: &'static str,
    pub sent: Digest,
    pub stored: Digest,
}

impl TableReport {
    pub fn ok(&self) -> bool {
        self.sent == self.stored
    }
}

/// What a move did.
#[derive(Debug, Clone)]
pub struct Moved {
    pub at: String,
    /// Schema version before and now.
    pub schema_before: u32,
    pub schema: Version,
    pub tables: Vec<TableReport>,
    /// Records per sled tree, as the export counted them.
    pub trees: BTreeMap<String, u64>,
    pub secret: bool,
}

struct Batch {
    table: Table,
    rows: Vec<Vec<Value>>,
}

/// Copies the sled desk in `state_dir` into the database, verifies it and
/// commits; see the module docs.
pub async fn from_sled(state_dir: &Path, settings: &Settings) -> Result<Moved, MoveError> {
    if !state_dir.join("store").is_dir() {
        return Err(MoveError::NoStore(state_dir.to_path_buf()));
    }
    let at = settings.describe();
    let pool = settings.pool()?;
    let mut conn = settings.connection(&pool).await?;
    let client: &mut tokio_postgres::Client = &mut conn;
    let (schema_before, schema) = schema::apply(client, &at).await?;
    let tx = client
        .transaction()
        .await
        .map_err(PgError::query(&at, "begin"))?;
    let all = Table::ALL.map(|t| t.name()).join(", ");
    // A second move into the same database waits here, then finds it full.
    tx.batch_execute(&format!("LOCK TABLE {all} IN SHARE ROW EXCLUSIVE MODE"))
        .await
        .map_err(PgError::query(&at, "lock the tables"))?;
    let mut full = Vec::new();
    for t in Table::ALL {
        let row = tx
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {})", t.name()), &[])
            .await
            .map_err(PgError::query(&at, "look for records"))?;
        if row.get::<_, bool>(0) {
            full.push(t.name());
        }
    }
    if !full.is_empty() {
        return Err(MoveError::NotEmpty {
            at,
            tables: full.join(", "),
        });
    }

    let secret = match std::fs::read(state_dir.join(crate::token::SECRET_FILE)) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(MoveError::Source(format!("the token secret: {e}"))),
    };
    let had_secret = secret.is_some();
    let (pipe_in, pipe_out) =
        std::io::pipe().map_err(|e| MoveError::Source(format!("cannot make a pipe: {e}")))?;
    let dir = state_dir.to_path_buf();
    // The exporting store's codec unpacks the mail; it is handed over
    // once the store is open.
    let (codec_out, codec_in) = std::sync::mpsc::sync_channel(1);
    let exporter = tokio::task::spawn_blocking(move || export(&dir, pipe_out, codec_out));
    let (batches, mut incoming) = tokio::sync::mpsc::channel::<Batch>(IN_FLIGHT);
    let decoder =
        tokio::task::spawn_blocking(move || rows_of_stream(pipe_in, codec_in, secret, batches));

    let sent = write_batches(&tx, &at, &mut incoming).await;
    // On an error the decoder sees the channel close, reads the export to
    // its end and stops; then both threads are done.
    drop(incoming);
    let decoded = decoder
        .await
        .map_err(|e| MoveError::Source(format!("the decoding thread failed: {e}")))?;
    let exported = exporter
        .await
        .map_err(|e| MoveError::Source(format!("the export thread failed: {e}")))?;
    let trees = exported?;
    let sent_digests = decoded?;
    sent?;

    let mut tables = Vec::new();
    for t in Table::ALL {
        tables.push(TableReport {
            table: t.name(),
            sent: sent_digests.get(&t).copied().unwrap_or_default(),
            stored: read_back(&tx, &at, t).await?,
        });
    }
    let wrong: Vec<&str> = tables.iter().filter(|r| !r.ok()).map(|r| r.table).collect();
    if !wrong.is_empty() {
        return Err(MoveError::Mismatch {
            at,
            tables: wrong.join(", "),
        });
    }
    tx.commit().await.map_err(PgError::query(&at, "commit"))?;
    Ok(Moved {
        at,
        schema_before,
        schema,
        tables,
        trees,
        secret: had_secret,
    })
}

/// The export, into the pipe. The store is opened here, so a daemon that
/// holds it makes this fail with the store's own message.
fn export(
    dir: &Path,
    pipe: std::io::PipeWriter,
    codec: std::sync::mpsc::SyncSender<std::sync::Arc<Codec>>,
) -> Result<BTreeMap<String, u64>, MoveError> {
    // On failure the pipe and the sender drop here, and the decoder stops.
    let store = Store::open(dir).map_err(|e| MoveError::Source(e.to_string()))?;
    codec
        .send(store.codec())
        .map_err(|_| MoveError::Source("the decoding thread stopped".into()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, pipe);
    let counts = store
        .export(&mut out)
        .and_then(|c| out.flush().map(|()| c))
        .map_err(|e| MoveError::Source(format!("export: {e}")))?;
    Ok(counts)
}

/// Decodes the export into batches of rows (the token secret first) and
/// counts what it sends. On any error it still reads the export to its
/// end, so the exporting thread is never left writing into a closed pipe.
fn rows_of_stream(
    pipe: std::io::PipeReader,
    codec: std::sync::mpsc::Receiver<std::sync::Arc<Codec>>,
    secret: Option<Vec<u8>>,
    batches: tokio::sync::mpsc::Sender<Batch>,
) -> Result<BTreeMap<Table, Digest>, MoveError> {
    let mut input = std::io::BufReader::with_capacity(1 << 20, pipe);
    let result = match codec.recv() {
        Ok(codec) => decode_all(&mut input, &codec, secret, &batches),
        Err(_) => Err(MoveError::Source(
            "the store could not be opened for the export".into(),
        )),
    };
    if result.is_err() {
        let _ = std::io::copy(&mut input, &mut std::io::sink());
    }
    result
}

fn decode_all(
    input: &mut dyn Read,
    codec: &Codec,
    secret: Option<Vec<u8>>,
    batches: &tokio::sync::mpsc::Sender<Batch>,
) -> Result<BTreeMap<Table, Digest>, MoveError> {
    let mut digests: BTreeMap<Table, Digest> = BTreeMap::new();
    let mut batch: Option<Batch> = None;
    let mut bytes = 0usize;
    let gone = || MoveError::Source("the database side stopped".into());
    let mut push = |table: Table, row: Vec<Value>, batch: &mut Option<Batch>| {
        digests.entry(table).or_default().add(&row);
        let size: usize = row
            .iter()
            .map(|v| match v {
                Value::Bytes(b) | Value::Json(b) => b.len(),
                Value::Text(s) => s.len(),
                _ => 8,
            })
            .sum();
        let full = batch.as_ref().is_some_and(|b| {
            b.table != table || b.rows.len() >= BATCH_ROWS || bytes + size > BATCH_BYTES
        });
        if full {
            if let Some(b) = batch.take() {
                batches.blocking_send(b).map_err(|_| gone())?;
            }
            bytes = 0;
        }
        bytes += size;
        batch
            .get_or_insert_with(|| Batch {
                table,
                rows: Vec::new(),
            })
            .rows
            .push(row);
        Ok::<(), MoveError>(())
    };
    if let Some(s) = secret {
        push(
            Table::Meta,
            vec![
                Value::Bytes(SECRET_KEY.as_bytes().to_vec()),
                Value::Bytes(s),
            ],
            &mut batch,
        )?;
    }
    let mut aside: Option<Batch> = None;
    let mut reader = Reader::new(input).map_err(|e| MoveError::Source(format!("export: {e}")))?;
    while let Some((tree, k, v)) = reader
        .next_record()
        .map_err(|e| MoveError::Source(format!("export: {e}")))?
    {
        let records = decode_records(&tree, &k, &v, codec)
            .map_err(|e| MoveError::Source(format!("{tree} record {}: {e}", key_text(&k))))?;
        for record in &records {
            let (table, row) = row_of(record)
                .map_err(|e| MoveError::Source(format!("{tree} record {}: {e}", key_text(&k))))?;
            // Notifications riding in index entries come between those
            // entries: batched aside, so each table stays one COPY run.
            if table == Table::Notified && tree == "msgids" {
                push(table, row, &mut aside)?;
            } else {
                push(table, row, &mut batch)?;
            }
        }
    }
    for b in [batch.take(), aside.take()].into_iter().flatten() {
        batches.blocking_send(b).map_err(|_| gone())?;
    }
    Ok(digests)
}

/// A key for an error message: text when it is, else hex.
fn key_text(k: &[u8]) -> String {
    match std::str::from_utf8(k) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_string(),
        _ => k.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// Writes the batches with binary COPY, one COPY per run of one table.
async fn write_batches(
    tx: &tokio_postgres::Transaction<'_>,
    at: &str,
    incoming: &mut tokio::sync::mpsc::Receiver<Batch>,
) -> Result<(), MoveError> {
    let mut current: Option<(Table, std::pin::Pin<Box<BinaryCopyInWriter>>)> = None;
    while let Some(batch) = incoming.recv().await {
        if current.as_ref().map(|(t, _)| *t) != Some(batch.table) {
            if let Some((_, mut w)) = current.take() {
                w.as_mut()
                    .finish()
                    .await
                    .map_err(PgError::query(at, "copy rows"))?;
            }
            let t = batch.table;
            let sink = tx
                .copy_in(&format!(
                    "COPY {} ({}) FROM STDIN (FORMAT binary)",
                    t.name(),
                    t.column_list()
                ))
                .await
                .map_err(PgError::query(at, "start copying rows"))?;
            let types: Vec<_> = t.columns().iter().map(|(_, ty)| ty.clone()).collect();
            current = Some((t, Box::pin(BinaryCopyInWriter::new(sink, &types))));
        }
        if let Some((t, w)) = current.as_mut() {
            for row in &batch.rows {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                w.as_mut()
                    .write(&refs)
                    .await
                    .map_err(PgError::query(at, &format!("copy into {}", t.name())))?;
            }
        }
    }
    if let Some((_, mut w)) = current.take() {
        w.as_mut()
            .finish()
            .await
            .map_err(PgError::query(at, "copy rows"))?;
    }
    Ok(())
}

/// A table's rows and checksum as the database holds them, read in
/// pages through a portal so memory stays bounded.
pub async fn read_back(
    tx: &tokio_postgres::Transaction<'_>,
    at: &str,
    table: Table,
) -> Result<Digest, PgError> {
    let stmt = tx
        .prepare(&format!(
            "SELECT {} FROM {}",
            table.column_list(),
            table.name()
        ))
        .await
        .map_err(PgError::query(at, "read back"))?;
    let what = format!("read back {}", table.name());
    let mut digest = Digest::default();
    let each = |row: tokio_postgres::Row| {
        let values = super::rows::values(&row).map_err(PgError::query(at, &what))?;
        digest.add(&values);
        Ok(())
    };
    for_each_row(tx, &stmt, &[], 500, |e| PgError::query(at, &what)(e), each).await?;
    Ok(digest)
}
