//! The signs that a message is a delivery report, whatever wrote it: its
//! sender, its subject, and the words mail servers open their reports
//! with. Shared by the guard (never answer a bounce) and by [`super::parse`]
//! (read a plain-text report only when it is one).
//!
//! Each sign is specific on purpose: a person asking "why did my mail
//! bounce?", quoting or forwarding a bounce, or named "Daemon Smith" must
//! still be answered. So sender names are matched whole, subjects only at
//! their start and without `Re:`/`Fwd:`, and report wording only in the
//! message's own words (not in quoted or forwarded text below them).

use std::sync::LazyLock;

use regex::Regex;

/// Local parts of report senders, lowercase with `-`, `_` and `.` removed
/// (so `MAILER-DAEMON`, `mailer_daemon` and `Mailer.Daemon` are one).
const REPORT_LOCALS: &[&str] = &["mailerdaemon", "maildaemon", "mdaemon", "postmaster"];

/// Display names report senders use, matched whole (case aside).
static REPORT_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*(?:mail delivery (?:system|subsystem|service|agent)|mailer[- ]?daemon|",
        r"mail administrator|postmaster|mail router|internet mail delivery|",
        r"mail delivery|mail system|courier mail server at \S+|",
        r"groupwise internet agent|",
        r"service de distribution du courrier|sistema de entrega de correo|",
        r"sistema di consegna posta|subsistema de entrega de (?:e-?mail|correio)|",
        r"(?:e-?)?mail-?zustell(?:system|dienst|ung))\s*$"
    ))
    .expect("report sender name pattern is valid")
});

/// Subjects of reports, at the very start (a forward's `Fwd:` means a
/// person sent it) and followed by what servers put after them, so "My
/// package was undeliverable" or "Delivery failed for my parcel" stay a
/// customer's.
static REPORT_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*(?:",
        r"undeliver(?:able|ed)\s*(?::|mail(?-u:\b)|message(?-u:\b)|$)|",
        r"undelivered mail returned to sender|",
        r"returned mail\s*(?::|$)|",
        r"failure notice\s*$|",
        r"delivery status notification\s*(?:\(|$)|",
        r"delivery (?:failure|notification)\s*(?::|$|report|\()|",
        r"(?:permanent |message |mail )?delivery failure\s*$|delivery failure notification|",
        r"message not delivered\s*(?::|$)|",
        r"mail delivery failed|delivery has failed|",
        r"delivery delayed\s*:|delayed mail \(still being retried\)|",
        r"warning: (?:message \S+ delayed|could not send message)|",
        r"message status - undeliverable|mail system error - returned mail|",
        r"notice: mail delivery status|\[bounce\]|",
        r"non remis\s*:|unzustellbar\s*:|nicht zustellbar\s*:|onbestelbaar\s*:|",
        r"no se puede entregar\s*:|non recapitabile\s*:|olevererbart\s*:|kan ikke leveres\s*:|",
        r"(?:e|é)chec de (?:la )?remise|notificação de status de entrega|配信不能\s*[:：]|",
        r"unzustellbare nachricht|nondeliverable mail|",
        // Exchange's "Undeliverable:" in more languages.
        r"(?:nedoručitelné|nedoručiteľné|kézbesíthetetlen|niedostarczalne|não é possível entregar|",
        r"teslim edilemedi|ei voida toimittaa|nije moguće isporučiti|nedostavljivo|",
        r"недоставлено|не доставлено|не може да бъде доставено|δεν είναι δυνατή η παράδοση|",
        r"无法送达|無法傳遞|배달되지 않음|לא ניתן למסור|تعذر التسليم)\s*[:：]",
        r")"
    ))
    .expect("report subject pattern is valid")
});

