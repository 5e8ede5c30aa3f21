//! PostgreSQL, the shared store for desks that outgrow one machine
//! (issue 20). Built so far: connecting (the URL from `[store] url_env` or
//! `url_file`, TLS through rustls, a pool), the schema and its migrations
//! (`postdesk migrate`), moving a sled desk into a database
//! (`postdesk migrate --from sled DIR --to postgres`), the engine that
//! serves a desk from it ([`engine`]), and what lets several `serve`
//! nodes share it: the write turn ([`turn`]) and the inbox leases
//! ([`lease`]).
//!
//! The URL holds the password: it never appears in the config file, a log
//! line or an error message. Errors name the database as
//! `user@host:port/dbname` ([`Settings::describe`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// tokio-postgres's keepalive idle time when the URL sets none.
const DEFAULT_KEEPALIVES_IDLE: Duration = Duration::from_secs(2 * 60 * 60);

use crate::config::{PgTls, StoreConfig};

pub mod copy;
pub mod decode;
pub mod engine;
pub mod lease;
pub mod mail;
pub mod portal;
pub mod rows;
pub mod schema;
pub mod turn;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("[store] names no PostgreSQL database\n  hint: set url_env (an environment variable holding the URL) or url_file in [store]")]
    NotConfigured,
    #[error("{0}")]
    Url(String),
    #[error("{path} (the [store] url_file) can be read by other users (mode {mode:03o}); it holds the database password\n  hint: chmod 600 {path} (or 640 with the service's group)")]
    Readable { path: PathBuf, mode: u32 },
    #[error("TLS to PostgreSQL: {0}")]
    Tls(String),
    #[error("cannot connect to PostgreSQL at {at}: {detail}\n  hint: {}", connect_hint(.detail))]
    Connect { at: String, detail: String },
    #[error("PostgreSQL at {at}: {what}: {detail}")]
    Query {
        at: String,
        what: String,
        detail: String,
    },
    #[error("PostgreSQL at {at}: {message}")]
    Other { at: String, message: String },
}

impl PgError {
    fn query(at: &str, what: &str) -> impl FnOnce(tokio_postgres::Error) -> PgError {
        let (at, what) = (at.to_string(), what.to_string());
        move |e| PgError::Query {
            at,
            what,
            detail: detail(&e),
        }
    }
}

fn connect_hint(detail: &str) -> &'static str {
    if detail.contains("certificate") {
        "the server's TLS certificate is not trusted: set [store] ca_file to the CA that signed it (tls = \"prefer\" and \"require\" always verify), or tls = \"disable\" for a server on this machine"
    } else {
        "check that the server runs and listens there, and the user, password and database in the URL"
    }
}

/// What went wrong, said fully: tokio-postgres's own message is only
/// "db error" or "error connecting to server", the reason is its source.
pub fn detail(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// The connection, checked: URL read and parsed, TLS chosen.
#[derive(Clone)]
pub struct Settings {
    pg: tokio_postgres::Config,
    tls: PgTls,
    ca_file: Option<PathBuf>,
    pool: usize,
    /// `[store] lease_ttl`: how often a node says it is alive (a third of
    /// it) and so how long a silent node is taken for dead.
    lease_ttl: std::time::Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(f, "Settings({})", self.describe())
    }
}

impl Settings {
    /// Reads the URL named by `[store]` and checks it (without connecting).
    pub fn from_config(store: &StoreConfig) -> Result<Settings, PgError> {
        let (url, from) = match (&store.url_env, &store.url_file) {
            (Some(var), _) => (
                std::env::var(var).map_err(|_| {
                    PgError::Url(format!(
                        "environment variable {var} (named by [store] url_env) is not set"
                    ))
                })?,
                format!("environment variable {var}"),
            ),
            (None, Some(path)) => (read_url_file(path)?, format!("{}", path.display())),
            (None, None) => return Err(PgError::NotConfigured),
        };
        let pg = parse_url(url.trim()).map_err(|e| PgError::Url(format!("{from}: {e}")))?;
        Ok(Settings {
            pg,
            tls: store.tls,
            ca_file: store.ca_file.clone(),
            pool: store.pool,
            lease_ttl: store.lease_ttl,
        })
    }

