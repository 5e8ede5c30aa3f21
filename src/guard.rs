//! Recognizing automatic mail, so that postdesk never answers it: answering
//! an autoresponder is how two machines start mailing each other forever.
//!
//! The signals are the ones RFC 3834 and long practice give. This is the
//! intake's first line of defence; loop caps and bounce handling build on it.

use crate::mail::Inbound;

/// Why a message counts as automatic, or `None` for mail from a person.
pub fn automatic_reason(msg: &Inbound) -> Option<String> {
    if let Some(v) = msg.header("auto-submitted") {
        let v = v.trim().to_ascii_lowercase();
        if !v.is_empty() && !v.starts_with("no") {
            return Some(format!("Auto-Submitted: {v}"));
        }
    }
    if let Some(v) = msg.header("precedence") {
        let v = v.trim().to_ascii_lowercase();
        if matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
            return Some(format!("Precedence: {v}"));
        }
    }
    if msg.header("list-id").is_some() {
        return Some("List-Id present (mailing list)".into());
    }
    for h in ["x-autoreply", "x-autorespond", "x-auto-reply"] {
        if msg.header(h).is_some() {
            return Some(format!("{h} present"));
        }
    }
    if let Some(rp) = msg.header("return-path") {
        if rp.trim() == "<>" {
            return Some("empty Return-Path (a bounce or notification)".into());
        }
    }
    let local = msg.from.email.split('@').next().unwrap_or_default();
    let local = local.split('+').next().unwrap_or_default();
    if matches!(
        local,
        "mailer-daemon" | "postmaster" | "noreply" | "no-reply" | "donotreply" | "do-not-reply"
    ) {
        return Some(format!("sender {} is a machine", msg.from.email));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse;

    fn with(headers: &str, from: &str) -> Inbound {
        let raw =
            format!("From: {from}\r\nTo: support@desk.test\r\nSubject: x\r\n{headers}\r\nbody\r\n");
        parse(raw.as_bytes()).unwrap()
    }

    #[test]
    fn people_are_not_automatic() {
        assert_eq!(automatic_reason(&with("", "carol@customer.test")), None);
        assert_eq!(
            automatic_reason(&with("Auto-Submitted: no\r\n", "carol@customer.test")),
            None
        );
        // Outlook puts this on ordinary mail; it is a hint, not a verdict.
        assert_eq!(
            automatic_reason(&with(
                "X-Auto-Response-Suppress: All\r\n",
                "carol@customer.test"
            )),
            None
        );
    }

    #[test]
    fn machines_are() {
        for (h, from) in [
            ("Auto-Submitted: auto-replied\r\n", "carol@customer.test"),
            ("Precedence: bulk\r\n", "carol@customer.test"),
            ("Precedence: junk\r\n", "carol@customer.test"),
            ("List-Id: <x.lists.test>\r\n", "carol@customer.test"),
            ("X-Autoreply: yes\r\n", "carol@customer.test"),
            ("Return-Path: <>\r\n", "carol@customer.test"),
            ("", "MAILER-DAEMON@mx.test"),
            ("", "noreply@shop.test"),
        ] {
            assert!(automatic_reason(&with(h, from)).is_some(), "{h} {from}");
        }
    }
}
