//! The mood of a customer's mail: negative, neutral or positive, with the
//! words that decided it.
//!
//! Why a word list and not a trained model: an admin routes mail on this
//! (`sentiment = "negative"` in the rule file) and must be able to see why
//! a message was read as angry, and fix a rule when it was not. So every
//! point of the score comes from a listed word or phrase of the text
//! ([`Evidence`]), changed only by a few visible modifiers:
//!
//! - **negation** ("not happy", "nicht zufrieden", "n'est pas satisfait"):
//!   a negator turns the words of feeling in the next three words (same
//!   clause) around; a clause-final negator ("das gefällt mir nicht") turns
//!   the three words before it. A negated good word counts fully bad, a
//!   negated bad word only half good ("not bad" is faint praise).
//! - **intensifiers** ("very", "extremely", "sehr", "très") multiply the
//!   next word of feeling within two words by 1.5; dampeners ("a bit",
//!   "etwas", "un peu") by 0.5.
//! - **capitals**: a word of feeling written in capitals counts 1.5 times,
//!   and a run of three or more capitalised words ("WHY IS THIS STILL
//!   BROKEN") is shouting, which counts as a bad word by itself.
//! - **repeated "!" or "?"** at the end of a sentence multiply its words
//!   (×1.3 for two marks, ×1.5 for three or more); "!!!" in a sentence with
//!   no word of feeling counts a little bad by itself (impatience).
//! - **stock phrases** ("thanks in advance", "vielen Dank im Voraus",
//!   "merci d'avance", "good morning") count nothing: they are politeness,
//!   not mood, and end nearly every support mail.
//!
//! The score is the sum of the listed contributions (each rounded to a
//! tenth, so the listed numbers add up to the score exactly). A score of
//! [`NEGATIVE_AT`] or below is negative, [`POSITIVE_AT`] or above is
//! positive, anything between is neutral; a text without words of feeling
//! scores 0 and is neutral, however short. The thresholds sit at one
//! moderate word ("disappointed", "not happy", "great support"), so one
//! mild word ("thanks", "unfortunately") alone does not decide.
//!
//! The lists cover English, German and French, written for this module
//! (they are no copy of a published lexicon). They are about the writer's
//! feeling, not the topic: "error", "bug" and "broken" describe a problem,
//! not a mood, and are not listed. Words are compared lower-cased and
//! without diacritics; German words are also found as typed without
//! umlauts ("Unverschaemtheit", "kuendigen").
//!
//! Only what the customer wrote counts: callers pass the reply-stripped
//! text (quotes and signature removed, see [`super::quote`]); lines that
//! still start with `>` are skipped here too. The subject counts for a
//! message that opens a ticket (it is the customer's words) and not for a
//! reply (it repeats the ticket's).

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

mod lexicon;

use lexicon::{fold_append, Kind, Lexicon, LEXICON};

/// At or below this score (tenths) a text is negative.
pub const NEGATIVE_AT: i32 = -20;
/// At or above this score (tenths) a text is positive.
pub const POSITIVE_AT: i32 = 20;

/// Only this much of a text is read (about 1,300 words). People write
/// their mood in far less; what runs longer in a customer's own text is
/// pasted logs, listings and forwarded pages, whose "error" and "failed"
/// are not a feeling, and reading them cost a fifth of the intake's time on
/// long mail (`benches/imap.sh`, whose bodies run to 20 KB).
const MAX_BYTES: usize = 8 * 1024;
/// Evidence items kept for the explanation (the score counts them all).
const MAX_EVIDENCE: usize = 100;
/// Matched text in evidence is cut to this many characters.
const MAX_EVIDENCE_CHARS: usize = 60;
/// Words after a negator that it turns around.
const NEGATION_SCOPE: usize = 3;
/// Words after an intensifier that it strengthens.
const BOOST_SCOPE: usize = 2;
/// Words of capitals in a row that are shouting, and the letters they
/// need together (so "PDF, CSV, XLS" is not).
const SHOUT_WORDS: usize = 3;
const SHOUT_LETTERS: usize = 12;
/// How much shouting and bare "!!!" may add, at most, per text: they are
/// tone, not content, and must not outweigh what was said.
const MAX_TONE_ITEMS: usize = 2;
/// Longest word looked up; longer tokens are not words of feeling.
const MAX_WORD_CHARS: usize = 40;

