//! `postdesk migrate`: the PostgreSQL schema, and moving a sled desk into
//! a database (see [`crate::pg::copy`]).

use super::*;
use crate::pg::copy::MoveError;
use crate::pg::{PgError, Settings};

/// EX_UNAVAILABLE (sysexits.h): the database cannot be reached.
const EX_UNAVAILABLE: u8 = 69;

pub(super) fn migrate(
    config: &Config,
    from: &[String],
    to: Option<&str>,
    json: bool,
) -> Result<u8> {
    let usage = |m: &str| -> anyhow::Error {
        Exit {
            code: EX_USAGE,
            message: m.to_string(),
        }
        .into()
    };
    let source = match (from, to) {
        ([], None) => None,
        ([], Some(_)) => {
            return Err(usage(
                "--to needs --from: `postdesk migrate --from sled [DIR] --to postgres`",
            ))
        }
        (_, None) => {
            return Err(usage(
                "--from needs --to: `postdesk migrate --from sled [DIR] --to postgres`",
            ))
        }
        ([engine, rest @ ..], Some(to)) => {
            if engine != "sled" || to != "postgres" {
                return Err(usage(&format!(
                    "cannot move from `{engine}` to `{to}`: this postdesk moves a desk from sled to postgres (and back through `postdesk backup` and `restore`)"
                )));
            }
            Some(
                rest.first()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| config.state_dir().to_path_buf()),
            )
        }
    };
    let settings = Settings::from_config(&config.store).map_err(exit_of)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match source {
        None => runtime.block_on(apply(&settings, json)),
        Some(dir) => runtime.block_on(move_desk(&settings, &dir, json)),
    }
}

/// A PostgreSQL error with the exit code that says what kind it is.
fn exit_of(e: PgError) -> anyhow::Error {
    let code = match &e {
        PgError::Connect { .. } => EX_UNAVAILABLE,
        PgError::NotConfigured | PgError::Url(_) | PgError::Readable { .. } | PgError::Tls(_) => {
            EX_CONFIG
        }
        PgError::Query { .. } | PgError::Other { .. } => 1,
    };
    Exit {
        code,
        message: e.to_string(),
    }
    .into()
}

async fn apply(settings: &Settings, json: bool) -> Result<u8> {
    let at = settings.describe();
    let pool = settings.pool().map_err(exit_of)?;
    let mut conn = settings.connection(&pool).await.map_err(exit_of)?;
    let (before, v) = crate::pg::schema::apply(&mut conn, &at)
        .await
        .map_err(exit_of)?;
    // Whether this connection is encrypted, as the server sees it: what
    // `tls = "prefer"` ended up with is otherwise invisible.
    let tls = conn
        .query_one(
            "SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
            &[],
        )
        .await
        .map(|r| r.get::<_, bool>(0))
        .map_err(|e| {
            exit_of(PgError::Query {
                at: at.clone(),
                what: "read the connection's TLS state".into(),
                detail: crate::pg::detail(&e),
            })
        })?;
    let over = if tls { "over TLS" } else { "without TLS" };
    if json {
        let out = serde_json::json!({
            "tls": tls,
            "database": at,
            "before": before,
            "schema_version": v.database,
            "applied": v.database - before,
        });
        println!("{}", safe::json(serde_json::to_string_pretty(&out)?));
    } else if before == v.database {
        println!("{at} ({over}): schema version {}, up to date", v.database);
    } else {
        println!(
            "{at} ({over}): schema version {} (was {before}; applied {} migration{})",
            v.database,
            v.database - before,
            if v.database - before == 1 { "" } else { "s" }
        );
    }
    Ok(0)
}

async fn move_desk(settings: &Settings, dir: &std::path::Path, json: bool) -> Result<u8> {
    let moved = match crate::pg::copy::from_sled(dir, settings).await {
        Ok(m) => m,
        Err(MoveError::Pg(e)) => return Err(exit_of(e)),
        Err(e) => return Err(e.into()),
    };
    if json {
        let tables: Vec<serde_json::Value> = moved
            .tables
            .iter()
            .map(|t| {
                serde_json::json!({
                    "table": t.table,
                    "rows": t.stored.rows,
                    "sent": t.sent.rows,
                    "checksum": t.stored.hex(),
                    "ok": t.ok(),
                })
            })
            .collect();
        let out = serde_json::json!({
            "database": moved.at,
            "from": dir.display().to_string(),
            "schema_version": moved.schema.database,
            "tables": tables,
            "sled_trees": moved.trees,
            "secret": moved.secret,
        });
        println!("{}", safe::json(serde_json::to_string_pretty(&out)?));
        return Ok(0);
    }
    println!(
        "moved {} into {} (schema version {})",
        dir.display(),
        moved.at,
        moved.schema.database
    );
    println!(
        "{:<16} {:>10}  {:<64}  verified",
        "table", "rows", "checksum"
    );
    for t in &moved.tables {
        println!(
            "{:<16} {:>10}  {}  {}",
            t.table,
            t.stored.rows,
            t.stored.hex(),
            if t.ok() { "ok" } else { "DIFFERS" }
        );
    }
    if moved.secret {
        println!("the token secret was copied (meta `token_secret`)");
    }
    Ok(0)
}
