//! Word boundaries (`\b`) without the slow path.
//!
//! The regex crate's fast engine (lazy DFA) cannot evaluate a Unicode `\b`
//! once it meets a non-ASCII byte and gives up; for a set of hundreds of
//! patterns its fallback is some 50 times slower, and real mail is often not
//! ASCII. So word boundaries are rewritten to ASCII ones, `(?-u:\b)`, which
//! the fast engine always handles, and the text is made to fit:
//!
//! * `\b` only depends on whether the characters beside it are word
//!   characters. On text whose non-ASCII characters are all non-word (curly
//!   quotes, dashes, emoji, no-break spaces) ASCII `\b` answers exactly like
//!   Unicode `\b`: [`Text::Plain`], the common case.
//! * Text with non-ASCII letters (é, ü, 日本) is [`Text::Letters`]: its
//!   mask replaces each non-ASCII word character with `_`, an ASCII word
//!   character, so every boundary stays where it was and ASCII `\b` is exact
//!   again. A pattern that cannot tell `_` from a non-ASCII letter
//!   ([`masking`]: ASCII literals other than `_`, `.`, `\s`, `\w`,
//!   simple ASCII classes...) then matches the mask exactly when it matches
//!   the text. Other patterns run on the text itself, their boundaries
//!   dropped (which only adds matches) and each hit confirmed by the exact
//!   regex.
//! * Under `(?i)`, `k` and `s` also match U+212A KELVIN SIGN and U+017F LONG
//!   S, non-ASCII letters that `_` would hide. Text with either is
//!   [`Text::Folding`]: they are masked as `k` and `s`, exact for wholly
//!   case-insensitive patterns; any other pattern runs on its own. Such
//!   text is rare, and a little slower is all it costs.

use std::sync::LazyLock;

use regex::Regex;

/// What a haystack means for word boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Text {
    /// No non-ASCII word character: ASCII `\b` is exact on it as it is.
    Plain,
    /// Non-ASCII word characters, none of them U+212A or U+017F: the text
    /// with each of them replaced by `_`, character for character, so
    /// counted repetitions and positions keep their meaning.
    Letters(String),
    /// Contains U+212A KELVIN SIGN or U+017F LONG S, masked like
    /// `Letters` except that those become `k` and `s`, which is what a
    /// case-insensitive pattern cannot tell them from.
    Folding(String),
}

/// Classifies `hay`, masking it when it holds non-ASCII letters. One pass;
/// allocates only when it masks.
pub(crate) fn prepare(hay: &str) -> Text {
    if hay.is_ascii() {
        return Text::Plain;
    }
    let bytes = hay.as_bytes();
    let mut masked: Option<String> = None;
    let mut folding = false;
    // Start of the text not yet copied into `masked`.
    let mut copied = 0;
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
            break;
        };
        let next = i + c.len_utf8();
        if is_word(c) {
            let out = masked.get_or_insert_with(|| String::with_capacity(hay.len()));
            out.push_str(hay.get(copied..i).unwrap_or_default());
            out.push(match c {
                '\u{212A}' => {
                    folding = true;
                    'k'
                }
                '\u{17F}' => {
                    folding = true;
                    's'
                }
                _ => '_',
            });
            copied = next;
        }
        i = next;
    }
    match masked {
        Some(mut out) => {
            out.push_str(hay.get(copied..).unwrap_or_default());
            if folding {
                Text::Folding(out)
            } else {
                Text::Letters(out)
            }
        }
        None => Text::Plain,
    }
}

