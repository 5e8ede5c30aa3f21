//! How the store packs its two big kinds of bytes: mail (raw messages,
//! outgoing mail, quarantined mail) and the JSON records of tickets,
//! messages and outgoing mail.
//!
//! Why: on small support mail, LZ4 saved a quarter of the mail and the
//! JSON records (field names, empty lists) were larger than the mail
//! itself; sled writes every byte two to three times (benches/RESULTS.md,
//! "a compact store"). zstd with a dictionary shrinks both 3-5x.
//!
//! Formats, chosen so that every value written by an older build still
//! reads, with no migration:
//!
//! - Mail: a zstd frame (it starts with zstd's magic number), compressed
//!   with the desk's mail dictionary whose id the frame names, or with
//!   none. Anything else is the older LZ4 format (`lz4_flex`'s size
//!   prefix, a little-endian length that can never equal the magic: that
//!   would be a 4.2 GB mail).
//! - Records: [`RECORD_V1`] then a zstd frame made with [`RECORD_DICT_V1`],
//!   a dictionary of the store's own JSON that never changes (a later
//!   dictionary gets the next tag). A record that starts with `{` is
//!   plain JSON, as older builds wrote it.
//!
//! The mail dictionary is trained from the desk's first messages
//! ([`train`]) and kept in sled's `meta` tree under its id (PostgreSQL:
//! the `mail_dicts` table, `src/pg/engine/dictionaries.rs`); a
//! dictionary stays there as long as mail packed with it does. Being made
//! of customers' mail, it goes when an erasure rewrites the store: the
//! rewrite trains a new one from the live mail and re-packs every mail
//! with it (`privacy::Recode`). A dictionary shipped with postdesk
//! instead, made from synthetic mail (benches/gen_dict_mail.py), would
//! hold nothing to erase, but stored the bench corpus 65% and small mail
//! 85% larger than a trained one (benches/RESULTS.md, "a compact store
//! without erased customers' text").

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use zstd::dict::{DecoderDictionary, EncoderDictionary};
use zstd::zstd_safe::{CCtx, DCtx};

/// zstd's frame magic number, as it is stored (little-endian).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The tag of a record compressed with [`RECORD_DICT_V1`].
pub const RECORD_V1: u8 = 1;

/// Mail is compressed off the store thread (in the parse stage), but live
/// sources parse on the path to the store too: level 1 stored the bench
/// corpus as small as level 3 did (the dictionary does most of the work)
/// and kept IMAP intake at its LZ4 rate, which level 3 did not
/// (benches/RESULTS.md, "a compact store").
const MAIL_LEVEL: i32 = 1;

/// Records are compressed on the store thread, where every microsecond
/// is serial: the fastest level; the dictionary does most of the work.
const RECORD_LEVEL: i32 = 1;

/// No stored value decodes to more than this (intake limits are far
/// below it): a damaged size field must not become a huge allocation.
const MAX_DECODED: u64 = 1 << 30;

/// How many messages a mail dictionary is trained from, at most how much
/// of each and of all: training time and memory grow with the bytes.
pub const TRAIN_SAMPLES: usize = 2000;
pub const SAMPLE_BYTES: usize = 16 * 1024;
pub const TRAIN_BYTES: usize = 4 * 1024 * 1024;
const DICT_SIZE: usize = 64 * 1024;

/// The JSON the store writes, as a raw-content dictionary: field names in
/// the order serde writes them, and the usual values. Frozen: values
/// compressed with it must decode forever. A better one is a new tag.
pub const RECORD_DICT_V1: &[u8] = br#"{"id":1,"ticket":"B-1","kind":"ack","message_id":"","envelope_from":"","recipients":[""],"subject":"","size":1,"created":"2026-01-01T00:00:00Z","state":"queued","attempts":0,"next_attempt":"2026-01-01T00:00:00Z","last_error":null,"sent_at":null,"planned":true,"in_flight":false,"unconfirmed":0}{"ticket":1,"seq":1,"direction":"outbound","message_id":"","from":{"name":"","email":""},"to":[{"email":""}],"cc":[],"subject":"Re: ","date":"2026-01-01T00:00:00Z","received":"2026-01-01T00:00:00Z","origin":"imap:main","text":"","attachments":[],"size":1,"thread":{"by":"new"},"rules":[],"author":{"kind":"agent"},"internal":false,"flags":[]}{"ticket":1,"seq":1,"direction":"inbound","message_id":"","from":{"name":"","email":""},"to":[{"email":"support@"}],"cc":[],"subject":"Re: ","date":"2026-01-01T00:00:00Z","received":"2026-01-01T00:00:00Z","origin":"maildir:main","text":"","attachments":[],"size":1,"thread":{"by":"reference","message_id":""},"rules":["Acknowledge new tickets"],"author":{"kind":"customer"},"internal":false,"flags":[]}{"number":1,"reference":"B-1","subject":"","status":"open","priority":"normal","category":"general","queue":"general","assignee":null,"tags":[],"requester":{"name":"","email":""},"participants":[""],"inbox":"main","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","message_count":1,"imported":false,"first_response":null,"spam":false,"sla":null,"matched_rules":["Acknowledge new tickets"],"resolved_at":null,"merged_into":null,"merged_from":[],"follows":null,"pending_since":null,"reminded":false,"autoclosed":false,"survey":null,"sla_due":[],"timer_due":null,"agent_replies":0,"reopened":0,"sla_breaches":[]}"#;

