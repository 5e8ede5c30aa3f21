//! Is a message automatic, and what kind: a delivery report, an
//! auto-reply, a complaint or read receipt, a challenge to prove we are
//! human, list or bulk mail. None of these may ever be answered.
//!
//! The checks run from the most specific to the least, so the reason an
//! admin reads names what the mail is ("delivery report: sender
//! MAILER-DAEMON@…") rather than the first header that happened to match.
//! Every check is written so that a person still gets an answer when they
//! quote or forward such mail, attach it, sign their mail, or merely use
//! the words ("delivery", "auto", "out of office supplies").

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::bounce::signs;
use crate::mail::Inbound;

/// What kind of automatic mail a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A delivery report: a bounce, a delay warning, a success notice.
    Bounce,
    /// An out-of-office, vacation or other automatic answer.
    AutoReply,
    /// An abuse or spam complaint (RFC 5965 ARF).
    FeedbackReport,
    /// A read receipt (RFC 8098 MDN, or Outlook's text one).
    ReadReceipt,
    /// A challenge-response system asking the sender to prove it is human.
    Challenge,
    /// Mail from or about a mailing list.
    List,
    /// Newsletters and other bulk mail.
    Bulk,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bounce => "bounce",
            Kind::AutoReply => "auto-reply",
            Kind::FeedbackReport => "feedback-report",
            Kind::ReadReceipt => "read-receipt",
            Kind::Challenge => "challenge",
            Kind::List => "list",
            Kind::Bulk => "bulk",
        }
    }
}

/// Why a message is automatic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Automatic {
    pub kind: Kind,
    /// Shown to admins (`tickets show`, `postdesk classify`): the signal
    /// that decided, in words.
    pub reason: String,
}

fn found(kind: Kind, reason: impl Into<String>) -> Option<Automatic> {
    Some(Automatic {
        kind,
        reason: reason.into(),
    })
}

/// Subjects of out-of-office and automatic replies, as the common mail
/// programs write them in the languages customers use. Anchored at the
/// start (after any `Re:`/`AW:`), with the colon the clients put after
/// the prefix, so a person asking about "an automatic reply they got" is
/// not mistaken for one.
static AUTO_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*(?:(?:re|aw|sv|antw|r|rif|tr|wg|fw|fwd)\s*:\s*)*",
        r"(?:",
        // Prefix-and-colon forms (Outlook, Exchange, many webmails).
        r"(?:automatic reply|automatic response|automated (?:reply|response)|auto[- ]?reply|auto[- ]?response|",
        r"autoresponder|ooo|away from (?:the |my )?office|",
        r"out of office(?: reply| autoreply)?|vacation (?:reply|response|notice|message)|",
        r"automatische antwort|abwesenheitsnotiz|abwesenheitsmeldung|abwesenheit|abwesend|",
        r"r[ée]ponse automatique|absence du bureau|",
        r"risposta automatica|fuori sede|",
        r"respuesta autom[áa]tica|fuera de la oficina|",
        r"resposta autom[áa]tica|aus(?:ê|e)ncia temporária|",
        r"automatisch antwoord|afwezig|",
        r"automatiskt svar|automatisk svar|autosvar|fr[åa]nvaro|frav[æa]r|",
        r"automatyczna odpowied[źz]|odpowied[źz] automatyczna|",
        r"automaattinen vastaus|",
        r"автоответ|автоматический ответ|автоматична відповідь|автоматичен отговор|",
        r"automatická odpověď|automatikus válasz|otomatik yanıt|răspuns automat|automatski odgovor|",
        r"samodejni odgovor|automaatne vastus|automātiskā atbilde|automatinis atsakymas|",
        r"resposta automàtica|αυτόματη απάντηση|tự động trả lời|balasan otomatis|",
        r"תשובה אוטומטית|رد تلقائي|poza biurem|nieobecność|",
        r"自動応答|自動返信|自动回复|自動回覆|자동 응답)\s*[:：]",
        // A dash instead of the colon (some webmails and ticket systems).
        r"|(?:automatic (?:reply|response)|auto[- ]?reply|auto[- ]?response|out of office)\s+[-–]\s",
        r"|",
        // Whole phrases that only automatic replies use.
        r".*(?-u:\b)(?:out of (?:the )?office(?:\s*$|\s*[:\-–(,.!]|\s+(?:until|till|from|reply|autoreply|notice|message|re\s*:))|on vacation until|ist abwesend|bin abwesend)",
        r")",
    ))
    .expect("the out-of-office subject pattern is valid")
});

