//! Word boundaries (`\b`) without the slow path.
//!
//! The regex crate's fast engine (lazy DFA) cannot evaluate a Unicode `\b`
//! once it meets a non-ASCII byte and gives up; for a set of hundreds of
//! patterns its fallback is some 50 times slower, and real mail is often not
//! ASCII. Yet nearly every admin-written pattern is `(?i)\b(word|word)\b`.
//! This module rewrites such patterns into forms the fast engine keeps
//! running on, and says when the rewritten form gives the exact answer:
//!
//! * `\b` only depends on whether the characters beside it are word
//!   characters. On text whose non-ASCII characters are all non-word (curly
//!   quotes, dashes, emoji, no-break spaces) the ASCII `(?-u:\b)` answers
//!   exactly like the Unicode one: [`TextKind::Plain`].
//! * On text with non-ASCII letters (é, ü, 日本), a pattern whose every `\b`
//!   sits at its edge beside an ASCII word character it must consume can only
//!   gain matches from the ASCII `\b` (beside `é` ASCII sees a boundary that
//!   Unicode does not), never lose one: a hit is a candidate that the exact
//!   regex confirms, a miss is final ([`edges_only`]). Other patterns drop
//!   their boundaries instead, which also only adds matches.
//! * Under `(?i)`, `k` and `s` also match the non-ASCII word characters
//!   U+212A KELVIN SIGN and U+017F LONG S, which breaks the edge argument;
//!   text containing either is [`TextKind::Folding`] and gets no shortcut.

use std::sync::LazyLock;

use regex::Regex;

/// What a haystack means for word boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKind {
    /// No non-ASCII word character: ASCII `\b` is exact.
    Plain,
    /// Non-ASCII word characters, but neither U+212A nor U+017F.
    Letters,
    /// Contains U+212A or U+017F.
    Folding,
}

/// Classifies `hay`. Uses the regex crate's own `\w`, so this can never
/// disagree with the patterns it stands in for.
pub(crate) fn text_kind(hay: &str) -> TextKind {
    static WORD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\A\w\z").ok());
    if hay.is_ascii() {
        return TextKind::Plain;
    }
    let Some(word) = WORD.as_ref() else {
        return TextKind::Folding;
    };
    let bytes = hay.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(block) = bytes.get(i..i + 32) {
            if block.is_ascii() {
                i += 32;
                continue;
            }
        }
        if bytes[i] < 0x80 {
            i += 1;
            continue;
        }
        // `i` is always at a character start: only whole ASCII bytes and
        // whole characters are skipped.
        let Some(c) = hay.get(i..).and_then(|rest| rest.chars().next()) else {
            return TextKind::Folding;
        };
        if word.is_match(c.encode_utf8(&mut [0u8; 4])) {
            return if hay.contains(['\u{212A}', '\u{17F}']) {
                TextKind::Folding
            } else {
                TextKind::Letters
            };
        }
        i += c.len_utf8();
    }
    TextKind::Plain
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rewrite {
    /// `\b` becomes `(?-u:\b)`.
    Ascii,
    /// `\b` becomes an empty group: a dropped assertion only adds matches.
    Drop,
}

/// `pattern` with every `\b`, `\B` and `\b{...}` rewritten, or `None` when it
/// has none. Inside a character class `\b` is a syntax error, so every `\b`
/// in a valid pattern is an assertion (or text in an `(?x)` comment, where
/// rewriting it is harmless).
pub(crate) fn rewrite(pattern: &str, how: Rewrite) -> Option<String> {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut changed = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(b @ ('b' | 'B')) => {
                changed = true;
                let mut token = format!("\\{b}");
                if chars.peek() == Some(&'{') {
                    for c in chars.by_ref() {
                        token.push(c);
                        if c == '}' {
                            break;
                        }
                    }
                }
                match how {
                    Rewrite::Ascii => {
                        out.push_str("(?-u:");
                        out.push_str(&token);
                        out.push(')');
                    }
                    Rewrite::Drop => out.push_str("(?:)"),
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    changed.then_some(out)
}

/// `\<` and `\>` (word start and end) are Unicode word boundaries too, but
/// they are also valid escapes inside a class, so they are not rewritten;
/// such a pattern runs on its own rather than slowing a whole set.
pub(crate) fn has_unrewritable(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.next(), Some('<' | '>')) {
            return true;
        }
    }
    false
}

