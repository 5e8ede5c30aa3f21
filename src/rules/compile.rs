//! The compiled form of a rule file and the fast path that runs it.
//!
//! Regexes are interned per field (identical patterns on the same field are
//! one slot) and each field's slots become a `RegexSet` (two when word
//! boundaries are involved, see [`super::boundary`]). Classifying scans a
//! field only the first time a rule that is actually evaluated needs it, so
//! a `stop` rule near the top spares the body scan entirely; the rule trees
//! then read one bit per condition.

use std::collections::HashMap;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::boundary::{self, Masking, Rewrite, Text};
use super::{Ack, Assign, Classification, MessageView};
use crate::mail::sentiment::{self, Sentiment};
use crate::ticket::Priority;

/// Compiled program size allowed for one field's `RegexSet`. Each pattern
/// alone stays within the regex crate's default (10 MB), so an admin's typo
/// is caught; together they may need more, and past this the set is split
/// into chunks rather than refused.
const SET_SIZE_LIMIT: usize = 64 << 20;
/// Lazy-DFA cache per field set (per thread using it). The default (2 MB)
/// is small for hundreds of case-insensitive word lists: a cache that fills
/// too often makes the regex crate give up its fast engine.
const SET_DFA_LIMIT: usize = 16 << 20;

/// Never matches (a character before the start of the text), and has no
/// literal prefix, which keeps the regex crate from putting a literal
/// prefilter in front of a set. An overlapping search visits every byte
/// anyway, and with dozens of common words the prefilter stops at nearly
/// every one: measured with 100-1,000 rules, it made scanning a body up to
/// twice as slow. It already costs with a handful of case-insensitive
/// words: the example rule file's scan of the benchmark corpus took 45-58
/// µs per message with the prefilter on sets of 4-15 patterns and 24 µs
/// without. With one to three patterns it skips most text, so it stays.
const NO_PREFILTER: &str = r"(?s:.)\A";
/// Sets with at least this many patterns get [`NO_PREFILTER`].
const PREFILTER_MAX: usize = 4;

/// What a regex condition looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    From,
    To,
    Cc,
    Subject,
    Body,
    Inbox,
    Attachment,
    /// Lowercase header name.
    Header(String),
}

#[derive(Debug)]
pub(crate) struct Slot {
    pub field: usize,
    /// The same pattern alone, for `explain` (which wants the match text).
    pub regex: Regex,
}

#[derive(Debug)]
enum Chunk {
    /// Pattern index in the set -> member.
    Set(RegexSet, Vec<Member>),
    /// A lone pattern, as written: `is_match` can stop at the first hit, a
    /// set cannot, and its answer needs no confirming.
    Single(Regex, Member),
}

impl Chunk {
    fn members(&self) -> &[Member] {
        match self {
            Chunk::Set(_, members) => members,
            Chunk::Single(_, m) => std::slice::from_ref(m),
        }
    }
}

/// Runs `chunks` over `hay`; `hit` gets each member that matched and
/// whether that is final (`false`: a candidate to confirm).
fn run(chunks: &[Chunk], hay: &str, mut hit: impl FnMut(&Member, bool)) {
    for chunk in chunks {
        match chunk {
            Chunk::Set(set, members) => {
                for i in set.matches(hay).iter() {
                    if let Some(m) = members.get(i) {
                        hit(m, !m.confirm);
                    }
                }
            }
            Chunk::Single(re, m) => {
                if re.is_match(hay) {
                    hit(m, true);
                }
            }
        }
    }
}