/// The label a rule tests and a ticket keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub const NAMES: [&'static str; 3] = ["negative", "neutral", "positive"];

    /// `negative`, `neutral` or `positive`, case and spaces ignored.
    pub fn parse(s: &str) -> Option<Sentiment> {
        match s.trim().to_ascii_lowercase().as_str() {
            "negative" => Some(Sentiment::Negative),
            "neutral" => Some(Sentiment::Neutral),
            "positive" => Some(Sentiment::Positive),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
            Sentiment::Positive => "positive",
        }
    }

    /// The label of a score in tenths (see [`NEGATIVE_AT`], [`POSITIVE_AT`]).
    pub fn of_score(tenths: i32) -> Sentiment {
        if tenths <= NEGATIVE_AT {
            Sentiment::Negative
        } else if tenths >= POSITIVE_AT {
            Sentiment::Positive
        } else {
            Sentiment::Neutral
        }
    }
}

impl fmt::Display for Sentiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A score in tenths of a point: exact sums, comparable, shown and written
/// to JSON as a decimal (`-4.5`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Points(pub i32);

impl Points {
    fn of(x: f32) -> Points {
        Points((x * 10.0).round() as i32)
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.0.cmp(&0) {
            std::cmp::Ordering::Less => "-",
            std::cmp::Ordering::Equal => "",
            std::cmp::Ordering::Greater => "+",
        };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{}", a / 10, a % 10)
    }
}

impl Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Points, D::Error> {
        let x = f64::deserialize(d)?;
        Ok(Points((x * 10.0).round().clamp(-1e9, 1e9) as i32))
    }
}

/// One word or phrase that counted, as written in the mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The words as the customer wrote them (cut to 60 characters).
    pub text: String,
    /// What it added to the score, modifiers applied.
    pub weight: Points,
    /// Its weight in the word list.
    pub base: Points,
    /// The modifiers, in words: `negated by "not"`, `capitals ×1.5`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A text's sentiment with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub sentiment: Sentiment,
    /// The sum of every contribution.
    pub score: Points,
    /// The contributions, in text order (at most 100 are listed).
    pub evidence: Vec<Evidence>,
}

/// The sentiment of a message: its subject when it opens a ticket, and
/// `own_text`, the reply-stripped text its author wrote.
pub fn of_message(subject: &str, own_text: &str, is_reply: bool) -> Sentiment {
    let subject = if is_reply { "" } else { subject };
    let (score, _) = score(&[subject, own_text], false);
    Sentiment::of_score(score)
}

/// [`of_message`] with the words that decided it, for people.
pub fn read_message(subject: &str, own_text: &str, is_reply: bool) -> Reading {
    let subject = if is_reply { "" } else { subject };
    read(&[subject, own_text])
}

/// The reading of texts scored together (e.g. a subject and a body).
pub fn read(parts: &[&str]) -> Reading {
    let (score, evidence) = score(parts, true);
    Reading {
        sentiment: Sentiment::of_score(score),
        score: Points(score),
        evidence,
    }
}

// --- reading a text ---------------------------------------------------------

/// A word of the text.
#[derive(Debug)]
struct Word {
    /// Byte range in its part.
    start: usize,
    end: usize,
    /// Byte range of its folded form in the words' [`Folded`] buffer.
    folded: (usize, usize),
    /// Written in capitals (two letters or more, none lower case).
    caps: bool,
    letters: usize,
    /// Index of its sentence.
    sentence: usize,
    /// A clause boundary (`,;:` or a sentence end) follows it.
    clause_end: bool,
}

