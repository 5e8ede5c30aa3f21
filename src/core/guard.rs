//! Recognizing automatic mail, so that postdesk never answers it: answering
//! an autoresponder is how two machines start mailing each other forever.
//! And recognizing the desk's own mail coming back, which is a loop already.
//!
//! The signals are the ones RFC 3834 and long practice give. This is the
//! intake's first line of defence; windowed caps ([`crate::caps`]) catch
//! what slips through, and bounces are read by [`crate::bounce`].
//!
//! Each check says why in words: the reason is recorded on the message and
//! shown by `tickets show`, so an admin can see what the guard did.

use std::sync::LazyLock;

use regex::Regex;

use crate::mail::Inbound;

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
        r"(?:automatic reply|auto[- ]?reply|auto[- ]?response|autoresponder|out of office(?: reply| autoreply)?|",
        r"automatische antwort|abwesenheitsnotiz|abwesenheit|",
        r"r[ée]ponse automatique|absence du bureau|",
        r"risposta automatica|fuori sede|",
        r"respuesta autom[áa]tica|fuera de la oficina|",
        r"resposta autom[áa]tica|aus(?:ê|e)ncia temporária|",
        r"automatisch antwoord|afwezig|",
        r"automatiskt svar|automatisk svar|autosvar|fr[åa]nvaro|frav[æa]r|",
        r"automatyczna odpowied[źz]|odpowied[źz] automatyczna|",
        r"automaattinen vastaus|",
        r"автоответ|автоматический ответ|",
        r"自動応答|自動返信|自动回复|自動回覆|자동 응답)\s*[:：]",
        r"|",
        // Whole phrases that only automatic replies use.
        r".*\b(?:out of (?:the )?office(?:\s*$|\s*[:\-–(,.!]|\s+(?:until|till|from|reply|autoreply|notice|message))|on vacation until|ist abwesend|bin abwesend)",
        r")",
    ))
    .expect("the out-of-office subject pattern is valid")
});

/// Local parts of senders that are machines by convention.
const MACHINE_SENDERS: &[&str] = &[
    "mailer-daemon",
    "mailer_daemon",
    "maildaemon",
    "postmaster",
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "bounce",
    "bounces",
];

/// Why a message counts as automatic, or `None` for mail from a person.
///
/// `X-Auto-Response-Suppress` is deliberately not a signal: Outlook puts it
/// on ordinary mail from people, and treating it as automatic would leave
/// every Outlook user without an acknowledgement.
pub fn automatic_reason(msg: &Inbound) -> Option<String> {
    if let Some(v) = msg.header("auto-submitted") {
        let v = v.trim().to_ascii_lowercase();
        // RFC 3834: anything but `no` (parameters may follow a `;`).
        let keyword = v.split(';').next().unwrap_or_default().trim();
        if !keyword.is_empty() && keyword != "no" {
            return Some(format!("Auto-Submitted: {v}"));
        }
    }
    for name in ["precedence", "x-precedence"] {
        if let Some(v) = msg.header(name) {
            let v = v.trim().to_ascii_lowercase();
            if matches!(
                v.as_str(),
                "bulk" | "junk" | "list" | "auto_reply" | "auto-reply"
            ) {
                return Some(format!("Precedence: {v}"));
            }
        }
    }
    if msg.header("list-id").is_some() {
        return Some("List-Id present (mailing list)".into());
    }
    if msg.header("list-unsubscribe").is_some() {
        return Some("List-Unsubscribe present (newsletter or list)".into());
    }
    for h in [
        "x-autoreply",
        "x-autorespond",
        "x-auto-reply",
        "x-autoresponder",
    ] {
        if let Some(v) = msg.header(h) {
            if !v.trim().eq_ignore_ascii_case("no") {
                return Some(format!("{h} present"));
            }
        }
    }
    if let Some(rp) = msg.header("return-path") {
        if rp.trim() == "<>" || rp.trim().is_empty() {
            return Some("empty Return-Path (a bounce or notification)".into());
        }
    }
    let email = msg.from.email.to_ascii_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    let local = local.split('+').next().unwrap_or_default();
    if MACHINE_SENDERS.contains(&local) {
        return Some(format!("sender {} is a machine", msg.from.email));
    }
    if AUTO_SUBJECT.is_match(&msg.subject) {
        return Some(format!(
            "subject `{}` is an out-of-office or automatic reply",
            clip(&msg.subject, 60)
        ));
    }
    None
}

/// Why a message is the desk's own mail come back, or `None`. Such mail is
/// recorded and never acted on: whatever answered it, answering again is a
/// loop. `own` are the desk's addresses (lowercase).
///
/// The desk's own Message-IDs are checked by the shell against the ids it
/// has sent (a message with one is already stored as a duplicate and never
/// acted on). The shape of an id alone proves nothing: another desk in the
/// same domain, or an agent's mail program, writes ids that look the same.
pub fn own_loop_reason(msg: &Inbound, own: &[String]) -> Option<String> {
    for v in msg
        .headers
        .iter()
        .filter(|(n, _)| n == "x-loop")
        .map(|(_, v)| v)
    {
        let v = v.trim().to_ascii_lowercase();
        if own.contains(&v) {
            return Some(format!("X-Loop: {v} is the desk's own loop marker"));
        }
    }
    if crate::decide::is_own(own, &msg.from.email) {
        return Some(format!(
            "From: {} is the desk's own address",
            msg.from.email
        ));
    }
    None
}

