//! Raw bytes to one normalized [`Inbound`] message.
//!
//! mail-parser does the MIME and charset work (with `full_encoding`, so GBK,
//! ISO-2022-JP and friends decode). What this module adds is the judgement a
//! desk needs: is this mail at all, who is it from, what did they write, and
//! a stable identity even when the sender forgot a Message-ID.

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::{Address, HeaderName, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use super::filename;
use super::limits::{self, Limits, OverLimit};
use super::msgid;
use crate::ticket::{Attachment, Person};

/// For a `text/plain; format=flowed` part, whether it says `DelSp=yes`.
fn flowed_part(part: &mail_parser::MessagePart<'_>) -> Option<bool> {
    let ct = part.content_type()?;
    let plain = ct.ctype().eq_ignore_ascii_case("text")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("plain"));
    let flowed = ct
        .attribute("format")
        .is_some_and(|f| f.eq_ignore_ascii_case("flowed"));
    (plain && flowed).then(|| {
        ct.attribute("delsp")
            .is_some_and(|d| d.eq_ignore_ascii_case("yes"))
    })
}

/// Largest decoded text body kept per message; longer text is cut, the raw
/// bytes are kept whole regardless.
const MAX_TEXT: usize = 1024 * 1024;
/// Headers kept for later guards (loops, bounces, rules); more are ignored.
const MAX_HEADERS: usize = 500;
const MAX_HEADER_VALUE: usize = 4096;
/// Longest subject kept: it goes into every mail we send about the ticket.
const MAX_SUBJECT: usize = 998;

/// Why bytes could not become a message. Each carries a reason that goes to
/// the quarantine as is, so it must make sense to an admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty input: no bytes to read")]
    Empty,
    #[error("not mail: {0}")]
    NotMail(String),
    #[error("no sender: the message has no From, Sender or Return-Path address, so nobody could be answered")]
    NoSender,
    #[error(transparent)]
    OverLimit(#[from] OverLimit),
}

impl ParseError {
    /// True when the bytes are not mail at all (`ingest` exits 65 for these).
    pub fn is_not_mail(&self) -> bool {
        matches!(self, ParseError::Empty | ParseError::NotMail(_))
    }
}

/// A parsed inbound message: everything the pure core needs, owned, with no
/// reference back to the raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// The Message-ID without angle brackets, or a synthetic one derived from
    /// the content (see [`Inbound::message_id_synthetic`]).
    pub message_id: String,
    /// The sender gave no Message-ID; ours is a hash of what they sent, so
    /// the same message delivered twice still gets the same id.
    pub message_id_synthetic: bool,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Person,
    pub reply_to: Option<Person>,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    /// Envelope recipients the delivering server recorded (Delivered-To,
    /// X-Original-To, Envelope-To): where a plus-address token survives even
    /// when the visible To does not carry it.
    pub envelope_to: Vec<String>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    pub text: String,
    pub html_only: bool,
    pub attachments: Vec<Attachment>,
    pub size: usize,
    /// Header names (lowercase) and decoded values, in order.
    pub headers: Vec<(String, String)>,
    /// What was left out to keep within the intake limits, one sentence
    /// each; the raw bytes are stored whole regardless.
    pub cuts: Vec<String>,
}

impl Inbound {
    /// The first value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every address this message was sent to, visible or from the envelope.
    pub fn all_recipients(&self) -> impl Iterator<Item = &str> {
        self.envelope_to
            .iter()
            .map(String::as_str)
            .chain(self.to.iter().map(|p| p.email.as_str()))
            .chain(self.cc.iter().map(|p| p.email.as_str()))
    }
}

/// Parses raw message bytes within the default [`Limits`]. Never panics
/// on any input.
pub fn parse(raw: &[u8]) -> Result<Inbound, ParseError> {
    parse_with(raw, &Limits::default())
}

