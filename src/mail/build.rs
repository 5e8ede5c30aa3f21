//! Outgoing mail as final bytes, built once, before its first attempt.
//!
//! The outbox stores these bytes before the transport sees them, which is
//! what makes a resend after a crash the same message: the transport only
//! ever sends what is stored, Message-ID included.

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use sha2::{Digest, Sha256};

use crate::ticket::Person;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("address `{address}` cannot be written into a mail header: {reason}")]
    Address { address: String, reason: String },
    #[error("the message could not be assembled: {0}")]
    Message(String),
}

/// What RFC 3834 calls the message: an automatic reply to a person's mail,
/// a notice generated on the desk's own initiative, or a person's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auto {
    Replied,
    Generated,
    /// Relayed human writing (agent replies): answerable like any mail.
    No,
}

/// A file attached to an outgoing mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Everything that goes into one outgoing mail.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    pub from_name: &'a str,
    pub from_address: &'a str,
    pub reply_to: Option<&'a str>,
    pub to: &'a [Person],
    pub cc: &'a [Person],
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
    /// Without angle brackets.
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [String],
    pub auto: Auto,
    /// The desk address, written as `X-Loop` so our own mail is recognized
    /// when it comes back.
    pub loop_marker: &'a str,
    pub extra_headers: &'a [(String, String)],
    pub attachments: &'a [Part],
    pub date: DateTime<Utc>,
}

/// A Message-ID that depends only on what caused the mail, so deciding the
/// same thing twice (after a crash, before anything was stored) gives the
/// same id. `domain` is the desk's.
pub fn message_id(
    reference: &str,
    kind: &str,
    cause: &str,
    recipient: &str,
    domain: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [reference, kind, cause, recipient] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let hex: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    format!("{reference}.{kind}.{hex}@{domain}")
}

fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, BuildError> {
    let parsed = address
        .parse()
        .map_err(|e: lettre::address::AddressError| BuildError::Address {
            address: address.to_string(),
            reason: e.to_string(),
        })?;
    // A display name comes from mail (hostile: a line break in an encoded
    // word made the header writer panic) or from the configuration: one
    // safe line, never an address, or none.
    Ok(Mailbox::new(crate::greeting::display_name(name), parsed))
}

fn raw_header(name: &str, value: &str) -> Result<HeaderValue, BuildError> {
    let name = HeaderName::new_from_ascii(name.to_string())
        .map_err(|e| BuildError::Message(format!("header name `{name}`: {e}")))?;
    Ok(HeaderValue::new(name, value.to_string()))
}