/// Whether `c` (non-ASCII) is a word character by the regex crate's own
/// `\w`, so this can never disagree with the patterns it stands in for.
/// The Basic Multilingual Plane is looked up in a table computed once with
/// that very regex; rarer characters ask it directly.
fn is_word(c: char) -> bool {
    static WORD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\A\w\z").ok());
    // About 2 ms once, on the first non-ASCII text.
    static BMP: LazyLock<Vec<u64>> = LazyLock::new(|| {
        let mut bits = vec![0u64; 0x10000 / 64];
        if let Some(word) = WORD.as_ref() {
            for c in (0x80u32..0x10000).filter_map(char::from_u32) {
                if word.is_match(c.encode_utf8(&mut [0u8; 4])) {
                    let n = c as usize;
                    bits[n / 64] |= 1 << (n % 64);
                }
            }
        }
        bits
    });
    let n = c as usize;
    if n < 0x10000 {
        return BMP.get(n / 64).is_some_and(|b| b & (1 << (n % 64)) != 0);
    }
    WORD.as_ref()
        .is_some_and(|w| w.is_match(c.encode_utf8(&mut [0u8; 4])))
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

/// How a pattern may run on masked text (see [`Text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Masking {
    /// Every part of the pattern answers the same for `_` as for any
    /// non-ASCII letter other than U+212A and U+017F, so it matches
    /// [`Text::Letters`] exactly when it matches the text.
    pub letters: bool,
    /// Also exact on [`Text::Folding`]: the whole pattern is
    /// case-insensitive, so `k` and `s` answer like the two letters they
    /// stand in for there.
    pub folding: bool,
}

/// Anything this small reader does not fully understand answers "no",
/// which only costs speed.
pub(crate) fn masking(pattern: &str) -> Masking {
    let mut r = Reader {
        chars: pattern.chars().collect(),
        at: 0,
        leading_i: false,
        unsets_i: false,
    };
    if r.alternation(0).is_none() {
        return Masking::default();
    }
    Masking {
        letters: true,
        folding: r.leading_i && !r.unsets_i,
    }
}

/// A deliberately small reader of regex syntax: every `Option` is `None` for
/// "not understood, or not safe under masking".
struct Reader {
    chars: Vec<char>,
    at: usize,
    /// The pattern starts with a flag group turning on `i`.
    leading_i: bool,
    /// Some flag group turns `i` off.
    unsets_i: bool,
}