/// Parses raw message bytes within `limits`: the parser reads only what
/// [`limits::fit`] lets through, and the cuts are listed on the message.
pub fn parse_with(raw: &[u8], limits: &Limits) -> Result<Inbound, ParseError> {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    let size = raw.len();
    let fitted = limits::fit(raw, limits)?;
    let mut msg = parse_fitted(&fitted.bytes, limits)?;
    msg.size = size;
    msg.cuts.splice(0..0, fitted.cuts);
    Ok(msg)
}

fn parse_fitted(raw: &[u8], limits: &Limits) -> Result<Inbound, ParseError> {
    let header_end = header_section_len(raw);
    if raw[..header_end].contains(&0) {
        return Err(ParseError::NotMail(
            "NUL bytes in the header section".into(),
        ));
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| ParseError::NotMail("no header section could be read".into()))?;
    if !looks_like_mail(&msg) {
        return Err(ParseError::NotMail(
            "none of From, Sender, To, Subject, Date, Message-ID or Received is present".into(),
        ));
    }
    let fallback = fallback_charset(&msg);

    let from = first_person(msg.from())
        .or_else(|| first_person(msg.sender()))
        .or_else(|| {
            msg.return_address().and_then(|a| {
                let email = a.trim().to_ascii_lowercase();
                email.contains('@').then_some(Person { name: None, email })
            })
        })
        .ok_or(ParseError::NoSender)?;
    let from = repair_display_name(&msg, raw, fallback, from);

    let subject = match raw_header_bytes(&msg, raw, "Subject") {
        Some(bytes) if std::str::from_utf8(bytes).is_err() => decode_8bit(bytes, fallback),
        _ => msg.subject().unwrap_or_default().to_string(),
    };
    let subject = truncate(
        subject.split_whitespace().collect::<Vec<_>>().join(" "),
        MAX_SUBJECT,
    );

    // Ids are read from the raw header values (every occurrence, folded
    // lines joined) with the desk's own reader, which copes with comments,
    // phrases and missing brackets (see `msgid`); mail-parser's reading is
    // the fallback for a header it found but we could not.
    let own_id = raw_header_values(&msg, raw, "Message-ID")
        .iter()
        .flat_map(|v| msgid::ids(v))
        .next()
        .or_else(|| {
            msg.message_id().map(|id| {
                id.chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
            })
        })
        .map(|id| id.trim_matches(['<', '>']).to_string());
    let (message_id, message_id_synthetic) = match own_id {
        Some(id) if !id.is_empty() => (id, false),
        _ => (synthetic_id(&msg, raw), true),
    };

    let headers = msg
        .headers()
        .iter()
        .take(MAX_HEADERS)
        .map(|h| {
            let value = raw
                .get(h.offset_start() as usize..h.offset_end() as usize)
                .map(|b| unfold(&String::from_utf8_lossy(b)))
                .unwrap_or_default();
            (
                h.name().to_ascii_lowercase(),
                truncate(value, MAX_HEADER_VALUE),
            )
        })
        .collect::<Vec<_>>();
    let envelope_to = headers
        .iter()
        .filter(|(n, _)| matches!(n.as_str(), "delivered-to" | "x-original-to" | "envelope-to"))
        .map(|(_, v)| v.trim().trim_matches(['<', '>']).to_ascii_lowercase())
        .filter(|v| v.contains('@'))
        .collect();

    let mut text = String::new();
    for i in 0..msg.text_body_count().min(20) {
        if let Some(part) = msg.body_text(i) {
            if !text.is_empty() {
                text.push('\n');
            }
            let part_ref = u32::try_from(i).ok().and_then(|i| msg.text_part(i));
            match part_ref.and_then(flowed_part) {
                Some(delsp) => text.push_str(&super::flowed::unflow(&part, delsp)),
                None => text.push_str(&part),
            }
        }
    }
    if text.is_empty() {
        if let Some(t) = msg.body_text(0) {
            text = t.into_owned();
        }
    }
    let html_only = msg.html_body_count() > 0 && msg.text_bodies().all(|p| p.is_text_html());
    let attachments = msg
        .attachments()
        // A nameless multipart "attachment" is MIME structure mail-parser
        // could not follow (broken boundaries), not something the sender
        // attached; its readable text is already in the body.
        .filter(|part| {
            part.attachment_name().is_some()
                || !part
                    .content_type()
                    .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"))
        })
        .take(1000)
        .map(|part| Attachment {
            name: filename::sanitize(part.attachment_name().unwrap_or_default()),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_string())
                .to_ascii_lowercase(),
            size: part.contents().len(),
        })
        .collect();

    let mut cuts = Vec::new();
    let mut to = people(msg.to(), limits.recipients);
    let mut cc = people(msg.cc(), limits.recipients);
    let total = to.len() + cc.len();
    if total > limits.recipients {
        to.truncate(limits.recipients);
        cc.truncate(limits.recipients - to.len());
        cuts.push(format!(
            "To and Cc name more than {0} addresses; only the first {0} (intake.max_recipients) were kept",
            limits.recipients
        ));
    }

    let addresses: Vec<&str> = std::iter::once(from.email.as_str())
        .chain(to.iter().chain(cc.iter()).map(|p| p.email.as_str()))
        .collect();
    let in_reply_to = msgid::in_reply_to(
        &raw_header_values(&msg, raw, "In-Reply-To").join(" "),
        &addresses,
    );
    let in_reply_to = match in_reply_to.is_empty() {
        true => id_list(msg.in_reply_to()),
        false => in_reply_to,
    };
    let references = msgid::ids(&raw_header_values(&msg, raw, "References").join(" "));
    let references = match references.is_empty() {
        true => id_list(msg.references()),
        false => references,
    };

    Ok(Inbound {
        message_id,
        message_id_synthetic,
        in_reply_to,
        references,
        from,
        reply_to: first_person(msg.reply_to()),
        to,
        cc,
        envelope_to,
        subject,
        date: msg
            .date()
            .and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single()),
        text: truncate(text, MAX_TEXT),
        html_only,
        attachments,
        size: raw.len(),
        headers,
        cuts,
    })
}

