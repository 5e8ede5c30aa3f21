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

use crate::mail::Inbound;

mod automatic;

pub use automatic::{automatic, Automatic, Kind};

/// Why a message counts as automatic, or `None` for mail from a person:
/// [`automatic`]'s reason alone.
pub fn automatic_reason(msg: &Inbound) -> Option<String> {
    automatic(msg).map(|a| a.reason)
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
            // Outlook puts partial values on ordinary mail; only `All` counts.
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
            ("", "MAILER-DAEMON@mx.test", "mail server"),
            ("", "postmaster@mx.test", "mail server"),
            (
                "X-Auto-Response-Suppress: All\r\n",
                CAROL,
                "X-Auto-Response-Suppress",
            ),
            (
                "X-MS-Exchange-Inbox-Rules-Loop: carol@customer.test\r\n",
                CAROL,
                "inbox rule",
            ),
            (
                "X-Failed-Recipients: x@y.test\r\n",
                CAROL,
                "delivery report",
            ),
            ("Feedback-ID: 1:2:3:esp\r\n", CAROL, "Feedback-ID"),
            ("X-Loop: helpdesk@other.test\r\n", CAROL, "X-Loop"),
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