/// An ASCII literal other than `_`: matches neither `_` nor a non-ASCII
/// letter (their case variants are only U+212A and U+017F, see above).
fn plain_ascii(c: char) -> bool {
    c.is_ascii() && c != '_'
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

    fn alternation(&mut self, depth: usize) -> Option<()> {
        loop {
            match self.peek() {
                None if depth == 0 => return Some(()),
                None => return None,
                Some(')') if depth > 0 => {
                    self.at += 1;
                    return Some(());
                }
                Some(')') => return None,
                Some('|') => self.at += 1,
                Some(_) => {
                    self.atom(depth)?;
                    self.quantifier()?;
                }
            }
        }
    }

    fn atom(&mut self, depth: usize) -> Option<()> {
        let first = self.at == 0;
        match self.bump()? {
            '\\' => match self.bump()? {
                // Boundaries and anchors: zero-width, and masking keeps
                // every character's word-ness.
                'b' | 'B' => {
                    if self.peek() == Some('{') {
                        while self.bump()? != '}' {}
                    }
                    Some(())
                }
                'A' | 'z' => Some(()),
                // Both `_` and any letter are word, non-space characters.
                's' | 'S' | 'w' | 'W' => Some(()),
                // Control characters and escaped ASCII punctuation.
                'n' | 't' | 'r' | 'f' | 'v' | 'a' | 'e' => Some(()),
                '<' | '>' => None,
                c if c.is_ascii_punctuation() && c != '_' => Some(()),
                // \d (Unicode digits are letters here), \p, \x, \<, \>...
                _ => None,
            },
            '[' => self.class(),
            '(' => {
                if self.peek() != Some('?') {
                    return self.alternation(depth + 1);
                }
                self.at += 1;
                if matches!(self.peek(), Some('P' | '<')) {
                    while self.bump()? != '>' {}
                    return self.alternation(depth + 1);
                }
                let mut negated = false;
                loop {
                    match self.bump()? {
                        ')' => return Some(()),
                        ':' => return self.alternation(depth + 1),
                        // `u` switches classes to ASCII, `x` makes comments
                        // out of text: neither is worth following.
                        'u' | 'x' => return None,
                        '-' => negated = true,
                        'i' if negated => self.unsets_i = true,
                        'i' => self.leading_i |= first,
                        c if c.is_ascii_alphabetic() => {}
                        _ => return None,
                    }
                }
            }
            '.' | '^' | '$' => Some(()),
            '*' | '+' | '?' | '{' | ')' | '|' => None,
            c if plain_ascii(c) => Some(()),
            _ => None,
        }
    }

    /// A class of ASCII characters and ranges, negated or not, none of them
    /// covering `_`: then it answers alike for `_` and for letters (`[^...]`
    /// matches both, `[...]` neither).
    fn class(&mut self) -> Option<()> {
        if self.peek() == Some('^') {
            self.at += 1;
        }
        let mut first = true;
        loop {
            let c = self.bump()?;
            if c == ']' && !first {
                return Some(());
            }
            first = false;
            if !plain_ascii(c) || matches!(c, '[' | '\\' | '&' | '~') {
                return None;
            }
            if c == '-' && self.peek() == Some('-') {
                return None;
            }
            if self.peek() == Some('-') && self.chars.get(self.at + 1) != Some(&']') {
                self.at += 1;
                let end = self.bump()?;
                if !plain_ascii(end) || matches!(end, '[' | '\\') || (c..=end).contains(&'_') {
                    return None;
                }
            }
        }
    }

    /// Skips a quantifier if one follows.
    fn quantifier(&mut self) -> Option<()> {
        match self.peek() {
            Some('?' | '*' | '+') => self.at += 1,
            Some('{') => {
                self.at += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == ',') {
                    self.at += 1;
                }
                if self.bump()? != '}' {
                    return None;
                }
            }
            _ => return Some(()),
        }
        if self.peek() == Some('?') {
            self.at += 1;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_survive_masking() {
        for p in [
            r"(?i)\b(down|outage|cannot log ?in)\b",
            r"\binvoice\b",
            r"(?i)\b(invoice|charge[ds]?)\b",
            r"(?i)\b(ab|cd) (is|was) (ef|gh)\b",
            r"@example\.com$",
            r"(?i)^\s*yes\b",
            r"(?i)\b(?P<w>foo|bar)\b.*\w+[^a-z]{2,3}",
            r"\b{start}foo\B",
            r"[]a]|[^]a-c]",
        ] {
            assert!(masking(p).letters, "{p}");
        }
        for p in [
            r"\bgrüße\b",
            r"foo_bar",
            r"\d+",
            r"[a-z_]",
            r"[!-~]",
            r"\p{L}",
            r"(?x) a # b",
            r"(?-u:\w)",
            r"\<foo",
            r"(unclosed",
            r"[[:alpha:]]",
            r"[a&&b]",
        ] {
            assert!(!masking(p).letters, "{p}");
        }
    }

    #[test]
    fn only_wholly_case_insensitive_patterns_survive_folding() {
        assert!(masking(r"(?i)\bkey\b").folding);
        assert!(masking(r"(?is)a.b|c").folding);
        assert!(!masking(r"\bkey\b").folding);
        assert!(!masking(r"x(?i)key").folding);
        assert!(!masking(r"(?i)k(?-i)ey").folding);
        assert!(!masking(r"(?i)\d").folding);
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
    fn texts_are_classified_and_masked() {
        assert_eq!(prepare("plain ascii"), Text::Plain);
        assert_eq!(prepare("curly ’quotes’ — and 🙂\u{a0}"), Text::Plain);
        let long = format!("{}Grüße", "x".repeat(100));
        assert_eq!(
            prepare(&long),
            Text::Letters(format!("{}Gr__e", "x".repeat(100)))
        );
        assert_eq!(
            prepare("café au lait — 日本"),
            Text::Letters("caf_ au lait — __".into())
        );
        assert_eq!(prepare("é and \u{212A}"), Text::Folding("_ and k".into()));
        assert_eq!(prepare("\u{17F}x"), Text::Folding("sx".into()));
    }

    #[test]
    fn word_table_agrees_with_the_regex_crate() {
        let word = Regex::new(r"\A\w\z").ok();
        for c in (0x80u32..0x11000).filter_map(char::from_u32) {
            let expected = word
                .as_ref()
                .is_some_and(|w| w.is_match(c.encode_utf8(&mut [0u8; 4])));
            assert_eq!(is_word(c), expected, "U+{:04X}", c as u32);
        }
    }
}