thread_local! {
    static CCTX: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

fn record_dicts() -> &'static (EncoderDictionary<'static>, DecoderDictionary<'static>) {
    static DICTS: std::sync::OnceLock<(EncoderDictionary<'static>, DecoderDictionary<'static>)> =
        std::sync::OnceLock::new();
    DICTS.get_or_init(|| {
        (
            EncoderDictionary::copy(RECORD_DICT_V1, RECORD_LEVEL),
            DecoderDictionary::copy(RECORD_DICT_V1),
        )
    })
}

/// Why a value could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("compressed with mail dictionary {0}, which the store does not hold")]
    MissingDictionary(u32),
    #[error("damaged compressed value: {0}")]
    Damaged(String),
}

fn compress(src: &[u8], dict: Option<&EncoderDictionary<'static>>, level: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(src.len()));
    let done = CCTX.with(|c| {
        let mut c = c.borrow_mut();
        match dict {
            Some(d) => c.compress_using_cdict(&mut out, src, d.as_cdict()),
            None => c.compress(&mut out, src, level),
        }
    });
    // The output buffer holds the bound, so compression cannot run out
    // of room; zstd fails on nothing else we pass it.
    if done.is_err() {
        out.clear();
    }
    out
}

fn decompress(
    src: &[u8],
    dict: Option<&DecoderDictionary<'static>>,
) -> Result<Vec<u8>, CodecError> {
    let size = match zstd::zstd_safe::get_frame_content_size(src) {
        Ok(Some(n)) if n <= MAX_DECODED => n as usize,
        _ => return Err(CodecError::Damaged("no valid content size".into())),
    };
    let mut out = Vec::with_capacity(size);
    DCTX.with(|c| {
        let mut c = c.borrow_mut();
        match dict {
            Some(d) => c.decompress_using_ddict(&mut out, src, d.as_ddict()),
            None => c.decompress(&mut out, src),
        }
    })
    .map_err(|code| CodecError::Damaged(zstd::zstd_safe::get_error_name(code).to_string()))?;
    Ok(out)
}

/// Packs a JSON record (see the module docs).
pub fn pack_record(json: &[u8]) -> Vec<u8> {
    let frame = compress(json, Some(&record_dicts().0), RECORD_LEVEL);
    if frame.is_empty() {
        return json.to_vec();
    }
    let mut out = Vec::with_capacity(1 + frame.len());
    out.push(RECORD_V1);
    out.extend_from_slice(&frame);
    out
}

/// The JSON of a packed record, or of a plain one.
pub fn unpack_record(v: &[u8]) -> Result<Cow<'_, [u8]>, CodecError> {
    match v.first() {
        Some(&RECORD_V1) => Ok(Cow::Owned(decompress(&v[1..], Some(&record_dicts().1))?)),
        _ => Ok(Cow::Borrowed(v)),
    }
}

/// The mail dictionaries of one store: the one new mail is compressed
/// with, and every one its mail may name.
#[derive(Default)]
pub struct Codec {
    current: Option<(u32, EncoderDictionary<'static>)>,
    decoders: HashMap<u32, DecoderDictionary<'static>>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Codec(current {:?}, {} dictionaries)",
            self.current.as_ref().map(|(id, _)| id),
            self.decoders.len()
        )
    }
}

