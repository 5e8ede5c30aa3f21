//! Reading delivery reports: which recipient, what happened, and whether the
//! address is bad (hard), the mail could not get through this time (soft),
//! or the report is no failure at all (delayed, delivered).
//!
//! Standard reports (RFC 3464: `multipart/report; report-type=
//! delivery-status`) are read field by field. Many servers still send
//! plain-text bounces (qmail, old Exim and Sendmail, some webmails); those
//! are read by their wording and the status codes in them, and the desk
//! then matches the addresses found against the recipients it knows it
//! sent to. Pure: bytes in, a [`Report`] out.

use std::sync::LazyLock;

use mail_parser::{MessageParser, MimeHeaders, PartType};

mod plain;
pub mod signs;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// What a report says happened to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The address does not work: stop sending automatic mail to it.
    Hard,
    /// It failed this time (mailbox full, policy, a server down).
    Soft,
    /// Still being tried: not a failure.
    Delayed,
    /// Delivered, relayed or expanded: not a failure.
    Delivered,
}

impl Severity {
    pub fn is_failure(self) -> bool {
        matches!(self, Severity::Hard | Severity::Soft)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Hard => "hard bounce",
            Severity::Soft => "soft bounce",
            Severity::Delayed => "delayed",
            Severity::Delivered => "delivered",
        }
    }
}

/// One recipient of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Lowercase address.
    pub address: String,
    pub severity: Severity,
    /// The enhanced status code (`5.1.1`), if the report gave one.
    pub status: Option<String>,
    /// The remote server's words, shortened.
    pub diagnostic: Option<String>,
}

/// A delivery report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `true` for RFC 3464 reports; `false` for ones read by their wording,
    /// whose recipients are candidates to match against what was sent.
    pub standard: bool,
    pub recipients: Vec<Recipient>,
    /// The Message-ID of the returned mail, when the report carries it:
    /// traces a report whose envelope token was lost.
    pub original_message_id: Option<String>,
}

/// What the desk knows of an address that bounced: shown by `postdesk
/// addresses list`, and while `suppressed_until` lies ahead no automatic
/// mail goes to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// Lowercase address.
    pub address: String,
    /// What the latest report said.
    pub last: Severity,
    pub last_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub diagnostic: Option<String>,
    /// The ticket whose mail bounced last.
    #[serde(default)]
    pub ticket: Option<String>,
    #[serde(default)]
    pub hard_bounces: u32,
    #[serde(default)]
    pub soft_bounces: u32,
    /// No automatic mail to this address before then.
    #[serde(default)]
    pub suppressed_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl Mark {
    /// The mark after one more failure report at `now`. Only a hard bounce
    /// suppresses; a soft one is noted and leaves a suppression as it was.
    pub fn after(
        previous: Option<Mark>,
        r: &Recipient,
        ticket: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
        suppress_for: std::time::Duration,
    ) -> Mark {
        let mut m = previous.unwrap_or(Mark {
            address: r.address.clone(),
            last: r.severity,
            last_at: now,
            status: None,
            diagnostic: None,
            ticket: None,
            hard_bounces: 0,
            soft_bounces: 0,
            suppressed_until: None,
        });
        m.last = r.severity;
        m.last_at = now;
        m.status = r.status.clone();
        m.diagnostic = r.diagnostic.clone();
        m.ticket = ticket.map(str::to_string).or(m.ticket);
        match r.severity {
            Severity::Hard => {
                m.hard_bounces += 1;
                m.suppressed_until = Some(
                    now + chrono::Duration::from_std(suppress_for)
                        .unwrap_or_else(|_| chrono::Duration::days(3650)),
                );
            }
            Severity::Soft => m.soft_bounces += 1,
            Severity::Delayed | Severity::Delivered => {}
        }
        m
    }

    /// Whether automatic mail to this address is held back at `now`.
    pub fn suppressed(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.suppressed_until.is_some_and(|u| u > now)
    }
}

