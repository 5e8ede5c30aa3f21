//! The reply stripper on any input, as text, as HTML and as a message:
//! it must never panic, never lose a message that had text (something is
//! always kept), and only cut line ranges that exist.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postdesk::mail::quote::{self, Signatures};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for signatures in [Signatures::Cut, Signatures::Keep] {
        let s = quote::strip_reply_with(&text, signatures);
        if text.lines().any(|l| !l.trim().is_empty()) {
            assert!(!s.text.is_empty(), "everything was lost");
        }
        let lines = text.split('\n').count();
        for c in &s.cuts {
            assert!(c.first_line >= 1 && c.first_line <= c.last_line + 1, "{c:?}");
            if c.reason != quote::Reason::TooLong {
                assert!(c.last_line <= lines, "{c:?} beyond {lines} lines");
            }
        }
    }
    let _ = quote::strip_reply_html(&text);
    let _ = quote::strip_raw(data);
});
