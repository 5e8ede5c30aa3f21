//! The requests every command makes and the answers it gets, the same whether
//! the command opened the store itself or asked the running daemon over the
//! control socket. Having one set of types is what keeps the two paths from
//! drifting apart: the CLI builds a [`Request`], a [`crate::backend`] answers
//! it, the CLI prints the [`Response`].

use serde::{Deserialize, Serialize};

use crate::store::{QuarantineEntry, TicketQuery};
use crate::ticket::{MessageRecord, Status, ThreadReason, Ticket};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Is anybody there? Answered with [`Response::Pong`].
    Ping,
    /// Read every record of the store and report what cannot be read.
    VerifyStore,
    /// Store several messages of history in order, as an import through a running
    /// daemon does: one round trip a batch instead of one a message, and
    /// the daemon parses the batch on all its cores and reads ahead for
    /// it, as an import without a daemon does. Nothing is flushed: the
    /// caller sends [`Request::Flush`] at its durability points. Answered
    /// with [`Response::IngestedBatch`]. The mails travel beside the JSON,
    /// one after another, `sizes` saying how long each is.
    IngestBatch {
        inbox: Option<String>,
        /// The status imported tickets take: a batch is history, kept
        /// with its dates and never answered.
        import_status: Status,
        /// Each message's origin, for the record and the quarantine.
        origins: Vec<String>,
        /// Each message's length in `raw`, in order.
        sizes: Vec<u64>,
        #[serde(skip)]
        raw: Vec<u8>,
    },
    /// Store one message. The raw bytes travel beside the JSON on the socket.
    Ingest {
        /// The inbox it counts as arriving through (its queue applies).
        inbox: Option<String>,
        /// Where the bytes came from, for the record and the quarantine.
        origin: String,
        /// Historic mail from `import`: keep its dates, answer nothing.
        import_status: Option<Status>,
        /// Flush before answering. Batch callers say false and send
        /// [`Request::Flush`] at their durability points.
        durable: bool,
        #[serde(skip)]
        raw: Vec<u8>,
    },
    /// Make everything stored so far durable.
    Flush,
    /// One page of tickets, newest update first (`tickets list`): the
    /// CLI asks again with the cursor for more, so no answer grows with
    /// the desk.
    ListTickets {
        #[serde(default)]
        query: TicketQuery,
        /// Where the previous page ended.
        #[serde(default)]
        after: Option<String>,
        /// At most this many (capped by the store's page size).
        limit: usize,
    },
    ShowTicket {
        reference: String,
    },
    ListQuarantine,
    ShowQuarantine {
        id: String,
    },
    ListOutbox,
    /// Requeue one entry, or with no id every failed one; with `all`
    /// every queued and failed one (due now, flushing the queue).
    RetryOutbox {
        id: Option<u64>,
        #[serde(default)]
        all: bool,
    },
    /// Where every inbox and the outbox stand.
    Status,
    /// An admin's fix to a ticket: the same commands agents send by mail.
    SetTicket {
        reference: String,
        commands: Vec<String>,
    },
    /// Merge `from` into `into`.
    MergeTickets {
        from: String,
        into: String,
    },
    /// Run the rules over a message and say why each did or did not match.
    /// Nothing is stored or sent.
    ExplainRules {
        inbox: Option<String>,
        /// The rules the daemon has loaded, rather than the file on disk.
        #[serde(default)]
        live: bool,
        #[serde(skip)]
        raw: Vec<u8>,
    },
    /// Addresses marked by delivery reports (bounced, held back).
    ListAddresses,
    /// One customer: their tickets, ratings, organisation and mark.
    ShowCustomer {
        address: String,
    },
    /// Customers in address order, a page at a time.
    ListCustomers {
        /// The last address of the previous page.
        after: Option<String>,
        limit: usize,
    },
    /// Everything the desk holds about a person (`customers export`), a
    /// page at a time: the first answer (no `after`) carries the JSON
    /// records, every answer some of their messages' original bytes.
    ExportCustomer {
        address: String,
        /// Where the previous page ended (`TICKET-SEQ`).
        #[serde(default)]
        after: Option<String>,
    },
    /// Erase a person (`customers erase`): see [`crate::privacy`]. The
    /// store is rewritten afterwards (sled offline, PostgreSQL by VACUUM
    /// FULL), so no old copy stays in its files.
    EraseCustomer {
        address: String,
        /// Who asks: recorded with the erasure.
        by: String,
        /// Cancel mail still queued to them instead of refusing.
        force: bool,
    },
    /// The erasures recorded, oldest first.
    ListErasures,
    /// Forget an address's mark: automatic mail may go to it again.
    ClearAddress {
        address: String,
    },
    /// Render a template with a real ticket's data, or sample data.
    PreviewTemplate {
        name: String,
        ticket: Option<String>,
        /// The templates the daemon has loaded, rather than the files.
        #[serde(default)]
        live: bool,
        /// The language to render in (ISO 639-1); none: the ticket's
        /// language with `ticket`, else the desk's default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
    },
    /// Write a consistent backup of the store and the token secret into
    /// `dir` (absolute: the daemon's working directory is not the caller's).
    Backup {
        dir: std::path::PathBuf,
    },
    /// The managers' report (`postdesk stats`).
    Stats {
        /// The window: this far back from `now`; all time when absent.
        since_secs: Option<u64>,
        queue: Option<String>,
        /// The report's clock; the desk's own when absent.
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Mail a template to every customer with a matching ticket, once each.
    Notify(crate::notify::Filter),
}

