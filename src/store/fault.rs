//! The store's health as its writers found it. The storage engine keeps an
//! I/O error (a full disk, a failing device) for the life of the open
//! store: every later write fails with it, even once space is back. So the
//! first failure is remembered here and announced, and the daemon answers
//! by closing the store and opening it again (see `daemon::heal`).

use std::sync::Mutex;
use std::time::Instant;

/// One storage failure: when it was first seen and what it said.
#[derive(Debug, Clone)]
pub struct Failure {
    pub since: Instant,
    pub error: String,
}

#[derive(Debug, Default)]
pub struct Fault {
    first: Mutex<Option<Failure>>,
    announce: tokio::sync::Notify,
}

impl Fault {
    /// Remembers `error`, a failure of the storage itself (the engine
    /// decides which of its errors are: see `sled_engine::fails_storage`),
    /// unless one is remembered already, and wakes whoever waits.
    pub fn record(&self, error: &dyn std::fmt::Display) {
        if let Ok(mut first) = self.first.lock() {
            if first.is_none() {
                *first = Some(Failure {
                    since: Instant::now(),
                    error: error.to_string(),
                });
            }
        }
        self.announce.notify_waiters();
        self.announce.notify_one();
    }

    /// The first failure, if the store has failed since it was opened.
    pub fn failure(&self) -> Option<Failure> {
        self.first.lock().ok().and_then(|f| f.clone())
    }

    /// Returns once the store has failed.
    pub async fn failed(&self) -> Failure {
        loop {
            let notified = self.announce.notified();
            if let Some(f) = self.failure() {
                return f;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_kept() {
        let f = Fault::default();
        assert!(f.failure().is_none());
        f.record(&"No space left on device");
        f.record(&"second");
        let got = f.failure().map(|f| f.error).unwrap_or_default();
        assert!(got.contains("No space left"), "{got}");
    }
}
