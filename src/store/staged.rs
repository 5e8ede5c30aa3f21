//! What a batch of decisions stages before its one write, and the
//! write-behind guard an import holds while its batches are written.

use super::*;

/// A message staged for writing: its record as JSON and its mail packed
/// by the store's [`codec::Codec::pack_mail`] (with the desk's current
/// mail dictionary, or none yet), as both engines keep it.
#[derive(Debug)]
pub struct StagedMessage {
    pub ticket: u64,
    pub seq: u32,
    pub json: Vec<u8>,
    pub mail: Vec<u8>,
}

/// Intakes decided but not yet written; see the module docs. It holds
/// records, not any engine's encoding: each engine lays them out when it
/// writes the set ([`engine::Intake::write`]).
#[derive(Debug, Default)]
pub struct Staged {
    pub(crate) tickets: std::collections::HashMap<u64, Ticket>,
    pub(crate) ids: std::collections::HashMap<String, IdEntry>,
    pub(crate) messages: Vec<StagedMessage>,
    /// New tickets by requester: the address as the ticket has it.
    pub(crate) customers: Vec<(String, u64)>,
    /// Queued mail: the entry and its mail (or plan), raw; the engine
    /// packs it if it keeps mail packed.
    pub(crate) outbox: Vec<(outbox::Entry, Vec<u8>)>,
    pub(crate) counters: std::collections::HashMap<String, u64>,
    pub(crate) cursors: std::collections::HashMap<String, Vec<u8>>,
    pub(crate) notified: std::collections::HashMap<String, String>,
    /// Bounce marks by address; `None` clears one.
    pub(crate) marks: std::collections::HashMap<String, Option<bounce::Mark>>,
    /// Times of automatic mail by recipient, as they must be stored.
    pub(crate) auto_sent: std::collections::HashMap<String, Vec<DateTime<Utc>>>,
    pub(crate) extra_tickets: std::collections::HashSet<u64>,
    /// Proactive notices given: meta key and the record's JSON.
    pub(crate) notices: Vec<(String, Vec<u8>)>,
    pub(crate) count: usize,
    pub(crate) bytes: usize,
    /// Bytes of the staged messages as they arrived.
    pub(crate) mail_bytes: usize,
    /// Whether this set's decisions hold the store's write turn
    /// ([`Store::enter`]); kept across a commit in mid-decision.
    pub(crate) entered: bool,
    /// The inboxes whose mail it holds: a shared store writes it only
    /// while this node still holds their leases.
    pub(crate) inboxes: std::collections::BTreeSet<String>,
    /// This node's holds on those inboxes' leases when their mail was
    /// staged: the write checks these fences, not whatever this node holds
    /// by then. A batch staged under a lease since lost must never be
    /// written, not even once the node has taken the lease again (the
    /// other node may have stored the same mail meanwhile).
    pub(crate) fences: Vec<crate::pg::lease::Hold>,
    /// What the coming batch's decisions will read, asked of the engine
    /// at once when the write turn is next taken ([`Store::read_ahead`]).
    /// A hint only: it changes no answer.
    pub(crate) ahead: Option<ReadAhead>,
}

/// Write-behind while held ([`Store::write_behind`]). Dropped without
/// [`WriteBehind::finish`], it still waits for the last batch, and logs
/// how it ended.
pub struct WriteBehind<'a> {
    pub(super) store: &'a Store,
    pub(super) on: bool,
}

impl WriteBehind<'_> {
    /// Waits for the last batch to be committed and says how it ended:
    /// only then is everything committed so far durable.
    pub fn finish(mut self) -> Result<()> {
        self.end()
    }

    fn end(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.on) {
            return Ok(());
        }
        match &self.store.kept {
            Kept::Postgres(p) => p.write_behind(false),
            _ => Ok(()),
        }
    }
}

impl Drop for WriteBehind<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.end() {
            tracing::error!(error = %e, "the last batch written behind was not stored");
        }
    }
}

/// The Message-ID keys and the senders (lowercased) of a batch about to
/// be decided.
#[derive(Debug, Default)]
pub struct ReadAhead {
    pub ids: Vec<String>,
    pub addresses: Vec<String>,
}

impl Staged {
    /// Intakes staged.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
            && self.outbox.is_empty()
            && self.counters.is_empty()
            && self.cursors.is_empty()
            && self.marks.is_empty()
            && self.auto_sent.is_empty()
            && self.extra_tickets.is_empty()
            && self.notices.is_empty()
    }

    /// Whether a staged new ticket was opened by this customer.
    pub fn has_ticket_of(&self, email: &str) -> bool {
        self.tickets
            .values()
            .any(|t| t.requester.email.eq_ignore_ascii_case(email))
    }

    /// Staged tickets opened by this customer.
    pub fn tickets_of(&self, email: &str) -> Vec<u64> {
        self.tickets
            .values()
            .filter(|t| t.requester.email.eq_ignore_ascii_case(email))
            .map(|t| t.number)
            .collect()
    }

    /// Whether committing this set queues mail (the outbox worker is woken).
    pub fn has_outgoing(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Bytes the staged messages and mail hold (records as plain JSON,
    /// mail as staged): what bounds a batch's memory.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}
