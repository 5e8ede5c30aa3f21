//! Handing finished mail to the world: an SMTP server (implicit TLS,
//! STARTTLS, or plain to loopback), the local `sendmail`, or a spool folder
//! of `.eml` files (the embedded default, for trying postdesk out).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSendmailTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{Outgoing, OutgoingKind};

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("[outgoing] kind = \"smtp\" needs `host`")]
    NoHost,
    #[error("[outgoing] tls = \"{0}\" is not one of implicit, starttls, none")]
    BadTls(String),
    #[error("[outgoing] tls = \"none\" sends mail and passwords in clear text to {0}; that is only allowed to a loopback address unless allow_plain = true")]
    PlainRefused(String),
    #[error("cannot read the CA file {path}: {reason}")]
    Ca { path: PathBuf, reason: String },
    #[error("cannot read the SMTP password: {0}")]
    Password(String),
    #[error("SMTP setup failed: {0}")]
    Smtp(String),
    #[error("cannot create the spool folder {path}: {source}")]
    Spool {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub use crate::outbox::{Reach, SendError};

pub enum Transport {
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Sendmail(AsyncSendmailTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::File(p) => write!(f, "File({})", p.display()),
            Transport::Smtp(_) => f.write_str("Smtp"),
            Transport::Sendmail(_) => f.write_str("Sendmail"),
        }
    }
}