/// Tags autoresponders put anywhere in a subject: `[AUTO GENERATED]`,
/// `[Auto-Reply]`, `(Auto-Reply)`, `[Out of Office]`.
static AUTO_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)[\[(]\s*(?:auto[- ]?(?:generated|reply|response|responder|answer)|autoreply|",
        r"automatic (?:reply|response)|automated (?:reply|response|message)|out of (?:the )?office|ooo|",
        r"abwesend|abwesenheitsnotiz|vacation)\s*[\])]"
    ))
    .expect("the auto-tag pattern is valid")
});

/// Subjects of read receipts; only together with [`RECEIPT_WORDS`], as
/// "Read: chapter 3" may be a person's.
static RECEIPT_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*(?:read|not read|gelesen|nicht gelesen|lu|non lu|le[íi]do|letto|gelezen|l[äa]st|",
        r"read receipt|return receipt(?: \((?:displayed|deleted)\))?)\s*[:\-]"
    ))
    .expect("the receipt subject pattern is valid")
});
static RECEIPT_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:was read on (?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|\d)|was deleted without being read|wurde am .+? gelesen|",
        r"this is a return receipt for the mail|return receipt only acknowledges|",
        r"a (?:é|e)t(?:é|e) lu le|fue le[íi]do el|(?:è|e) stato letto|is gelezen op|your message was read)"
    ))
    .expect("the receipt wording pattern is valid")
});

/// Challenge-response systems: the mail waits until the sender proves it
/// is a person. Answering one would confirm the desk to a stranger.
// Word boundaries are ASCII, `(?-u:\b)`, for speed on non-ASCII mail: see
// `bounce::signs`'s REPORT_WORDS.
static CHALLENGE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:(?:verify|confirm|prove)(?: that)? you are (?:a )?(?:real |live )*(?:human|person|sender)|",
        r"you are not a (?:robot|spammer)|not a spam source|challenge[- ]response|spam ?arrest|",
        r"i (?:am|'m) (?:protecting myself|using) [^.!?]*?(?:spam|junk)|sender verification|",
        r"(?:click|follow|visit) (?:on )?the link below to (?:verify|confirm|be added)|",
        r"(?:spam|junk) (?:protection|filter|blocker)(?-u:\b)[^.!?]*?(?-u:\b)(?:verify|confirm)|",
        r"added to my (?:whitelist|approved senders list|guest list)|",
        r"(?:has been|was) waitlisted|",
        r"(?:held|on hold|quarantined|pending)(?-u:\b)[^.!?]*?(?-u:\b)(?:until|unless) you (?:verify|confirm|click)|",
        r"verify your e-?mail address (?:to|so) (?:deliver|that)|",
        r"to deliver your message,? please (?:click|verify|confirm)|",
        r"so (?:that )?your (?:message|e-?mail) (?:can|will) be delivered|your (?:message|e-?mail) reaches me|",
        r"verify your e-?mail address by clicking|before your message (?:can|will) be delivered|awaiting (?:sender |your )?verification|",
        r"(?:verify|confirm) your (?:e-?mail )?(?:address|message) (?:to|so|and) (?:your message|it) (?:can|will) be delivered)"
    ))
    .expect("the challenge pattern is valid")
});
/// Domains of challenge-response services.
const CHALLENGE_DOMAINS: &[&str] = &[
    "spamarrest",
    "boxbe",
    "mailblocks",
    "knowspam",
    "choicemail",
];

/// A message that says of itself that a machine wrote it.
static SELF_DECLARED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?-u:\b)(?:this is an? (?:automatic(?:ally generated)?|automated|auto-?generated|automatically generated) ",
        r"(?:reply|response|message|e-?mail|notification|answer)|",
        r"this (?:message|e-?mail) (?:was|has been|is) (?:sent |generated |created )?automatically)"
    ))
    .expect("the self-declared pattern is valid")
});

