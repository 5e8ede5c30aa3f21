//! The record stream: a store's portable records ([`Record`]) one after
//! another, the same whichever engine wrote or reads them. It is the
//! backup format from [`crate::backup`]'s format 2 on, so a desk backed
//! up from PostgreSQL restores into sled and the other way round.
//!
//! A stream is a magic line, then one frame per record — a kind byte and
//! three length-prefixed fields (a JSON header, a key, a blob: raw mail
//! and keys stay bytes, unescaped) — and an end frame `Z`, so a stream cut
//! short is told from a whole one. Each frame is tallied per kind: a
//! count, and a digest that does not depend on the order (the wrapping sum
//! of the first 128 bits of each frame's SHA-256), because two engines
//! hand out the same records in different orders.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Record;
use crate::store::export::{put, take_bytes, take_tag};
use crate::store::IdEntry;

pub const MAGIC: &[u8] = b"postdesk-records 1\n";

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("damaged record stream: {0}")]
    Bad(String),
}

fn bad(what: impl std::fmt::Display) -> StreamError {
    StreamError::Bad(what.to_string())
}

/// Records per kind, and an order-free digest of each kind's frames.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tallies(BTreeMap<&'static str, (u64, u128)>);

impl Tallies {
    fn add(&mut self, kind: &'static str, frame: &[u8]) {
        let hash = Sha256::digest(frame);
        let mut first = [0u8; 16];
        first.copy_from_slice(&hash[..16]);
        let t = self.0.entry(kind).or_default();
        t.0 += 1;
        t.1 = t.1.wrapping_add(u128::from_be_bytes(first));
    }

    /// Records per kind (kinds are named after the sled trees that hold
    /// them: `tickets`, `messages`, `msgids`, …).
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.0
            .iter()
            .map(|(k, (n, _))| (k.to_string(), *n))
            .collect()
    }

    /// Each kind's digest, in hex.
    pub fn digests(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(k, (_, d))| (k.to_string(), format!("{d:032x}")))
            .collect()
    }
}

#[derive(Serialize, Deserialize)]
struct MessageHead {
    ticket: u64,
    seq: u32,
    record: Box<crate::core::ticket::MessageRecord>,
}

#[derive(Serialize, Deserialize)]
struct NotifiedHead {
    agent: String,
    seen: Option<(u64, u32)>,
}

#[derive(Serialize, Deserialize)]
struct GuardHead {
    kind: String,
    record: serde_json::Value,
}

/// The kind byte and name of a record.
fn kind_of(r: &Record) -> (u8, &'static str) {
    match r {
        Record::Ticket(_) => (b't', "tickets"),
        Record::Message { .. } => (b'm', "messages"),
        Record::MessageId { .. } => (b'i', "msgids"),
        Record::Customer { .. } => (b'c', "customers"),
        Record::Quarantine { .. } => (b'q', "quarantine"),
        Record::QuarantineRaw { .. } => (b'r', "qraw"),
        Record::Cursor { .. } => (b'u', "cursors"),
        Record::Outbox { .. } => (b'o', "outbox"),
        Record::Notified { .. } => (b'n', "notified"),
        Record::Guard { .. } => (b'g', "guard"),
        Record::Erasure(_) => (b'e', "erasures"),
        Record::Meta { .. } => (b'x', "meta"),
    }
}

fn name_of(tag: u8) -> Option<&'static str> {
    Some(match tag {
        b't' => "tickets",
        b'm' => "messages",
        b'i' => "msgids",
        b'c' => "customers",
        b'q' => "quarantine",
        b'r' => "qraw",
        b'u' => "cursors",
        b'o' => "outbox",
        b'n' => "notified",
        b'g' => "guard",
        b'e' => "erasures",
        b'x' => "meta",
        _ => return None,
    })
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, StreamError> {
    serde_json::to_vec(v).map_err(bad)
}

/// A record's three fields: JSON header, key, blob.
type Fields<'a> = (Vec<u8>, &'a [u8], Vec<u8>);