/// A secret named by `*_env` or `*_file`; never written in the config.
pub fn secret(env: Option<&str>, file: Option<&Path>) -> Result<Option<String>, String> {
    if let Some(var) = env {
        return std::env::var(var)
            .map(Some)
            .map_err(|_| format!("environment variable {var} (named by password_env) is not set"));
    }
    if let Some(path) = file {
        return std::fs::read_to_string(path)
            .map(|s| Some(s.trim_end_matches(['\n', '\r']).to_string()))
            .map_err(|e| format!("{} (named by password_file): {e}", path.display()));
    }
    Ok(None)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What the config asks for, checked: everything but the connection pool,
/// which needs a running async runtime. `postdesk check` stops here.
pub struct Plan {
    kind: PlanKind,
}

enum PlanKind {
    File(PathBuf),
    Sendmail(Option<PathBuf>),
    Smtp {
        host: String,
        port: u16,
        tls: Tls,
        credentials: Option<Credentials>,
    },
}

impl Plan {
    pub fn from_config(o: &Outgoing) -> Result<Plan, TransportError> {
        let kind = match o.kind {
            OutgoingKind::File => PlanKind::File(o.spool.clone()),
            OutgoingKind::Sendmail => PlanKind::Sendmail(o.sendmail.clone()),
            OutgoingKind::Smtp => {
                let host = o.host.clone().ok_or(TransportError::NoHost)?;
                let tls_mode = o.tls.clone().unwrap_or_else(|| "starttls".into());
                let params = || -> Result<TlsParameters, TransportError> {
                    let mut b = TlsParameters::builder(host.clone());
                    if let Some(ca) = &o.ca_file {
                        let pem = std::fs::read(ca).map_err(|e| TransportError::Ca {
                            path: ca.clone(),
                            reason: e.to_string(),
                        })?;
                        let cert = Certificate::from_pem(&pem).map_err(|e| TransportError::Ca {
                            path: ca.clone(),
                            reason: e.to_string(),
                        })?;
                        b = b.add_root_certificate(cert);
                    }
                    b.build_rustls()
                        .map_err(|e| TransportError::Smtp(e.to_string()))
                };
                let (tls, default_port) = match tls_mode.as_str() {
                    "implicit" => (Tls::Wrapper(params()?), 465),
                    "starttls" => (Tls::Required(params()?), 587),
                    "none" => {
                        if !is_loopback(&host) && !o.allow_plain {
                            return Err(TransportError::PlainRefused(host));
                        }
                        (Tls::None, 25)
                    }
                    other => return Err(TransportError::BadTls(other.to_string())),
                };
                let password = secret(o.password_env.as_deref(), o.password_file.as_deref())
                    .map_err(TransportError::Password)?;
                let credentials = match (&o.username, password) {
                    (Some(user), Some(pass)) => Some(Credentials::new(user.clone(), pass)),
                    _ => None,
                };
                PlanKind::Smtp {
                    port: o.port.unwrap_or(default_port),
                    host,
                    tls,
                    credentials,
                }
            }
        };
        Ok(Plan { kind })
    }

    /// The transport itself. For SMTP this must run inside the daemon's
    /// runtime: lettre's connection pool starts a task.
    pub fn connect(self) -> Result<Transport, TransportError> {
        Ok(match self.kind {
            PlanKind::File(spool) => {
                std::fs::create_dir_all(&spool).map_err(|source| TransportError::Spool {
                    path: spool.clone(),
                    source,
                })?;
                Transport::File(spool)
            }
            PlanKind::Sendmail(cmd) => Transport::Sendmail(match cmd {
                Some(cmd) => AsyncSendmailTransport::new_with_command(cmd.as_os_str()),
                None => AsyncSendmailTransport::new(),
            }),
            PlanKind::Smtp {
                host,
                port,
                tls,
                credentials,
            } => {
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(port)
                    .tls(tls)
                    .timeout(Some(Duration::from_secs(60)));
                if let Some(c) = credentials {
                    b = b.credentials(c);
                }
                Transport::Smtp(b.build())
            }
        })
    }
}

impl Transport {
    pub fn from_config(o: &Outgoing) -> Result<Transport, TransportError> {
        Plan::from_config(o)?.connect()
    }

    /// Sends the bytes as they are. A failure says how far it reaches
    /// ([`Reach`]): the worker stops and probes on a failure of the
    /// transport, and retries or fails only the mail otherwise.
    pub async fn send(&self, from: &str, to: &[String], bytes: &[u8]) -> Result<(), SendError> {
        let permanent = |message: String| SendError {
            reach: Reach::Permanent,
            message,
        };
        let from = from
            .parse()
            .map_err(|e| permanent(format!("envelope sender {from}: {e}")))?;
        let to = to
            .iter()
            .map(|t| {
                t.parse()
                    .map_err(|e| permanent(format!("recipient {t}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let envelope =
            Envelope::new(Some(from), to).map_err(|e| permanent(format!("envelope: {e}")))?;
        match self {
            // The spool folder is every mail's: unwritable for one is
            // unwritable for all.
            Transport::File(dir) => write_spool(dir, bytes).await.map_err(|e| SendError {
                reach: Reach::Transport,
                message: format!("cannot write to the spool {}: {e}", dir.display()),
            }),
            Transport::Smtp(t) => {
                t.send_raw(&envelope, bytes)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError {
                        reach: smtp_reach(&e),
                        message: e.to_string(),
                    })
            }
            Transport::Sendmail(t) => {
                t.send_raw(&envelope, bytes)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError {
                        // Client: the command could not run at all; a
                        // response is its exit status for this mail.
                        reach: if e.is_client() {
                            Reach::Transport
                        } else {
                            Reach::Temporary
                        },
                        message: e.to_string(),
                    })
            }
        }
    }
}

/// How far an SMTP failure reaches. lettre does not say in which phase a
/// reply came, so the reply code decides: 421 (service closing) and 454
/// (TLS or authentication unavailable) and the authentication failures
/// (530, 534, 535, 538) say the server will not take any mail from us now;
/// no reply at all (refused, reset, timeout, TLS, garbled) means it cannot.
/// Every other code is about this mail.
fn smtp_reach(e: &lettre::transport::smtp::Error) -> Reach {
    match e.status().map(|c| c.to_string()) {
        Some(code) => match code.as_str() {
            "421" | "454" | "530" | "534" | "535" | "538" => Reach::Transport,
            _ if e.is_permanent() => Reach::Permanent,
            _ => Reach::Temporary,
        },
        // A mistake of ours about this mail (an address lettre cannot
        // write, say), not the server's.
        None if e.is_client() => Reach::Permanent,
        None => Reach::Transport,
    }
}

/// Writes `<message-id>.eml` atomically (temp file, then rename), so a
/// reader of the spool never sees half a message and a resend replaces the
/// same file instead of adding a second one.
async fn write_spool(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let id = crate::mail::parse(bytes)
        .map(|m| m.message_id)
        .unwrap_or_else(|_| format!("{}", chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)));
    let name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(format!("{name}.eml"));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, &path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_only_to_loopback() {
        let mut o = Outgoing {
            kind: OutgoingKind::Smtp,
            host: Some("smtp.example.com".into()),
            tls: Some("none".into()),
            ..Outgoing::default()
        };
        assert!(matches!(
            Plan::from_config(&o),
            Err(TransportError::PlainRefused(_))
        ));
        o.allow_plain = true;
        assert!(Plan::from_config(&o).is_ok());
        o.allow_plain = false;
        o.host = Some("127.0.0.1".into());
        assert!(Plan::from_config(&o).is_ok());
        o.tls = Some("sometimes".into());
        assert!(matches!(
            Plan::from_config(&o),
            Err(TransportError::BadTls(_))
        ));
    }

    #[test]
    fn secrets_come_from_env_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\n").unwrap();
        assert_eq!(secret(None, Some(&f)).unwrap().as_deref(), Some("s3cret"));
        assert!(secret(Some("POSTDESK_TEST_SURELY_UNSET_VAR"), None).is_err());
        assert_eq!(secret(None, None).unwrap(), None);
    }
}
