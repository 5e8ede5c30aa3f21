//! Where a command's requests go: to the running daemon over its control
//! socket, or, with no daemon, to a store this process opens itself. The CLI
//! does not care which; that is the point.

use std::time::Duration;

use crate::api::{Request, Response};
use crate::config::Config;
use crate::control::{Client, ControlError};
use crate::desk::{Desk, DeskError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The store is held by a process that does not answer on the socket
    /// (starting up, or shutting down). Worth retrying later.
    #[error("the store is busy and no daemon answers on its control socket\n  hint: if `postdesk serve` is starting or stopping, try again in a moment")]
    Busy,
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error(transparent)]
    Control(#[from] ControlError),
}

impl BackendError {
    /// Whether trying again later may succeed (MTA delivery exits 75 then).
    pub fn is_temporary(&self) -> bool {
        match self {
            BackendError::Busy | BackendError::Control(_) => true,
            BackendError::Desk(DeskError::Store(StoreError::Locked { .. })) => true,
            BackendError::Desk(DeskError::Store(StoreError::Io { .. })) => true,
            // The database is down, restarting or failing over, or this
            // node just lost an inbox's lease: later, it takes the mail.
            BackendError::Desk(DeskError::Store(
                StoreError::Unreachable(_) | StoreError::Pg { .. } | StoreError::LeaseLost(_),
            )) => true,
            BackendError::Desk(_) => false,
        }
    }
}

pub enum Backend {
    Local(Box<Desk>),
    /// The daemon, and the configuration to find it (or the store) again
    /// if it stops while we talk.
    Remote(Client, Box<Config>),
    /// Our own store, closed for a moment (rewritten after an erasure);
    /// the next request opens it (or finds a daemon) again.
    Closed(Box<Config>),
}

impl Backend {
    /// The daemon if one answers, else the store itself. A daemon starting
    /// while we look is given a moment to open its socket.
    pub fn connect(config: Config) -> Result<Backend, BackendError> {
        let dir = config.state_dir().to_path_buf();
        // As long as `serve` itself would wait for the store: a daemon
        // starting or draining holds it without answering for a moment.
        let deadline = std::time::Instant::now() + config.daemon.lock_wait;
        let mut attempt = 0u64;
        loop {
            if let Some(client) = Client::connect(&dir)? {
                return Ok(Backend::Remote(client, Box::new(config)));
            }
            match Desk::open(config.clone()) {
                Ok(desk) => return Ok(Backend::Local(Box::new(desk))),
                Err(DeskError::Store(StoreError::Locked { .. })) => {}
                Err(e) => return Err(e.into()),
            }
            if std::time::Instant::now() >= deadline {
                return Err(BackendError::Busy);
            }
            attempt += 1;
            std::thread::sleep(Duration::from_millis((30 + 20 * attempt).min(250)));
        }
    }

    /// Answers `req`. When the daemon stops (or restarts) between our
    /// connecting and its answering, a request that is safe to repeat is
    /// asked again of whoever holds the store now: the next daemon, or the
    /// store itself. Cron's `stats` and an MTA's `ingest` must not fail
    /// because systemd restarted `serve` at that moment.
    pub fn call(&mut self, req: Request) -> Result<Response, BackendError> {
        let mut again = req.repeatable().then(|| req.clone());
        let mut req = req;
        // A restart takes one retry; a daemon flapping faster than that is
        // reported rather than chased.
        if let Backend::Closed(config) = self {
            let config = (**config).clone();
            *self = Backend::connect(config)?;
        }
        for _ in 0..3 {
            let (result, config) = match self {
                Backend::Local(desk) => {
                    return match desk.handle(req) {
                        Response::Erased {
                            record,
                            rewritten: None,
                        } => {
                            let config = desk.config().clone();
                            Ok(self.rewrite_local(config, record))
                        }
                        resp => Ok(resp),
                    };
                }
                Backend::Closed(_) => return Err(BackendError::Busy),
                Backend::Remote(client, config) => (client.call(req), config),
            };
            match (result, again.take()) {
                (Err(ControlError::Gone(_)), Some(retry)) => {
                    again = Some(retry.clone());
                    req = retry;
                    let config = (**config).clone();
                    *self = Backend::connect(config)?;
                }
                (result, _) => return Ok(result?),
            }
        }
        Err(BackendError::Busy)
    }

    /// After an erasure without a daemon: closes our store, rewrites it so
    /// that no old copy of the erased records stays on disk (see
    /// [`crate::store::Store::rewrite`]), and opens it again.
    fn rewrite_local(&mut self, config: Config, record: crate::store::ErasureRecord) -> Response {
        *self = Backend::Closed(Box::new(config.clone()));
        match crate::store::Store::rewrite(config.state_dir()) {
            Ok(copied) => Response::Erased {
                record,
                rewritten: Some(copied),
            },
            Err(e) => Response::rewrite_failed(&record, &e.to_string()),
        }
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Backend::Remote(..))
    }
}
