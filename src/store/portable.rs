//! The store's records as plain values, read from its export stream: what
//! another engine needs to hold the same desk (`postdesk migrate --from
//! sled`). Decoding lives here, beside the encoding, so that a change to
//! one is a change to the other; the reading is [`Store::export`]'s, so
//! the move sees one moment of the desk, as a backup does.

use super::*;

pub mod stream;

/// One live record of the store. Trees that only index other trees
/// (`ticket_index`, `outq`, `timers`, `ticket_timer`) and the sled
/// layout's own version yield none: a new engine builds its own indexes.
#[derive(Debug)]
pub enum Record {
    Ticket(Box<Ticket>),
    Message {
        ticket: u64,
        seq: u32,
        record: Box<MessageRecord>,
        raw: Vec<u8>,
    },
    MessageId {
        key: Vec<u8>,
        entry: IdEntry,
    },
    Customer {
        email: Vec<u8>,
        ticket: u64,
    },
    Quarantine {
        id: Vec<u8>,
        entry: QuarantineEntry,
    },
    QuarantineRaw {
        id: Vec<u8>,
        raw: Vec<u8>,
    },
    Cursor {
        source: String,
        value: Vec<u8>,
    },
    /// An outbox entry and its mail (or, while planned, its JSON plan).
    Outbox {
        entry: Box<outbox::Entry>,
        body: Vec<u8>,
    },
    Notified {
        message_id: Vec<u8>,
        agent: String,
        seen: Option<(u64, u32)>,
    },
    /// A bounce mark (`kind` mark) or recent automatic mail (`kind` sent);
    /// `record` is its JSON.
    Guard {
        kind: String,
        email: Vec<u8>,
        record: serde_json::Value,
    },
    Erasure(ErasureRecord),
    /// Counters, notices given and whatever else `meta` keeps.
    Meta {
        key: Vec<u8>,
        value: Vec<u8>,
    },
}

/// Trees whose records are derived from others.
const DERIVED: [&str; 4] = ["ticket_index", "outq", "timers", "ticket_timer"];

/// Turns one exported record into what it means, `None` for index
/// entries and the mail dictionaries (mail moves unpacked, so they are
/// an artefact of this engine, and made of customers' mail). A tree this
/// does not know is an error, so that a tree added later cannot be left
/// behind by a move without anyone noticing. `codec` is the exporting
/// store's ([`Store::codec`]): it unpacks the mail.
pub fn decode(tree: &str, k: &[u8], v: &[u8], codec: &codec::Codec) -> Result<Option<Record>> {
    let corrupt = |what: &'static str, detail: &str| StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    };
    let text = |what: &'static str, b: &[u8]| {
        String::from_utf8(b.to_vec()).map_err(|_| corrupt(what, "is not UTF-8"))
    };
    Ok(Some(match tree {
        t if DERIVED.contains(&t) => return Ok(None),
        "tickets" => Record::Ticket(Box::new(from_packed("ticket", v)?)),
        "messages" => {
            let (record, raw) = decode_with_blob("message", codec, v)?;
            let ticket = be_u64(k).ok_or_else(|| corrupt("message key", "too short"))?;
            let seq = k
                .get(8..12)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
                .ok_or_else(|| corrupt("message key", "too short"))?;
            Record::Message {
                ticket,
                seq,
                record: Box::new(record),
                raw,
            }
        }
        "msgids" => Record::MessageId {
            key: k.to_vec(),
            entry: IdEntry::decode(v).ok_or_else(|| corrupt("message id", "bad entry"))?,
        },
        "customers" => {
            let split = k.len().checked_sub(9).filter(|&i| k[i] == 0);
            let i = split.ok_or_else(|| corrupt("customer key", "bad layout"))?;
            Record::Customer {
                email: k[..i].to_vec(),
                ticket: be_u64(&k[i + 1..]).ok_or_else(|| corrupt("customer key", "bad layout"))?,
            }
        }
        "quarantine" => Record::Quarantine {
            id: k.to_vec(),
            entry: from_packed("quarantine entry", v)?,
        },
        "qraw" => Record::QuarantineRaw {
            id: k.to_vec(),
            // As `quarantined_entry` reads it: bytes that do not unpack
            // are kept as they are.
            raw: codec.unpack_mail(v).unwrap_or_else(|_| v.to_vec()),
        },
        "cursors" => Record::Cursor {
            source: text("cursor", k)?,
            value: v.to_vec(),
        },
        "outbox" => {
            let (entry, body) = decode_with_blob("outbox entry", codec, v)?;
            Record::Outbox {
                entry: Box::new(entry),
                body,
            }
        }
        "notified" => notified_record(k, &String::from_utf8_lossy(v)),
        "guard" => {
            let i = k
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| corrupt("guard key", "bad layout"))?;
            Record::Guard {
                kind: text("guard key", &k[..i])?,
                email: k[i + 1..].to_vec(),
                record: from_packed("guard record", v)?,
            }
        }
        "meta" if k == KEY_SCHEMA => return Ok(None),
        "meta" if k == KEY_DICT_CURRENT || k.starts_with(DICT_PREFIX) => return Ok(None),
        "meta" if k.starts_with(privacy::ERASURE_PREFIX.as_bytes()) => {
            Record::Erasure(from_packed("erasure record", v)?)
        }
        "meta" => Record::Meta {
            key: k.to_vec(),
            value: v.to_vec(),
        },
        // sled's default tree: postdesk never writes it.
        "__sled__default" => return Ok(None),
        other => {
            return Err(StoreError::Corrupt {
                what: "store tree",
                detail: format!("`{other}` is a tree this postdesk cannot move"),
            })
        }
    }))
}