/// True when every `\b` in `pattern` is at the start or end of a top-level
/// alternative, next to an ASCII word character the match must consume
/// there (`(?i)\b(down|outage)\b`, `\bv\d+\.x\b` is not: `x` is fine but
/// `\bv` is, so it depends on both ends). Anything this small reader does not
/// fully understand answers false, which only costs speed.
pub(crate) fn edges_only(pattern: &str) -> bool {
    let mut r = Reader {
        chars: pattern.chars().collect(),
        at: 0,
    };
    let Some(alts) = r.alternation(0) else {
        return false;
    };
    alts.iter().all(|seq| top_sequence_ok(seq)) && alts.iter().flatten().any(|i| i.atom == Atom::Boundary)
}

#[derive(Debug, PartialEq)]
enum Atom {
    Literal(char),
    Group(Vec<Vec<Item>>),
    Boundary,
    /// `(?i)` and friends: zero-width, changes no position.
    Flags,
    /// Anything else (classes, escapes, `.`, anchors).
    Other,
}

#[derive(Debug, PartialEq)]
struct Item {
    atom: Atom,
    /// Quantified so that it may match nothing (`?`, `*`, `{0,n}`).
    optional: bool,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn zero_width(i: &Item) -> bool {
    i.atom == Atom::Flags
}

fn top_sequence_ok(seq: &[Item]) -> bool {
    seq.iter().enumerate().all(|(n, item)| match &item.atom {
        Atom::Boundary if item.optional => false,
        Atom::Boundary if seq[..n].iter().all(zero_width) => first_is_word(&seq[n + 1..]),
        Atom::Boundary if seq[n + 1..].iter().all(zero_width) => last_is_word(&seq[..n]),
        Atom::Boundary => false,
        Atom::Group(alts) => !has_boundary(alts),
        _ => true,
    })
}

fn has_boundary(alts: &[Vec<Item>]) -> bool {
    alts.iter().flatten().any(|i| match &i.atom {
        Atom::Boundary => true,
        Atom::Group(inner) => has_boundary(inner),
        _ => false,
    })
}

fn first_is_word(seq: &[Item]) -> bool {
    match seq.iter().find(|i| !zero_width(i)) {
        Some(i) if !i.optional => match &i.atom {
            Atom::Literal(c) => is_word(*c),
            Atom::Group(alts) => !alts.is_empty() && alts.iter().all(|s| first_is_word(s)),
            _ => false,
        },
        _ => false,
    }
}

fn last_is_word(seq: &[Item]) -> bool {
    match seq.iter().rev().find(|i| !zero_width(i)) {
        Some(i) if !i.optional => match &i.atom {
            Atom::Literal(c) => is_word(*c),
            Atom::Group(alts) => !alts.is_empty() && alts.iter().all(|s| last_is_word(s)),
            _ => false,
        },
        _ => false,
    }
}

/// A deliberately small reader of regex syntax: enough for word lists.
struct Reader {
    chars: Vec<char>,
    at: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    fn alternation(&mut self, depth: usize) -> Option<Vec<Vec<Item>>> {
        let mut alts = vec![Vec::new()];
        loop {
            match self.peek() {
                None if depth == 0 => return Some(alts),
                None => return None,
                Some(')') if depth > 0 => {
                    self.at += 1;
                    return Some(alts);
                }
                Some(')') => return None,
                Some('|') => {
                    self.at += 1;
                    alts.push(Vec::new());
                }
                Some(_) => {
                    let atom = self.atom(depth)?;
                    let optional = self.quantifier()?;
                    alts.last_mut()?.push(Item { atom, optional });
                }
            }
        }
    }

    fn atom(&mut self, depth: usize) -> Option<Atom> {
        match self.bump()? {
            '\\' => match self.bump()? {
                'b' if self.peek() != Some('{') => Some(Atom::Boundary),
                'b' | 'B' | '<' | '>' => None,
                'p' | 'P' | 'x' | 'u' | 'U' => {
                    if self.peek() == Some('{') {
                        while self.bump()? != '}' {}
                    } else {
                        self.bump()?;
                        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                            self.at += 1;
                        }
                    }
                    Some(Atom::Other)
                }
                c if c.is_ascii_digit() => None,
                _ => Some(Atom::Other),
            },
            '[' => {
                self.class()?;
                Some(Atom::Other)
            }
            '(' => {
                if self.peek() != Some('?') {
                    return Some(Atom::Group(self.alternation(depth + 1)?));
                }
                self.at += 1;
                if matches!(self.peek(), Some('P' | '<')) {
                    while self.bump()? != '>' {}
                    return Some(Atom::Group(self.alternation(depth + 1)?));
                }
                let mut flags = String::new();
                loop {
                    match self.bump()? {
                        ')' if !flags.contains('x') => return Some(Atom::Flags),
                        ':' if !flags.contains('x') => {
                            return Some(Atom::Group(self.alternation(depth + 1)?))
                        }
                        c if c.is_ascii_alphabetic() || c == '-' => flags.push(c),
                        _ => return None,
                    }
                }
            }
            '.' | '^' | '$' => Some(Atom::Other),
            '*' | '+' | '?' | '{' | ')' | '|' => None,
            c => Some(Atom::Literal(c)),
        }
    }

