//! Waiting between attempts at a source that fails (an IMAP server that
//! is down, a Maildir scan whose store is unreachable): exponential, so
//! what is down is not hammered nor the log flooded, and jittered, so
//! many inboxes on one server do not all come back in the same second.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// Back to the short wait after a connection that worked.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The wait before the next attempt: `base * 2^n` capped, then a random
    /// point in its upper half (`jitter` in 0..1 picks it; tests pass a
    /// fixed one).
    pub fn next_with(&mut self, jitter: f64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.failures.min(20));
        let full = exp.min(self.cap);
        self.failures = self.failures.saturating_add(1);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    pub fn next(&mut self) -> Duration {
        let mut b = [0u8; 4];
        // Without randomness the wait is merely not spread; never an error.
        let jitter = match getrandom::fill(&mut b) {
            Ok(()) => f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX),
            Err(_) => 1.0,
        };
        self.next_with(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let waits: Vec<u64> = (0..6).map(|_| b.next_with(1.0).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 10, 10]);
        assert_eq!(b.failures(), 6);
        b.reset();
        assert_eq!(b.next_with(0.0), Duration::from_millis(500));
        let j = b.next();
        assert!(
            j >= Duration::from_secs(1) && j <= Duration::from_secs(2),
            "{j:?}"
        );
    }
}
