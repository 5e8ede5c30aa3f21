//! An inbox's position, kept in the store and written in the same
//! transaction as the messages it covers: it can never run ahead of what
//! is stored.

/// Where an IMAP inbox stands in one UIDVALIDITY epoch of its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub uid_validity: u32,
    /// Every message up to this UID is durably stored.
    pub stored: u32,
    /// `after` has been applied on the server up to this UID. Lags
    /// `stored` only across a crash between a flush and the server
    /// command; the gap is redone on the next connect.
    pub done: u32,
}

impl Cursor {
    /// A fresh start in an epoch: nothing stored yet.
    pub fn start(uid_validity: u32) -> Cursor {
        Cursor {
            uid_validity,
            stored: 0,
            done: 0,
        }
    }

    /// Stored as text so that a person looking into the store can read it.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "uidvalidity={} stored={} done={}",
            self.uid_validity, self.stored, self.done
        )
        .into_bytes()
    }

    /// `None` for bytes this code did not write (then the inbox starts over
    /// and Message-ID dedupe keeps that from doubling anything).
    pub fn decode(bytes: &[u8]) -> Option<Cursor> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut c = Cursor::default();
        let mut seen = 0;
        for part in text.split_whitespace() {
            let (key, value) = part.split_once('=')?;
            let value: u32 = value.parse().ok()?;
            match key {
                "uidvalidity" => c.uid_validity = value,
                "stored" => c.stored = value,
                "done" => c.done = value,
                _ => return None,
            }
            seen += 1;
        }
        (seen == 3 && c.done <= c.stored).then_some(c)
    }

    /// What `postdesk status` shows.
    pub fn describe(&self) -> String {
        format!("uidvalidity {}, uid {}", self.uid_validity, self.stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let c = Cursor {
            uid_validity: 1700000000,
            stored: 456,
            done: 400,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(c.describe(), "uidvalidity 1700000000, uid 456");
        assert_eq!(Cursor::decode(b""), None);
        assert_eq!(Cursor::decode(b"uidvalidity=1 stored=2"), None);
        assert_eq!(Cursor::decode(b"uidvalidity=1 stored=2 done=3"), None);
        assert_eq!(Cursor::decode(b"uidvalidity=x stored=2 done=1"), None);
        assert_eq!(Cursor::decode(&[0xff, 0xfe]), None);
    }
}
