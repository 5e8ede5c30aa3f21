//! Reading a query's rows in batches through a portal (a server-side
//! cursor in the caller's transaction), the way the PostgreSQL store
//! reads whole tables: memory stays bounded by one batch whatever the
//! table's size, and every row comes from the transaction's snapshot.

use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row, Statement, Transaction};

/// Binds `statement` to `params` in `tx` and hands each row it yields to
/// `row`, `batch` rows per round trip, until the portal is empty.
/// `failed` puts a database error in the caller's terms. The first error,
/// the database's or `row`'s, ends the read and is returned.
pub async fn for_each_row<E>(
    tx: &Transaction<'_>,
    statement: &Statement,
    params: &[&(dyn ToSql + Sync)],
    batch: usize,
    failed: impl Fn(Error) -> E,
    mut row: impl FnMut(Row) -> Result<(), E>,
) -> Result<(), E> {
    let portal = tx.bind(statement, params).await.map_err(&failed)?;
    let batch = i32::try_from(batch).unwrap_or(i32::MAX);
    loop {
        let rows = tx.query_portal(&portal, batch).await.map_err(&failed)?;
        if rows.is_empty() {
            return Ok(());
        }
        for r in rows {
            row(r)?;
        }
    }
}