fn fields(r: &Record) -> Result<Fields<'_>, StreamError> {
    Ok(match r {
        Record::Ticket(t) => (json(t)?, &[], Vec::new()),
        Record::Message {
            ticket,
            seq,
            record,
            raw,
        } => (
            json(&MessageHead {
                ticket: *ticket,
                seq: *seq,
                record: record.clone(),
            })?,
            &[],
            raw.clone(),
        ),
        Record::MessageId { key, entry } => (Vec::new(), key, entry.encode().to_vec()),
        Record::Customer { email, ticket } => (json(ticket)?, email, Vec::new()),
        Record::Quarantine { id, entry } => (json(entry)?, id, Vec::new()),
        Record::QuarantineRaw { id, raw } => (Vec::new(), id, raw.clone()),
        Record::Cursor { source, value } => (json(source)?, &[], value.clone()),
        Record::Outbox { entry, body } => (json(entry)?, &[], body.clone()),
        Record::Notified {
            message_id,
            agent,
            seen,
        } => (
            json(&NotifiedHead {
                agent: agent.clone(),
                seen: *seen,
            })?,
            message_id,
            Vec::new(),
        ),
        Record::Guard {
            kind,
            email,
            record,
        } => (
            json(&GuardHead {
                kind: kind.clone(),
                record: record.clone(),
            })?,
            email,
            Vec::new(),
        ),
        Record::Erasure(e) => (json(e)?, &[], Vec::new()),
        Record::Meta { key, value } => (Vec::new(), key, value.clone()),
    })
}

/// One record as its frame.
pub fn frame(r: &Record) -> Result<(&'static str, Vec<u8>), StreamError> {
    let (tag, kind) = kind_of(r);
    let (head, key, blob) = fields(r)?;
    let mut out = Vec::with_capacity(13 + head.len() + key.len() + blob.len());
    out.push(tag);
    for part in [&head[..], key, &blob[..]] {
        let len = u32::try_from(part.len()).map_err(|_| bad("a record over 4 GiB"))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part);
    }
    Ok((kind, out))
}

fn head<T: serde::de::DeserializeOwned>(kind: &str, head: &[u8]) -> Result<T, StreamError> {
    serde_json::from_slice(head).map_err(|e| bad(format!("{kind}: {e}")))
}

fn record_of(tag: u8, h: &[u8], key: Vec<u8>, blob: Vec<u8>) -> Result<Record, StreamError> {
    let kind = name_of(tag).ok_or_else(|| bad(format!("unknown record kind {tag:#04x}")))?;
    Ok(match tag {
        b't' => Record::Ticket(head(kind, h)?),
        b'm' => {
            let m: MessageHead = head(kind, h)?;
            Record::Message {
                ticket: m.ticket,
                seq: m.seq,
                record: m.record,
                raw: blob,
            }
        }
        b'i' => Record::MessageId {
            key,
            entry: IdEntry::decode(&blob).ok_or_else(|| bad("msgids: bad entry"))?,
        },
        b'c' => Record::Customer {
            email: key,
            ticket: head(kind, h)?,
        },
        b'q' => Record::Quarantine {
            id: key,
            entry: head(kind, h)?,
        },
        b'r' => Record::QuarantineRaw { id: key, raw: blob },
        b'u' => Record::Cursor {
            source: head(kind, h)?,
            value: blob,
        },
        b'o' => Record::Outbox {
            entry: head(kind, h)?,
            body: blob,
        },
        b'n' => {
            let n: NotifiedHead = head(kind, h)?;
            Record::Notified {
                message_id: key,
                agent: n.agent,
                seen: n.seen,
            }
        }
        b'g' => {
            let g: GuardHead = head(kind, h)?;
            Record::Guard {
                kind: g.kind,
                email: key,
                record: g.record,
            }
        }
        b'e' => Record::Erasure(head(kind, h)?),
        _ => Record::Meta { key, value: blob },
    })
}

/// Writes records as a stream, tallying them.
pub struct Writer<W> {
    out: W,
    tallies: Tallies,
}

impl<W: std::io::Write> Writer<W> {
    pub fn new(mut out: W) -> Result<Writer<W>, StreamError> {
        out.write_all(MAGIC)?;
        Ok(Writer {
            out,
            tallies: Tallies::default(),
        })
    }

    pub fn write(&mut self, r: &Record) -> Result<(), StreamError> {
        let (kind, frame) = frame(r)?;
        self.out.write_all(&frame)?;
        self.tallies.add(kind, &frame);
        Ok(())
    }

    /// Ends the stream; hands back the output and what was written.
    pub fn finish(mut self) -> Result<(W, Tallies), StreamError> {
        put(&mut self.out, b'Z', &[])?;
        Ok((self.out, self.tallies))
    }
}

/// Reads a stream record by record, tallying what it read.
pub struct Reader<R> {
    input: R,
    tallies: Tallies,
    done: bool,
}

impl<R: std::io::Read> Reader<R> {
    pub fn new(mut input: R) -> Result<Reader<R>, StreamError> {
        let mut magic = [0u8; MAGIC.len()];
        input.read_exact(&mut magic)?;
        if magic != MAGIC {
            return Err(bad("not a postdesk record stream"));
        }
        Ok(Reader {
            input,
            tallies: Tallies::default(),
            done: false,
        })
    }