/// Local parts of senders that are machines by convention.
/// `autoresponder@` is left to the caps: tests/e2e_guards.rs drives a
/// robot of that name that nothing marks, to prove the caps bound one.
const MACHINE_SENDERS: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "no.reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "do.not.reply",
    "autoreply",
    "auto-reply",
];
/// Senders that are a bounce handler.
const BOUNCE_SENDERS: &[&str] = &["bounce", "bounces"];
/// List managers' own addresses.
const LIST_MANAGERS: &[&str] = &[
    "listserv",
    "majordomo",
    "sympa",
    "mailman",
    "lyris",
    "ecartis",
];

/// Headers autoresponders add (any value but `no`).
const AUTO_REPLY_HEADERS: &[&str] = &[
    "x-autoreply",
    "x-autorespond",
    "x-auto-reply",
    "x-autoresponder",
    "x-autoresponse",
    "x-auto-response",
    "x-autogenerated",
    "x-auto-generated",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-vacation",
];
/// Headers only list managers add.
const LIST_HEADERS: &[&str] = &[
    "x-mailman-version",
    "x-ml-name",
    "x-mlserver",
    "x-lsv-listid",
    "mailing-list",
    "x-mailing-list",
];

/// Whether a message is automatic, what kind, and why; `None` for mail
/// from a person.
///
/// `X-Auto-Response-Suppress` counts only as `All`: Exchange marks its
/// own automatic mail (rule replies, out-of-office, reports) so, while
/// Outlook puts partial values (`DR, RN, NRN, OOF, AutoReply`) on some
/// ordinary mail from people. A person's mail program never asks to
/// suppress non-delivery reports (`All` includes `NDR`).
pub fn automatic(msg: &Inbound) -> Option<Automatic> {
    let own_words = signs::own_words(&msg.text);
    report_type(msg)
        .or_else(|| list(msg))
        .or_else(|| bounce(msg, &own_words))
        .or_else(|| receipt(msg, &own_words))
        .or_else(|| challenge(msg, &own_words))
        .or_else(|| auto_reply_headers(msg))
        .or_else(|| bulk(msg))
        .or_else(|| senders_and_subjects(msg, &own_words))
}

/// `multipart/report` says what it reports (RFC 6522).
fn report_type(msg: &Inbound) -> Option<Automatic> {
    let ct = msg.header("content-type")?.to_ascii_lowercase();
    if !ct.trim_start().starts_with("multipart/report") {
        // Some complaint loops send the report part in a multipart/mixed.
        // Only the message's own parts count: a report inside a message
        // a person attached is theirs to show, not one to us.
        return msg.attachments.iter().find_map(|a| {
            let kind = match a.content_type.as_str() {
                "message/feedback-report" => Kind::FeedbackReport,
                "message/disposition-notification" => Kind::ReadReceipt,
                "message/delivery-status" | "message/global-delivery-status" => Kind::Bounce,
                _ => return None,
            };
            found(kind, format!("a {} part", a.content_type))
        });
    }
    let kind = ct
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim() == "report-type")
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .unwrap_or_default();
    let k = match kind.as_str() {
        "feedback-report" => Kind::FeedbackReport,
        "disposition-notification" => Kind::ReadReceipt,
        _ => Kind::Bounce,
    };
    let what = match k {
        Kind::FeedbackReport => "an abuse or feedback report",
        Kind::ReadReceipt => "a read receipt",
        _ => "a delivery report",
    };
    found(k, format!("multipart/report; report-type={kind} ({what})"))
}

fn list(msg: &Inbound) -> Option<Automatic> {
    if msg.header("list-id").is_some() {
        return found(Kind::List, "List-Id present (mailing list)");
    }
    if let Some(h) = LIST_HEADERS.iter().find(|h| msg.header(h).is_some()) {
        return found(Kind::List, format!("{h} present (a list manager sent it)"));
    }
    let local = local_part(&msg.from.email);
    let list_sender = LIST_MANAGERS.contains(&local.as_str())
        || local.ends_with("-owner")
        || local.starts_with("owner-")
        || local.ends_with("-bounces");
    list_sender.then(|| Automatic {
        kind: Kind::List,
        reason: format!("sender {} is a list manager", msg.from.email),
    })
}