    /// Skips a bracketed class, nested classes included.
    fn class(&mut self) -> Option<()> {
        let mut depth = 1;
        if self.peek() == Some('^') {
            self.at += 1;
        }
        if self.peek() == Some(']') {
            self.at += 1;
        }
        while depth > 0 {
            match self.bump()? {
                '\\' => {
                    self.bump()?;
                }
                '[' => {
                    depth += 1;
                    if self.peek() == Some('^') {
                        self.at += 1;
                    }
                    if self.peek() == Some(']') {
                        self.at += 1;
                    }
                }
                ']' => depth -= 1,
                _ => {}
            }
        }
        Some(())
    }

    /// Reads a quantifier if one follows; `Some(true)` when it allows zero.
    fn quantifier(&mut self) -> Option<bool> {
        let optional = match self.peek() {
            Some('?' | '*') => {
                self.at += 1;
                true
            }
            Some('+') => {
                self.at += 1;
                false
            }
            Some('{') => {
                self.at += 1;
                let mut min = String::new();
                while let Some(c) = self.peek().filter(|c| c.is_ascii_digit()) {
                    min.push(c);
                    self.at += 1;
                }
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == ',') {
                    self.at += 1;
                }
                if self.bump()? != '}' || min.is_empty() {
                    return None;
                }
                min.bytes().all(|b| b == b'0')
            }
            _ => return Some(false),
        };
        if self.peek() == Some('?') {
            self.at += 1;
        }
        if matches!(self.peek(), Some('?' | '*' | '+' | '{')) {
            return None;
        }
        Some(optional)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_have_boundaries_only_at_edges() {
        for p in [
            r"(?i)\b(down|outage|cannot log ?in)\b",
            r"\binvoice\b",
            r"(?i)\b(ab|cd) (is|was) (ef|gh)\b",
            r"(?i)\bcharge[ds]?s\b|\brefund",
            r"(?i:\b(?:a+|b{2,3})\b)x",
            r"(?i)\b(?P<w>foo|bar)\b",
        ] {
            assert!(edges_only(p), "{p}");
        }
        for p in [
            r"(?i)\b(invoice|charge[ds]?)\b",
            r"\b\.com\b",
            r"(?x)\b foo \b",
            r"a\bb",
            r"(\bfoo)",
            r"\b(foo|)\b",
            r"\bé\b",
            r"\b\w+\b",
            r"\b{start}foo",
            r"\Bfoo",
            r"foo",
            r"\bfoo?",
            r"(?i)\b(foo|ba[rz])\b",
        ] {
            assert!(!edges_only(p), "{p}");
        }
    }

    #[test]
    fn rewrites_keep_escapes_and_classes() {
        assert_eq!(
            rewrite(r"(?i)\b(a|b)\b", Rewrite::Ascii).as_deref(),
            Some(r"(?i)(?-u:\b)(a|b)(?-u:\b)")
        );
        assert_eq!(
            rewrite(r"\\b\b{start}x\B", Rewrite::Drop).as_deref(),
            Some(r"\\b(?:)x(?:)")
        );
        assert_eq!(rewrite(r"[\d]\\", Rewrite::Drop), None);
        assert!(has_unrewritable(r"\<foo\>"));
        assert!(!has_unrewritable(r"\\<foo"));
    }

    #[test]
    fn text_kinds() {
        assert_eq!(text_kind("plain ascii"), TextKind::Plain);
        assert_eq!(text_kind("curly ’quotes’ — and 🙂\u{a0}"), TextKind::Plain);
        assert_eq!(text_kind(&format!("{}Grüße", "x".repeat(100))), TextKind::Letters);
        assert_eq!(text_kind("日本"), TextKind::Letters);
        assert_eq!(text_kind("é and \u{212A}"), TextKind::Folding);
        assert_eq!(text_kind("\u{17F}"), TextKind::Folding);
    }
}