    /// How long a node may be silent before other nodes take it for dead
    /// and take over the outgoing mail it had claimed, in milliseconds:
    /// two lease TTLs, six of its heartbeats (each node says it is alive
    /// every third of the TTL), so a busy moment is not a death. Nodes of
    /// one desk share `[store]`, so they agree on it; 30 s by default.
    pub fn silent_ms(&self) -> i64 {
        i64::try_from(self.lease_ttl.as_millis().saturating_mul(2)).unwrap_or(i64::MAX)
    }

    /// `user@host:port/dbname`: where, never with the password. A URL
    /// that lists several hosts (a primary and its standbys, tried in
    /// order) is said with all of them, `host1:port1,host2:port2`.
    pub fn describe(&self) -> String {
        let ports = self.pg.get_ports();
        let hosts: Vec<String> = self
            .pg
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let name = match h {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                };
                // One port stands for every host; otherwise one each.
                let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
                format!("{name}:{port}")
            })
            .collect();
        let hosts = if hosts.is_empty() {
            "localhost:5432".to_string()
        } else {
            hosts.join(",")
        };
        format!(
            "{}@{hosts}/{}",
            self.pg.get_user().unwrap_or("?"),
            self.pg.get_dbname().unwrap_or("?")
        )
    }

    /// What `postdesk check` should say about these settings: the
    /// password crossing a network in clear, a CA file that cannot be read.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let remote = self.pg.get_hosts().iter().any(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => {
                name != "localhost"
                    && !name
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            tokio_postgres::config::Host::Unix(_) => false,
        });
        if remote && self.tls != PgTls::Require {
            out.push(format!(
                "[store] tls = \"{}\" to {}, which is not this machine: the password and every mail may cross the network in clear; set tls = \"require\"",
                match self.tls {
                    PgTls::Disable => "disable",
                    PgTls::Prefer => "prefer",
                    PgTls::Require => "require",
                },
                self.describe()
            ));
        }
        if self.tls != PgTls::Disable {
            if let Err(e) = tls_config(self.ca_file.as_deref()) {
                out.push(e.to_string());
            }
        }
        out
    }

    /// The same database with a pool of at most `n` connections.
    pub fn with_pool(mut self, n: usize) -> Settings {
        self.pool = n.max(1);
        self
    }

    /// A pool of at most `[store] pool` connections.
    pub fn pool(&self) -> Result<deadpool_postgres::Pool, PgError> {
        let mut pg = self.pg.clone();
        // A server that vanished without closing its connections (a
        // network partition, a failover to another machine) is noticed
        // here too, not only by the server: otherwise a statement would
        // wait out TCP's retransmissions (about 15 minutes) while holding
        // the write turn's connection. What the URL sets is kept.
        pg.keepalives(true);
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(Duration::from_secs(10));
        }
        if pg.get_tcp_user_timeout().is_none() {
            pg.tcp_user_timeout(Duration::from_secs(30));
        }
        if pg.get_keepalives_idle() == DEFAULT_KEEPALIVES_IDLE {
            pg.keepalives_idle(Duration::from_secs(10));
            pg.keepalives_interval(Duration::from_secs(5));
            pg.keepalives_retries(3);
        }
        pg.ssl_mode(match self.tls {
            PgTls::Disable => tokio_postgres::config::SslMode::Disable,
            PgTls::Prefer => tokio_postgres::config::SslMode::Prefer,
            PgTls::Require => tokio_postgres::config::SslMode::Require,
        });
        let manager_config = deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        };
        let manager = if self.tls == PgTls::Disable {
            deadpool_postgres::Manager::from_config(pg, tokio_postgres::NoTls, manager_config)
        } else {
            let tls = tls_config(self.ca_file.as_deref())?;
            deadpool_postgres::Manager::from_config(
                pg,
                tokio_postgres_rustls::MakeRustlsConnect::new(tls),
                manager_config,
            )
        };
        deadpool_postgres::Pool::builder(manager)
            .max_size(self.pool)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| PgError::Other {
                at: self.describe(),
                message: format!("cannot build the connection pool: {e}"),
            })
    }

    /// One connection from `pool`, errors said plainly.
    pub async fn connection(
        &self,
        pool: &deadpool_postgres::Pool,
    ) -> Result<deadpool_postgres::Object, PgError> {
        pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => PgError::Connect {
                at: self.describe(),
                detail: detail(&e),
            },
            other => PgError::Other {
                at: self.describe(),
                message: format!("no connection: {other}"),
            },
        })
    }
}