/// One field's patterns as sets (see [`super::boundary`] for why two).
#[derive(Debug)]
pub(crate) struct FieldSet {
    pub field: Field,
    /// Every pattern, word boundaries made ASCII: exact on
    /// [`Text::Plain`] text, and on masked text for members whose
    /// [`Masking`] allows it.
    plain: Vec<Chunk>,
    /// Patterns that do not survive masking, for text with non-ASCII
    /// letters: as written, or boundaries dropped and hits confirmed.
    letters: Vec<Chunk>,
    /// Patterns with `\<` or `\>`, which are not rewritten: always exact,
    /// always on the text itself.
    alone: Vec<(Regex, usize)>,
    /// Some pattern has a word boundary, so the text's kind matters.
    bounded: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Patterns {
    pub slots: Vec<Slot>,
    pub fields: Vec<FieldSet>,
}

/// Collects patterns while the file is read; [`Interner::finish`] builds the
/// sets once everything is known.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    fields: Vec<Field>,
    field_index: HashMap<Field, usize>,
    slots: Vec<(usize, String, Regex)>,
    slot_index: HashMap<(usize, String), usize>,
}

impl Interner {
    /// The slot for `pattern` on `field`; the regex crate's error (syntax,
    /// or too large with the default limits) when it does not compile.
    pub fn intern(&mut self, field: Field, pattern: &str) -> Result<usize, regex::Error> {
        let f = match self.field_index.get(&field) {
            Some(&f) => f,
            None => {
                let f = self.fields.len();
                self.fields.push(field.clone());
                self.field_index.insert(field, f);
                f
            }
        };
        if let Some(&s) = self.slot_index.get(&(f, pattern.to_string())) {
            return Ok(s);
        }
        let regex = RegexBuilder::new(pattern).build()?;
        let s = self.slots.len();
        self.slots.push((f, pattern.to_string(), regex));
        self.slot_index.insert((f, pattern.to_string()), s);
        Ok(s)
    }

    pub fn finish(self) -> Patterns {
        let mut per_field: Vec<Vec<usize>> = vec![Vec::new(); self.fields.len()];
        for (s, (f, _, _)) in self.slots.iter().enumerate() {
            per_field[*f].push(s);
        }
        let fields = self
            .fields
            .into_iter()
            .zip(per_field)
            .map(|(field, ids)| build_field(field, &self.slots, &ids))
            .collect();
        let slots = self
            .slots
            .into_iter()
            .map(|(field, _, regex)| Slot { field, regex })
            .collect();
        Patterns { slots, fields }
    }
}

fn build_field(field: Field, slots: &[(usize, String, Regex)], ids: &[usize]) -> FieldSet {
    let mut plain = Vec::new();
    let mut letters = Vec::new();
    let mut alone = Vec::new();
    let mut bounded = false;
    for &s in ids {
        let pattern = slots[s].1.as_str();
        if boundary::has_unrewritable(pattern) {
            alone.push((slots[s].2.clone(), s));
            continue;
        }
        let masking = boundary::masking(pattern);
        let member = |pattern: String, confirm: bool| Member {
            slot: s,
            pattern,
            confirm,
            masking,
        };
        match boundary::rewrite(pattern, Rewrite::Ascii) {
            None => plain.push(member(pattern.to_string(), false)),
            Some(ascii) => {
                bounded = true;
                plain.push(member(ascii, false));
            }
        }
        if !masking.letters {
            match boundary::rewrite(pattern, Rewrite::Drop) {
                None => letters.push(member(pattern.to_string(), false)),
                Some(dropped) => letters.push(member(dropped, true)),
            }
        }
    }
    let mut fs = FieldSet {
        field,
        plain: Vec::new(),
        letters: Vec::new(),
        alone,
        bounded,
    };
    build_sets(slots, &plain, &mut fs.plain);
    if bounded {
        build_sets(slots, &letters, &mut fs.letters);
    }
    fs
}

#[derive(Debug, Clone)]
struct Member {
    slot: usize,
    /// As written, or with its word boundaries rewritten.
    pattern: String,
    /// A set hit is only a candidate: the exact regex decides.
    confirm: bool,
    /// Whether a hit or miss on masked text is final.
    masking: Masking,
}

