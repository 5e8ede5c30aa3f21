//! Terminal-safe text: everything the command line prints that came from
//! mail or from the network goes through here on its way to the screen.
//!
//! Why: a terminal obeys the control sequences in what it displays.
//! Printing a customer's subject raw lets any customer clear the admin's
//! screen (`ESC [2J`), retitle the window (`ESC ]0;…BEL`), plant hyperlinks
//! (`ESC ]8;;…`), recolour or hide text, move the cursor to overwrite
//! earlier lines (`CR`, `BS`), or on some terminals worse (answerback,
//! clipboard writes with OSC 52). Terminal escape injection is a known
//! vulnerability class (CWE-150; e.g. CVE-2003-0063, CVE-2021-25743), and
//! bidi overrides spoof what is shown without any escape sequence at all
//! ("Trojan Source", CVE-2021-42574). So what could drive the terminal is
//! shown visibly instead, at the point where text becomes output; the
//! stored data is never altered.
//!
//! What is escaped, and how:
//! - C0 controls (U+0000–U+001F) and DEL (U+007F) as `\x1b`, `\x07`, …,
//!   except newline and tab in multi-line [`text`]; `\n`, `\t` and `\r`
//!   are written as such.
//! - C1 controls (U+0080–U+009F, e.g. the one-character CSI U+009B) as
//!   `\u{9b}`.
//! - Bidi embeddings, overrides and isolates (U+202A–U+202E,
//!   U+2066–U+2069) as `\u{202e}`.
//!
//! Unambiguity: a backslash is doubled only where it could be read as the
//! start of an escape, that is before another backslash, before `x`, `u`,
//! `n`, `t` or `r`, or before a character that is itself escaped. Every
//! other backslash (`C:\Windows`, `\o/`) is shown as is. Reading left to
//! right, `\\` is one backslash, `\n` `\t` `\r` `\xHH` `\u{H…}` are the
//! escaped characters, and any other backslash is literal, so two different
//! texts never look the same.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether newline and tab may reach the terminal as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A table cell or a one-line field: nothing may break the line.
    Line,
    /// A body or preview: newline and tab keep the layout.
    Text,
}

/// What one piece of the input is: a character, or (in raw bytes) a byte
/// that is not part of valid UTF-8.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Char(char),
    Byte(u8),
}

/// A single-line field or table cell: every control character, newline
/// and tab included, is shown escaped, so a field can neither drive the
/// terminal nor break a table's rows.
pub fn line(s: &str) -> Cow<'_, str> {
    escape_str(s, Mode::Line)
}

/// A multi-line text (a message body, a preview): like [`line`], but
/// newline and tab are kept so the text reads as written.
pub fn text(s: &str) -> Cow<'_, str> {
    escape_str(s, Mode::Text)
}

/// A table cell at most `max` characters wide after escaping: longer ones
/// end in `…`, and an escape is never cut in half.
pub fn cell(s: &str, max: usize) -> String {
    let escaped = line(s);
    if escaped.chars().count() <= max {
        return escaped.into_owned();
    }
    let mut out = String::new();
    let budget = max.saturating_sub(1);
    let mut used = 0;
    let mut piece = String::new();
    let mut units = s.chars().map(Unit::Char).peekable();
    while let Some(u) = units.next() {
        piece.clear();
        push_unit(&mut piece, u, units.peek().copied(), Mode::Line);
        let w = piece.chars().count();
        if used + w > budget {
            break;
        }
        used += w;
        out.push_str(&piece);
    }
    out.push('…');
    out
}

/// Raw message bytes for a preview: like [`text`], and bytes that are not
/// UTF-8 are shown as `\xHH` (always 80–FF, so never confused with an
/// escaped control character, which is below 80).
pub fn bytes(raw: &[u8]) -> String {
    let mut units = Vec::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        units.extend(chunk.valid().chars().map(Unit::Char));
        units.extend(chunk.invalid().iter().map(|b| Unit::Byte(*b)));
    }
    let mut out = String::with_capacity(raw.len());
    let mut it = units.into_iter().peekable();
    while let Some(u) = it.next() {
        push_unit(&mut out, u, it.peek().copied(), Mode::Text);
    }
    out
}