/// A URL (`postgres://user:password@host:port/db?...`) or a libpq
/// key=value string. Parse errors of tokio-postgres name the option, not
/// its value, so they are safe to show.
fn parse_url(url: &str) -> Result<tokio_postgres::Config, String> {
    if url.is_empty() {
        return Err("the PostgreSQL URL is empty".into());
    }
    let pg: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
        format!(
            "not a PostgreSQL URL ({e}); write it like postgres://USER:PASSWORD@HOST:5432/DBNAME"
        )
    })?;
    if pg.get_hosts().is_empty() {
        return Err("the PostgreSQL URL names no host".into());
    }
    if pg.get_dbname().is_none() || pg.get_user().is_none() {
        return Err("the PostgreSQL URL must name the user and the database (postgres://USER:PASSWORD@HOST:5432/DBNAME)".into());
    }
    Ok(pg)
}

/// The URL in a file, refused when others can read it: like ssh with a
/// private key, a secret others can read is no secret.
pub fn read_url_file(path: &Path) -> Result<String, PgError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        PgError::Url(format!(
            "{} (named by [store] url_file): {e}",
            path.display()
        ))
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o007 != 0 {
        return Err(PgError::Readable {
            path: path.to_path_buf(),
            mode,
        });
    }
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| {
            PgError::Url(format!(
                "{} (named by [store] url_file): {e}",
                path.display()
            ))
        })
}

/// rustls with the ring provider (never aws-lc-rs: two providers make the
/// default builder panic), web PKI roots plus `ca_file`.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, PgError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::CertificateDer;
        let bad = |reason: String| PgError::Tls(format!("ca_file {}: {reason}", path.display()));
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no PEM certificate in it".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PgError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_described_without_the_password() {
        let pg = parse_url("postgres://desk:hunter2@db.example:6432/postdesk").expect("parses");
        let s = Settings {
            pg,
            tls: PgTls::Prefer,
            ca_file: None,
            pool: 4,
            lease_ttl: std::time::Duration::from_secs(15),
        };
        assert_eq!(s.describe(), "desk@db.example:6432/postdesk");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(parse_url("").is_err());
        let e = parse_url("postgres://desk:hunter2@db.example/x?bogus=1").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(parse_url("postgres://db.example/").is_err());
    }

    #[test]
    fn a_url_with_standbys_names_every_host() {
        let url =
            "postgres://desk:hunter2@db1:5432,db2:5433/postdesk?target_session_attrs=read-write";
        let s = Settings {
            pg: parse_url(url).expect("parses"),
            tls: PgTls::Require,
            ca_file: None,
            pool: 4,
            lease_ttl: std::time::Duration::from_secs(15),
        };
        assert_eq!(s.describe(), "desk@db1:5432,db2:5433/postdesk");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn a_url_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("url");
        std::fs::write(&path, "postgres://a:b@h/d\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            read_url_file(&path),
            Err(PgError::Readable { mode: 0o644, .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(read_url_file(&path).expect("reads"), "postgres://a:b@h/d");
    }
}