/// One set for all members when it compiles within the limits, else halves.
/// Never fails: a lone member falls back to its exact regex, which already
/// compiled on its own (this also isolates a rewrite the crate rejects).
fn build_sets(slots: &[(usize, String, Regex)], members: &[Member], out: &mut Vec<Chunk>) {
    match members {
        [] => {}
        [one] => out.push(Chunk::Single(slots[one.slot].2.clone(), one.clone())),
        _ => {
            let no_prefilter = (members.len() >= PREFILTER_MAX).then_some(NO_PREFILTER);
            let built = RegexSetBuilder::new(
                members
                    .iter()
                    .map(|m| m.pattern.as_str())
                    .chain(no_prefilter),
            )
            .size_limit(SET_SIZE_LIMIT)
            .dfa_size_limit(SET_DFA_LIMIT)
            .build();
            match built {
                Ok(set) => out.push(Chunk::Set(set, members.to_vec())),
                Err(_) => {
                    let (a, b) = members.split_at(members.len() / 2);
                    build_sets(slots, a, out);
                    build_sets(slots, b, out);
                }
            }
        }
    }
}

/// `on`: which arrivals a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct On {
    pub new: bool,
    pub reply: bool,
}

impl On {
    pub fn applies(self, is_reply: bool) -> bool {
        if is_reply {
            self.reply
        } else {
            self.new
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Cmp {
    pub fn holds(self, left: u64, right: u64) -> bool {
        match self {
            Cmp::Lt => left < right,
            Cmp::Le => left <= right,
            Cmp::Gt => left > right,
            Cmp::Ge => left >= right,
            Cmp::Eq => left == right,
            Cmp::Ne => left != right,
        }
    }
}

/// A leaf condition.
#[derive(Debug)]
pub(crate) enum Test {
    /// Holds when any of the slots matched (`text` has two: subject, body).
    Pattern {
        slots: [Option<usize>; 2],
    },
    Size {
        cmp: Cmp,
        bytes: u64,
    },
    NewCustomer(bool),
    /// The mood of what the sender wrote (see [`crate::mail::sentiment`]).
    Sentiment(Sentiment),
}

#[derive(Debug)]
pub(crate) struct Leaf {
    /// Path inside `when`, e.g. `any[1].subject` or `header.x-spam-flag`.
    pub key: String,
    /// As written: the regex, the size expression, or `true`/`false`.
    pub pattern: String,
    pub test: Test,
}

#[derive(Debug)]
pub(crate) enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Leaf(usize),
}

impl Node {
    /// Evaluates with short-circuiting; `leaf` answers one leaf.
    pub fn eval(&self, leaf: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Node::All(xs) => xs.iter().all(|n| n.eval(leaf)),
            Node::Any(xs) => xs.iter().any(|n| n.eval(leaf)),
            Node::Not(x) => !x.eval(leaf),
            Node::Leaf(i) => leaf(*i),
        }
    }

    /// Leaf indices in file order.
    pub fn leaves(&self, out: &mut Vec<usize>) {
        match self {
            Node::All(xs) | Node::Any(xs) => xs.iter().for_each(|n| n.leaves(out)),
            Node::Not(x) => x.leaves(out),
            Node::Leaf(i) => out.push(*i),
        }
    }
}

/// A rule's `set`, checked and resolved.
#[derive(Debug, Default)]
pub(crate) struct Actions {
    pub category: Option<String>,
    pub priority: Option<Priority>,
    pub queue: Option<String>,
    pub assign: Option<Assign>,
    pub tags: Vec<String>,
    pub ack: Option<Ack>,
    pub spam: Option<bool>,
    pub sla: Option<String>,
}

impl Actions {
    pub fn apply(&self, c: &mut Classification) {
        if let Some(v) = &self.category {
            c.category = Some(v.clone());
        }
        if let Some(v) = self.priority {
            c.priority = Some(v);
        }
        if let Some(v) = &self.queue {
            c.queue = Some(v.clone());
        }
        if let Some(v) = &self.assign {
            c.assign = Some(v.clone());
        }
        for t in &self.tags {
            if !c.tags.contains(t) {
                c.tags.push(t.clone());
            }
        }
        if let Some(v) = &self.ack {
            c.ack = Some(v.clone());
        }
        if let Some(v) = self.spam {
            c.spam = v;
        }
        if let Some(v) = &self.sla {
            c.sla = Some(v.clone());
        }
    }

