//! The metrics listener: `GET /metrics` and `GET /healthz`, nothing else.
//!
//! A deliberately small HTTP/1.x responder on tokio's `TcpListener` rather
//! than an HTTP server crate: a scraper sends one GET with a few headers,
//! and the answer is one short body with `Connection: close`. What a full
//! server would add (keep-alive, chunking, bodies, HTTP/2) is nothing a
//! scraper needs, and each is attack surface and compile time. Requests are
//! bounded: 8 KiB of head, 5 s to send it, 64 connections at once; anything
//! else gets a 4xx and the connection is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::daemon::Serving;

const MAX_HEAD: usize = 8 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECTIONS: usize = 64;
/// The timer loop beats every second; this much silence means it is stuck.
const STALE_BEAT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[error("cannot listen for metrics on {addr}: {source}\n  hint: another process may use that port; change [metrics] listen (port 0 picks a free one)")]
pub struct BindError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// Binds the listener (before the daemon reports ready, so a port in use
/// is a start-up error, not a silent gap in the graphs).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })?;
    if let Ok(bound) = listener.local_addr() {
        super::get().set_listening(bound);
    }
    Ok(listener)
}

/// Answers until `stop` turns true.
pub async fn serve(listener: TcpListener, desk: Arc<Serving>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    // Too many at once: drop this one rather than queue.
                    continue;
                };
                let desk = desk.clone();
                tokio::spawn(async move {
                    if let Err(e) = answer(stream, desk).await {
                        tracing::debug!(error = %e, "metrics connection ended");
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics listener accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Metrics,
    Health,
    NotFound,
    BadMethod,
    BadRequest,
}

/// The route of a request head, and whether the body is wanted (HEAD).
pub fn route(head: &[u8]) -> (Route, bool) {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return (Route::BadRequest, true);
    };
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return (Route::BadRequest, true);
    }
    let body = match method {
        "GET" => true,
        "HEAD" => false,
        _ => return (Route::BadMethod, true),
    };
    let path = target.split('?').next().unwrap_or_default();
    let route = match path {
        "/metrics" => Route::Metrics,
        "/healthz" => Route::Health,
        _ => Route::NotFound,
    };
    (route, body)
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(head));
        }
        if head.len() > MAX_HEAD {
            return Ok(Some(Vec::new()));
        }
    }
}

async fn answer(mut stream: TcpStream, desk: Arc<Serving>) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(r) => r?,
        Err(_) => return Ok(()),
    };
    let Some(head) = head else { return Ok(()) };
    let (route, with_body) = route(&head);
    let (status, content_type, body) = match route {
        Route::Metrics => {
            let text =
                tokio::task::spawn_blocking(move || super::get().render(desk.desk().as_deref()))
                    .await
                    .unwrap_or_default();
            (
                "200 OK",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                text,
            )
        }
        Route::Health => {
            let (ok, text) = health(&desk);
            (
                if ok {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                },
                "text/plain; charset=utf-8",
                text,
            )
        }
        Route::NotFound => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: try /metrics or /healthz\n".to_string(),
        ),
        Route::BadMethod => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET and HEAD\n".to_string(),
        ),
        Route::BadRequest => (
            "400 Bad Request",
            "text/plain; charset=utf-8",
            "bad request\n".to_string(),
        ),
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n{}\r\n",
        body.len(),
        if route == Route::BadMethod { "Allow: GET, HEAD\r\n" } else { "" }
    )
    .into_bytes();
    if with_body {
        out.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&out).await?;
    stream.shutdown().await
}

/// 503 only when the daemon itself is stuck (its storage fails, or its
/// timer loop stopped beating): an inbox that cannot connect is a degraded
/// desk, reported in the body, but restarting the daemon would not fix the
/// mail server.
fn health(serving: &Serving) -> (bool, String) {
    if let Some(why) = serving.stuck() {
        return (false, format!("stuck: {why}\n"));
    }
    let Some(desk) = serving.desk() else {
        return (false, "stuck: the store is being reopened\n".into());
    };
    let beat = super::get().since_beat();
    let alive = beat.is_some_and(|b| b < STALE_BEAT);
    let sources = desk.sources().snapshot();
    let down: Vec<&str> = sources
        .iter()
        .filter(|s| !s.connected)
        .map(|s| s.name.as_str())
        .collect();
    let state = if !alive {
        "stuck"
    } else if down.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    let mut text = format!(
        "{state}\ninboxes connected {}/{}\n",
        sources.len() - down.len(),
        sources.len()
    );
    for name in down {
        text.push_str(&format!(
            "inbox {name} not connected (see `postdesk status`)\n"
        ));
    }
    match beat {
        Some(b) => text.push_str(&format!(
            "timer loop last ran {:.1}s ago\n",
            b.as_secs_f64()
        )),
        None => text.push_str("timer loop has not run yet\n"),
    }
    (alive, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_only_get_and_head_of_two_paths() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            (Route::Metrics, true)
        );
        assert_eq!(
            route(b"HEAD /healthz?x=1 HTTP/1.0\r\n\r\n"),
            (Route::Health, false)
        );
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n").0, Route::NotFound);
        assert_eq!(route(b"POST /metrics HTTP/1.1\r\n\r\n").0, Route::BadMethod);
        assert_eq!(route(b"GET /metrics\r\n\r\n").0, Route::BadRequest);
        assert_eq!(route(b"GET /metrics SPDY/3\r\n\r\n").0, Route::BadRequest);
        assert_eq!(route(b"\xff\xfe\r\n\r\n").0, Route::BadRequest);
    }
}
