//! [`Messages`] over the `tickets` and `messages` trees.

use super::*;
use crate::store::engine::Messages;

impl Messages for Sled {
    fn messages(&self, ticket: u64) -> Result<Vec<(MessageRecord, Vec<u8>)>> {
        let codec = self.codec();
        self.messages
            .scan_prefix(ticket.to_be_bytes())
            .map(|r| {
                let (_, v) = r.map_err(self.io("read messages"))?;
                decode_with_blob("message", &codec, &v)
            })
            .collect()
    }

    /// Reads each value's record part only: the mail is not unpacked.
    fn message_records(&self, ticket: u64) -> Result<Vec<MessageRecord>> {
        self.messages
            .scan_prefix(ticket.to_be_bytes())
            .map(|r| {
                let (_, v) = r.map_err(self.io("read messages"))?;
                record_of("message", &v)
            })
            .collect()
    }

    fn raw_message(&self, ticket: u64, seq: u32) -> Result<Option<Vec<u8>>> {
        self.messages
            .get(message_key(ticket, seq))
            .map_err(self.io("read message"))?
            .map(|v| {
                decode_with_blob::<MessageRecord>("message", &self.codec(), &v).map(|(_, raw)| raw)
            })
            .transpose()
    }

    fn tickets(&self) -> Box<dyn Iterator<Item = Result<Ticket>> + '_> {
        Box::new(self.tickets.iter().map(|r| {
            let (_, v) = r.map_err(self.io("read tickets"))?;
            from_packed("ticket", &v)
        }))
    }

    /// Reads the whole tree (0.86 s at 600,000 tickets).
    fn ticket_count(&self) -> Result<u64> {
        Ok(self.tickets.len() as u64)
    }
}