fn clip(s: &str, max: usize) -> String {
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

    fn with(headers: &str, from: &str) -> Inbound {
        with_subject(headers, from, "x")
    }

    fn with_subject(headers: &str, from: &str, subject: &str) -> Inbound {
        let raw = format!(
            "From: {from}\r\nTo: support@desk.test\r\nSubject: {subject}\r\n{headers}\r\nbody\r\n"
        );
        parse(raw.as_bytes()).unwrap()
    }

    const CAROL: &str = "carol@customer.test";

    #[test]
    fn people_are_not_automatic() {
        for (h, from) in [
            ("", CAROL),
            ("Auto-Submitted: no\r\n", CAROL),
            ("Auto-Submitted: No ; reason=x\r\n", CAROL),
            ("Precedence: first-class\r\n", CAROL),
            ("X-Autoreply: no\r\n", CAROL),
            ("Return-Path: <carol@customer.test>\r\n", CAROL),
            // Outlook puts this on ordinary mail; it is a hint, not a verdict.
            ("X-Auto-Response-Suppress: All\r\n", CAROL),
            (
                "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\r\n",
                CAROL,
            ),
            ("", "postmaster-team.lead@customer.test"),
            ("", "noreplyguy@customer.test"),
        ] {
            assert_eq!(automatic_reason(&with(h, from)), None, "{h} {from}");
        }
    }

    #[test]
    fn each_header_signal_is_automatic() {
        for (h, from, why) in [
            ("Auto-Submitted: auto-replied\r\n", CAROL, "Auto-Submitted"),
            (
                "Auto-Submitted: auto-generated\r\n",
                CAROL,
                "Auto-Submitted",
            ),
            (
                "Auto-Submitted: auto-notified; owner-email=x@y\r\n",
                CAROL,
                "Auto-Submitted",
            ),
            ("Precedence: bulk\r\n", CAROL, "Precedence"),
            ("Precedence: junk\r\n", CAROL, "Precedence"),
            ("Precedence: list\r\n", CAROL, "Precedence"),
            ("Precedence: auto_reply\r\n", CAROL, "Precedence"),
            ("List-Id: <x.lists.test>\r\n", CAROL, "List-Id"),
            (
                "List-Unsubscribe: <mailto:u@lists.test>\r\n",
                CAROL,
                "List-Unsubscribe",
            ),
            ("X-Autoreply: yes\r\n", CAROL, "x-autoreply"),
            ("X-Autorespond: Vacation\r\n", CAROL, "x-autorespond"),
            ("Return-Path: <>\r\n", CAROL, "Return-Path"),
            ("", "MAILER-DAEMON@mx.test", "machine"),
            ("", "postmaster@mx.test", "machine"),
            ("", "noreply@shop.test", "machine"),
            ("", "no-reply+x@shop.test", "machine"),
            ("", "do-not-reply@shop.test", "machine"),
        ] {
            let why_found = automatic_reason(&with(h, from));
            assert!(
                why_found.as_deref().is_some_and(|w| w.contains(why)),
                "{h} {from}: {why_found:?}"
            );
        }
    }

    #[test]
    fn out_of_office_subjects_in_many_languages() {
        for s in [
            "Automatic reply: Printer down",
            "Out of Office: Printer down",
            "Out of office",
            "Re: Printer down - I am out of the office until Monday",
            "AutoReply: your mail",
            "Auto-Reply: your mail",
            "Automatische Antwort: Drucker kaputt",
            "Abwesenheitsnotiz: Drucker kaputt",
            "Réponse automatique : Imprimante",
            "Risposta automatica: stampante",
            "Respuesta automática: impresora",
            "Automatisch antwoord: printer",
            "Automatiskt svar: skrivare",
            "Autosvar: printer",
            "Automatyczna odpowiedź: drukarka",
            "Automaattinen vastaus: tulostin",
            "自動応答: プリンター",
            "自动回复：打印机",
            "Автоответ: принтер",
        ] {
            let why = automatic_reason(&with_subject("", CAROL, s));
            assert!(why.is_some_and(|w| w.contains("out-of-office")), "{s}");
        }
        for s in [
            "Printer down",
            "Re: Printer down",
            "Question about an automatic reply I got",
            "Absence of invoice",
            "The office printer is out of toner",
            "We are out of office supplies",
            "Auto reply settings do not save",
        ] {
            assert_eq!(automatic_reason(&with_subject("", CAROL, s)), None, "{s}");
        }
    }

    fn own() -> Vec<String> {
        vec!["support@desk.test".into(), "help@desk.test".into()]
    }

    #[test]
    fn own_loops_by_marker_and_sender() {
        let m = with("X-Loop: support@desk.test\r\n", CAROL);
        assert!(own_loop_reason(&m, &own()).unwrap().contains("X-Loop"));
        let m = with("X-Loop: Help@Desk.test\r\n", CAROL);
        assert!(own_loop_reason(&m, &own()).is_some());
        let m = with("", "support+ACME-4.abc@desk.test");
        assert!(own_loop_reason(&m, &own()).unwrap().contains("From"));
    }

    #[test]
    fn other_desks_and_colleagues_are_not_own_loops() {
        for (h, from) in [
            // Another desk's marker, even in the same domain.
            ("X-Loop: support@other.test\r\n", "support@other.test"),
            ("X-Loop: sales@desk.test\r\n", "sales@desk.test"),
            // An agent's mail program writes ids in the company domain.
            ("Message-ID: <a1b2c3@desk.test>\r\n", "alice@desk.test"),
            // Another desk in the same domain makes ids of the same shape.
            (
                "Message-ID: <ACME-42.ack.0123456789abcdef0123@desk.test>\r\n",
                "sales@desk.test",
            ),
            ("", CAROL),
        ] {
            assert_eq!(own_loop_reason(&with(h, from), &own()), None, "{h} {from}");
        }
    }
}