impl Codec {
    /// A codec knowing `dicts` (id, bytes), compressing with `current`.
    pub fn new(dicts: &[(u32, Vec<u8>)], current: Option<u32>) -> Codec {
        let decoders = dicts
            .iter()
            .map(|(id, d)| (*id, DecoderDictionary::copy(d)))
            .collect();
        let current = current.and_then(|id| {
            dicts
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, d)| (id, EncoderDictionary::copy(d, MAIL_LEVEL)))
        });
        Codec { current, decoders }
    }

    /// The id of the dictionary new mail is compressed with.
    pub fn current(&self) -> Option<u32> {
        self.current.as_ref().map(|(id, _)| *id)
    }

    /// Whether new mail is compressed with a trained dictionary.
    pub fn has_dictionary(&self) -> bool {
        self.current.is_some()
    }

    /// Mail bytes as the store keeps them.
    pub fn pack_mail(&self, raw: &[u8]) -> Vec<u8> {
        let packed = compress(raw, self.current.as_ref().map(|(_, d)| d), MAIL_LEVEL);
        if packed.is_empty() {
            // Not expected; the older format still reads.
            return lz4_flex::compress_prepend_size(raw);
        }
        packed
    }

    /// Mail bytes as they arrived, from either format.
    pub fn unpack_mail(&self, v: &[u8]) -> Result<Vec<u8>, CodecError> {
        if !v.starts_with(&ZSTD_MAGIC) {
            return lz4_flex::decompress_size_prepended(v)
                .map_err(|e| CodecError::Damaged(e.to_string()));
        }
        match zstd::zstd_safe::get_dict_id_from_frame(v) {
            None => decompress(v, None),
            Some(id) => {
                let d = self
                    .decoders
                    .get(&id.get())
                    .ok_or(CodecError::MissingDictionary(id.get()))?;
                decompress(v, Some(d))
            }
        }
    }
}

/// The codec without a dictionary, shared: what PostgreSQL packs the
/// outbox's mail and moved or restored messages with, and what reads
/// mail when no dictionary is at hand (tests, tools).
pub fn plain() -> std::sync::Arc<Codec> {
    static PLAIN: std::sync::OnceLock<std::sync::Arc<Codec>> = std::sync::OnceLock::new();
    PLAIN.get_or_init(Default::default).clone()
}

/// A mail dictionary trained from `samples` (raw messages), with its id;
/// `None` when there is too little to learn from.
pub fn train(samples: &[Vec<u8>]) -> Option<(u32, Vec<u8>)> {
    let total: usize = samples.iter().map(Vec::len).sum();
    // zstd needs many samples, and far more bytes than the dictionary.
    if samples.len() < 100 || total < DICT_SIZE * 4 {
        return None;
    }
    let dict = zstd::dict::from_samples(samples, DICT_SIZE).ok()?;
    let id = zstd::zstd_safe::get_dict_id_from_dict(&dict)?;
    Some((id.get(), dict))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(i: usize) -> Vec<u8> {
        format!(
            "From: Customer {i} <c{i}@customer.test>\r\nTo: support@desk.test\r\nSubject: Order {i} late\r\nMessage-ID: <m{i}@customer.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, order {i} has not arrived. Could you look into it, please?\r\nThanks\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn old_lz4_mail_still_reads() {
        let raw = mail(1);
        let old = lz4_flex::compress_prepend_size(&raw);
        assert_eq!(Codec::default().unpack_mail(&old).unwrap(), raw);
    }

    #[test]
    fn mail_round_trips_with_and_without_a_dictionary() {
        let samples: Vec<Vec<u8>> = (0..2000).map(mail).collect();
        let (id, dict) = train(&samples).expect("enough to train on");
        let plain = Codec::default();
        let trained = Codec::new(&[(id, dict)], Some(id));
        let raw = mail(5000);
        let a = plain.pack_mail(&raw);
        let b = trained.pack_mail(&raw);
        assert!(b.len() < a.len(), "{} < {}", b.len(), a.len());
        assert_eq!(trained.unpack_mail(&a).unwrap(), raw);
        assert_eq!(trained.unpack_mail(&b).unwrap(), raw);
        // Without its dictionary, mail is refused, not garbled.
        assert!(matches!(
            plain.unpack_mail(&b),
            Err(CodecError::MissingDictionary(i)) if i == id
        ));
    }

    #[test]
    fn records_round_trip_and_plain_json_reads() {
        let json = br#"{"number":7,"reference":"B-7","subject":"Hello","status":"open"}"#;
        let packed = pack_record(json);
        assert_eq!(packed[0], RECORD_V1);
        assert!(packed.len() < json.len());
        assert_eq!(&*unpack_record(&packed).unwrap(), json);
        assert_eq!(&*unpack_record(json).unwrap(), json);
    }

    #[test]
    fn damage_is_an_error() {
        let mut packed = Codec::default().pack_mail(&mail(1));
        let n = packed.len();
        packed.truncate(n / 2);
        assert!(Codec::default().unpack_mail(&packed).is_err());
        assert!(unpack_record(&[RECORD_V1, 0x28, 0xb5, 0x2f, 0xfd, 0]).is_err());
    }
}