/// The final bytes of the mail.
pub fn build(d: &Draft<'_>) -> Result<Vec<u8>, BuildError> {
    let mut b = Message::builder()
        .from(mailbox(Some(d.from_name), d.from_address)?)
        .subject(d.subject)
        .message_id(Some(format!("<{}>", d.message_id)))
        .date(d.date.into());
    if let Some(r) = d.reply_to {
        b = b.reply_to(mailbox(None, r)?);
    }
    for p in d.to {
        b = b.to(mailbox(p.name.as_deref(), &p.email)?);
    }
    for p in d.cc {
        b = b.cc(mailbox(p.name.as_deref(), &p.email)?);
    }
    if let Some(id) = d.in_reply_to {
        b = b.in_reply_to(format!("<{id}>"));
    }
    if !d.references.is_empty() {
        let refs: Vec<String> = d.references.iter().map(|r| format!("<{r}>")).collect();
        b = b.references(refs.join(" "));
    }
    match d.auto {
        Auto::Replied | Auto::Generated => {
            let value = if d.auto == Auto::Replied {
                "auto-replied"
            } else {
                "auto-generated"
            };
            b = b
                .raw_header(raw_header("Auto-Submitted", value)?)
                .raw_header(raw_header("X-Auto-Response-Suppress", "All")?);
        }
        Auto::No => {}
    }
    b = b.raw_header(raw_header("X-Loop", d.loop_marker)?);
    for (name, value) in d.extra_headers {
        b = b.raw_header(raw_header(name, value)?);
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(d.text.to_string());
    let body = d.html.map(|html| {
        MultiPart::alternative()
            .singlepart(text.clone())
            .singlepart(SinglePart::html(html.to_string()))
    });
    let message = if d.attachments.is_empty() {
        match body {
            Some(alt) => b.multipart(alt),
            None => b.singlepart(text),
        }
    } else {
        let mut mixed = match body {
            Some(alt) => MultiPart::mixed().multipart(alt),
            None => MultiPart::mixed().singlepart(text),
        };
        for a in d.attachments {
            let ct = ContentType::parse(&a.content_type).unwrap_or_else(|_| {
                ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN)
            });
            // File names are the sender's: keep them to one safe name.
            let name = super::filename::sanitize(&a.name);
            mixed = mixed.singlepart(Attachment::new(name).body(a.bytes.clone(), ct));
        }
        b.multipart(mixed)
    }
    .map_err(|e| BuildError::Message(e.to_string()))?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft<'a>(to: &'a [Person], refs: &'a [String], extra: &'a [(String, String)]) -> Draft<'a> {
        Draft {
            from_name: "Acme Support",
            from_address: "support@desk.test",
            reply_to: Some("support+ACME-1.abcdef0123@desk.test"),
            to,
            cc: &[],
            subject: "[ACME-1] Printer {{ broken }} <b>",
            text: "Hello {{name}}\nWe got it.",
            html: Some("<p>Hello</p>"),
            message_id: "ACME-1.ack.0011@desk.test",
            in_reply_to: Some("c1@customer.test"),
            references: refs,
            auto: Auto::Replied,
            loop_marker: "support@desk.test",
            extra_headers: extra,
            attachments: &[],
            date: DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn headers_survive_a_round_trip() {
        let to = [Person {
            name: Some("Carol Ümlaut".into()),
            email: "carol@customer.test".into(),
        }];
        let refs = [
            "c0@customer.test".to_string(),
            "c1@customer.test".to_string(),
        ];
        let bytes = build(&draft(&to, &refs, &[])).unwrap();
        let m = crate::mail::parse(&bytes).unwrap();
        assert_eq!(m.message_id, "ACME-1.ack.0011@desk.test");
        assert_eq!(m.in_reply_to, vec!["c1@customer.test"]);
        assert_eq!(m.references, refs.to_vec());
        assert_eq!(m.header("auto-submitted"), Some("auto-replied"));
        assert_eq!(m.header("x-loop"), Some("support@desk.test"));
        assert_eq!(m.subject, "[ACME-1] Printer {{ broken }} <b>");
        assert_eq!(m.to[0].name.as_deref(), Some("Carol Ümlaut"));
        assert!(m.text.contains("Hello {{name}}"));
        assert_eq!(
            m.reply_to.unwrap().email,
            "support+acme-1.abcdef0123@desk.test"
        );
    }

    #[test]
    fn message_ids_are_deterministic() {
        let a = message_id("ACME-1", "ack", "c1@x", "carol@x", "desk.test");
        assert_eq!(
            a,
            message_id("ACME-1", "ack", "c1@x", "carol@x", "desk.test")
        );
        assert_ne!(
            a,
            message_id("ACME-1", "ack", "c2@x", "carol@x", "desk.test")
        );
    }

    #[test]
    fn a_hostile_display_name_is_one_line_or_none() {
        for (name, shown) in [
            ("Eve\r\nBcc: evil@attacker.test", None),
            ("Eve\r\nX-Evil: 1", Some("Eve X-Evil: 1")),
            ("boss@desk.test", None),
            ("Eve\u{202e}gnp", Some("Evegnp")),
        ] {
            let to = [Person {
                name: Some(name.into()),
                email: "eve@client.test".into(),
            }];
            let bytes = build(&draft(&to, &[], &[])).unwrap();
            let m = crate::mail::parse(&bytes).unwrap();
            assert_eq!(m.to.len(), 1, "{name:?}");
            assert_eq!(m.to[0].name.as_deref(), shown, "{name:?}");
            assert!(m.header("bcc").is_none() && m.header("x-evil").is_none());
        }
    }

    #[test]
    fn a_bad_address_is_an_error_not_a_panic() {
        let to = [Person {
            name: None,
            email: "not an address".into(),
        }];
        assert!(build(&draft(&to, &[], &[])).is_err());
    }
}
