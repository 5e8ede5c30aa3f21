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
            BackendError::Desk(_) => false,
        }
    }
}

pub enum Backend {
    Local(Box<Desk>),
    Remote(Client),
}

impl Backend {
    /// The daemon if one answers, else the store itself. A daemon starting
    /// while we look is given a moment to open its socket.
    pub fn connect(config: Config) -> Result<Backend, BackendError> {
        let dir = config.state_dir().to_path_buf();
        let mut config = Some(config);
        for attempt in 0..12 {
            if let Some(client) = Client::connect(&dir)? {
                return Ok(Backend::Remote(client));
            }
            if let Some(cfg) = config.take() {
                match Desk::open(cfg.clone()) {
                    Ok(desk) => return Ok(Backend::Local(Box::new(desk))),
                    Err(DeskError::Store(StoreError::Locked { .. })) => config = Some(cfg),
                    Err(e) => return Err(e.into()),
                }
            }
            std::thread::sleep(Duration::from_millis(50 + 20 * attempt));
        }
        Err(BackendError::Busy)
    }

    pub fn call(&mut self, req: Request) -> Result<Response, BackendError> {
        match self {
            Backend::Local(desk) => Ok(desk.handle(req)),
            Backend::Remote(client) => Ok(client.call(req)?),
        }
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Backend::Remote(_))
    }
}
