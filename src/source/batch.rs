//! The durability rule, written once: every source hands its mail over
//! through [`run`], so no source can get the order wrong.
//!
//! 1. each message of the batch is stored (a transaction staged in the
//!    desk, not yet durable);
//! 2. the source's cursor, if it has one, is staged after them, so it
//!    lands in the same write as the messages it counts;
//! 3. the store is flushed once: from here the batch survives a crash;
//! 4. only then are the messages counted in the metrics and marked done
//!    at the source (IMAP flag, move or delete; Maildir move to `cur/`;
//!    the pipe's exit 0).
//!
//! A crash before 3 leaves the source as it was: everything is read again,
//! and what the store had already is recognized by Message-ID. A crash
//! between 3 and 4 leaves stored messages unmarked: read again,
//! recognized, then marked. Marking before the flush is the one order
//! that could lose mail.
//!
//! A message the store refuses ends the batch: the ones before it are
//! flushed and marked done, it and every one after it are left at the
//! source untouched, and the cursor stops before it, since a mark or a
//! cursor past a message that was not stored would skip it for good.

use std::time::Instant;

use crate::api::{Outcome, Request, Response};
use crate::backend::{Backend, BackendError};
use crate::decide::Mode;
use crate::desk::{Desk, Prepared};
use crate::store::StoreError;

/// Where a batch is written. Most sources write to the desk in this
/// process; the pipe and imports may reach a running daemon's desk
/// through the control socket instead.
pub trait Sink {
    /// A message in the form this sink takes it.
    type Message;
    type Error;
    /// Stores one message; durable only after [`Sink::flush`].
    fn store(&mut self, message: Self::Message) -> Result<Outcome, Self::Error>;
    /// Told a whole batch before its first message is stored, by a
    /// source that holds the batch in memory anyway (IMAP, imports; a
    /// Maildir reads its files one at a time): a sink may read ahead what
    /// deciding it needs. A hint only; no answer changes.
    fn read_ahead(&mut self, _batch: &[&Self::Message]) {}
    /// Stores `messages` in order until one is refused: the outcomes of
    /// those stored, and why the next was not. A sink that crosses a
    /// socket answers the whole batch in one round trip.
    fn store_batch(&mut self, messages: Vec<Self::Message>) -> (Vec<Outcome>, Option<Self::Error>)
    where
        Self: Sized,
    {
        store_each(self, messages)
    }

    /// Stages a source's position with the messages stored so far.
    fn stage_cursor(&mut self, key: &str, value: &[u8]) -> Result<(), Self::Error>;
    /// Makes everything stored and staged so far durable.
    fn flush(&mut self) -> Result<(), Self::Error>;
}

/// What a source does around the rule; [`run`] decides when.
pub trait Source {
    /// How the source names one message: an IMAP UID, a Maildir path, a
    /// position in an import.
    type Key;

    /// Told right after the desk took a message, before it is durable:
    /// for logs and counts only, nothing here may reach the source.
    fn stored(&mut self, _key: &Self::Key, _outcome: &Outcome) {}

    /// The position to make durable with the batch, as (cursor key,
    /// encoded value). `refused` is the message the store refused, if
    /// any: the position must stay before it.
    fn cursor(&mut self, _refused: Option<&Self::Key>) -> Option<(String, Vec<u8>)> {
        None
    }

    /// The inbox and the moment a message was taken, for the intake
    /// latency metric; `None` for what the daemon's metrics do not count
    /// (imports, and the pipe, whose process is not the daemon).
    fn taken(&self, _key: &Self::Key) -> Option<(&str, Instant)> {
        None
    }

    /// Marks messages done at the source. Called only once the flush has
    /// made them durable, in the order they were stored.
    fn mark_done(&mut self, done: Vec<(Self::Key, Outcome)>);
}

/// How a batch ended, once it was flushed.
#[derive(Debug)]
pub struct Stored<K, E> {
    /// Messages made durable and marked done.
    pub done: usize,
    /// The message the store refused and why; it and everything after it
    /// were left at the source.
    pub refused: Option<(K, E)>,
}