fn bounce(msg: &Inbound, own_words: &str) -> Option<Automatic> {
    if let Some(v) = msg.header("x-failed-recipients") {
        return found(
            Kind::Bounce,
            format!(
                "delivery report: X-Failed-Recipients: {}",
                clip(v.trim(), 60)
            ),
        );
    }
    if msg.header("x-ms-exchange-message-is-ndr").is_some() {
        return found(
            Kind::Bounce,
            "delivery report: X-MS-Exchange-Message-Is-Ndr",
        );
    }
    let name = msg.from.name.as_deref();
    if let Some(why) = signs::sender(name, &msg.from.email) {
        return found(Kind::Bounce, format!("delivery report: {why}"));
    }
    if let Some(why) = msg
        .header("sender")
        .map(bare_address)
        .filter(|s| !s.is_empty())
        .and_then(|s| signs::sender(None, &s))
    {
        return found(Kind::Bounce, format!("delivery report: Sender: {why}"));
    }
    if signs::subject(&msg.subject) {
        return found(
            Kind::Bounce,
            format!("delivery report: subject `{}`", clip(&msg.subject, 60)),
        );
    }
    if let Some(words) = signs::wording(&msg.subject, own_words) {
        return found(Kind::Bounce, format!("delivery report: it says `{words}`"));
    }
    None
}

fn receipt(msg: &Inbound, own_words: &str) -> Option<Automatic> {
    (RECEIPT_SUBJECT.is_match(&msg.subject) && RECEIPT_WORDS.is_match(own_words)).then(|| {
        Automatic {
            kind: Kind::ReadReceipt,
            reason: format!("read receipt: subject `{}`", clip(&msg.subject, 60)),
        }
    })
}

fn challenge(msg: &Inbound, own_words: &str) -> Option<Automatic> {
    let domain = msg.from.email.rsplit('@').next().unwrap_or_default();
    if let Some(d) = CHALLENGE_DOMAINS
        .iter()
        .find(|d| domain.split('.').any(|label| label == **d))
    {
        return found(
            Kind::Challenge,
            format!("challenge-response: sender {} is {d}", msg.from.email),
        );
    }
    if let Some((h, _)) = msg.headers.iter().find(|(n, _)| {
        n.starts_with("x-spamarrest") || n.starts_with("x-boxbe") || n == "x-challenge"
    }) {
        return found(Kind::Challenge, format!("challenge-response: {h} present"));
    }
    CHALLENGE_WORDS.find(own_words).map(|m| Automatic {
        kind: Kind::Challenge,
        reason: format!("challenge-response: it says `{}`", clip(m.as_str(), 60)),
    })
}

fn auto_reply_headers(msg: &Inbound) -> Option<Automatic> {
    if let Some(v) = msg.header("auto-submitted") {
        let v = v.trim().to_ascii_lowercase();
        // RFC 3834: anything but `no` (parameters may follow a `;`).
        let keyword = v.split(';').next().unwrap_or_default().trim();
        if !keyword.is_empty() && keyword != "no" {
            return found(Kind::AutoReply, format!("Auto-Submitted: {v}"));
        }
    }
    if let Some(v) = msg.header("x-ms-exchange-inbox-rules-loop") {
        return found(
            Kind::AutoReply,
            format!(
                "X-MS-Exchange-Inbox-Rules-Loop: {} (an Exchange inbox rule sent it)",
                clip(v.trim(), 60)
            ),
        );
    }
    if let Some(v) = msg.header("x-ms-exchange-generated-message-source") {
        return found(
            Kind::AutoReply,
            format!(
                "X-MS-Exchange-Generated-Message-Source: {}",
                clip(v.trim(), 60)
            ),
        );
    }
    if let Some(v) = msg.header("x-auto-response-suppress") {
        if v.split(',').any(|t| t.trim().eq_ignore_ascii_case("all")) {
            return found(
                Kind::AutoReply,
                "X-Auto-Response-Suppress: All (Exchange marks its own automatic mail so)",
            );
        }
    }
    for name in ["precedence", "x-precedence"] {
        if let Some(v) = msg.header(name) {
            let v = v.trim().to_ascii_lowercase();
            let kind = match v.as_str() {
                "bulk" => Kind::Bulk,
                "list" => Kind::List,
                "junk" | "auto_reply" | "auto-reply" => Kind::AutoReply,
                _ => continue,
            };
            return found(kind, format!("Precedence: {v}"));
        }
    }
    for h in AUTO_REPLY_HEADERS {
        if let Some(v) = msg.header(h) {
            if !v.trim().eq_ignore_ascii_case("no") {
                return found(Kind::AutoReply, format!("{h} present"));
            }
        }
    }
    if let Some(v) = msg.header("x-post-messageclass") {
        if v.to_ascii_lowercase().contains("autoresponder") {
            return found(
                Kind::AutoReply,
                format!("X-POST-MessageClass: {}", clip(v.trim(), 40)),
            );
        }
    }
    None
}