    /// `key = value` pairs for the explain report.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(v) = &self.category {
            out.push(format!("category = {v}"));
        }
        if let Some(v) = self.priority {
            out.push(format!("priority = {v}"));
        }
        if let Some(v) = &self.queue {
            out.push(format!("queue = {v}"));
        }
        if let Some(v) = &self.assign {
            out.push(format!("assign = {v}"));
        }
        if !self.tags.is_empty() {
            out.push(format!("tags += {}", self.tags.join(", ")));
        }
        match &self.ack {
            Some(Ack::Template(t)) => out.push(format!("ack = {t}")),
            Some(Ack::Suppressed) => out.push("ack = false".into()),
            None => {}
        }
        if let Some(v) = self.spam {
            out.push(format!("spam = {v}"));
        }
        if let Some(v) = &self.sla {
            out.push(format!("sla = {v}"));
        }
        out
    }
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub name: String,
    pub line: usize,
    pub on: On,
    pub when: Node,
    pub set: Actions,
    pub stop: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Compiled {
    pub rules: Vec<Rule>,
    pub leaves: Vec<Leaf>,
    pub patterns: Patterns,
}

/// Pattern hits found ahead of classification: every field but the inbox
/// name (known only at intake). Scanning is the costly part of the rules
/// and needs nothing from the store, so intake runs it on another core
/// beside the store work of the previous batch.
#[derive(Debug, Clone)]
pub(crate) struct Prescan {
    scanned: Vec<bool>,
    matched: Vec<u64>,
}

impl Compiled {
    pub(crate) fn reads_own_text(&self) -> bool {
        self.leaves
            .iter()
            .any(|l| matches!(l.test, Test::Sentiment(_)))
    }

    pub(crate) fn prescan(&self, view: &MessageView<'_>) -> Prescan {
        let mut hits = Hits::new(&self.patterns);
        for (f, fs) in self.patterns.fields.iter().enumerate() {
            if fs.field != Field::Inbox {
                hits.scanned[f] = true;
                hits.scan(f, view);
            }
        }
        Prescan {
            scanned: hits.scanned,
            matched: hits.matched,
        }
    }

    pub fn classify(&self, view: &MessageView<'_>) -> Classification {
        self.classify_with(view, None, None)
    }

    /// Like [`Compiled::classify`], starting from hits a [`Prescan`] of
    /// this same compiled set found, and from the message's mood
    /// (`mood`, read as what `view` is: a first message or a reply), when
    /// that was read already.
    pub(crate) fn classify_with(
        &self,
        view: &MessageView<'_>,
        pre: Option<Prescan>,
        mood: Option<Sentiment>,
    ) -> Classification {
        let mut out = Classification::default();
        let mut hits = match pre {
            Some(p)
                if p.scanned.len() == self.patterns.fields.len()
                    && p.matched.len() == self.patterns.slots.len().div_ceil(64) =>
            {
                Hits {
                    patterns: &self.patterns,
                    scanned: p.scanned,
                    matched: p.matched,
                    mood: None,
                }
            }
            _ => Hits::new(&self.patterns),
        };
        hits.mood = mood;
        for rule in &self.rules {
            if !rule.on.applies(view.is_reply) {
                continue;
            }
            if rule
                .when
                .eval(&mut |i| hits.leaf(&self.leaves[i].test, view))
            {
                rule.set.apply(&mut out);
                out.matched.push(rule.name.clone());
                if rule.stop {
                    break;
                }
            }
        }
        out.first_mood = super::Aside(hits.mood.filter(|_| !view.is_reply));
        out
    }
}