/// Stores `messages` through `sink` and marks them done at `source`, in
/// the order the module documentation gives. An `Err` is a failed
/// cursor stage or flush: then nothing of the batch was marked done, and
/// the source reads it again later.
pub fn run<S, Src>(
    sink: &mut S,
    source: &mut Src,
    messages: impl IntoIterator<Item = (Src::Key, S::Message)>,
) -> Result<Stored<Src::Key, S::Error>, S::Error>
where
    S: Sink,
    Src: Source,
{
    let mut done = Vec::new();
    let mut refused = None;
    for (key, message) in messages {
        match sink.store(message) {
            Ok(outcome) => {
                source.stored(&key, &outcome);
                done.push((key, outcome));
            }
            Err(e) => {
                refused = Some((key, e));
                break;
            }
        }
    }
    finish(sink, source, done, refused)
}

/// [`run`] for a batch the source holds whole: the sink stores it at once
/// ([`Sink::store_batch`]); the rest of the rule is the same.
pub fn run_held<S, Src>(
    sink: &mut S,
    source: &mut Src,
    messages: Vec<(Src::Key, S::Message)>,
) -> Result<Stored<Src::Key, S::Error>, S::Error>
where
    S: Sink,
    Src: Source,
{
    let (keys, messages): (Vec<_>, Vec<_>) = messages.into_iter().unzip();
    let (outcomes, error) = sink.store_batch(messages);
    let mut keys = keys.into_iter();
    let mut done = Vec::with_capacity(outcomes.len());
    // Outcomes first: `zip` takes from its first side before the second,
    // and a key taken past the last outcome would be lost to the refusal.
    for (outcome, key) in outcomes.into_iter().zip(keys.by_ref()) {
        source.stored(&key, &outcome);
        done.push((key, outcome));
    }
    let refused = match error {
        // The refusal is the first message not stored.
        Some(e) => match keys.next() {
            Some(key) => Some((key, e)),
            // A sink that refused after storing them all: nothing of
            // the batch can be taken as stored.
            None => return Err(e),
        },
        None => None,
    };
    finish(sink, source, done, refused)
}

/// Steps 2 to 4 of the rule, once the batch's messages are stored.
fn finish<S, Src>(
    sink: &mut S,
    source: &mut Src,
    done: Vec<(Src::Key, Outcome)>,
    refused: Option<(Src::Key, S::Error)>,
) -> Result<Stored<Src::Key, S::Error>, S::Error>
where
    S: Sink,
    Src: Source,
{
    let cursor = source.cursor(refused.as_ref().map(|(key, _)| key));
    if let Some((key, value)) = &cursor {
        sink.stage_cursor(key, value)?;
    }
    if done.is_empty() && cursor.is_none() {
        // Nothing staged: a flush would only cost a sync.
        return Ok(Stored { done: 0, refused });
    }
    sink.flush()?;
    for (key, outcome) in &done {
        if let Some((inbox, taken)) = source.taken(key) {
            crate::metrics::get().message(inbox, outcome, taken);
        }
    }
    let count = done.len();
    source.mark_done(done);
    Ok(Stored {
        done: count,
        refused,
    })
}

/// The most mail one [`Request::IngestBatch`] carries: an import's batch
/// holds up to 32 MiB and one message more, which may be large; a batch
/// over this goes a message a request, each within the socket's limits.
const BATCH_BLOB_MAX: usize = 64 << 20;

/// [`Sink::store_batch`]'s one-at-a-time answer, for sinks that override
/// it but sometimes cannot batch.
fn store_each<S: Sink>(
    sink: &mut S,
    messages: Vec<S::Message>,
) -> (Vec<Outcome>, Option<S::Error>) {
    let mut outcomes = Vec::with_capacity(messages.len());
    for message in messages {
        match sink.store(message) {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => return (outcomes, Some(e)),
        }
    }
    (outcomes, None)
}

/// The desk in this process, storing every message of a batch into one
/// inbox with one mode.
pub struct ToDesk<'a> {
    pub desk: &'a Desk,
    pub inbox: Option<&'a str>,
    pub mode: Mode,
}

impl Sink for ToDesk<'_> {
    type Message = Prepared;
    type Error = StoreError;

    fn store(&mut self, message: Prepared) -> Result<Outcome, StoreError> {
        self.desk.ingest_prepared(message, self.inbox, self.mode)
    }

    fn read_ahead(&mut self, batch: &[&Prepared]) {
        self.desk.read_ahead(batch);
    }

    fn stage_cursor(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.desk.stage_cursor(key, value)
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        self.desk.flush()?;
        self.desk.store().maybe_train_dictionary();
        Ok(())
    }
}

