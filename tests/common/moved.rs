//! A sled desk and a database of the test cluster beside it, for the
//! parity tests (tests/postgres_*.rs): the desk is filled through the
//! binary, moved with `postdesk migrate --from sled`, and then both
//! engines are asked the same questions.
//!
//! The database is named by a URL file (mode 600), not an environment
//! variable: tests run in parallel threads of one process, and each
//! would otherwise set a variable of its own for `PgEngine` to read.

use std::path::Path;
use std::process::Output;

use postdesk::pg::engine::PgEngine;
use postdesk::store::Store;

use super::{fresh_database, store_keys, Options, TestDesk};

/// A fresh database on the test cluster, not yet migrated.
pub struct Database {
    pub url: String,
    /// Its name on the cluster (for [`super::psql`]).
    pub name: String,
    /// The `[store]` keys that name it (`url_file`, `ca_file`), without
    /// `kind`: a desk with only these stays on sled.
    pub keys: String,
    /// Holds the URL file.
    _dir: tempfile::TempDir,
}

/// A fresh database `pdt_NAME` (dropped first if a run left it).
pub fn database(name: &str) -> Database {
    let url = fresh_database(name);
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = store_keys(&dir.path().join("database.url"), &url);
    Database {
        name: url.rsplit('/').next().expect("database name").to_string(),
        url,
        keys,
        _dir: dir,
    }
}

/// Pipes each mail in through `postdesk ingest`, insisting that each is
/// taken: how a parity test fills the desk it then moves.
pub fn pipe_all(t: &TestDesk, mails: &[Vec<u8>]) {
    for raw in mails {
        let out = t.pipe(raw);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Database {
    /// The pool settings for this database, with `more` `[store]` keys.
    pub fn settings(&self, more: &str) -> postdesk::pg::Settings {
        let keys = format!("{}{more}", self.keys);
        let config: postdesk::config::StoreConfig = toml::from_str(&keys).expect("[store]");
        postdesk::pg::Settings::from_config(&config).expect("settings")
    }

    /// Gives the database its schema, as `postdesk migrate` does, for a
    /// test that fills it without a desk (a restore, an import).
    pub fn migrate(&self) {
        super::migrate_database(&self.keys);
    }

    /// The engine on this (migrated) database.
    pub fn connect(&self) -> PgEngine {
        PgEngine::connect(&self.settings("")).expect("connect")
    }

    /// A desk whose `[store]` names this database: on sled, unless
    /// `extra`, which follows the `[store]` keys (more keys, or further
    /// tables), says `kind = "postgres"`.
    pub fn desk(&self, extra: &str) -> TestDesk {
        TestDesk::with(Options {
            extra: format!("\n[store]\n{}{extra}", self.keys),
            ..Options::default()
        })
    }
}

/// A desk moved into PostgreSQL, opened with both engines.
pub struct MovedDesk {
    pub desk: TestDesk,
    pub db: Database,
    /// The database it was moved into.
    pub engine: PgEngine,
    /// The sled store it was moved from (or, after [`migrated_desk`], the
    /// desk's empty sled store, to stage decisions with).
    pub store: Store,
}

/// Runs `postdesk migrate ARGS` on `desk` and insists that it succeeds.
pub fn migrate(desk: &TestDesk, args: &[&str]) -> Output {
    let out = desk.run(&[&["migrate"], args].concat());
    assert!(
        out.status.success(),
        "postdesk migrate {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A sled desk beside the fresh database `name` (`extra` as in
/// [`Database::desk`]), filled by `fill` through the binary, then
/// moved with `postdesk migrate --from sled STATE --to postgres`.
pub fn moved_desk(name: &str, extra: &str, fill: impl FnOnce(&TestDesk)) -> MovedDesk {
    let db = database(name);
    let desk = db.desk(extra);
    fill(&desk);
    let state = desk.state_dir();
    migrate(&desk, &["--from", "sled", path(&state), "--to", "postgres"]);
    let engine = db.connect();
    let store = Store::open(&state).expect("open the sled store");
    MovedDesk {
        desk,
        db,
        engine,
        store,
    }
}

/// A sled desk beside the fresh database `name`, which `postdesk migrate`
/// gave its schema and nothing else.
pub fn migrated_desk(name: &str) -> MovedDesk {
    let db = database(name);
    let desk = db.desk("");
    migrate(&desk, &[]);
    let engine = db.connect();
    let store = Store::open(&desk.state_dir()).expect("a store to stage with");
    MovedDesk {
        desk,
        db,
        engine,
        store,
    }
}

/// Opens the sled store in `dir` a moment after another handle on it was
/// dropped: sled lets go of its lock when its flusher thread notices.
pub fn reopen(dir: &Path) -> Store {
    for _ in 0..200 {
        match Store::open(dir) {
            Err(postdesk::store::StoreError::Locked { .. }) => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            other => return other.expect("open"),
        }
    }
    panic!("the store stays locked")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