/// A notification's agent, as `agent` or `agent ticket seen`.
fn notified_record(message_id: &[u8], value: &str) -> Record {
    let mut words = value.split(' ');
    let agent = words.next().unwrap_or_default().to_string();
    let seen = match (words.next(), words.next()) {
        (Some(t), Some(n)) => t.parse().ok().zip(n.parse().ok()),
        _ => None,
    };
    Record::Notified {
        message_id: message_id.to_vec(),
        agent,
        seen,
    }
}

/// Every record one exported value holds: [`decode`]'s, and for an index
/// entry of sent mail that carries the agent it notified (schema 3), that
/// notification too, under the entry's key (the normalized id), so that
/// no engine the records go to loses it.
pub fn decode_records(tree: &str, k: &[u8], v: &[u8], codec: &codec::Codec) -> Result<Vec<Record>> {
    let mut records: Vec<Record> = decode(tree, k, v, codec)?.into_iter().collect();
    if tree == "msgids" {
        if let Some(agent) = notified_in_entry(v) {
            records.push(notified_record(k, agent));
        }
    }
    Ok(records)
}

/// One exported record: its tree, key and value.
pub type Raw = (String, Vec<u8>, Vec<u8>);

/// Reads an export stream ([`Store::export`]) record by record.
pub struct Reader<R> {
    input: R,
    tree: Option<String>,
    counted: u64,
    done: bool,
}

impl<R: std::io::Read> Reader<R> {
    pub fn new(mut input: R) -> std::io::Result<Reader<R>> {
        let mut magic = [0u8; export::EXPORT_MAGIC.len()];
        input.read_exact(&mut magic)?;
        if magic != export::EXPORT_MAGIC {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a postdesk store export",
            ));
        }
        Ok(Reader {
            input,
            tree: None,
            counted: 0,
            done: false,
        })
    }

    /// The next record as (tree, key, value); `None` at the end.
    pub fn next_record(&mut self) -> std::io::Result<Option<Raw>> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        loop {
            if self.done {
                return Ok(None);
            }
            let input: &mut dyn std::io::Read = &mut self.input;
            match (self.tree.is_some(), export::take_tag(input)?) {
                (false, b'Z') => self.done = true,
                (false, b'T') => {
                    let name = export::take_bytes(input)?;
                    self.tree = Some(String::from_utf8_lossy(&name).into_owned());
                    self.counted = 0;
                }
                (true, b'K') => {
                    let k = export::take_bytes(input)?;
                    if export::take_tag(input)? != b'V' {
                        return Err(bad("damaged export: a key without its value"));
                    }
                    let v = export::take_bytes(input)?;
                    self.counted += 1;
                    let tree = self.tree.clone().unwrap_or_default();
                    return Ok(Some((tree, k, v)));
                }
                (true, b'E') => {
                    let mut count = [0u8; 8];
                    input.read_exact(&mut count)?;
                    if u64::from_be_bytes(count) != self.counted {
                        return Err(bad("damaged export: a tree's record count does not match"));
                    }
                    self.tree = None;
                }
                _ => return Err(bad("damaged export: unexpected record")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_reads_back_as_records_and_index_trees_as_none() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let now = Utc::now();
        let q = store
            .quarantine(b"junk\0bytes", "not mail", "test", now)
            .expect("quarantine");
        let mut staged = Staged::default();
        store.stage_cursor(&mut staged, "main", b"uid 42");
        store.stage_counter(&mut staged, "rr/general", 3);
        store.commit(&mut staged).expect("commit");
        let mut out = Vec::new();
        store.export(&mut out).expect("export");

        let mut reader = Reader::new(out.as_slice()).expect("magic");
        let mut seen = Vec::new();
        while let Some((tree, k, v)) = reader.next_record().expect("record") {
            if let Some(r) = decode(&tree, &k, &v, &store.codec()).expect("decodes") {
                seen.push(r);
            }
        }
        assert!(seen.iter().any(|r| matches!(r,
            Record::Quarantine { id, entry } if id == q.id.as_bytes() && entry.reason == "not mail")));
        assert!(seen.iter().any(|r| matches!(r,
            Record::QuarantineRaw { raw, .. } if raw == b"junk\0bytes")));
        assert!(seen.iter().any(|r| matches!(r,
            Record::Cursor { source, value } if source == "main" && value == b"uid 42")));
        assert!(seen.iter().any(|r| matches!(r,
            Record::Meta { key, .. } if key == b"counter/rr/general")));
        assert!(
            !seen
                .iter()
                .any(|r| matches!(r, Record::Meta { key, .. } if key == KEY_SCHEMA)),
            "the sled layout's version is not a record"
        );
    }

    #[test]
    fn unknown_trees_and_damaged_streams_are_refused() {
        let codec = codec::Codec::default();
        assert!(decode("tickets_v9", b"k", b"v", &codec).is_err());
        assert!(decode("ticket_index", b"k", b"", &codec)
            .expect("derived")
            .is_none());
        assert!(decode("customers", b"no-separator", b"", &codec).is_err());
        assert!(Reader::new(&b"something else entirely"[..]).is_err());
        let mut cut = export::EXPORT_MAGIC.to_vec();
        cut.extend_from_slice(b"T\0\0\0\x07tickets");
        cut.push(b'E');
        cut.extend_from_slice(&5u64.to_be_bytes());
        let mut reader = Reader::new(cut.as_slice()).expect("magic");
        assert!(reader.next_record().is_err(), "a count that does not match");
    }
}
