//! What the daemon serves right now: the open desk, or, while a failed
//! store is being reopened, nothing but a word saying so.
//!
//! The control socket and the metrics listener outlive the desk: they stay
//! up while the store is closed and reopened after a storage failure, so
//! `postdesk status`, an MTA's `ingest` and `/healthz` get a true answer
//! ("stuck: storage: …", try again later) instead of a refused connection.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use crate::api::{Request, Response};
use crate::desk::Desk;

/// A storage failure being healed: since when, the last error, and how
/// many times the store was reopened without taking a write.
#[derive(Debug, Clone)]
pub struct Healing {
    pub since: Instant,
    pub error: String,
    pub attempts: u32,
}

/// A request to the daemon's main loop to close the store, rewrite it and
/// open it again, with where to say how it went (records copied).
pub type RewriteRequest = std::sync::mpsc::SyncSender<Result<u64, String>>;

#[derive(Default)]
pub struct Serving {
    desk: RwLock<Option<Arc<Desk>>>,
    healing: Mutex<Option<Healing>>,
    /// The main loop, which alone may close the store (see
    /// [`Serving::rewrite`]).
    rewriter: Mutex<Option<tokio::sync::mpsc::UnboundedSender<RewriteRequest>>>,
}

impl Serving {
    pub fn new(desk: Arc<Desk>) -> Arc<Serving> {
        Arc::new(Serving {
            desk: RwLock::new(Some(desk)),
            healing: Mutex::new(None),
            rewriter: Mutex::new(None),
        })
    }

    /// Where [`Serving::rewrite`] asks for the store to be rewritten.
    pub fn set_rewriter(&self, tx: tokio::sync::mpsc::UnboundedSender<RewriteRequest>) {
        if let Ok(mut r) = self.rewriter.lock() {
            *r = Some(tx);
        }
    }

    /// After an erasure: has the main loop close the store, rewrite it
    /// and open it again, and waits for that (on a blocking thread: the
    /// control socket answers requests there).
    fn rewrite(&self, record: crate::store::ErasureRecord) -> Response {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let asked = self
            .rewriter
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|r| r.send(tx).is_ok()))
            .unwrap_or(false);
        let failed = |why: &str| Response::rewrite_failed(&record, why);
        if !asked {
            return failed("the daemon is stopping");
        }
        match rx.recv() {
            Ok(Ok(copied)) => Response::Erased {
                record,
                rewritten: Some(copied),
            },
            Ok(Err(why)) => failed(&why),
            Err(_) => failed("the daemon stopped meanwhile"),
        }
    }

    /// The open desk, unless the store is closed for reopening.
    pub fn desk(&self) -> Option<Arc<Desk>> {
        self.desk.read().ok().and_then(|d| d.clone())
    }

    /// Closes the door: requests now get the healing word. The caller
    /// drops the returned desk once the tasks using it have stopped.
    pub fn take(&self) -> Option<Arc<Desk>> {
        self.desk.write().ok().and_then(|mut d| d.take())
    }

    /// Serves `desk` again and forgets the failure.
    pub fn put(&self, desk: Arc<Desk>) {
        if let Ok(mut d) = self.desk.write() {
            *d = Some(desk);
        }
        if let Ok(mut h) = self.healing.lock() {
            *h = None;
        }
    }

    /// Starts healing after `error`; a failure already being healed keeps
    /// its start.
    pub fn failed(&self, error: &str) {
        // The first line: the hints below it are for a command's user.
        let error = error.lines().next().unwrap_or_default();
        if let Ok(mut h) = self.healing.lock() {
            match h.as_mut() {
                Some(h) => {
                    h.error = error.to_string();
                    h.attempts += 1;
                }
                None => {
                    *h = Some(Healing {
                        since: Instant::now(),
                        error: error.to_string(),
                        attempts: 0,
                    })
                }
            }
        }
    }

    pub fn healing(&self) -> Option<Healing> {
        self.healing.lock().ok().and_then(|h| h.clone())
    }

    /// Why no mail can be taken now, if none can: the store is being
    /// reopened, or the open store's storage has just failed.
    pub fn stuck(&self) -> Option<String> {
        let (since, error, attempts) = match (self.healing(), self.desk()) {
            (Some(h), _) => (h.since, h.error, h.attempts),
            (None, Some(desk)) => {
                let f = desk.store().fault().failure()?;
                (f.since, f.error, 0)
            }
            (None, None) => return None,
        };
        Some(format!(
            "storage: {error} (for {}s, {attempts} reopen attempts); intake is paused and resumes by itself once the store takes writes again (free space under desk.state_dir)",
            since.elapsed().as_secs()
        ))
    }

    /// Answers a request with the desk, or says why it cannot.
    pub fn handle(&self, req: Request) -> Response {
        let Some(desk) = self.desk() else {
            return match req {
                Request::Ping => Response::Pong {
                    pid: std::process::id(),
                },
                Request::Status => Response::Status(crate::status::Report {
                    daemon: true,
                    pid: std::process::id(),
                    inboxes: Vec::new(),
                    outbox_queued: 0,
                    tickets: 0,
                    quarantined: 0,
                    metrics: crate::metrics::get().listening(),
                    stuck: self.stuck(),
                    cluster: None,
                }),
                _ => Response::Error {
                    message: format!(
                        "postdesk serve is stuck: {}",
                        self.stuck()
                            .unwrap_or_else(|| "the store is being reopened".into())
                    ),
                    retry: true,
                },
            };
        };
        let mut resp = desk.handle(req);
        // The store closes only once nobody holds the desk.
        drop(desk);
        match resp {
            Response::Status(ref mut r) => r.stuck = self.stuck(),
            Response::Erased {
                record,
                rewritten: None,
            } => return self.rewrite(record),
            _ => {}
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_desk_status_says_stuck_and_ingest_is_to_be_retried() {
        let serving = Serving::default();
        serving.failed("IO error: No space left on device\n  hint: check the disk");
        match serving.handle(Request::Status) {
            Response::Status(r) => {
                let why = r.stuck.unwrap_or_default();
                assert!(why.starts_with("storage: IO error: No space"), "{why}");
                assert!(!why.contains("hint"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        match serving.handle(Request::Ingest {
            inbox: None,
            origin: "-".into(),
            import_status: None,
            durable: true,
            raw: b"Subject: x\r\n\r\nx".to_vec(),
        }) {
            Response::Error { message, retry } => {
                assert!(retry && message.contains("stuck: storage"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        serving.failed("second");
        assert_eq!(serving.healing().map(|h| h.attempts), Some(1));
    }
}