/// How reports open, in the words of the software that writes them
/// (Postfix, Exim, Sendmail, qmail, James, Courier, Exchange and Office
/// 365, Gmail, Yahoo, Domino, GroupWise, SES, MDaemon, MailEnable, carrier
/// gateways, and Exchange's translations). Matched on the own words with
/// their whitespace collapsed, so a phrase broken across lines is found.
///
/// Word boundaries in this file's patterns are ASCII, `(?-u:\b)`: a Unicode
/// `\b` stops the regex crate's fast engine at the first non-ASCII byte, and
/// its fallback read 8 KB of German text some 200 times slower (2.9 ms
/// against 14 µs). Each boundary here sits beside an ASCII letter, where the
/// two kinds agree unless a non-ASCII letter touches it.
static REPORT_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:",
        r"this is the mail system at host|this is the postfix program at host|",
        r"hi\. this is the [\w.-]+(?: [\w.-]+){0,2} (?:program|server) at|",
        r"i'm afraid i wasn't able to deliver your message|",
        r"this message was created automatically by mail delivery software|",
        r"the following addresses had permanent fatal errors|",
        r"-+ transcript of session follows -+|",
        r"delivery has failed to these recipients or (?:groups|distribution lists)|",
        r"the following recipient\(s\) (?:could not|cannot) be reached|",
        r"delivery is delayed to these recipients or groups|",
        r"your message did not reach some or all of the intended recipients|",
        r"your message to \S+ couldn't be delivered|",
        r"sorry, we were unable to deliver your message|",
        r"delivery to the following recipients? failed permanently|",
        r"your message wasn't delivered to \S+ because|",
        r"there was a (?:temporary )?problem delivering your message to|",
        r"your (?:mail|message) to the following recipients? (?:could not|cannot) be delivered|",
        r"this is a delivery status notification|",
        r"your message to the following recipients cannot be delivered|",
        r"an error occurred while trying to deliver the mail to the following recipients|",
        r"the attached message had permanent fatal delivery errors|",
        r"this message was undeliverable due to the following reason|",
        r"the message that you sent was (?:not delivered|undeliverable) to|",
        r"your (?:message|document)(?-u:\b).*? was not delivered to:|did not reach the following recipient|",
        r"unable to deliver (?:your |the )?message to the following (?:address|recipient)|",
        r"this is the mail delivery agent at|this is the mailer-daemon|",
        r"this is a warning message only|this is a warning only|",
        // RFC 3464 fields pasted into a plain-text report.
        r"final-recipient: ?rfc822;|reporting-mta: ?dns;|",
        r"the following message to <[^>\s]+> was undeliverable|",
        r"delivery to the following recipients failed|",
        r"message could not be delivered to some recipients|",
        r"this is an automatically generated delivery status notification|",
        r"die zustellung an folgende empf(?:ä|ae)nger oder gruppen ist fehlgeschlagen|",
        r"diese nachricht wurde automatisch vom mailsystem erzeugt|",
        r"la remise s'est sold(?:é|e)e par un (?:é|e)chec|",
        r"ce message a (?:é|e)t(?:é|e) cr(?:éé|ee) automatiquement par le logiciel de distribution|",
        r"error en la entrega a estos destinatarios|recapito non riuscito per i seguenti destinatari|",
        r"bezorging is mislukt voor deze ontvangers|sua mensagem n(?:ã|a)o foi entregue|",
        r"leveransen misslyckades till f(?:ö|o)ljande mottagare|配信に失敗しました",
        r")"
    ))
    .expect("report wording pattern is valid")
});

/// Where a message's own words end: quoted lines, a forward, the quoted
/// header block Outlook puts under a reply, "On … wrote:".
static QUOTE_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^(?:>|-{2,}\s*(?:original message|forwarded message|ursprüngliche nachricht|",
        r"message d'origine|mensaje original|messaggio originale)|begin forwarded message|",
        r"from:\s|von:\s|de\s?:\s|on .+ wrote:\s*$|am .+ schrieb|le .+ a écrit)"
    ))
    .expect("quote start pattern is valid")
});

/// A subject that says a person forwarded or answered something.
static FORWARD_OR_REPLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:fwd?|fw|wg|tr|rv|re|aw|sv|antw|vs)\s*:")
        .expect("prefix pattern is valid")
});

/// How far into a message report wording is looked for: reports say what
/// they are at the top.
const OWN_WORDS_LINES: usize = 60;
const OWN_WORDS_BYTES: usize = 8 * 1024;
const OWN_LINE_CHARS: usize = 2000;