/// Bytes up to the blank line that ends the headers (or all of them).
fn header_section_len(raw: &[u8]) -> usize {
    let mut start = 0;
    while let Some(nl) = memchr::memchr(b'\n', &raw[start..]) {
        let end = start + nl + 1;
        match raw.get(end..) {
            Some([b'\n', ..]) | Some([b'\r', b'\n', ..]) => return end,
            _ => start = end,
        }
    }
    raw.len()
}

fn looks_like_mail(msg: &mail_parser::Message<'_>) -> bool {
    msg.headers().iter().any(|h| {
        matches!(
            h.name,
            HeaderName::From
                | HeaderName::Sender
                | HeaderName::To
                | HeaderName::Subject
                | HeaderName::Date
                | HeaderName::MessageId
                | HeaderName::Received
                | HeaderName::ReturnPath
        )
    })
}

fn first_person(addr: Option<&Address<'_>>) -> Option<Person> {
    addr?.iter().find_map(to_person)
}

/// Up to one more than `max` people, so the caller can tell there were more.
fn people(addr: Option<&Address<'_>>, max: usize) -> Vec<Person> {
    addr.map(|a| a.iter().filter_map(to_person).take(max + 1).collect())
        .unwrap_or_default()
}

fn to_person(a: &mail_parser::Addr<'_>) -> Option<Person> {
    let email = a.address()?.trim().to_ascii_lowercase();
    if !email.contains('@') {
        return None;
    }
    let name = a
        .name()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&email));
    Some(Person { name, email })
}

fn id_list(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    let ids: Vec<String> = match value {
        mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    };
    ids.into_iter()
        .map(|id| id.trim().trim_matches(['<', '>']).to_string())
        .filter(|id| !id.is_empty())
        .take(msgid::MAX_IDS)
        .collect()
}