impl Request {
    /// Whether asking again is harmless when the daemon went away before
    /// answering (it was stopping, or restarting its store): reads, and
    /// `Ingest`, which the Message-ID index (or, without one, the content
    /// digest) makes idempotent. Changes an admin makes are not repeated
    /// behind their back.
    pub fn repeatable(&self) -> bool {
        match self {
            Request::Ping
            | Request::VerifyStore
            | Request::Ingest { .. }
            | Request::IngestBatch { .. }
            | Request::Flush
            | Request::ListTickets { .. }
            | Request::ShowTicket { .. }
            | Request::ListQuarantine
            | Request::ShowQuarantine { .. }
            | Request::ListOutbox
            | Request::Status
            | Request::ExplainRules { .. }
            | Request::ListAddresses
            | Request::ShowCustomer { .. }
            | Request::ListCustomers { .. }
            | Request::ExportCustomer { .. }
            | Request::ListErasures
            | Request::PreviewTemplate { .. }
            | Request::Stats { .. } => true,
            Request::RetryOutbox { .. }
            | Request::SetTicket { .. }
            | Request::MergeTickets { .. }
            | Request::ClearAddress { .. }
            | Request::EraseCustomer { .. }
            | Request::Backup { .. }
            | Request::Notify(_) => false,
        }
    }
}

/// Why the desk did not take a message, as [`Response::Error`] says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub message: String,
    /// Whether asking again later may succeed.
    pub retry: bool,
}

/// What became of one ingested message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Stored {
        ticket: String,
        created: bool,
        thread: ThreadReason,
    },
    Duplicate {
        ticket: String,
    },
    Quarantined {
        id: String,
        reason: String,
        /// Not mail at all (MTA delivery exits 65 for these).
        not_mail: bool,
    },
}

/// A rendered template, as `templates preview` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Preview {
    pub subject: String,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub html: Option<String>,
}

/// A customer as `customers show` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerView {
    pub address: String,
    /// The display name of their newest ticket, if they gave one.
    pub name: Option<String>,
    pub organization: String,
    /// The language the desk writes to them in (the one chosen last on
    /// any of their tickets), if one was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<crate::language::Language>,
    /// Newest first.
    pub tickets: Vec<CustomerTicket>,
    /// Bounces and held automatic mail, as `addresses list` shows them.
    pub mark: Option<crate::bounce::Mark>,
    /// When the address is a pseudonym: the erasure that gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erasure: Option<crate::store::ErasureRecord>,
}

/// One page of `customers export`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExportPage {
    /// `customer.json` and `tickets.json`: on the first page only.
    #[serde(default)]
    pub records: Option<CustomerRecords>,
    /// Messages they wrote, in ticket and arrival order; their bytes are
    /// the page's blob, one after another.
    pub messages: Vec<ExportedMessage>,
    /// Where to go on from, when more follow.
    pub next: Option<String>,
    #[serde(skip)]
    pub raw: Vec<u8>,
}

/// One message of the mbox: who sent it, when, and how many bytes of the
/// blob are its.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportedMessage {
    pub ticket: String,
    pub sender: String,
    pub date: chrono::DateTime<chrono::Utc>,
    pub len: usize,
}

/// What a data-subject export holds besides the mbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerRecords {
    pub customer: serde_json::Value,
    pub tickets: serde_json::Value,
}

