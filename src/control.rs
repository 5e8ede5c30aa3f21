//! The control socket: how commands reach the store while `serve` holds it.
//!
//! sled locks its directory, so only one process can open the store. While
//! the daemon runs it listens on `STATE_DIR/control.sock` (mode 0660: the
//! owner and its group, e.g. the MTA user added to the postdesk group) and
//! answers the same [`Request`]s a command would otherwise answer itself.
//!
//! Wire format, both directions: a frame is a big-endian u32 length and that
//! many bytes of JSON, then a u32 length and that many bytes of blob (raw
//! mail, which would triple in size as a JSON array). JSON longer than
//! [`CHUNK`] goes in several parts, each length with its top bit set but
//! the last's, so no frame limit bounds what an answer can hold. Lists
//! that grow with the desk (tickets) are paged besides (see
//! [`crate::store::listing`]), so their answers stay small.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::api::{Request, Response};
use crate::daemon::Serving;

pub const SOCKET_NAME: &str = "control.sock";
/// The most one part of JSON may hold, and all of a request's JSON.
const MAX_JSON: u32 = 64 * 1024 * 1024;
/// The size of the parts a long JSON is sent in.
const CHUNK: usize = 16 * 1024 * 1024;
/// Set in a part's length when another part follows.
const MORE: u32 = 1 << 31;
const MAX_BLOB: u32 = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("another postdesk daemon already listens on {0}\n  hint: stop it first (systemctl stop postdesk), or use another state_dir")]
    InUse(PathBuf),
    #[error("cannot listen on {path}: {source}")]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon closed the connection before answering: it was stopping
    /// (or restarting its store) and never took the request in hand.
    #[error("the daemon closed the control socket before answering ({0})\n  hint: it was stopping or restarting; try again")]
    Gone(std::io::Error),
    #[error("control socket: malformed message: {0}")]
    Protocol(String),
}

pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(SOCKET_NAME)
}

fn encode<T: serde::Serialize>(value: &T, blob: &[u8]) -> Result<Vec<u8>, ControlError> {
    let json = serde_json::to_vec(value).map_err(|e| ControlError::Protocol(e.to_string()))?;
    let mut out = Vec::with_capacity(8 + json.len() / CHUNK * 4 + json.len() + blob.len());
    let mut parts = json.chunks(CHUNK).peekable();
    if parts.peek().is_none() {
        out.extend_from_slice(&0u32.to_be_bytes());
    }
    while let Some(part) = parts.next() {
        let more = if parts.peek().is_some() { MORE } else { 0 };
        out.extend_from_slice(&(part.len() as u32 | more).to_be_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&(blob.len() as u32).to_be_bytes());
    out.extend_from_slice(blob);
    Ok(out)
}

fn check_len(len: u32, max: u32) -> Result<usize, ControlError> {
    if len > max {
        return Err(ControlError::Protocol(format!(
            "frame of {len} bytes exceeds {max}"
        )));
    }
    Ok(len as usize)
}

/// A blocking client: commands are short-lived and need no runtime, which
/// keeps `postdesk ingest` (one process per message from an MTA) cheap.
pub struct Client {
    stream: StdUnixStream,
}

impl Client {
    /// Connects to a running daemon; `Ok(None)` when none is listening.
    pub fn connect(state_dir: &Path) -> Result<Option<Client>, ControlError> {
        match StdUnixStream::connect(socket_path(state_dir)) {
            Ok(stream) => Ok(Some(Client { stream })),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(ControlError::Io(e)),
        }
    }

    pub fn call(&mut self, mut req: Request) -> Result<Response, ControlError> {
        let blob = req.take_blob();
        // A daemon that stops answers what it took in hand and closes idle
        // connections; a break before the first byte of the answer means
        // the request was not taken.
        let gone = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::UnexpectedEof => ControlError::Gone(e),
            _ => ControlError::Io(e),
        };
        self.stream.write_all(&encode(&req, &blob)?).map_err(gone)?;
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).map_err(gone)?;
        // An answer may be any size: its parts are read until the last.
        let mut json = Vec::new();
        let mut word = u32::from_be_bytes(len);
        loop {
            let part = check_len(word & !MORE, MAX_JSON)?;
            let at = json.len();
            json.resize(at + part, 0);
            self.stream.read_exact(&mut json[at..])?;
            if word & MORE == 0 {
                break;
            }
            self.stream.read_exact(&mut len)?;
            word = u32::from_be_bytes(len);
        }
        let blob = read_part(&mut self.stream, MAX_BLOB)?;
        let mut resp: Response =
            serde_json::from_slice(&json).map_err(|e| ControlError::Protocol(e.to_string()))?;
        resp.put_blob(blob);
        Ok(resp)
    }
}