/// How a sentence ended.
#[derive(Debug, Default, Clone, Copy)]
struct Ending {
    /// `!` and `?` in the run that ended it.
    marks: usize,
}

/// Splits one part into words and sentences; quoted lines are left out
/// and end a sentence, as a blank line does.
fn tokenize(
    text: &str,
    sentence_base: usize,
    words: &mut Vec<Word>,
    buf: &mut String,
    endings: &mut Vec<Ending>,
) {
    let text = cut_at(text, MAX_BYTES);
    let mut sentence = sentence_base;
    let mut open = false; // the current sentence has words
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('>') {
            if open {
                end_sentence(words, endings, sentence, 0);
                sentence += 1;
                open = false;
            }
            continue;
        }
        let mut chars = line.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c.is_alphanumeric() {
                let start = i;
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_alphanumeric() || is_mark(d) {
                        end = j + d.len_utf8();
                        chars.next();
                    } else if matches!(d, '\'' | '’' | 'ʼ' | '-') {
                        // Inside a word only: "don't", "rip-off".
                        let mut ahead = chars.clone();
                        ahead.next();
                        match ahead.peek() {
                            Some(&(_, e)) if e.is_alphanumeric() => {
                                chars.next();
                            }
                            _ => break,
                        }
                    } else {
                        break;
                    }
                }
                let raw = &line[start..end];
                // Most words are ASCII: counted by byte, the same answer.
                let (letters, lower, chars) = if raw.is_ascii() {
                    let b = raw.as_bytes();
                    (
                        b.iter().filter(|c| c.is_ascii_alphabetic()).count(),
                        b.iter().any(u8::is_ascii_lowercase),
                        b.len(),
                    )
                } else {
                    (
                        raw.chars().filter(|c| c.is_alphabetic()).count(),
                        raw.chars().any(char::is_lowercase),
                        raw.chars().count(),
                    )
                };
                let caps = letters >= 2 && !lower;
                let from = buf.len();
                if chars <= MAX_WORD_CHARS {
                    fold_append(raw, buf);
                }
                let folded = (from, buf.len());
                words.push(Word {
                    start: line_start + start,
                    end: line_start + end,
                    folded,
                    caps,
                    letters,
                    sentence,
                    clause_end: false,
                });
                open = true;
            } else if matches!(c, '!' | '?' | '.' | '…') {
                let mut marks = usize::from(c != '.' && c != '…');
                let (mut bang, mut question) = (c == '!', c == '?');
                while let Some(&(_, d)) = chars.peek() {
                    if matches!(d, '!' | '?' | '.' | '…' | '1') && !(d == '1' && marks == 0) {
                        // "!!!1" is a run of shouting too.
                        marks += usize::from(d != '.' && d != '…');
                        bang |= d == '!';
                        question |= d == '?';
                        chars.next();
                    } else {
                        break;
                    }
                }
                // "?!" is as loud as "!!!".
                if bang && question {
                    marks = marks.max(3);
                }
                // A dot inside a number or an address is not an end.
                let next_is_word = chars.peek().is_some_and(|&(_, d)| d.is_alphanumeric());
                if c == '.' && marks == 0 && next_is_word {
                    continue;
                }
                if open {
                    end_sentence(words, endings, sentence, marks);
                    sentence += 1;
                    open = false;
                } else if marks > 0 && sentence > sentence_base {
                    // "Great news !!!" after a space still ends that sentence.
                    let prev = sentence - 1;
                    if let Some(e) = endings.get_mut(prev) {
                        e.marks = e.marks.max(marks);
                    }
                }
            } else if matches!(c, ',' | ';' | ':' | '(' | ')' | '"' | '“' | '”' | '„') {
                if let Some(w) = words.last_mut() {
                    if open {
                        w.clause_end = true;
                    }
                }
            }
        }
    }
    if open {
        end_sentence(words, endings, sentence, 0);
        sentence += 1;
    }
    if endings.len() < sentence {
        endings.resize(sentence, Ending::default());
    }
}