/// One of a customer's tickets, in brief.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerTicket {
    pub reference: String,
    pub status: Status,
    pub subject: String,
    pub updated: chrono::DateTime<chrono::Utc>,
    /// The satisfaction rating they gave, if any.
    pub rating: Option<u32>,
}

/// A line of `customers list`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerSummary {
    pub address: String,
    pub organization: String,
    pub tickets: usize,
    pub open: usize,
    pub last_update: Option<chrono::DateTime<chrono::Utc>>,
}

/// One message of a ticket as `tickets show` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketView {
    pub ticket: Ticket,
    pub messages: Vec<MessageRecord>,
    /// The mail the desk sent or will send about the ticket, oldest first.
    #[serde(default)]
    pub outgoing: Vec<crate::outbox::Entry>,
    /// The next deadline and what happens then.
    #[serde(default)]
    pub next: Option<(chrono::DateTime<chrono::Utc>, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Response {
    Pong {
        pid: u32,
    },
    Customer(Box<CustomerView>),
    /// A page of customers; `next` (the last address) when more follow.
    Customers {
        customers: Vec<CustomerSummary>,
        next: Option<String>,
    },
    Ingested(Outcome),
    /// What became of a [`Request::IngestBatch`]: the outcomes of the
    /// messages stored, in order, up to the first the store refused, and
    /// why it refused that one (it and those after it were not stored).
    IngestedBatch {
        outcomes: Vec<Outcome>,
        refused: Option<Refusal>,
    },
    Flushed,
    Tickets(Vec<Ticket>),
    /// A page of [`Request::ListTickets`]; `next` (a cursor) when there
    /// may be more.
    TicketPage {
        tickets: Vec<Ticket>,
        next: Option<String>,
    },
    Ticket(Box<TicketView>),
    Quarantine(Vec<QuarantineEntry>),
    QuarantineItem {
        entry: QuarantineEntry,
        #[serde(skip)]
        raw: Vec<u8>,
    },
    Outbox(Vec<crate::outbox::Entry>),
    Requeued(Vec<u64>),
    Preview(Preview),
    Explained(Box<crate::rules::Explanation>),
    Status(crate::status::Report),
    Addresses(Vec<crate::bounce::Mark>),
    BackedUp(crate::backup::Manifest),
    Verified(crate::store::Verified),
    Stats(Box<crate::report::Stats>),
    Notified(crate::notify::Report),
    CustomerExport(Box<ExportPage>),
    /// An erasure was written; `rewritten` once the store was rewritten
    /// (the records copied), `None` while that is still to do.
    Erased {
        record: crate::store::ErasureRecord,
        rewritten: Option<u64>,
    },
    Erasures(Vec<crate::store::ErasureRecord>),
    /// The request failed; `retry` says whether trying later may help (the
    /// store was unavailable) or not (bad input, unknown ticket).
    Error {
        message: String,
        retry: bool,
    },
}

impl Request {
    /// The bytes that travel beside the JSON, if any.
    pub fn take_blob(&mut self) -> Vec<u8> {
        match self {
            Request::Ingest { raw, .. }
            | Request::IngestBatch { raw, .. }
            | Request::ExplainRules { raw, .. } => std::mem::take(raw),
            _ => Vec::new(),
        }
    }

    pub fn put_blob(&mut self, blob: Vec<u8>) {
        if let Request::Ingest { raw, .. }
        | Request::IngestBatch { raw, .. }
        | Request::ExplainRules { raw, .. } = self
        {
            *raw = blob;
        }
    }
}

impl Response {
    /// An erasure whose transaction is written but whose rewrite of the
    /// store failed: the old copies stay on disk until one succeeds, and
    /// asking again does it (the erasure itself is not repeated).
    pub fn rewrite_failed(record: &crate::store::ErasureRecord, why: &str) -> Response {
        Response::Error {
            message: format!(
                "the erasure of {} is written, but rewriting the store failed: {why}\n  hint: old copies of the erased records stay on disk until a rewrite succeeds; run the same `customers erase` again",
                record.pseudonym
            ),
            retry: true,
        }
    }

    pub fn take_blob(&mut self) -> Vec<u8> {
        match self {
            Response::QuarantineItem { raw, .. } => std::mem::take(raw),
            Response::CustomerExport(page) => std::mem::take(&mut page.raw),
            _ => Vec::new(),
        }
    }

    pub fn put_blob(&mut self, blob: Vec<u8>) {
        match self {
            Response::QuarantineItem { raw, .. } => *raw = blob,
            Response::CustomerExport(page) => page.raw = blob,
            _ => {}
        }
    }
}