fn read_part(r: &mut impl Read, max: u32) -> Result<Vec<u8>, ControlError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = check_len(u32::from_be_bytes(len), max)?;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// Binds the socket, refusing if another daemon answers on it and removing
/// a stale file left by a crash.
pub fn bind(state_dir: &Path) -> Result<UnixListener, ControlError> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(state_dir);
    if path.exists() {
        if StdUnixStream::connect(&path).is_ok() {
            return Err(ControlError::InUse(path));
        }
        let _ = std::fs::remove_file(&path);
    }
    let listener = UnixListener::bind(&path).map_err(|source| ControlError::Bind {
        path: path.clone(),
        source,
    })?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660)).map_err(|source| {
        ControlError::Bind {
            path: path.clone(),
            source,
        }
    })?;
    Ok(listener)
}

/// Answers connections until `shutdown` fires. Each request runs on the
/// blocking pool because the store does synchronous I/O (fsync).
pub async fn serve(
    listener: UnixListener,
    desk: Arc<Serving>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let desk = desk.clone();
                    let shutdown = shutdown.clone();
                    connections.spawn(async move {
                        if let Err(e) = connection(stream, desk, shutdown).await {
                            tracing::debug!(error = %e, "control connection ended");
                        }
                    });
                    // Reap the finished ones as we go.
                    while connections.try_join_next().is_some() {}
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    // Requests in hand are answered before the drain's final flush; idle
    // connections close at once (see [`connection`]).
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn connection(
    mut stream: UnixStream,
    desk: Arc<Serving>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), ControlError> {
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let mut len = [0u8; 4];
        // Idle, a stop closes the connection; once a request has begun it
        // is read, handled and answered whatever happens meanwhile.
        tokio::select! {
            r = stream.read_exact(&mut len) => match r {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e.into()),
            },
            _ = shutdown.changed() => return Ok(()),
        }
        // A request's JSON is small: all its parts together stay under
        // MAX_JSON.
        let mut word = u32::from_be_bytes(len);
        let mut json = Vec::new();
        loop {
            let part = read_async(&mut stream, word & !MORE, MAX_JSON).await?;
            json.extend_from_slice(&part);
            check_len(json.len().min(u32::MAX as usize) as u32, MAX_JSON)?;
            if word & MORE == 0 {
                break;
            }
            stream.read_exact(&mut len).await?;
            word = u32::from_be_bytes(len);
        }
        stream.read_exact(&mut len).await?;
        let blob = read_async(&mut stream, u32::from_be_bytes(len), MAX_BLOB).await?;
        let mut resp = match serde_json::from_slice::<Request>(&json) {
            Ok(mut req) => {
                req.put_blob(blob);
                // Pipe deliveries count as received mail (imports are
                // history and do not).
                let counted = match &req {
                    Request::Ingest {
                        inbox,
                        import_status: None,
                        ..
                    } => Some((
                        inbox.clone().unwrap_or_else(|| "pipe".into()),
                        std::time::Instant::now(),
                    )),
                    _ => None,
                };
                let desk = desk.clone();
                let resp = tokio::task::spawn_blocking(move || desk.handle(req))
                    .await
                    .unwrap_or_else(|e| Response::Error {
                        message: format!("request failed inside the daemon: {e}"),
                        retry: true,
                    });
                if let (Some((inbox, since)), Response::Ingested(outcome)) = (&counted, &resp) {
                    crate::metrics::get().message(inbox, outcome, *since);
                }
                resp
            }
            Err(e) => Response::Error {
                message: format!("malformed request: {e}"),
                retry: false,
            },
        };
        let blob = resp.take_blob();
        stream.write_all(&encode(&resp, &blob)?).await?;
    }
}

async fn read_async(stream: &mut UnixStream, len: u32, max: u32) -> Result<Vec<u8>, ControlError> {
    let len = check_len(len, max)?;
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).await?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON of several parts reads back whole, and a short one is one
    /// plain frame as before.
    #[test]
    fn long_json_goes_in_parts() {
        let long = Response::Error {
            message: "x".repeat(CHUNK * 2 + 10),
            retry: false,
        };
        let bytes = encode(&long, b"blob").unwrap();
        let first = u32::from_be_bytes(bytes[..4].try_into().unwrap());
        assert_eq!(first, CHUNK as u32 | MORE);
        let mut r = &bytes[..];
        let mut json = Vec::new();
        loop {
            let mut w = [0u8; 4];
            Read::read_exact(&mut r, &mut w).unwrap();
            let w = u32::from_be_bytes(w);
            let mut part = vec![0u8; (w & !MORE) as usize];
            Read::read_exact(&mut r, &mut part).unwrap();
            json.extend_from_slice(&part);
            if w & MORE == 0 {
                break;
            }
        }
        assert!(matches!(
            serde_json::from_slice::<Response>(&json).unwrap(),
            Response::Error { message, .. } if message.len() == CHUNK * 2 + 10
        ));
        assert_eq!(read_part(&mut r, MAX_BLOB).unwrap(), b"blob");
        let short = encode(&Response::Flushed, &[]).unwrap();
        let len = u32::from_be_bytes(short[..4].try_into().unwrap()) as usize;
        assert_eq!(short.len(), 4 + len + 4);
    }
}