static ENHANCED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)([245])\.([0-9]{1,3})\.([0-9]{1,3})(?-u:\b)")
        .expect("status pattern is valid")
});
static SMTP_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)([45])[0-9][0-9][ :-]").expect("smtp code pattern is valid")
});
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<?([A-Za-z0-9._%+=\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)>?")
        .expect("address pattern is valid")
});
static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(undeliver|returned mail|delivery (status notification|failure|has failed|failed|problem)|",
        r"failure notice|mail delivery failed|could not be delivered|delivery incomplete|",
        r"non.?remis|unzustellbar|nicht zustellbar|no se puede entregar|non recapitabile|",
        r"warning: message .* delayed|delivery delayed|delayed mail|message delayed)"
    ))
    .expect("bounce subject pattern is valid")
});
static DELAY_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(has not yet been delivered|not been delivered yet|delivery (is |has been )?delayed|",
        r"will (continue|keep) (trying|to try)|still trying|will retry|warning: message .* delayed|",
        r"delivery delayed|is delayed|warning message only|this is a warning only|still undelivered|",
        r"hasn't been delivered yet|delivery will continue to be attempted)"
    ))
    .expect("delay pattern is valid")
});
static PERMANENT_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(permanent (error|failure)|i've given up|user unknown|unknown user|no such user|",
        r"does not exist|doesn't exist|mailbox unavailable|address rejected|recipient rejected|",
        r"invalid recipient|not found|no mailbox|account (has been )?disabled|permanent fatal|",
        r"failed permanently|not listed in)"
    ))
    .expect("permanent pattern is valid")
});

/// Whether a message looks like a delivery report at all, from what intake
/// has already parsed. Cheap; [`parse`] does the real reading, and also
/// knows reports by their wording.
pub fn looks_like(content_type: Option<&str>, from: &str, subject: &str) -> bool {
    let ct = content_type.unwrap_or_default().to_ascii_lowercase();
    if ct.contains("multipart/report") && ct.contains("delivery-status") {
        return true;
    }
    signs::sender(None, &from.to_ascii_lowercase()).is_some()
        || signs::subject(subject)
        || BOUNCE_SUBJECT.is_match(subject)
}

/// Reads a delivery report; `None` when the bytes are not one.
pub fn parse(raw: &[u8]) -> Option<Report> {
    let msg = MessageParser::default().parse(raw)?;
    let mut status_part = None;
    let mut original_message_id = None;
    let mut text = String::new();
    for part in &msg.parts {
        let Some(ct) = part.content_type() else {
            if text.is_empty() {
                if let PartType::Text(t) = &part.body {
                    text = t.to_string();
                }
            }
            continue;
        };
        let ctype = ct.ctype().to_ascii_lowercase();
        let sub = ct.subtype().unwrap_or_default().to_ascii_lowercase();
        match (ctype.as_str(), sub.as_str()) {
            ("message", "delivery-status" | "global-delivery-status") => {
                status_part = Some(String::from_utf8_lossy(part.contents()).into_owned());
            }
            ("message", "rfc822" | "global") => {
                if let PartType::Message(m) = &part.body {
                    original_message_id = m.message_id().map(str::to_string);
                }
            }
            ("text", "rfc822-headers") | ("message", "rfc822-headers") => {
                original_message_id = header_message_id(&String::from_utf8_lossy(part.contents()));
            }
            ("text", "plain") if text.is_empty() => {
                text = String::from_utf8_lossy(part.contents()).into_owned();
            }
            _ => {}
        }
    }
    // An HTML-only report: its text, as mail-parser renders it.
    if text.is_empty() {
        if let Some(t) = msg.body_text(0) {
            text = t.into_owned();
        }
    }
    // Some servers paste the RFC 3464 fields into their text instead of
    // a part of their own: read them as such.
    // Those count as a plain-text report: the words of anyone's mail.
    let standard = status_part.is_some();
    let status_part = status_part.or_else(|| pasted_fields(&text));
    if let Some(fields) = status_part.filter(|_| standard || is_report(&msg, &text)) {
        let recipients = parse_delivery_status(&fields);
        if !recipients.is_empty() {
            if !standard && original_message_id.is_none() {
                original_message_id = header_message_id(&text);
            }
            return Some(Report {
                standard,
                recipients,
                original_message_id,
            });
        }
    }
    // Not a standard report (or an empty one): read the words, but only of
    // mail that says it is a bounce (by its sender, subject, wording or
    // `X-Failed-Recipients`), lest a customer's "my mail to X could not
    // be delivered" question be read as one.
    if !is_report(&msg, &text) {
        return None;
    }
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let failed = failed_recipients(&msg);
    if original_message_id.is_none() {
        original_message_id = header_message_id(&text);
    }
    // The report's own recipients sent the returned mail: never a failed
    // recipient, though their address is all over the report.
    let exclude: Vec<String> = [msg.to(), msg.cc()]
        .into_iter()
        .flatten()
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .map(str::to_ascii_lowercase)
        .collect();
    let recipients = plain::Plain {
        reporter: &from,
        exclude: &exclude,
        failed: &failed,
    }
    .recipients(&text);
    Some(Report {
        standard: false,
        recipients,
        original_message_id,
    })
    .filter(|r| !r.recipients.is_empty() || r.original_message_id.is_some())
}