/// Per-message scan state: which fields were scanned, which slots matched.
struct Hits<'p> {
    patterns: &'p Patterns,
    scanned: Vec<bool>,
    matched: Vec<u64>,
    /// The message's sentiment, read the first time a rule asks.
    mood: Option<Sentiment>,
}

impl<'p> Hits<'p> {
    fn new(patterns: &'p Patterns) -> Hits<'p> {
        Hits {
            patterns,
            scanned: vec![false; patterns.fields.len()],
            matched: vec![0; patterns.slots.len().div_ceil(64)],
            mood: None,
        }
    }

    fn leaf(&mut self, test: &Test, view: &MessageView<'_>) -> bool {
        match test {
            Test::Pattern { slots } => slots.iter().flatten().any(|&s| self.slot(s, view)),
            Test::Size { cmp, bytes } => cmp.holds(view.size as u64, *bytes),
            Test::NewCustomer(want) => view.new_customer == *want,
            Test::Sentiment(want) => {
                let mood = *self.mood.get_or_insert_with(|| {
                    sentiment::of_message(view.subject, view.own_text, view.is_reply)
                });
                mood == *want
            }
        }
    }

    fn slot(&mut self, s: usize, view: &MessageView<'_>) -> bool {
        let f = self.patterns.slots[s].field;
        if !self.scanned[f] {
            self.scanned[f] = true;
            self.scan(f, view);
        }
        self.matched[s / 64] & (1 << (s % 64)) != 0
    }

    fn scan(&mut self, f: usize, view: &MessageView<'_>) {
        let fs = &self.patterns.fields[f];
        let slots = &self.patterns.slots;
        let matched = &mut self.matched;
        each_value(&fs.field, view, |hay| {
            let mut hit = |m: &Member, exact: bool| {
                let s = m.slot;
                if matched[s / 64] & (1 << (s % 64)) == 0 && (exact || slots[s].regex.is_match(hay))
                {
                    matched[s / 64] |= 1 << (s % 64);
                }
            };
            let text = if fs.bounded {
                boundary::prepare(hay)
            } else {
                Text::Plain
            };
            match text {
                Text::Plain => run(&fs.plain, hay, hit),
                Text::Letters(masked) => {
                    run(&fs.plain, &masked, |m, exact| {
                        if m.masking.letters {
                            hit(m, exact)
                        }
                    });
                    run(&fs.letters, hay, hit);
                }
                Text::Folding(masked) => {
                    run(&fs.plain, &masked, |m, exact| {
                        if m.masking.folding {
                            hit(m, exact)
                        }
                    });
                    run(&fs.letters, hay, &mut hit);
                    // Rare (see boundary.rs): the rest one by one.
                    fs.plain
                        .iter()
                        .flat_map(Chunk::members)
                        .filter(|m| m.masking.letters && !m.masking.folding)
                        .for_each(|m| hit(m, false));
                }
            }
            for (re, s) in &fs.alone {
                if matched[s / 64] & (1 << (s % 64)) == 0 && re.is_match(hay) {
                    matched[s / 64] |= 1 << (s % 64);
                }
            }
        });
    }
}

/// Calls `f` with every value of `field` in the message (many for `to`,
/// `cc`, attachments and repeated headers).
pub(crate) fn each_value<'a>(field: &Field, view: &MessageView<'a>, mut f: impl FnMut(&'a str)) {
    match field {
        Field::From => f(view.from),
        Field::Subject => f(view.subject),
        Field::Body => f(view.body),
        Field::Inbox => f(view.inbox),
        Field::To => view.to.iter().for_each(|v| f(v)),
        Field::Cc => view.cc.iter().for_each(|v| f(v)),
        Field::Attachment => view.attachments.iter().for_each(|v| f(v)),
        Field::Header(name) => view
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .for_each(|(_, v)| f(v)),
    }
}