fn bulk(msg: &Inbound) -> Option<Automatic> {
    if msg.header("list-unsubscribe").is_some() {
        return found(Kind::Bulk, "List-Unsubscribe present (newsletter or list)");
    }
    if msg.header("feedback-id").is_some() {
        return found(Kind::Bulk, "Feedback-ID present (a bulk sender's campaign)");
    }
    // The desk's own X-Loop is an own loop, checked before this; anyone
    // else's is an autoresponder or list manager marking its mail.
    if let Some(v) = msg.header("x-loop") {
        return found(
            Kind::AutoReply,
            format!(
                "X-Loop: {} (an autoresponder's loop marker)",
                clip(v.trim(), 60)
            ),
        );
    }
    None
}

fn senders_and_subjects(msg: &Inbound, own_words: &str) -> Option<Automatic> {
    if let Some(rp) = msg.header("return-path") {
        let rp = rp.trim();
        if rp == "<>" || rp.is_empty() {
            return found(Kind::Bounce, "empty Return-Path (a bounce or notification)");
        }
        let rp = bare_address(rp);
        if !rp.is_empty() {
            if let Some(why) = signs::sender(None, &rp) {
                return found(Kind::Bounce, format!("Return-Path: {why}"));
            }
        }
    }
    let local = local_part(&msg.from.email);
    if is_machine_local(&local) {
        return found(
            Kind::AutoReply,
            format!("sender {} is a machine", msg.from.email),
        );
    }
    if BOUNCE_SENDERS.contains(&local.as_str())
        || BOUNCE_SENDERS.iter().any(|b| {
            local
                .strip_prefix(b)
                .is_some_and(|r| r.starts_with(['-', '.', '_']))
        })
    {
        return found(
            Kind::Bounce,
            format!("sender {} is a machine", msg.from.email),
        );
    }
    if AUTO_SUBJECT.is_match(&msg.subject) || AUTO_TAG.is_match(&msg.subject) {
        return found(
            Kind::AutoReply,
            format!(
                "subject `{}` is an out-of-office or automatic reply",
                clip(&msg.subject, 60)
            ),
        );
    }
    SELF_DECLARED.find(own_words).map(|m| Automatic {
        kind: Kind::AutoReply,
        reason: format!("it says `{}`", clip(m.as_str(), 60)),
    })
}

/// `noreply`, and `noreply-orders`, `no-reply.eu`, `donotreply7` (but
/// not `noreplies.please`).
fn is_machine_local(local: &str) -> bool {
    MACHINE_SENDERS.iter().any(|m| {
        local.strip_prefix(m).is_some_and(|rest| {
            rest.is_empty()
                || rest.starts_with(['-', '.', '_'])
                || rest.starts_with(|c: char| c.is_ascii_digit())
        })
    })
}