/// JSON for a terminal. serde_json already escapes C0 controls (`\u001b`)
/// as JSON requires, but writes DEL, C1 controls and bidi overrides raw,
/// which JSON allows; here they become `\u009b`-style escapes too. They can
/// only occur inside JSON strings, so the document means exactly the same.
pub fn json(s: String) -> String {
    if !s.chars().any(json_escaped) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if json_escaped(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn json_escaped(c: char) -> bool {
    c == '\u{7f}' || is_c1(c) || is_bidi(c)
}

fn is_c1(c: char) -> bool {
    ('\u{80}'..='\u{9f}').contains(&c)
}

/// Embeddings and overrides (U+202A–U+202E) and isolates (U+2066–U+2069):
/// the characters rustc's `text_direction_codepoint_in_literal` lint names.
fn is_bidi(c: char) -> bool {
    ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn escaped(c: char, mode: Mode) -> bool {
    match c {
        '\n' | '\t' => mode == Mode::Line,
        '\u{0}'..='\u{1f}' | '\u{7f}' => true,
        c => is_c1(c) || is_bidi(c),
    }
}

fn unit_escaped(u: Unit, mode: Mode) -> bool {
    match u {
        Unit::Char(c) => escaped(c, mode),
        Unit::Byte(_) => true,
    }
}

/// Whether a backslash followed by `next` must be doubled to stay
/// distinguishable from an escape.
fn backslash_escaped(next: Option<Unit>, mode: Mode) -> bool {
    match next {
        Some(Unit::Char('\\' | 'x' | 'u' | 'n' | 't' | 'r')) => true,
        Some(u) => unit_escaped(u, mode),
        None => false,
    }
}

fn escape_str(s: &str, mode: Mode) -> Cow<'_, str> {
    let mut chars = s.chars().peekable();
    let mut clean = true;
    while let Some(c) = chars.next() {
        let bad = match c {
            '\\' => backslash_escaped(chars.peek().copied().map(Unit::Char), mode),
            c => escaped(c, mode),
        };
        if bad {
            clean = false;
            break;
        }
    }
    if clean {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut units = s.chars().map(Unit::Char).peekable();
    while let Some(u) = units.next() {
        push_unit(&mut out, u, units.peek().copied(), mode);
    }
    Cow::Owned(out)
}

fn push_unit(out: &mut String, u: Unit, next: Option<Unit>, mode: Mode) {
    let c = match u {
        Unit::Byte(b) => {
            let _ = write!(out, "\\x{b:02x}");
            return;
        }
        Unit::Char(c) => c,
    };
    match c {
        '\\' if backslash_escaped(next, mode) => out.push_str("\\\\"),
        '\n' if mode == Mode::Line => out.push_str("\\n"),
        '\t' if mode == Mode::Line => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c.is_ascii() && escaped(c, mode) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if escaped(c, mode) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a person reading the output would reconstruct: the inverse of
    /// the escaping, to show no two texts print the same.
    fn unescape(s: &str) -> Vec<Unit> {
        let mut out = Vec::new();
        let cs: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < cs.len() {
            if cs[i] != '\\' || i + 1 == cs.len() {
                out.push(Unit::Char(cs[i]));
                i += 1;
                continue;
            }
            let (unit, len) = match cs[i + 1] {
                '\\' => (Unit::Char('\\'), 2),
                'n' => (Unit::Char('\n'), 2),
                't' => (Unit::Char('\t'), 2),
                'r' => (Unit::Char('\r'), 2),
                'x' => {
                    let hex: String = cs[i + 2..i + 4].iter().collect();
                    let b = u8::from_str_radix(&hex, 16).expect("two hex digits");
                    let unit = if b < 0x80 {
                        Unit::Char(b as char)
                    } else {
                        Unit::Byte(b)
                    };
                    (unit, 4)
                }
                'u' => {
                    let end = cs[i..].iter().position(|c| *c == '}').expect("}");
                    let hex: String = cs[i + 3..i + end].iter().collect();
                    let n = u32::from_str_radix(&hex, 16).expect("hex");
                    (Unit::Char(char::from_u32(n).expect("a char")), end + 1)
                }
                _ => (Unit::Char('\\'), 1),
            };
            out.push(unit);
            i += len;
        }
        out
    }

    fn same(a: &[Unit], b: &str) -> bool {
        a.len() == b.chars().count()
            && a.iter()
                .zip(b.chars())
                .all(|(u, c)| matches!(u, Unit::Char(x) if *x == c))
    }

    /// Nothing that can drive a terminal or break a table line is left.
    fn terminal_clean(s: &str, mode: Mode) {
        for c in s.chars() {
            assert!(!escaped(c, mode), "{c:?} left in {s:?}");
        }
    }

    #[test]
    fn the_issue_subject_and_body_are_shown_not_obeyed() {
        let subject = "Hi \x1b[31mRED\x1b[0m \x1b]8;;http://evil.test\x07Link\x1b]8;;\x07";
        assert_eq!(
            line(subject),
            "Hi \\x1b[31mRED\\x1b[0m \\x1b]8;;http://evil.test\\x07Link\\x1b]8;;\\x07"
        );
        assert_eq!(
            text("body\n\x1b[2J\x1b]0;pwned\x07\n"),
            "body\n\\x1b[2J\\x1b]0;pwned\\x07\n"
        );
    }

    #[test]
    fn c1_bidi_del_and_layout_characters() {
        assert_eq!(line("a\u{9b}2Jb"), "a\\u{9b}2Jb");
        assert_eq!(line("\u{85}\u{80}\u{9f}"), "\\u{85}\\u{80}\\u{9f}");
        assert_eq!(line("invoice\u{202e}fdp.exe"), "invoice\\u{202e}fdp.exe");
        assert_eq!(line("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(line("a\u{7f}b\x08c\0"), "a\\x7fb\\x08c\\x00");
        assert_eq!(line("one\ntwo\tthree\r"), "one\\ntwo\\tthree\\r");
        assert_eq!(text("one\ntwo\tthree\r\n"), "one\ntwo\tthree\\r\n");
        // Not controls: left alone (U+200F, U+00A0, emoji with ZWJ).
        assert!(matches!(
            line("שלום\u{200f} a\u{a0}b 👩\u{200d}💻 é"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn backslashes_are_doubled_only_where_they_could_be_misread() {
        assert!(matches!(
            line("C:\\Windows\\System32 \\o/"),
            Cow::Borrowed(_)
        ));
        assert_eq!(line("a literal \\x1b"), "a literal \\\\x1b");
        assert_eq!(line("C:\\new\\temp"), "C:\\\\new\\\\temp");
        assert_eq!(line("\\\\"), "\\\\\\");
        assert_eq!(line("\\\x1b"), "\\\\\\x1b");
        assert_eq!(text("\\\n"), "\\\n");
        assert_eq!(line("\\\n"), "\\\\\\n");
        assert_eq!(line("end\\"), "end\\");
    }

    #[test]
    fn escaping_is_unambiguous_and_clean() {
        // A deterministic walk through strings of the characters that
        // matter: every one must print clean and read back as itself.
        let alphabet = [
            '\\', 'x', 'u', 'n', 't', 'r', '{', '}', '1', 'b', '\x1b', '\x07', '\n', '\t', '\r',
            '\0', '\u{7f}', '\u{9b}', '\u{202e}', '\u{2069}', 'é', '…',
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 9) as usize;
            let mut s = String::new();
            let mut r = seed;
            for _ in 0..len {
                s.push(alphabet[(r % alphabet.len() as u64) as usize]);
                r /= alphabet.len() as u64;
            }
            let l = line(&s);
            terminal_clean(&l, Mode::Line);
            assert!(same(&unescape(&l), &s), "{s:?} -> {l:?}");
            let t = text(&s);
            terminal_clean(&t, Mode::Text);
            assert!(same(&unescape(&t), &s), "{s:?} -> {t:?}");
            assert_eq!(bytes(s.as_bytes()), t);
        }
    }

    #[test]
    fn cells_are_clipped_without_cutting_an_escape() {
        assert_eq!(cell("short", 10), "short");
        assert_eq!(cell("abcdefghijkl", 5), "abcd…");
        assert_eq!(cell("ab\x1bcdef", 5), "ab…");
        assert_eq!(cell("ab\x1bcdef", 7), "ab\\x1b…");
        assert_eq!(cell("\x1b[2J", 6), "\\x1b[…");
        assert_eq!(cell("", 0), "");
        assert_eq!(cell("xy", 0), "…");
    }

    #[test]
    fn raw_bytes_show_invalid_utf8_as_hex() {
        assert_eq!(
            bytes(b"Subject: \x1b]0;x\x07\r\n\xff\xfe ok \xc2\x9b\n"),
            "Subject: \\x1b]0;x\\x07\\r\n\\xff\\xfe ok \\u{9b}\n"
        );
        assert_eq!(bytes(b"\\\xff"), "\\\\\\xff");
        assert_eq!(bytes(b"caf\xc3\xa9"), "café");
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw() {
        let v = serde_json::json!({"s": "a\x1b[31m\u{9b}\u{202e}\u{7f}z"});
        let s = json(serde_json::to_string(&v).expect("serializes"));
        assert_eq!(s, r#"{"s":"a\u001b[31m\u009b\u202e\u007fz"}"#);
        let back: serde_json::Value = serde_json::from_str(&s).expect("still JSON");
        assert_eq!(back, v);
    }
}