/// Whether a message says it is a delivery report: by its sender, its
/// Return-Path, its subject, `X-Failed-Recipients` or its own words.
fn is_report(msg: &mail_parser::Message<'_>, text: &str) -> bool {
    let sender = msg.from().and_then(|a| a.first());
    let from = sender
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = sender.and_then(|a| a.name());
    let subject = msg.subject().unwrap_or_default();
    let return_path = msg
        .return_address()
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| !a.is_empty());
    looks_like(None, &from, subject)
        || signs::sender(name, &from).is_some()
        || return_path.is_some_and(|rp| signs::sender(None, &rp).is_some())
        || !failed_recipients(msg).is_empty()
        || signs::wording(subject, &signs::own_words(text)).is_some()
}

/// `X-Failed-Recipients` (Exim and others), lowercase.
fn failed_recipients(msg: &mail_parser::Message<'_>) -> Vec<String> {
    msg.header_values("X-Failed-Recipients")
        .filter_map(|v| v.as_text())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().trim_matches(['<', '>']).to_ascii_lowercase())
        .filter(|a| a.contains('@'))
        .collect()
}

/// The delivery-status fields a plain-text report pasted into its words,
/// from the first `Reporting-MTA:` or `Final-Recipient:` line on, with an
/// empty per-message block before them when the report gave none.
fn pasted_fields(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = |field: &str| {
        lower
            .match_indices(field)
            .find(|(i, _)| *i == 0 || lower.as_bytes()[i - 1] == b'\n')
            .map(|(i, _)| i)
    };
    match (at("reporting-mta:"), at("final-recipient:")) {
        (Some(r), _) => Some(text[r..].to_string()),
        (None, Some(f)) => Some(format!("\n\n{}", &text[f..])),
        (None, None) => None,
    }
}

/// The per-recipient blocks of a `message/delivery-status` part.
fn parse_delivery_status(text: &str) -> Vec<Recipient> {
    let mut out = Vec::new();
    // Blocks are separated by blank lines; the first is per-message.
    for block in unfold(text).split("\n\n").skip(1) {
        let mut address = None;
        let mut original = None;
        let mut action = None;
        let mut status = None;
        let mut diagnostic = None;
        for line in block.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "final-recipient" => address = Some(typed_address(value)),
                "original-recipient" => original = Some(typed_address(value)),
                "action" => action = Some(value.to_ascii_lowercase()),
                "status" => {
                    status = Some(value.split_whitespace().next().unwrap_or("").to_string())
                }
                "diagnostic-code" => {
                    diagnostic = Some(shorten(value.split_once(';').map_or(value, |(_, d)| d)))
                }
                _ => {}
            }
        }
        let Some(address) = address.or(original).filter(|a| a.contains('@')) else {
            continue;
        };
        let severity = match action.as_deref() {
            Some("delayed") => Severity::Delayed,
            Some("delivered" | "relayed" | "expanded") => Severity::Delivered,
            _ => classify(status.as_deref(), diagnostic.as_deref().unwrap_or_default()),
        };
        out.push(Recipient {
            address,
            severity,
            status: status.filter(|s| !s.is_empty()),
            diagnostic,
        });
    }
    out
}