/// Marks the end of sentence number `sentence`, ended by `marks` `!`/`?`.
fn end_sentence(words: &mut [Word], endings: &mut Vec<Ending>, sentence: usize, marks: usize) {
    if let Some(w) = words.last_mut() {
        w.clause_end = true;
    }
    if endings.len() <= sentence {
        endings.resize(sentence + 1, Ending::default());
    }
    endings[sentence].marks = endings[sentence].marks.max(marks);
}

fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut_at(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What a word (or the phrase starting at it) is, and how many words it
/// takes.
fn lookup(lx: &Lexicon, words: &[Word], buf: &str, i: usize) -> Option<(Kind, usize)> {
    let folded = |w: &Word| buf.get(w.folded.0..w.folded.1).unwrap_or("");
    let w = folded(&words[i]);
    if w.is_empty() {
        return None;
    }
    if let Some(b) = lx.bucket(w) {
        let exact = b.words.iter().find(|(e, _, _)| e == w);
        if let Some((_, _, phrases)) = exact {
            for p in phrases {
                let n = p.rest.len();
                // A phrase stays within its clause: "thanks, so much" is two.
                let fits = words.len() > i + n
                    && p.rest.iter().enumerate().all(|(k, s)| {
                        !words[i + k].clause_end && s.matches(folded(&words[i + 1 + k]))
                    });
                if fits {
                    return Some((p.kind, n + 1));
                }
            }
        }
        if let Some(k) = exact.and_then(|e| e.1) {
            return Some((k, 1));
        }
        if let Some((_, k)) = b.prefixes.iter().find(|(p, _)| w.starts_with(p.as_str())) {
            return Some((*k, 1));
        }
    }
    // French elision: "l'arnaque", "d'accord"; "n'" negates ("n'aime").
    if !w.contains('\'') {
        return None;
    }
    if let Some((head, rest)) = w.split_once('\'') {
        if matches!(head, "l" | "d" | "j" | "m" | "t" | "s" | "c" | "qu") && !rest.is_empty() {
            if let Some(k) = lx.single(rest) {
                return Some((k, 1));
            }
        }
        if head == "n" {
            return Some((Kind::Negator, 1));
        }
        if rest == "t" && head.ends_with('n') {
            return Some((Kind::Negator, 1));
        }
    }
    None
}

/// A word of feeling found, before the sentence's ending is known.
struct Item {
    part: usize,
    start: usize,
    end: usize,
    sentence: usize,
    base: f32,
    factor: f32,
    notes: Vec<String>,
    /// Shouting and bare "!!!": tone without words.
    tone: bool,
    negated: bool,
}

/// Scores `parts` (in tenths) and, when `collect`, lists the evidence.
fn score(parts: &[&str], collect: bool) -> (i32, Vec<Evidence>) {
    let lx = &*LEXICON;
    let mut items: Vec<Item> = Vec::new();
    let mut endings: Vec<Ending> = Vec::new();
    let mut sentence_base = 0;
    for (part, text) in parts.iter().enumerate() {
        // About one word in six bytes of text.
        let mut words = Vec::with_capacity(text.len().min(MAX_BYTES) / 6);
        let mut buf = String::with_capacity(text.len().min(MAX_BYTES));
        tokenize(text, sentence_base, &mut words, &mut buf, &mut endings);
        sentence_base = endings.len();
        read_words(lx, part, text, (&words, &buf), &mut items);
    }
    let mut total = 0i32;
    let mut evidence = Vec::new();
    let mut tone_items = 0;
    // A sentence with no word of feeling that ends in "!!!" is impatience.
    let felt: HashSet<usize> = items
        .iter()
        .filter(|it| !it.tone)
        .map(|it| it.sentence)
        .collect();
    for it in items.iter_mut() {
        let marks = endings.get(it.sentence).map_or(0, |e| e.marks);
        if marks >= 2 && !it.tone {
            let f = if marks >= 3 { 1.5 } else { 1.3 };
            it.factor *= f;
            it.notes.push(format!("{} ×{f}", "!".repeat(marks.min(3))));
        }
    }
    let mut sorted: Vec<&Item> = items.iter().collect();
    sorted.sort_by_key(|it| (it.part, it.start));
    let mut extra: Vec<Item> = Vec::new();
    for (s, e) in endings.iter().enumerate() {
        if e.marks >= 3 && !felt.contains(&s) {
            extra.push(Item {
                part: usize::MAX,
                start: s,
                end: s,
                sentence: s,
                base: -1.0,
                factor: 1.0,
                notes: vec!["repeated !!! or ???, no word of feeling in the sentence".into()],
                tone: true,
                negated: false,
            });
        }
    }
    for it in sorted.into_iter().chain(extra.iter()) {
        if it.tone {
            if tone_items >= MAX_TONE_ITEMS {
                continue;
            }
            tone_items += 1;
        }
        let weight = Points::of(it.base * it.factor);
        if weight.0 == 0 && it.base == 0.0 {
            continue;
        }
        total += weight.0;
        if collect && evidence.len() < MAX_EVIDENCE {
            let text = if it.part == usize::MAX {
                "!!!".to_string()
            } else {
                parts
                    .get(it.part)
                    .and_then(|t| t.get(it.start..it.end))
                    .map(|t| cut_chars(&t.split_whitespace().collect::<Vec<_>>().join(" ")))
                    .unwrap_or_default()
            };
            evidence.push(Evidence {
                text,
                weight,
                base: Points::of(it.base),
                notes: it.notes.clone(),
            });
        }
    }
    (total, evidence)
}

fn cut_chars(s: &str) -> String {
    match s.char_indices().nth(MAX_EVIDENCE_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The words of feeling of one part, with negation, boosters, capitals
/// and shouting applied (sentence endings come later).
fn read_words(
    lx: &Lexicon,
    part: usize,
    text: &str,
    (words, buf): (&[Word], &str),
    items: &mut Vec<Item>,
) {
    // The open negation and booster: words left in scope, and the index
    // of the word that opened it.
    let mut negation: Option<(usize, usize)> = None;
    let mut boost: Option<(usize, usize, f32)> = None;
    let raw = |w: &Word| text.get(w.start..w.end).unwrap_or("");
    let first_item = items.len();
    let mut i = 0;
    while i < words.len() {
        let (kind, n) = lookup(lx, words, buf, i).unwrap_or((Kind::Feeling(0.0), 1));
        let last = &words[i + n - 1];
        match kind {
            Kind::Negator => {
                if last.clause_end {
                    // Ending its clause, it looks back ("gefällt mir nicht").
                    let mut from = i;
                    while from > 0 && i - from < NEGATION_SCOPE && !words[from - 1].clause_end {
                        from -= 1;
                    }
                    for it in items[first_item..].iter_mut() {
                        let within = it.start >= words[from].start && it.start < words[i].start;
                        if within && !it.tone && !it.negated {
                            negate(it, raw(&words[i]));
                        }
                    }
                } else {
                    negation = Some((NEGATION_SCOPE, i));
                }
                count_off(boost.as_mut().map(|b| &mut b.0), n);
            }
            Kind::Booster(f) => {
                boost = Some((BOOST_SCOPE, i, f));
                count_off(negation.as_mut().map(|b| &mut b.0), n);
            }
            Kind::Feeling(w) => {
                if w != 0.0 {
                    // A phrase that says its own "no" ("not a single
                    // reply", "no answer") is not turned again.
                    let own_no = n > 1
                        && lx
                            .exact(buf.get(words[i].folded.0..words[i].folded.1).unwrap_or(""))
                            .and_then(|(k, _)| k)
                            == Some(Kind::Negator);
                    let negation = if own_no { None } else { negation };
                    items.push(feeling(part, words, i, n, w, negation, boost, raw));
                    boost = None;
                }
                count_off(negation.as_mut().map(|b| &mut b.0), n);
                count_off(boost.as_mut().map(|b| &mut b.0), n);
            }
        }
        if last.clause_end {
            negation = None;
            boost = None;
        }
        i += n;
    }
    shouting(part, text, words, items, first_item);
}

/// The item for a word of feeling at `words[i..i + n]` of weight `w`,
/// under the open negation and booster.
#[allow(clippy::too_many_arguments)]
fn feeling<'t>(
    part: usize,
    words: &[Word],
    i: usize,
    n: usize,
    w: f32,
    negation: Option<(usize, usize)>,
    boost: Option<(usize, usize, f32)>,
    raw: impl Fn(&Word) -> &'t str,
) -> Item {
    let mut it = Item {
        part,
        start: words[i].start,
        end: words[i + n - 1].end,
        sentence: words[i].sentence,
        base: w,
        factor: 1.0,
        notes: Vec::new(),
        tone: false,
        negated: false,
    };
    let negated_at = negation.filter(|(left, _)| *left > 0).map(|(_, at)| at);
    if let Some((left, at, f)) = boost {
        // "not very happy" is milder, not stronger: a booster inside the
        // negation does not count.
        let inside = negated_at.is_some_and(|neg| at > neg);
        if left > 0 && !inside {
            it.factor *= f;
            let how = if f > 1.0 { "strengthened" } else { "softened" };
            it.notes
                .push(format!("{how} by {:?} ×{f}", raw(&words[at])));
        }
    }
    let letters: usize = words[i..i + n].iter().map(|w| w.letters).sum();
    if letters >= 3 && words[i..i + n].iter().all(|w| w.caps || w.letters == 0) {
        it.factor *= 1.5;
        it.notes.push("in capitals ×1.5".into());
    }
    if let Some(at) = negated_at {
        negate(&mut it, raw(&words[at]));
    }
    it
}

/// Counts `n` words off an open scope's words left.
fn count_off(left: Option<&mut usize>, n: usize) {
    if let Some(l) = left {
        *l = l.saturating_sub(n);
    }
}

fn negate(it: &mut Item, negator: &str) {
    it.negated = true;
    if it.base > 0.0 {
        it.factor *= -1.0;
        it.notes.push(format!("negated by {negator:?} ×-1"));
    } else {
        it.factor *= -0.5;
        it.notes.push(format!("negated by {negator:?} ×-0.5"));
    }
}

/// Runs of capitalised words: shouting, unless the run says something
/// good ("THANK YOU SO MUCH").
fn shouting(part: usize, text: &str, words: &[Word], items: &mut Vec<Item>, first_item: usize) {
    let mut i = 0;
    while i < words.len() {
        if !words[i].caps {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < words.len()
            && words[j + 1].caps
            && !text
                .get(words[j].end..words[j + 1].start)
                .is_some_and(|gap| gap.contains("\n\n") || gap.contains('>'))
        {
            j += 1;
        }
        let count = j - i + 1;
        let letters: usize = words[i..=j].iter().map(|w| w.letters).sum();
        if count >= SHOUT_WORDS && letters >= SHOUT_LETTERS {
            let (start, end) = (words[i].start, words[j].end);
            let good = items[first_item..]
                .iter()
                .any(|it| it.start >= start && it.end <= end && it.base * it.factor > 0.0);
            if !good {
                items.push(Item {
                    part,
                    start,
                    end,
                    sentence: words[j].sentence,
                    base: -1.5,
                    factor: 1.0,
                    notes: vec![format!("shouting: {count} words in capitals")],
                    tone: true,
                    negated: false,
                });
            }
        }
        i = j + 1;
    }
}

#[cfg(test)]
mod tests;