/// The desk behind a [`Backend`]: the daemon's over its control socket
/// when one runs, else one this process opened.
pub struct ToBackend<'a> {
    pub backend: &'a mut Backend,
    pub inbox: Option<String>,
    /// `Some` stores as history (imports), `None` as live mail.
    pub import_status: Option<crate::ticket::Status>,
    /// Each message is flushed before the answer comes back, saving a
    /// second round trip when every batch is one message (the pipe).
    /// [`Sink::flush`] then has nothing left to do.
    pub durable_each: bool,
    /// A daemon too old to know [`Request::IngestBatch`] said so: this
    /// sink sends one message a request from then on.
    pub one_by_one: bool,
}

/// Why the desk behind a backend did not take a message.
#[derive(Debug, thiserror::Error)]
pub enum BackendSinkError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("{message}")]
    Refused { message: String, retry: bool },
    #[error("unexpected answer {0:?}")]
    Unexpected(Box<Response>),
    /// No request carries a cursor: sources with a position run in the
    /// daemon and use [`ToDesk`].
    #[error("a source's position cannot be stored through the control socket")]
    NoCursor,
}

impl ToBackend<'_> {
    fn refused(resp: Response) -> BackendSinkError {
        match resp {
            Response::Error { message, retry } => BackendSinkError::Refused { message, retry },
            other => BackendSinkError::Unexpected(Box::new(other)),
        }
    }
}