    /// The next record; `None` after the end frame. A stream that stops
    /// before its end frame is an error.
    pub fn next_record(&mut self) -> Result<Option<Record>, StreamError> {
        if self.done {
            return Ok(None);
        }
        let input: &mut dyn std::io::Read = &mut self.input;
        let tag = take_tag(input)?;
        if tag == b'Z' {
            take_bytes(input)?;
            self.done = true;
            return Ok(None);
        }
        let h = take_bytes(input)?;
        let key = take_bytes(input)?;
        let blob = take_bytes(input)?;
        let record = record_of(tag, &h, key, blob)?;
        // Tallied as written: the frame made again from what was read.
        let (kind, frame) = frame(&record)?;
        self.tallies.add(kind, &frame);
        Ok(Some(record))
    }

    pub fn tallies(&self) -> &Tallies {
        &self.tallies
    }
}

/// The tallies of every record `export` hands out, in the stream's
/// encoding: to check a store against a stream's manifest.
pub fn tally(
    export: impl FnOnce(&mut dyn FnMut(Record) -> crate::store::Result<()>) -> crate::store::Result<()>,
) -> Result<Tallies, StreamError> {
    let mut tallies = Tallies::default();
    let mut failed = None;
    let result = export(&mut |r| {
        match frame(&r) {
            Ok((kind, f)) => tallies.add(kind, &f),
            Err(e) => failed = Some(e),
        }
        Ok(())
    });
    if let Some(e) = failed {
        return Err(e);
    }
    result.map_err(bad)?;
    Ok(tallies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::IdKind;

    fn records() -> Vec<Record> {
        vec![
            Record::MessageId {
                key: b"a@b".to_vec(),
                entry: IdEntry {
                    kind: IdKind::Sent,
                    ticket: 7,
                },
            },
            Record::Customer {
                email: b"ann@c.test".to_vec(),
                ticket: 7,
            },
            Record::QuarantineRaw {
                id: b"q1".to_vec(),
                raw: b"junk\0\xffbytes".to_vec(),
            },
            Record::Cursor {
                source: "main".into(),
                value: b"uid 42".to_vec(),
            },
            Record::Notified {
                message_id: b"n@d".to_vec(),
                agent: "bob@desk.test".into(),
                seen: Some((7, 2)),
            },
            Record::Guard {
                kind: "mark".into(),
                email: b"x@y".to_vec(),
                record: serde_json::json!({"b": 1, "a": [2]}),
            },
            Record::Meta {
                key: b"counter/rr".to_vec(),
                value: b"3".to_vec(),
            },
        ]
    }

    fn stream_of(records: &[Record]) -> (Vec<u8>, Tallies) {
        let mut w = Writer::new(Vec::new()).expect("writer");
        for r in records {
            w.write(r).expect("write");
        }
        w.finish().expect("finish")
    }

    #[test]
    fn records_read_back_as_written_and_tallies_ignore_order() {
        let rs = records();
        let (bytes, written) = stream_of(&rs);
        let mut reader = Reader::new(bytes.as_slice()).expect("magic");
        let mut back = Vec::new();
        while let Some(r) = reader.next_record().expect("record") {
            back.push(r);
        }
        assert_eq!(format!("{back:?}"), format!("{rs:?}"));
        assert_eq!(reader.tallies(), &written);
        assert_eq!(written.counts().get("msgids"), Some(&1));

        let mut reversed = records();
        reversed.reverse();
        assert_eq!(stream_of(&reversed).1, written, "order does not matter");
        let mut changed = records();
        changed.pop();
        changed.push(Record::Meta {
            key: b"counter/rr".to_vec(),
            value: b"4".to_vec(),
        });
        assert_ne!(
            stream_of(&changed).1.digests().get("meta"),
            written.digests().get("meta"),
            "a changed record changes its kind's digest"
        );
    }

    #[test]
    fn cut_or_foreign_streams_are_refused() {
        let (bytes, _) = stream_of(&records());
        let cut = &bytes[..bytes.len() - 6];
        let mut reader = Reader::new(cut).expect("magic");
        let mut result = Ok(Some(()));
        while let Ok(Some(())) = result {
            result = reader.next_record().map(|r| r.map(|_| ()));
        }
        assert!(result.is_err(), "a stream without its end frame");
        assert!(Reader::new(&b"postdesk-store-export 1\n"[..]).is_err());
        let mut unknown = MAGIC.to_vec();
        unknown.extend_from_slice(&[b'?', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut reader = Reader::new(unknown.as_slice()).expect("magic");
        assert!(reader.next_record().is_err(), "an unknown kind");
    }
}