/// The charset a sender most likely used for raw 8-bit header bytes: the one
/// declared for the first text part, else Windows-1252 (a superset of
/// Latin-1 and what such mailers nearly always meant).
fn fallback_charset(msg: &mail_parser::Message<'_>) -> &'static encoding_rs::Encoding {
    msg.parts
        .iter()
        .filter_map(|p| p.content_type()?.attribute("charset"))
        .find_map(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .filter(|e| *e != encoding_rs::UTF_8)
        .unwrap_or(encoding_rs::WINDOWS_1252)
}

/// Every value of a header, as raw text with its folding undone.
fn raw_header_values(msg: &mail_parser::Message<'_>, raw: &[u8], name: &str) -> Vec<String> {
    msg.headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .take(8)
        .filter_map(|h| raw.get(h.offset_start() as usize..h.offset_end() as usize))
        .map(|b| unfold(&String::from_utf8_lossy(b)))
        .collect()
}

fn raw_header_bytes<'a>(
    msg: &mail_parser::Message<'_>,
    raw: &'a [u8],
    name: &str,
) -> Option<&'a [u8]> {
    let h = msg
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))?;
    raw.get(h.offset_start() as usize..h.offset_end() as usize)
}

fn decode_8bit(bytes: &[u8], charset: &'static encoding_rs::Encoding) -> String {
    let (text, _, _) = charset.decode(bytes);
    unfold(&text)
}

/// mail-parser reads raw 8-bit header bytes as UTF-8; when they are not, the
/// display name is re-read in the fallback charset.
fn repair_display_name(
    msg: &mail_parser::Message<'_>,
    raw: &[u8],
    fallback: &'static encoding_rs::Encoding,
    mut from: Person,
) -> Person {
    if let Some(bytes) = raw_header_bytes(msg, raw, "From") {
        if std::str::from_utf8(bytes).is_err() {
            let decoded = decode_8bit(bytes, fallback);
            let name = decoded
                .split('<')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches('"')
                .trim();
            if !name.is_empty() && !name.contains('@') {
                from.name = Some(name.to_string());
            }
        }
    }
    from
}

/// Content hash for mail without a Message-ID. Trace headers that differ per
/// delivery path (Received, Delivered-To, ...) are left out so the same mail
/// arriving twice hashes the same.
fn synthetic_id(msg: &mail_parser::Message<'_>, raw: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for h in msg.headers() {
        let name = h.name().to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "received"
                | "delivered-to"
                | "x-original-to"
                | "envelope-to"
                | "return-path"
                | "x-delivered-to"
        ) {
            continue;
        }
        hasher.update(name.as_bytes());
        hasher.update(b":");
        if let Some(v) = raw.get(h.offset_start() as usize..h.offset_end() as usize) {
            hasher.update(v);
        }
    }
    let body_start = msg
        .parts
        .first()
        .map_or(raw.len(), |p| p.offset_body as usize);
    hasher.update(raw.get(body_start..).unwrap_or_default());
    let digest = hasher.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256-{hex}@no-message-id.postdesk.invalid")
}