/// The message's own words, as one line with whitespace collapsed: the
/// first lines of its text up to anything quoted or forwarded.
pub fn own_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(OWN_WORDS_BYTES + 1024));
    // The bytes taken so far as lines (trimmed, one space after each):
    // the limit counts them, not the collapsed words.
    let mut taken = 0usize;
    for line in text.lines().take(OWN_WORDS_LINES) {
        let line = line.trim();
        // One endless line must not make every pattern read a megabyte.
        let line = match line.char_indices().nth(OWN_LINE_CHARS) {
            Some((end, _)) => &line[..end],
            None => line,
        };
        if taken > OWN_WORDS_BYTES || QUOTE_START.is_match(line) {
            break;
        }
        if !line.is_empty() {
            taken += line.len() + 1;
            // Collapsed as it is copied: every guard pattern reads this
            // line, and collecting the words of 8 KB into a vector first
            // cost half of the guard's time (benches/imap.sh).
            push_collapsed(&mut out, line);
        }
    }
    out
}

/// Appends the words of `line` to `out`, one space between words (and
/// before the first when `out` has some): [`str::split_whitespace`]'s
/// words, read byte by byte when the line is ASCII.
fn push_collapsed(out: &mut String, line: &str) {
    if !line.is_ascii() {
        for word in line.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        return;
    }
    // ASCII's White_Space: space, and tab through carriage return.
    let space = |b: u8| b == b' ' || (b'\t'..=b'\r').contains(&b);
    for word in line
        .as_bytes()
        .split(|&b| space(b))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        // An ASCII line's pieces are ASCII, so each is a whole str.
        if let Ok(w) = std::str::from_utf8(word) {
            out.push_str(w);
        }
    }
}

/// Why a sender is a report sender, or `None`. `name` is the display
/// name; `email` the lowercase address (`@` alone for Courier's null
/// sender `<@>`).
pub fn sender(name: Option<&str>, email: &str) -> Option<String> {
    let local = email.split('@').next().unwrap_or_default();
    let squashed: String = local
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .collect::<String>()
        .to_ascii_lowercase();
    if email.trim().is_empty() || local.is_empty() || email == "<>" {
        return Some("the sender has no address (a report's null sender)".into());
    }
    if REPORT_LOCALS.contains(&squashed.as_str()) {
        return Some(format!("sender {email} is a mail server"));
    }
    // A bounce handler: `bounce@`, `bounces@`, `bounce-8723@`, `bounce+x@`.
    let lower = local.to_ascii_lowercase();
    let handler = ["bounce", "bounces"].iter().any(|b| {
        lower
            .strip_prefix(b)
            .is_some_and(|r| r.is_empty() || r.starts_with(['-', '.', '_', '+']))
    });
    if handler {
        return Some(format!("sender {email} is a bounce handler"));
    }
    // Exchange and Office 365 send reports as MicrosoftExchange<32 hex>@.
    if let Some(hex) = squashed.strip_prefix("microsoftexchange") {
        if hex.len() >= 16 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Some(format!("sender {email} is Exchange's report sender"));
        }
    }
    if let Some(name) = name.filter(|n| REPORT_NAME.is_match(n)) {
        return Some(format!("sender `{}` is a mail server", clip(name, 60)));
    }
    None
}

/// Whether a subject is a report's.
pub fn subject(subject: &str) -> bool {
    REPORT_SUBJECT.is_match(subject)
}