/// The local part, lowercase, without a `+tag`.
fn local_part(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    local
        .split('+')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// `Name <a@b>` → `a@b`, lowercase.
fn bare_address(value: &str) -> String {
    let v = value.trim();
    let v = match (v.rfind('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => &v[a + 1..b],
        _ => v,
    };
    v.trim().to_ascii_lowercase()
}

pub(super) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse;

    /// Patterns read on bodies keep to ASCII word boundaries (see
    /// `bounce::signs`): one Unicode `\b` makes non-ASCII mail 200 times
    /// slower to read.
    #[test]
    fn body_patterns_use_ascii_word_boundaries() {
        for r in [&*CHALLENGE_WORDS, &*SELF_DECLARED, &*RECEIPT_WORDS] {
            assert!(
                !r.as_str().replace(r"(?-u:\b)", "").contains(r"\b"),
                "{}",
                r.as_str()
            );
        }
    }

    fn mail(from: &str, subject: &str, headers: &str, body: &str) -> Inbound {
        let raw = format!(
            "From: {from}\r\nTo: support@desk.test\r\nSubject: {subject}\r\n{headers}\r\n{body}\r\n"
        );
        parse(raw.as_bytes()).unwrap()
    }

    fn kind(from: &str, subject: &str, headers: &str, body: &str) -> Option<Kind> {
        automatic(&mail(from, subject, headers, body)).map(|a| a.kind)
    }

    const CAROL: &str = "Carol Kim <carol@customer.test>";

    #[test]
    fn report_types_say_what_they_are() {
        for (rt, want) in [
            ("delivery-status", Kind::Bounce),
            ("feedback-report", Kind::FeedbackReport),
            ("Feedback-Report", Kind::FeedbackReport),
            ("\"disposition-notification\"", Kind::ReadReceipt),
            ("tlsrpt", Kind::Bounce),
        ] {
            let h = format!("Content-Type: multipart/report; report-type={rt}; boundary=b\r\n");
            assert_eq!(kind(CAROL, "x", &h, "--b--"), Some(want), "{rt}");
        }
    }

    #[test]
    fn bounces_by_sender_subject_header_and_wording() {
        for (from, subject, headers, body) in [
            ("Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@corp.test>", "x", "", ""),
            ("Mail Delivery System <relay@corp.test>", "x", "", ""),
            (CAROL, "Undeliverable: Printer", "", ""),
            (CAROL, "x", "X-Failed-Recipients: a@b.test\r\n", ""),
            (CAROL, "x", "X-MS-Exchange-Message-Is-Ndr: \r\n", ""),
            ("relay@corp.test", "x", "", "Hi. This is the qmail-send program at mx.test.\nI'm afraid I wasn't able to deliver your message."),
            ("relay@corp.test", "x", "", "Delivery has failed to these recipients or groups:\n\na@b.test\n"),
            ("Postmaster@corp.test", "DELIVERY FAILURE: User x not listed", "", ""),
        ] {
            let got = automatic(&mail(from, subject, headers, body));
            assert_eq!(got.as_ref().map(|a| a.kind), Some(Kind::Bounce), "{from} {subject}: {got:?}");
            assert!(got.unwrap().reason.starts_with("delivery report"));
        }
    }

    #[test]
    fn people_who_quote_forward_or_name_bounces_are_answered() {
        for (from, subject, headers, body) in [
            (CAROL, "Re: Undelivered Mail Returned to Sender", "", "Can you check?\n\n> This is the mail system at host mx.test.\n> <sales@desk.test>: 550 5.1.1 User unknown\n"),
            (CAROL, "Fwd: failure notice", "", "See below.\n\nBegin forwarded message:\n\nHi. This is the qmail-send program at mx.test.\n"),
            (CAROL, "FW: Undeliverable: Invoice", "", "Bounces.\n\n-----Original Message-----\nFrom: Microsoft Outlook\n\nDelivery has failed to these recipients or groups:\n"),
            (CAROL, "Problem", "", "Hello,\n\nFrom: my colleague I heard this:\nDelivery has failed to these recipients or groups\n"),
            (CAROL, "Mail to sales bounces", "", "I get back: 550 5.1.1 User unknown. The message could not be delivered.\n"),
            ("Daemon Smith <daemon.smith@customer.test>", "Login problem", "", "Hi"),
            (CAROL, "Delivery failed for my parcel", "", "Hi"),
            (CAROL, "Auto: Reparatur nach Unfall", "", "Hi"),
            (CAROL, "Auto-reply not working", "", "Since the update."),
            (CAROL, "Read: chapter 3 feedback", "", "I read chapter 3."),
            (CAROL, "Cannot verify my email address", "", "The link to verify my email address does not work."),
            (CAROL, "Password reset", "", "I will be out of the office from Monday, reset it today please."),
            (CAROL, "Signed", "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=s\r\n", "--s\r\nContent-Type: text/plain\r\n\r\nHi\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIAG\r\n--s--"),
            (CAROL, "Outlook", "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\r\n", "Hi"),
        ] {
            assert_eq!(automatic(&mail(from, subject, headers, body)), None, "{subject}");
        }
    }

    #[test]
    fn receipts_need_subject_and_wording() {
        let body =
            "Your message\n\n  To: Carol\n  Subject: x\n\nwas read on Sunday, 6 December 2026.";
        assert_eq!(kind(CAROL, "Read: x", "", body), Some(Kind::ReadReceipt));
        assert_eq!(
            kind(
                CAROL,
                "Gelesen: x",
                "",
                "Ihre Nachricht wurde am Sonntag, 6. Dezember gelesen."
            ),
            Some(Kind::ReadReceipt)
        );
        assert_eq!(kind(CAROL, "Hello", "", body), None);
        assert_eq!(
            kind(CAROL, "Read: the manual", "", "It was read on the train."),
            None
        );
    }

    #[test]
    fn challenges_by_service_header_and_wording() {
        for (from, headers, body) in [
            ("Jane via Boxbe <notification@boxbe.test>", "", "Hi"),
            (CAROL, "X-SpamArrest-Challenge: yes\r\n", "Hi"),
            (CAROL, "", "Please confirm you are human by visiting the link below."),
            (CAROL, "", "The message you sent requires that you verify that you are a real live human being."),
            (CAROL, "", "Your message has been quarantined until you confirm it."),
            (
                CAROL,
                "",
                "To make sure your message reaches me, please verify your email address.",
            ),
            (
                CAROL,
                "",
                "Before your message can be delivered, please verify your address.",
            ),
        ] {
            assert_eq!(kind(from, "Re: x", headers, body), Some(Kind::Challenge), "{from} {body}");
        }
    }

    #[test]
    fn exchange_rule_replies_and_tagged_subjects_are_auto_replies() {
        for (subject, headers, body) in [
            (
                "Re: x",
                "X-MS-Exchange-Inbox-Rules-Loop: jane@customer.test\r\n",
                "Jane has left.",
            ),
            ("Re: x", "X-Auto-Response-Suppress: All\r\n", "Thanks."),
            ("[AUTO GENERATED] Thank you", "", "Thanks."),
            ("[Auto-Reply] Re: x", "", "Thanks."),
            ("Re: x (Auto-Reply)", "", "Thanks."),
            ("Vacation reply: x", "", "Away."),
            ("Abwesend: x", "", "Weg."),
            ("Out Of Office Re: x", "", "Away."),
            ("Automatic Response - x", "", "Away."),
            (
                "Re: x",
                "X-POST-MessageClass: 9; Autoresponder\r\n",
                "Away.",
            ),
            ("Re: x", "Precedence: junk\r\n", "Away."),
            ("Re: x", "", "This is an automatic reply. I am away."),
        ] {
            assert_eq!(
                kind(CAROL, subject, headers, body),
                Some(Kind::AutoReply),
                "{subject} {headers}"
            );
        }
    }

    #[test]
    fn lists_and_bulk() {
        assert_eq!(
            kind("announce-owner@lists.test", "x", "", ""),
            Some(Kind::List)
        );
        assert_eq!(
            kind(CAROL, "x", "X-ML-Name: elena\r\n", ""),
            Some(Kind::List)
        );
        assert_eq!(
            kind(CAROL, "x", "Feedback-ID: 1:2:3:esp\r\n", ""),
            Some(Kind::Bulk)
        );
        assert_eq!(
            kind(CAROL, "x", "Precedence: bulk\r\n", ""),
            Some(Kind::Bulk)
        );
    }
}