fn unfold(value: &str) -> String {
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_message() {
        let raw = b"From: Carol <Carol@Customer.test>\r\nTo: support@desk.test\r\nSubject: Re:  Printer\r\n\tbroken\r\nMessage-ID: <abc@x>\r\nIn-Reply-To: <p1@x>\r\nReferences: <p0@x> <p1@x>\r\n\r\nHello\r\n";
        let m = parse(raw).unwrap();
        assert_eq!(m.from.email, "carol@customer.test");
        assert_eq!(m.from.name.as_deref(), Some("Carol"));
        assert_eq!(m.subject, "Re: Printer broken");
        assert_eq!(m.message_id, "abc@x");
        assert_eq!(m.in_reply_to, vec!["p1@x"]);
        assert_eq!(m.references, vec!["p0@x", "p1@x"]);
        assert!(m.text.contains("Hello"));
    }

    /// Flowed text is read as its sender's client shows it; fixed text
    /// ending lines in spaces is left alone.
    #[test]
    fn flowed_text_is_joined() {
        let mail = |ct: &str| {
            format!("From: c@x.test\r\nSubject: s\r\nMessage-ID: <f@x>\r\nContent-Type: {ct}\r\n\r\nthe printer on the \r\nthird floor is on fire.\r\n\r\nOn Monday we wrote:\r\n> Is it \r\n> fixed?\r\n")
        };
        let flowed = parse(mail("text/plain; charset=utf-8; format=flowed").as_bytes()).unwrap();
        assert!(
            flowed.text.starts_with(
                "the printer on the third floor is on fire.\n\nOn Monday we wrote:\n> Is it fixed?"
            ),
            "{:?}",
            flowed.text
        );
        let delsp = parse(mail("text/plain; format=Flowed; DelSp=Yes").as_bytes()).unwrap();
        assert!(
            delsp.text.starts_with("the printer on thethird floor"),
            "{:?}",
            delsp.text
        );
        let fixed = parse(mail("text/plain; charset=utf-8").as_bytes()).unwrap();
        assert!(
            fixed.text.contains("on the \r\nthird") || fixed.text.contains("on the \nthird"),
            "{:?}",
            fixed.text
        );
    }

    #[test]
    fn missing_message_id_gets_a_stable_synthetic_one() {
        let a = b"Received: from a\r\nFrom: x@y.test\r\nSubject: hi\r\n\r\nbody\r\n";
        let b = b"Received: from somewhere else\r\nFrom: x@y.test\r\nSubject: hi\r\n\r\nbody\r\n";
        let c = b"From: x@y.test\r\nSubject: hi\r\n\r\nother body\r\n";
        let (a, b, c) = (parse(a).unwrap(), parse(b).unwrap(), parse(c).unwrap());
        assert!(a.message_id_synthetic);
        assert_eq!(a.message_id, b.message_id);
        assert_ne!(a.message_id, c.message_id);
    }

    #[test]
    fn garbage_is_not_mail() {
        assert_eq!(parse(b""), Err(ParseError::Empty));
        assert!(parse(b"\x00\x01\x02binary\x00stuff")
            .unwrap_err()
            .is_not_mail());
        assert!(parse(b"just a line of text without any header")
            .unwrap_err()
            .is_not_mail());
    }

    #[test]
    fn no_sender_is_not_accepted() {
        let err = parse(b"Subject: orphan\r\n\r\nbody").unwrap_err();
        assert_eq!(err, ParseError::NoSender);
        assert!(!err.is_not_mail());
    }

    #[test]
    fn limits_cut_recipients_and_record_it() {
        let to: Vec<String> = (0..10).map(|i| format!("u{i}@x.test")).collect();
        let raw = format!(
            "From: a@b.test\r\nTo: {}\r\nCc: c1@x.test, c2@x.test\r\nSubject: {}\r\n\r\nbody",
            to.join(", "),
            "s".repeat(5000)
        );
        let limits = Limits {
            recipients: 4,
            ..Limits::default()
        };
        let m = parse_with(raw.as_bytes(), &limits).unwrap();
        assert_eq!(m.to.len() + m.cc.len(), 4);
        assert!(m.cuts[0].contains("max_recipients"), "{:?}", m.cuts);
        assert_eq!(m.subject.len(), MAX_SUBJECT);
        assert_eq!(m.size, raw.len());
    }

    #[test]
    fn over_limit_is_not_not_mail() {
        let limits = Limits {
            message_bytes: 10,
            ..Limits::default()
        };
        let err = parse_with(b"From: a@b.test\r\n\r\nbody", &limits).unwrap_err();
        assert!(matches!(err, ParseError::OverLimit(_)));
        assert!(!err.is_not_mail());
    }

    #[test]
    fn attachment_names_are_sanitized() {
        let raw = b"From: a@b.test\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\r\n\r\nroot\r\n--x--\r\n";
        let m = parse(raw).unwrap();
        assert_eq!(m.attachments[0].name, "passwd");
    }

    #[test]
    fn envelope_recipients_are_collected() {
        let raw = b"Delivered-To: Support+ACME-1.abc@desk.test\r\nFrom: x@y.test\r\nTo: support@desk.test\r\n\r\nb";
        let m = parse(raw).unwrap();
        assert_eq!(m.envelope_to, vec!["support+acme-1.abc@desk.test"]);
    }
}