/// Hard or soft for a failure, by its status code: a bad address (5.1.x,
/// a disabled mailbox, an unroutable domain) is hard; a full mailbox, a
/// message too big, a policy or content refusal (5.2.2, 5.3.4, 5.6.x,
/// 5.7.x) and every 4.x.x are soft, because the address itself works.
pub fn classify(status: Option<&str>, diagnostic: &str) -> Severity {
    let code = status
        .and_then(|s| ENHANCED.captures(s))
        .or_else(|| ENHANCED.captures(diagnostic));
    match code {
        Some(c) => {
            let (class, subject, detail) = (&c[1], &c[2], &c[3]);
            match (class, subject, detail) {
                ("2", _, _) => Severity::Delivered,
                ("4", _, _) => Severity::Soft,
                ("5", "2", "2") | ("5", "3", "4") | ("5", "6", _) | ("5", "7", _) => Severity::Soft,
                _ => Severity::Hard,
            }
        }
        None => match SMTP_CODE.captures(diagnostic) {
            Some(c) if &c[1] == "4" => Severity::Soft,
            Some(_) => Severity::Hard,
            // A failure with no code at all: the words decide.
            None if PERMANENT_WORDS.is_match(diagnostic) => Severity::Hard,
            None => Severity::Soft,
        },
    }
}

/// `rfc822; a@b` → `a@b`, lowercase, without brackets.
fn typed_address(value: &str) -> String {
    let v = value.split_once(';').map_or(value, |(_, a)| a);
    v.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_ascii_lowercase()
}

/// Joins folded header lines and normalizes line ends.
fn unfold(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        if (line.starts_with(' ') || line.starts_with('\t'))
            && !out.is_empty()
            && !out.ends_with("\n\n")
        {
            out.pop();
            out.push(' ');
            out.push_str(line.trim());
        } else {
            out.push_str(line.trim_end());
        }
        out.push('\n');
    }
    // Blank-looking separators with spaces still separate blocks.
    out
}

fn header_message_id(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("message-id") {
            return None;
        }
        let v = value.trim().trim_start_matches('<');
        let v = v.split('>').next()?.trim();
        (!v.is_empty()).then(|| v.to_string())
    })
}