/// The report wording in a message's own words, if any, for the reason
/// shown to admins. A forward or reply (by its subject) is a person's
/// however report-like its text.
pub fn wording(subject: &str, own_words: &str) -> Option<String> {
    if FORWARD_OR_REPLY.is_match(subject) {
        return None;
    }
    REPORT_WORDS.find(own_words).map(|m| clip(m.as_str(), 70))
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

    /// See [`REPORT_WORDS`] on why word boundaries are ASCII.
    #[test]
    fn body_patterns_use_ascii_word_boundaries() {
        for r in [&*REPORT_WORDS, &*REPORT_SUBJECT] {
            assert!(
                !r.as_str().replace(r"(?-u:\b)", "").contains(r"\b"),
                "{}",
                r.as_str()
            );
        }
    }

    #[test]
    fn report_senders_and_people() {
        for (name, email) in [
            (None, "mailer-daemon@mx.test"),
            (None, "MAILER_DAEMON@mx.test"),
            (None, "mail.daemon@mx.test"),
            (None, "mdaemon@mx.test"),
            (None, "postmaster@mx.test"),
            (None, "@"),
            (
                None,
                "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e@corp.test",
            ),
            (Some("Mail Delivery System"), "relay@corp.test"),
            (Some("Mail Delivery Subsystem"), "mds@corp.test"),
            (Some("Courier mail server at mx.test"), "x@mx.test"),
            (None, "bounce-8723@mg.test"),
            (None, "bounces+x@mg.test"),
        ] {
            assert!(sender(name, email).is_some(), "{name:?} {email}");
        }
        for (name, email) in [
            (Some("Daemon Smith"), "daemon.smith@customer.test"),
            (Some("Daemon Smith"), "daemon@customer.test"),
            (Some("Postmaster General"), "pmg@customer.test"),
            (None, "postmaster-team.lead@customer.test"),
            (None, "microsoftexchangefan@customer.test"),
            (Some("Mail Delivery System fan club"), "fan@customer.test"),
            (None, "bouncer@club.test"),
        ] {
            assert_eq!(sender(name, email), None, "{name:?} {email}");
        }
    }

    #[test]
    fn report_subjects_only_at_the_start() {
        for s in [
            "Undeliverable: Printer",
            "Undelivered Mail Returned to Sender",
            "Returned mail: see transcript for details",
            "failure notice",
            "Delivery Status Notification (Failure)",
            "DELIVERY FAILURE: User x not listed",
            "Delivery Failure Report",
            "Mail delivery failed: returning message to sender",
            "Warning: message 1abc delayed 24 hours",
            "Message status - undeliverable",
            "Unzustellbar: Drucker",
            "Non remis : imprimante",
            "[BOUNCE]",
        ] {
            assert!(subject(s), "{s}");
        }
        for s in [
            "Fwd: Undeliverable: Printer",
            "Re: Undelivered Mail Returned to Sender",
            "Undeliverable package returned to me",
            "Delivery failed for my parcel",
            "Delivery date for order 5521?",
            "Failure notice about my order",
            "Question about a delivery failure",
        ] {
            assert!(!subject(s), "{s}");
        }
    }

    /// The same words as collecting them and joining with single spaces.
    #[test]
    fn own_words_collapse_whitespace_like_split_whitespace() {
        let reference = |text: &str| {
            let mut out = String::new();
            for line in text.lines().take(OWN_WORDS_LINES) {
                let line = line.trim();
                if QUOTE_START.is_match(line) || out.len() > OWN_WORDS_BYTES {
                    break;
                }
                if !line.is_empty() {
                    out.push_str(line);
                    out.push(' ');
                }
            }
            out.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        let long = "word\tand  more\x0bwords\x0cend \r\n".repeat(400);
        for text in [
            "",
            "   \n\t\n",
            "Hello  there,\n\n  how\tare you?\r\nFine.\n> quoted\nafter",
            "Gr\u{fc}\u{df}e\u{a0}aus\u{2003}Berlin\n\u{3000}x  y\n",
            "a\x0bb\x0cc\u{85}d\n",
            long.as_str(),
        ] {
            assert_eq!(own_words(text), reference(text), "{text:?}");
        }
    }

    #[test]
    fn wording_only_in_own_words() {
        let report = "This is the mail system at host mx.test.\n\nI'm sorry to have to inform you that your message could not\nbe delivered.";
        assert!(wording("Undelivered Mail", &own_words(report)).is_some());
        let quoted = "See below.\n\n> This is the mail system at host mx.test.\n";
        assert_eq!(wording("Re: x", &own_words(quoted)), None);
        assert_eq!(wording("x", &own_words(quoted)), None);
        let forwarded = "Why?\n\n---------- Forwarded message ---------\nFrom: Mail Delivery Subsystem <mailer-daemon@x.test>\n\nDelivery to the following recipient failed permanently:\n";
        assert_eq!(wording("x", &own_words(forwarded)), None);
        // Lines broken where the server broke them still read as a phrase.
        let exim = "This message was created automatically by mail delivery\nsoftware.\n";
        assert!(wording("x", &own_words(exim)).is_some());
        // A forward is a person's, whatever it holds.
        assert_eq!(wording("Fwd: failure notice", &own_words(report)), None);
    }
}
