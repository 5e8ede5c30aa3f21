//! Reads of stored tickets and messages: a ticket's messages with or
//! without their bytes, one message's bytes, every ticket in number order,
//! and how many there are.

use crate::store::Result;
use crate::ticket::{MessageRecord, Ticket};

/// Stored tickets and their messages, as they are kept (nothing staged).
pub trait Messages {
    /// A ticket's messages in arrival (sequence) order, each with its
    /// original bytes. The records' `text` is empty: readers derive it
    /// from the bytes.
    fn messages(&self, ticket: u64) -> Result<Vec<(MessageRecord, Vec<u8>)>>;

    /// A ticket's message records in sequence order, without their bytes:
    /// what a reader that needs no mail asks, so no mail is unpacked.
    fn message_records(&self, ticket: u64) -> Result<Vec<MessageRecord>>;

    /// The original bytes of one message, as they arrived.
    fn raw_message(&self, ticket: u64, seq: u32) -> Result<Option<Vec<u8>>>;

    /// Every stored ticket in number order, read lazily: memory does not
    /// grow with the desk.
    fn tickets(&self) -> Box<dyn Iterator<Item = Result<Ticket>> + '_>;

    /// Every ticket counted, one by one (what a restore checks against its
    /// manifest), as opposed to [`super::Intake::last_ticket`]'s O(log n)
    /// highest number.
    fn ticket_count(&self) -> Result<u64>;
}
