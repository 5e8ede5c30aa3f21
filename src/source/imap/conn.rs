//! Opening an authenticated IMAP session: TCP, then TLS (implicit or
//! STARTTLS, or none to loopback), the greeting, then LOGIN or XOAUTH2.
//! Plain, STARTTLS and implicit TLS all end up as one session type over a
//! boxed stream, so the rest of the source does not care which it got.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_imap::imap_proto::{Response, Status};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::TlsConnector;

use super::auth::{self, Credential, XOAuth2};
use super::settings::{Settings, Tls};
use super::ImapError;

/// Anything a session can run over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}

pub type Session = async_imap::Session<Box<dyn Io>>;
type Client = async_imap::Client<Box<dyn Io>>;

/// Each step of the connect: a server that accepts TCP and then says
/// nothing must not hold the inbox forever.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

async fn step<T, E>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError>
where
    E: std::fmt::Display,
{
    match tokio::time::timeout(STEP_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ImapError::Protocol(format!("{what}: {e}"))),
        Err(_) => Err(ImapError::Protocol(format!(
            "{what}: no answer within {}s",
            STEP_TIMEOUT.as_secs()
        ))),
    }
}

/// Connects, secures and logs in.
pub async fn open(s: &Settings) -> Result<Session, ImapError> {
    // The credential first: a token helper that fails should say so before
    // the server sees a connection.
    let credential = auth::credential(&s.auth)
        .await
        .map_err(ImapError::Credential)?;
    let addr = format!("{}:{}", s.host, s.port);
    let tcp =
        match tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect((s.host.as_str(), s.port)))
            .await
        {
            Ok(Ok(t)) => t,
            Ok(Err(source)) => return Err(ImapError::Connect { addr, source }),
            Err(_) => {
                return Err(ImapError::Connect {
                    addr,
                    source: std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"),
                })
            }
        };
    // Mail for a helpdesk is many small reads and writes; Nagle only adds
    // latency to each command.
    let _ = tcp.set_nodelay(true);
    let client = match s.tls {
        Tls::Implicit => {
            let tls = handshake(s, tcp).await?;
            let mut c = Client::new(Box::new(tls) as Box<dyn Io>);
            greeting(&mut c, &addr).await?;
            c
        }
        Tls::None => {
            let mut c = Client::new(Box::new(tcp) as Box<dyn Io>);
            greeting(&mut c, &addr).await?;
            c
        }
        Tls::StartTls => {
            let mut plain = async_imap::Client::new(tcp);
            greeting(&mut plain, &addr).await?;
            step("STARTTLS", plain.run_command_and_check_ok("STARTTLS", None))
                .await
                .map_err(|e| ImapError::Tls {
                    addr: addr.clone(),
                    reason: format!("the server refused STARTTLS ({e})"),
                })?;
            // No second greeting after STARTTLS (RFC 3501 6.2.1).
            let tls = handshake(s, plain.into_inner()).await?;
            Client::new(Box::new(tls) as Box<dyn Io>)
        }
    };
    login(client, s, credential).await
}

/// Reads the server's first line; `* BYE` means it will not serve us.
async fn greeting<T>(c: &mut async_imap::Client<T>, addr: &str) -> Result<(), ImapError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug,
{
    let first = step("reading the greeting", c.read_response()).await?;
    match first {
        None => Err(ImapError::Protocol(format!(
            "{addr} closed the connection before greeting; is it an IMAP port (with the right tls setting)?"
        ))),
        Some(r) => match r.parsed() {
            Response::Data {
                status: Status::Bye,
                outcome,
            } => Err(ImapError::Protocol(format!(
                "{addr} said BYE: {}",
                outcome.information.as_deref().unwrap_or("")
            ))),
            _ => Ok(()),
        },
    }
}

/// rustls with the ring provider (never aws-lc-rs: two providers make the
/// default builder panic), web PKI roots plus the inbox's own `ca_file`.
pub fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, ImapError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::CertificateDer;
        let bad = |reason: String| ImapError::CaFile {
            path: path.to_path_buf(),
            reason,
        };
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
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Protocol(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

async fn handshake(
    s: &Settings,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    let addr = format!("{}:{}", s.host, s.port);
    let config = tls_config(s.ca_file.as_deref())?;
    let name =
        rustls_pki_types::ServerName::try_from(s.host.clone()).map_err(|e| ImapError::Tls {
            addr: addr.clone(),
            reason: format!("`{}` is not a valid TLS server name: {e}", s.host),
        })?;
    let connector = TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(STEP_TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => Ok(tls),
        Ok(Err(e)) => Err(ImapError::Tls {
            addr,
            reason: e.to_string(),
        }),
        Err(_) => Err(ImapError::Tls {
            addr,
            reason: "handshake timed out".into(),
        }),
    }
}

async fn login(client: Client, s: &Settings, credential: Credential) -> Result<Session, ImapError> {
    let refused = |mechanism: &str, reason: String| ImapError::Auth {
        user: s.username.clone(),
        mechanism: mechanism.to_string(),
        reason,
    };
    match credential {
        Credential::Password(password) => {
            match tokio::time::timeout(STEP_TIMEOUT, client.login(&s.username, &password)).await {
                Ok(Ok(session)) => Ok(session),
                Ok(Err((async_imap::error::Error::No(reason), _))) => Err(refused("LOGIN", reason)),
                Ok(Err((e, _))) => Err(ImapError::Protocol(format!("LOGIN: {e}"))),
                Err(_) => Err(ImapError::Protocol("LOGIN: no answer within 30s".into())),
            }
        }
        Credential::Token(token) => {
            let mut x = XOAuth2::new(&s.username, &token);
            let result =
                tokio::time::timeout(STEP_TIMEOUT, client.authenticate("XOAUTH2", &mut x)).await;
            let detail = x
                .server_error
                .take()
                .map(|d| format!(" (server said: {d})"))
                .unwrap_or_default();
            match result {
                Ok(Ok(session)) => Ok(session),
                Ok(Err((async_imap::error::Error::No(reason), _))) => {
                    Err(refused("XOAUTH2", format!("{reason}{detail}")))
                }
                Ok(Err((async_imap::error::Error::Bad(reason), _))) => Err(refused(
                    "XOAUTH2",
                    format!("{reason}{detail} (does the server offer AUTH=XOAUTH2?)"),
                )),
                Ok(Err((e, _))) => Err(ImapError::Protocol(format!("AUTHENTICATE XOAUTH2: {e}"))),
                Err(_) => Err(ImapError::Protocol(
                    "AUTHENTICATE XOAUTH2: no answer within 30s".into(),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = tls_config(Some(&missing)).unwrap_err().to_string();
        assert!(e.contains("nope.pem"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = tls_config(Some(&empty)).unwrap_err().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
        assert!(tls_config(None).is_ok());
    }
}
