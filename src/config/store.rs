//! `[store]`: which engine holds the desk (sled or PostgreSQL), and how.

use std::path::PathBuf;

use serde::Deserialize;

use super::values::{de_bytes, de_duration};

/// Which storage engine holds the desk, and how it uses memory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// sled (embedded, in `desk.state_dir`, the default) or PostgreSQL
    /// (shared by several daemons; see [`crate::pg`]).
    #[serde(default)]
    pub kind: StoreKind,
    /// The storage engine's page cache. Its own default is 1 GiB, which a
    /// long-running desk fills and keeps; 64 MiB holds the hot tickets
    /// and indexes of a large desk (reads past it go to the page cache of
    /// the kernel, not to disk, on a machine with memory to spare).
    #[serde(default = "default_store_cache", deserialize_with = "de_bytes")]
    pub cache: u64,
    /// The environment variable holding the PostgreSQL URL. The URL holds
    /// the password, so it is never written in this file (like
    /// `password_env`).
    #[serde(default)]
    pub url_env: Option<String>,
    /// A file holding the PostgreSQL URL; refused when other users can
    /// read it.
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// Connections to PostgreSQL kept open, at most.
    #[serde(default = "default_pool")]
    pub pool: usize,
    /// TLS to PostgreSQL: `disable`, `prefer` (TLS when the server offers
    /// it, as libpq does) or `require`. Whenever TLS is used the server's
    /// certificate is verified (against `ca_file`, else the web's roots):
    /// rustls has no unverified mode, and a TLS that accepts any
    /// certificate protects against nothing but a passive listener.
    #[serde(default)]
    pub tls: PgTls,
    /// PEM file of the CA that signed the PostgreSQL server's certificate
    /// (a private CA, as most database servers have).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// With several `serve` nodes on one database: how long a node holds
    /// an inbox's lease without renewing it, so how long an inbox goes
    /// unread after its node dies. Renewed at a third of it.
    #[serde(default = "fifteen_seconds", deserialize_with = "de_duration")]
    pub lease_ttl: std::time::Duration,
}

fn fifteen_seconds() -> std::time::Duration {
    std::time::Duration::from_secs(15)
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: StoreKind::default(),
            cache: default_store_cache(),
            url_env: None,
            url_file: None,
            pool: default_pool(),
            tls: PgTls::default(),
            ca_file: None,
            lease_ttl: fifteen_seconds(),
        }
    }
}

impl StoreConfig {
    /// Whether a PostgreSQL database is named (for `postdesk migrate`,
    /// which may fill one before `kind` says postgres).
    pub fn has_postgres(&self) -> bool {
        self.url_env.is_some() || self.url_file.is_some()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Sled,
    Postgres,
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreKind::Sled => "sled",
            StoreKind::Postgres => "postgres",
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PgTls {
    Disable,
    #[default]
    Prefer,
    Require,
}

fn default_pool() -> usize {
    8
}

fn default_store_cache() -> u64 {
    64 * 1024 * 1024
}
