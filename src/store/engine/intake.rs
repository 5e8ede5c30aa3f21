//! The primitives intake needs: keyed reads of what is stored, the
//! deadlines index, and the one write of a decided set.

use chrono::{DateTime, Utc};

use crate::bounce;
use crate::store::{IdEntry, NoticeRecord, Result, Staged};
use crate::ticket::Ticket;

/// Storage primitives of intake: keyed reads of what is stored, the
/// deadlines index, and the one write of a decided set.
pub trait Intake {
    /// What the Message-ID index holds under `key` (a [`crate::mail::msgid::key`],
    /// or an id as an older index held it).
    fn id_entry(&self, key: &str) -> Result<Option<IdEntry>>;

    /// The agent (`agent ticket seen` or `agent`) that the notification
    /// sent with Message-ID `message_id` went to, if stored.
    fn notified(&self, message_id: &str) -> Result<Option<String>>;

    /// A stored ticket.
    fn ticket(&self, number: u64) -> Result<Option<Ticket>>;

    /// The highest stored ticket number (0: none). Numbers are dense.
    fn last_ticket(&self) -> Result<u64>;

    /// The highest stored outbox id (0: none). Ids are dense.
    fn last_outbox_id(&self) -> Result<u64>;

    /// A stored named counter.
    fn counter(&self, name: &str) -> Result<Option<u64>>;

    /// A source's stored position.
    fn cursor(&self, source: &str) -> Result<Option<Vec<u8>>>;

    /// The stored record of proactive notice `notice` given to `email`.
    fn notice(&self, notice: &str, email: &str) -> Result<Option<NoticeRecord>>;

    /// The stored bounce mark of an address (trimmed, lowercased).
    fn mark(&self, email: &str) -> Result<Option<bounce::Mark>>;

    /// The stored times of automatic mail to an address.
    fn auto_sent(&self, email: &str) -> Result<Vec<DateTime<Utc>>>;

    /// Tickets whose next deadline is at or before `now`, soonest first.
    fn due_tickets(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<u64>>;

    /// The earliest deadline of any ticket.
    fn next_timer(&self) -> Result<Option<DateTime<Utc>>>;

    /// Writes a whole staged set as one transaction: all of it or, on an
    /// error, none of it.
    fn write(&self, staged: &Staged) -> Result<()>;

    /// Makes what was written durable; sources are marked done only after.
    fn flush(&self) -> Result<()>;
}