impl Sink for ToBackend<'_> {
    /// (origin, raw bytes): parsing happens on the desk's side.
    type Message = (String, Vec<u8>);
    type Error = BackendSinkError;

    fn store(&mut self, (origin, raw): (String, Vec<u8>)) -> Result<Outcome, BackendSinkError> {
        match self.backend.call(Request::Ingest {
            inbox: self.inbox.clone(),
            origin,
            import_status: self.import_status,
            durable: self.durable_each,
            raw,
        })? {
            Response::Ingested(outcome) => Ok(outcome),
            other => Err(Self::refused(other)),
        }
    }

    fn store_batch(
        &mut self,
        messages: Vec<(String, Vec<u8>)>,
    ) -> (Vec<Outcome>, Option<BackendSinkError>) {
        let bytes: usize = messages.iter().map(|(_, raw)| raw.len()).sum();
        let status = match self.import_status {
            Some(status) if !self.durable_each && !self.one_by_one => status,
            _ => return store_each(self, messages),
        };
        if messages.len() < 2 || bytes > BATCH_BLOB_MAX {
            return store_each(self, messages);
        }
        let sizes = messages.iter().map(|(_, raw)| raw.len() as u64).collect();
        let mut raw = Vec::with_capacity(bytes);
        let mut origins = Vec::with_capacity(messages.len());
        let mut kept = Vec::with_capacity(messages.len());
        for (origin, one) in messages {
            raw.extend_from_slice(&one);
            origins.push(origin.clone());
            kept.push((origin, one));
        }
        let asked = self.backend.call(Request::IngestBatch {
            inbox: self.inbox.clone(),
            import_status: status,
            origins,
            sizes,
            raw,
        });
        match asked {
            Ok(Response::IngestedBatch { outcomes, refused }) => (
                outcomes,
                refused.map(|r| BackendSinkError::Refused {
                    message: r.message,
                    retry: r.retry,
                }),
            ),
            // A daemon of an older version: it cannot parse the request
            // and took nothing, so the batch goes one message at a time.
            Ok(Response::Error { message, .. }) if message.starts_with("malformed request") => {
                tracing::debug!(%message, "the daemon does not take batches; sending one message a request");
                self.one_by_one = true;
                store_each(self, kept)
            }
            Ok(other) => (Vec::new(), Some(Self::refused(other))),
            Err(e) => (Vec::new(), Some(e.into())),
        }
    }

    fn stage_cursor(&mut self, _key: &str, _value: &[u8]) -> Result<(), BackendSinkError> {
        Err(BackendSinkError::NoCursor)
    }

    fn flush(&mut self) -> Result<(), BackendSinkError> {
        if self.durable_each {
            return Ok(());
        }
        match self.backend.call(Request::Flush)? {
            Response::Flushed => Ok(()),
            other => Err(Self::refused(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that records the order of events and refuses on request.
    #[derive(Default)]
    struct Log {
        events: Vec<String>,
        refuse: Option<u32>,
        fail_flush: bool,
    }

    impl Sink for Log {
        type Message = u32;
        type Error = String;
        fn store(&mut self, m: u32) -> Result<Outcome, String> {
            if self.refuse == Some(m) {
                return Err(format!("no {m}"));
            }
            self.events.push(format!("store {m}"));
            Ok(Outcome::Duplicate {
                ticket: format!("T{m}"),
            })
        }
        fn stage_cursor(&mut self, key: &str, value: &[u8]) -> Result<(), String> {
            self.events
                .push(format!("cursor {key}={}", String::from_utf8_lossy(value)));
            Ok(())
        }
        fn flush(&mut self) -> Result<(), String> {
            if self.fail_flush {
                return Err("disk full".into());
            }
            self.events.push("flush".into());
            Ok(())
        }
    }

    struct Src<'a> {
        events: &'a std::cell::RefCell<Vec<String>>,
        with_cursor: bool,
    }

    impl Source for Src<'_> {
        type Key = u32;
        fn cursor(&mut self, refused: Option<&u32>) -> Option<(String, Vec<u8>)> {
            let upto = refused.map_or(9, |r| r - 1);
            self.with_cursor
                .then(|| ("c".to_string(), upto.to_string().into_bytes()))
        }
        fn mark_done(&mut self, done: Vec<(u32, Outcome)>) {
            let keys: Vec<String> = done.iter().map(|(k, _)| k.to_string()).collect();
            self.events
                .borrow_mut()
                .push(format!("done {}", keys.join(",")));
        }
    }

    fn batch(sink: &mut Log, with_cursor: bool, keys: &[u32]) -> (Vec<String>, bool, usize) {
        let marked = std::cell::RefCell::new(Vec::new());
        let mut src = Src {
            events: &marked,
            with_cursor,
        };
        let result = run(sink, &mut src, keys.iter().map(|&k| (k, k)));
        let mut events = std::mem::take(&mut sink.events);
        events.extend(marked.into_inner());
        match result {
            Ok(s) => (events, s.refused.is_some(), s.done),
            Err(_) => (events, false, 0),
        }
    }

    /// [`run_held`] over the same batch: the same events, the same ending.
    fn held(sink: &mut Log, with_cursor: bool, keys: &[u32]) -> (Vec<String>, bool, usize) {
        let marked = std::cell::RefCell::new(Vec::new());
        let mut src = Src {
            events: &marked,
            with_cursor,
        };
        let result = run_held(sink, &mut src, keys.iter().map(|&k| (k, k)).collect());
        let mut events = std::mem::take(&mut sink.events);
        events.extend(marked.into_inner());
        match result {
            Ok(s) => (events, s.refused.is_some(), s.done),
            Err(_) => (events, false, 0),
        }
    }

    #[test]
    fn a_batch_held_whole_follows_the_same_rule() {
        for (refuse, fail_flush, with_cursor) in [
            (None, false, true),
            (Some(2), false, true),
            (Some(1), false, false),
            (None, true, false),
        ] {
            let sink = || Log {
                refuse,
                fail_flush,
                ..Log::default()
            };
            assert_eq!(
                held(&mut sink(), with_cursor, &[1, 2, 3]),
                batch(&mut sink(), with_cursor, &[1, 2, 3]),
                "refuse {refuse:?}, fail_flush {fail_flush}, cursor {with_cursor}"
            );
        }
    }

    #[test]
    fn stores_then_cursor_then_flush_then_marks_done() {
        let (events, refused, done) = batch(&mut Log::default(), true, &[1, 2]);
        assert_eq!(
            events,
            ["store 1", "store 2", "cursor c=9", "flush", "done 1,2"]
        );
        assert!(!refused);
        assert_eq!(done, 2);
    }

    #[test]
    fn a_refused_message_ends_the_batch_and_holds_the_cursor_before_it() {
        let mut sink = Log {
            refuse: Some(2),
            ..Log::default()
        };
        let (events, refused, done) = batch(&mut sink, true, &[1, 2, 3]);
        assert_eq!(events, ["store 1", "cursor c=1", "flush", "done 1"]);
        assert!(refused);
        assert_eq!(done, 1);
    }

    #[test]
    fn nothing_is_marked_done_when_the_flush_fails() {
        let mut sink = Log {
            fail_flush: true,
            ..Log::default()
        };
        let (events, _, _) = batch(&mut sink, false, &[1, 2]);
        assert_eq!(events, ["store 1", "store 2"]);
    }

    #[test]
    fn an_empty_batch_without_a_cursor_does_not_flush() {
        let (events, _, _) = batch(&mut Log::default(), false, &[]);
        assert!(events.is_empty());
        let (events, _, _) = batch(&mut Log::default(), true, &[]);
        assert_eq!(events, ["cursor c=9", "flush", "done "]);
    }
}