fn shorten(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= 200 {
        s
    } else {
        let mut out: String = s.chars().take(199).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSTFIX: &[u8] = include_bytes!("../tests/fixtures/bounces/postfix-dsn-5.1.1.eml");

    fn dsn(action: &str, status: &str, diagnostic: &str) -> Vec<u8> {
        format!(
            "From: MAILER-DAEMON@mx.test\r\nTo: support+bounce.1f.abc@desk.test\r\nSubject: Delivery Status Notification\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nA report.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; Carol@Customer.test\r\nAction: {action}\r\nStatus: {status}\r\nDiagnostic-Code: smtp; {diagnostic}\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@desk.test\r\nMessage-ID: <ACME-1.ack.0123@desk.test>\r\n\r\n--b--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn a_real_postfix_dsn_is_a_hard_bounce() {
        let r = parse(POSTFIX).expect("a report");
        assert!(r.standard);
        assert_eq!(r.recipients.len(), 1);
        let rc = &r.recipients[0];
        assert_eq!(rc.address, "nobody-x@customer.test");
        assert_eq!(rc.severity, Severity::Hard);
        assert_eq!(rc.status.as_deref(), Some("5.1.1"));
        assert!(rc
            .diagnostic
            .as_deref()
            .unwrap()
            .contains("User doesn't exist"));
        assert_eq!(
            r.original_message_id.as_deref(),
            Some("20261122204021.009172@vm")
        );
    }

    #[test]
    fn standard_reports_by_action_and_status() {
        for (action, status, diag, want) in [
            ("failed", "5.1.1", "550 5.1.1 no such user", Severity::Hard),
            ("failed", "5.1.10", "550 null MX", Severity::Hard),
            ("failed", "5.4.4", "no route", Severity::Hard),
            ("failed", "5.2.2", "552 mailbox full", Severity::Soft),
            ("failed", "5.7.1", "554 rejected as spam", Severity::Soft),
            ("failed", "4.4.1", "connection timed out", Severity::Soft),
            ("delayed", "4.4.1", "will retry", Severity::Delayed),
            ("delivered", "2.0.0", "250 ok", Severity::Delivered),
            ("relayed", "2.0.0", "250 ok", Severity::Delivered),
            ("expanded", "2.0.0", "250 ok", Severity::Delivered),
        ] {
            let r = parse(&dsn(action, status, diag)).unwrap();
            assert_eq!(r.recipients[0].address, "carol@customer.test");
            assert_eq!(r.recipients[0].severity, want, "{action} {status}");
            assert_eq!(
                r.original_message_id.as_deref(),
                Some("ACME-1.ack.0123@desk.test")
            );
        }
        assert!(!Severity::Delayed.is_failure() && !Severity::Delivered.is_failure());
        assert!(Severity::Hard.is_failure() && Severity::Soft.is_failure());
    }

    #[test]
    fn qmail_and_exim_plain_bounces() {
        let qmail = b"From: MAILER-DAEMON@mx.test\r\nTo: support+bounce.2.x@desk.test\r\nSubject: failure notice\r\n\r\nHi. This is the qmail-send program at mx.test.\r\nI'm afraid I wasn't able to deliver your message to the following addresses.\r\nThis is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n<gone@customer.test>:\r\n192.0.2.1 does not like recipient.\r\nRemote host said: 550 5.1.1 unknown user\r\n\r\n--- Below this line is a copy of the message.\r\n\r\nReturn-Path: <support+bounce.2.x@desk.test>\r\nFrom: support@desk.test\r\nTo: gone@customer.test\r\nMessage-ID: <ACME-3.ack.aa@desk.test>\r\n\r\nhello\r\n";
        let r = parse(qmail).unwrap();
        assert!(!r.standard);
        assert_eq!(r.recipients.len(), 1, "{:?}", r.recipients);
        assert_eq!(r.recipients[0].address, "gone@customer.test");
        assert_eq!(r.recipients[0].severity, Severity::Hard);
        assert_eq!(
            r.original_message_id.as_deref(),
            Some("ACME-3.ack.aa@desk.test")
        );

        let exim = b"From: Mail Delivery System <Mailer-Daemon@mx.test>\r\nTo: support@desk.test\r\nSubject: Mail delivery failed: returning message to sender\r\n\r\nThis message was created automatically by mail delivery software.\r\n\r\nA message that you sent could not be delivered to one or more of its\r\nrecipients. This is a permanent error. The following address(es) failed:\r\n\r\n  full@customer.test\r\n    host mx.customer.test [192.0.2.2]\r\n    SMTP error from remote mail server after RCPT TO:<full@customer.test>:\r\n    552 5.2.2 mailbox full\r\n\r\n------ This is a copy of the message, including all the headers. ------\r\nFrom: support@desk.test\r\n";
        let r = parse(exim).unwrap();
        assert_eq!(r.recipients[0].address, "full@customer.test");
        assert_eq!(r.recipients[0].severity, Severity::Soft);

        let delay = b"From: Mail Delivery System <Mailer-Daemon@mx.test>\r\nTo: support@desk.test\r\nSubject: Warning: message 1abc delayed 24 hours\r\n\r\nThis message was created automatically by mail delivery software.\r\nA message that you sent has not yet been delivered to one or more of its\r\nrecipients after more than 24 hours on the queue on mx.test.\r\n\r\n  slow@customer.test\r\n    host mx.customer.test: 451 4.4.1 try later\r\n\r\nNo action is required on your part. Delivery attempts will continue.\r\n";
        let r = parse(delay).unwrap();
        assert_eq!(r.recipients[0].address, "slow@customer.test");
        assert_eq!(r.recipients[0].severity, Severity::Delayed);
    }

    /// One plain-text report: headers, then `body`.
    fn plain_report(from: &str, subject: &str, headers: &str, body: &str) -> Option<Report> {
        let raw = format!(
            "From: {from}\r\nTo: support+bounce.9.x@desk.test\r\nSubject: {subject}\r\n{headers}\r\n{body}"
        );
        parse(raw.as_bytes())
    }

    fn one(r: Option<Report>) -> (String, Option<String>, Severity) {
        let r = r.expect("a report");
        assert!(!r.standard);
        assert_eq!(r.recipients.len(), 1, "{:?}", r.recipients);
        let rc = &r.recipients[0];
        (rc.address.clone(), rc.status.clone(), rc.severity)
    }

    #[test]
    fn plain_reports_of_many_servers() {
        let sendmail = "   ----- The following addresses had permanent fatal errors -----\n<gone@customer.test>\n    (reason: 550 User unknown)\n\n   ----- Transcript of session follows -----\n550 <gone@customer.test>... User unknown\n\n   ----- Original message follows -----\n\nFrom: support@desk.test\nTo: other@customer.test\n";
        assert_eq!(
            one(plain_report(
                "Mail Delivery Subsystem <MAILER-DAEMON@mx.test>",
                "Returned mail: User unknown",
                "",
                sendmail
            )),
            (
                "gone@customer.test".into(),
                Some("5.1.1".into()),
                Severity::Hard
            )
        );
        let exchange = "Delivery has failed to these recipients or groups:\n\ngone@customer.test\nThe e-mail address you entered couldn't be found.\n\nDiagnostic information for administrators:\n\nGenerating server: EXCH01.corp.test\n\ngone@customer.test\n#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n\nOriginal message headers:\n\nFrom: support@desk.test\n";
        assert_eq!(
            one(plain_report(
                "Microsoft Exchange <exchange@corp.test>",
                "Undeliverable: Printer",
                "",
                exchange
            )),
            (
                "gone@customer.test".into(),
                Some("5.1.1".into()),
                Severity::Hard
            )
        );
        let domino = "Your message\n\n  Subject: Printer\n\nwas not delivered to:\n\n  gone@customer.test\n\nbecause:\n\n  User gone (gone@customer.test) not listed in Domino Directory\n";
        assert_eq!(
            one(plain_report(
                "Mail Router <router@corp.test>",
                "Printer",
                "",
                domino
            )),
            (
                "gone@customer.test".into(),
                Some("5.1.1".into()),
                Severity::Hard
            )
        );
        let yahoo = "Sorry, we were unable to deliver your message to the following address.\n\n<full@yahoo.test>:\n552: 1 Requested mail action aborted, mailbox full\n";
        assert_eq!(
            one(plain_report(
                "MAILER-DAEMON@yahoo.test",
                "Failure Notice",
                "",
                yahoo
            )),
            (
                "full@yahoo.test".into(),
                Some("5.2.2".into()),
                Severity::Soft
            )
        );
        let quota = "This Message was undeliverable due to the following reason:\n\nThe user(s) account is temporarily over quota.\n\n<555@mms.test>\n\nPlease reply to <Postmaster@mms.test>\n";
        assert_eq!(
            one(plain_report("relay@mms.test", "Returned", "", quota)),
            ("555@mms.test".into(), Some("4.2.2".into()), Severity::Soft)
        );
    }

    #[test]
    fn plain_reports_never_name_the_returned_mails_sender() {
        // James lists the envelope sender under "Message details"; Exim's
        // header names the failed recipient.
        let james = "Hi. This is the James mail server at mx.test.\nI'm afraid I wasn't able to deliver your message to the following addresses.\n\nFailed recipient(s):\ngone@customer.test\n\nError message:\n550 5.1.1 User unknown\n\nMessage details:\n  MAIL FROM: support+bounce.9.x@desk.test\n  From: support@desk.test\n";
        assert_eq!(
            one(plain_report("postmaster@mx.test", "[BOUNCE]", "", james)).0,
            "gone@customer.test"
        );
        let exim = "This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered. This is a permanent error.\n\n  other@customer.test\n    retry later\n  gone@customer.test\n    Unrouteable address\n";
        assert_eq!(
            one(plain_report(
                "relay@corp.test",
                "Mail delivery failed",
                "X-Failed-Recipients: gone@customer.test\r\n",
                exim
            )),
            (
                "gone@customer.test".into(),
                Some("5.0.0".into()),
                Severity::Hard
            )
        );
    }

    #[test]
    fn pasted_delivery_status_fields_are_read_but_not_as_standard() {
        let body = "Your message could not be delivered.\n\nReporting-MTA: dns; mx.test\n\nFinal-Recipient: rfc822; gone@customer.test\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 no such user\n";
        let r = plain_report("Relay <relay@mx.test>", "Returned mail", "", body).expect("a report");
        assert!(!r.standard);
        assert_eq!(r.recipients[0].address, "gone@customer.test");
        assert_eq!(r.recipients[0].severity, Severity::Hard);
        // A person quoting the same fields in a question is no report.
        let quoted: String = body.lines().map(|l| format!("> {l}\n")).collect();
        let question = format!("Why do I get this?\n\n{quoted}");
        assert_eq!(
            plain_report("carol@customer.test", "Why?", "", &question),
            None
        );
    }

    #[test]
    fn html_only_reports_are_read_from_their_rendered_text() {
        let body = "<html><body><p>This is the mail system at host mx.test.</p><p>&lt;gone@customer.test&gt;: host said: 550 5.1.1 User unknown</p></body></html>";
        let r = plain_report(
            "MAILER-DAEMON@mx.test",
            "Undelivered Mail Returned to Sender",
            "Content-Type: text/html\r\n",
            body,
        );
        assert_eq!(
            one(r),
            (
                "gone@customer.test".into(),
                Some("5.1.1".into()),
                Severity::Hard
            )
        );
    }

    #[test]
    fn forwarded_reports_from_people_are_not_read() {
        let body = "Why?\n\n---------- Forwarded message ---------\nFrom: Mail Delivery Subsystem <mailer-daemon@x.test>\n\nDelivery to the following recipient failed permanently:\n\n  gone@customer.test\n";
        assert_eq!(
            plain_report(
                "carol@customer.test",
                "Fwd: Delivery Status Notification (Failure)",
                "",
                body
            ),
            None
        );
    }

    #[test]
    fn people_and_lists_are_not_reports() {
        let person = b"From: carol@customer.test\r\nTo: support@desk.test\r\nSubject: my mail to bob@example.test could not be delivered\r\n\r\nWhy does 550 5.1.1 happen?\r\n";
        // Carol asks about a bounce: her words are not a report from a server.
        let r = parse(person);
        assert!(
            r.is_none() || r.as_ref().is_some_and(|r| !r.standard),
            "{r:?}"
        );
        let plain = b"From: carol@customer.test\r\nTo: support@desk.test\r\nSubject: Printer\r\n\r\nIt is broken.\r\n";
        assert_eq!(parse(plain), None);
        assert!(!looks_like(
            Some("text/plain"),
            "carol@customer.test",
            "Printer"
        ));
        assert!(looks_like(
            Some("multipart/report; report-type=delivery-status; boundary=x"),
            "x@y.test",
            "hi"
        ));
        assert!(looks_like(None, "MAILER-DAEMON@mx.test", "hi"));
        assert!(looks_like(None, "x@y.test", "Undeliverable: Printer"));
    }

    #[test]
    fn garbage_never_panics() {
        for raw in [
            &b""[..],
            b"\r\n\r\n",
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n\r\n\r\nFinal-Recipient:\r\nAction\r\n--x--",
            b"From: MAILER-DAEMON@x\r\nSubject: failure notice\r\n\r\n<<<@@@>>> 5.5.5.5.5 \xff\xfe",
        ] {
            let _ = parse(raw);
        }
    }
}
