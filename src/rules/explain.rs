//! `postdesk rules test`: why each rule did or did not match one message.
//!
//! Runs every leaf regex on its own (the fast path only knows *whether* a
//! set member matched, not *what* it matched), so an admin sees the text
//! that triggered a rule, not just a yes or no.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::compile::{each_value, Compiled, Leaf, Test};
use super::{Classification, MessageView};
use crate::mail::sentiment::{self, Reading};

/// Matched text is cut to this many characters in reports.
const SNIPPET_CHARS: usize = 80;
/// Patterns longer than this are cut in the text report (JSON keeps them).
const PATTERN_CHARS: usize = 60;

/// What happened to one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its conditions held and its `set` was applied.
    Applied,
    /// It ran and its conditions did not hold.
    NoMatch,
    /// Its `on` excludes this kind of message (new vs reply).
    NotForEvent,
    /// An earlier rule with `stop = true` ended evaluation.
    AfterStop,
}

/// One leaf condition as evaluated against the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionTrace {
    /// Path inside `when`, e.g. `subject`, `any[1].body`, `not.from`,
    /// `header.x-spam-flag`. Under `not`, `held` is the leaf's own result,
    /// before the negation.
    pub key: String,
    /// The regex, the size comparison, or `true`/`false` for `new_customer`.
    pub pattern: String,
    pub held: bool,
    /// The first regex match, cut to about 80 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_text: Option<String>,
    /// The message's own value for `size`, `new_customer` and
    /// `sentiment` (with its score).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTrace {
    pub name: String,
    pub line: usize,
    /// Its `on` includes this message's kind.
    pub applies: bool,
    /// Its conditions hold (whether or not it ran).
    pub matched: bool,
    pub outcome: Outcome,
    pub stop: bool,
    pub conditions: Vec<ConditionTrace>,
    /// What the rule sets, as `key = value`.
    pub sets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// `new` or `reply`.
    pub event: String,
    pub rules: Vec<RuleTrace>,
    /// The rule whose `stop` ended evaluation.
    pub stopped_by: Option<String>,
    /// Identical to what `classify` returns for the same message.
    pub result: Classification,
    /// What the ticket gets where no rule says: the desk's defaults and
    /// the SLA targets that will apply, filled in by the desk (the rules
    /// alone do not know them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<DeskDefaults>,
    /// How the `sentiment` condition reads this message, with the words
    /// that decided it: shown whether or not a rule tests it, so an admin
    /// can see what a rule would get before writing one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Reading>,
}

/// The desk's side of a dry run's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskDefaults {
    pub category: String,
    pub priority: String,
    pub queue: String,
    /// The acknowledgement template, or `None` when acknowledgements are off.
    pub ack: Option<String>,
    /// The SLA class that applies (a rule's, else the priority's) and its
    /// targets in words (`first response 1h`, with its calendar).
    pub sla_class: String,
    pub sla: Vec<String>,
}

/// Whether a condition path is under an odd number of `not`s: then the
/// condition counts when its leaf does not match.
fn negated(key: &str) -> bool {
    key.split('.')
        .filter(|seg| *seg == "not" || seg.starts_with("not["))
        .count()
        % 2
        == 1
}

pub(crate) fn explain(c: &Compiled, view: &MessageView<'_>) -> Explanation {
    let reading = sentiment::read_message(view.subject, view.own_text, view.is_reply);
    let mut result = Classification::default();
    let mut stopped_by: Option<String> = None;
    let mut rules = Vec::with_capacity(c.rules.len());
    for rule in &c.rules {
        let mut ids = Vec::new();
        rule.when.leaves(&mut ids);
        let conditions: Vec<ConditionTrace> = ids
            .iter()
            .map(|&i| trace(c, &c.leaves[i], view, &reading))
            .collect();
        let matched = rule.when.eval(&mut |i| {
            ids.iter()
                .position(|&x| x == i)
                .is_some_and(|p| conditions[p].held)
        });
        let applies = rule.on.applies(view.is_reply);
        let outcome = if !applies {
            Outcome::NotForEvent
        } else if stopped_by.is_some() {
            Outcome::AfterStop
        } else if matched {
            Outcome::Applied
        } else {
            Outcome::NoMatch
        };
        if outcome == Outcome::Applied {
            rule.set.apply(&mut result);
            result.matched.push(rule.name.clone());
            if rule.stop {
                stopped_by = Some(rule.name.clone());
            }
        }
        rules.push(RuleTrace {
            name: rule.name.clone(),
            line: rule.line,
            applies,
            matched,
            outcome,
            stop: rule.stop,
            conditions,
            sets: rule.set.describe(),
        });
    }
    Explanation {
        event: if view.is_reply { "reply" } else { "new" }.to_string(),
        rules,
        stopped_by,
        result,
        desk: None,
        sentiment: Some(reading),
    }
}

fn trace(c: &Compiled, leaf: &Leaf, view: &MessageView<'_>, reading: &Reading) -> ConditionTrace {
    let mut t = ConditionTrace {
        key: leaf.key.clone(),
        pattern: leaf.pattern.clone(),
        held: false,
        matched_text: None,
        actual: None,
    };
    match &leaf.test {
        Test::Pattern { slots } => {
            for &s in slots.iter().flatten() {
                let slot = &c.patterns.slots[s];
                let field = &c.patterns.fields[slot.field].field;
                each_value(field, view, |hay| {
                    if t.matched_text.is_none() {
                        if let Some(m) = slot.regex.find(hay) {
                            t.matched_text = Some(cut(m.as_str(), SNIPPET_CHARS));
                        }
                    }
                });
            }
            t.held = t.matched_text.is_some();
        }
        Test::Size { cmp, bytes } => {
            t.held = cmp.holds(view.size as u64, *bytes);
            t.actual = Some(format!("{} bytes", view.size));
        }
        Test::NewCustomer(want) => {
            t.held = view.new_customer == *want;
            t.actual = Some(view.new_customer.to_string());
        }
        Test::Sentiment(want) => {
            t.held = reading.sentiment == *want;
            t.actual = Some(format!("{}, score {}", reading.sentiment, reading.score));
        }
    }
    t
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Admin-written text shown raw, except control characters, so a rule name
/// or pattern cannot move the terminal cursor.
fn clean(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize) -> String {
    let n = width(s);
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}

fn mark(held: bool) -> char {
    if held {
        '✓'
    } else {
        '✗'
    }
}

/// The human report: one block per rule, then the result.
impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let applied = self
            .rules
            .iter()
            .filter(|r| r.outcome == Outcome::Applied)
            .count();
        write!(
            f,
            "Tested as a {} message: {} rule{}, {applied} applied",
            if self.event == "reply" {
                "reply"
            } else {
                "new"
            },
            self.rules.len(),
            if self.rules.len() == 1 { "" } else { "s" },
        )?;
        if let Some(s) = &self.stopped_by {
            write!(f, ", stopped by {:?}", clean(s))?;
        }
        writeln!(f)?;
        writeln!(f)?;

        let titles: Vec<String> = self
            .rules
            .iter()
            .map(|r| format!("{} (line {})", clean(&r.name), r.line))
            .collect();
        let title_w = titles.iter().map(|t| width(t)).max().unwrap_or(0).min(48);
        for (r, title) in self.rules.iter().zip(&titles) {
            let (m, detail) = match r.outcome {
                Outcome::Applied => {
                    let mut d = format!("→ {}", r.sets.join(", "));
                    if r.sets.is_empty() {
                        d = "→ (sets nothing)".into();
                    }
                    if r.stop {
                        d.push_str("; stop");
                    }
                    ('✓', d)
                }
                Outcome::NoMatch => ('✗', "no match".to_string()),
                Outcome::NotForEvent => (
                    '–',
                    format!(
                        "skipped: runs on {} only",
                        if self.event == "reply" {
                            "new messages"
                        } else {
                            "replies"
                        }
                    ),
                ),
                Outcome::AfterStop => (
                    '·',
                    format!(
                        "skipped: evaluation stopped at {:?}",
                        clean(self.stopped_by.as_deref().unwrap_or(""))
                    ),
                ),
            };
            writeln!(f, "{m} {}  {detail}", pad(title, title_w))?;
            if matches!(r.outcome, Outcome::NotForEvent | Outcome::AfterStop) {
                continue;
            }
            if r.conditions.is_empty() {
                writeln!(f, "    (no conditions: matches every message)")?;
                continue;
            }
            let lhs: Vec<String> = r.conditions.iter().map(condition_lhs).collect();
            let lhs_w = lhs.iter().map(|l| width(l)).max().unwrap_or(0).min(72);
            for (c, l) in r.conditions.iter().zip(&lhs) {
                let mut status = match (&c.matched_text, &c.actual) {
                    (Some(t), _) => format!("matched {t:?}"),
                    (None, Some(a)) => format!("(is {a})"),
                    (None, None) => "no match".to_string(),
                };
                // Under `not` the condition holds when the leaf does not:
                // the mark says whether it counts for the rule.
                let counts = c.held != negated(&c.key);
                if negated(&c.key) {
                    status.push_str(if counts {
                        ", so the `not` holds"
                    } else {
                        ", so the `not` fails"
                    });
                }
                writeln!(f, "    {} {}  {status}", mark(counts), pad(l, lhs_w))?;
            }
        }

        let none = "—";
        let r = &self.result;
        let d = self.desk.clone().unwrap_or_default();
        let default = |v: &str| {
            if v.is_empty() {
                format!("{none} (desk default)")
            } else {
                format!("{} (desk default)", clean(v))
            }
        };
        let by_default = |key: &str| match key {
            "category" => default(&d.category),
            "priority" => default(&d.priority),
            "queue" => default(&d.queue),
            "acknowledgement" => match (&self.desk, &d.ack) {
                (Some(_), Some(a)) => default(a),
                (Some(_), None) => "none (acknowledgements are off)".to_string(),
                (None, _) => default(""),
            },
            _ => format!("{none} (nobody)"),
        };
        let opt = |key: &str, v: Option<String>| v.unwrap_or_else(|| by_default(key));
        writeln!(f)?;
        writeln!(f, "Result")?;
        let lines: [(&str, String); 8] = [
            (
                "category",
                opt("category", r.category.as_deref().map(clean)),
            ),
            (
                "priority",
                opt("priority", r.priority.map(|p| p.to_string())),
            ),
            ("queue", opt("queue", r.queue.as_deref().map(clean))),
            (
                "assignee",
                opt("assignee", r.assign.as_ref().map(|a| clean(&a.to_string()))),
            ),
            (
                "tags",
                if r.tags.is_empty() {
                    none.to_string()
                } else {
                    clean(&r.tags.join(", "))
                },
            ),
            (
                "acknowledgement",
                opt(
                    "acknowledgement",
                    r.ack.as_ref().map(|a| clean(&a.to_string())),
                ),
            ),
            (
                "spam",
                if r.spam {
                    "yes (stored, never answered)"
                } else {
                    "no"
                }
                .to_string(),
            ),
            (
                "sla",
                match (&self.desk, r.sla.as_deref()) {
                    (Some(_), _) if d.sla.is_empty() => {
                        format!("{} (no targets)", clean(&d.sla_class))
                    }
                    (Some(_), _) => {
                        format!("{}: {}", clean(&d.sla_class), clean(&d.sla.join(", ")))
                    }
                    (None, Some(s)) => clean(s),
                    (None, None) => none.to_string(),
                },
            ),
        ];
        for (k, v) in lines {
            writeln!(f, "  {k:<16} {v}")?;
        }
        if let Some(r) = &self.sentiment {
            write_sentiment(f, r)?;
        }
        Ok(())
    }
}

/// Evidence lines shown; the JSON lists them all.
const EVIDENCE_SHOWN: usize = 12;

/// The sentiment block: the label, the score and the words that made it.
/// The words come from the mail: quoted with `{:?}`, so control
/// characters show escaped.
fn write_sentiment(f: &mut fmt::Formatter<'_>, r: &Reading) -> fmt::Result {
    writeln!(f)?;
    writeln!(
        f,
        "Sentiment        {} (score {}; negative at {} or below, positive at {} or above)",
        r.sentiment,
        r.score,
        sentiment::Points(sentiment::NEGATIVE_AT),
        sentiment::Points(sentiment::POSITIVE_AT),
    )?;
    if r.evidence.is_empty() {
        writeln!(f, "  no words of feeling in what the sender wrote")?;
        return Ok(());
    }
    // The strongest first, so a long list still shows what decided.
    let mut shown: Vec<&sentiment::Evidence> = r.evidence.iter().collect();
    shown.sort_by_key(|e| std::cmp::Reverse(e.weight.0.abs()));
    for e in shown.iter().take(EVIDENCE_SHOWN) {
        let mut line = format!("  {:>6}  {:?}", e.weight.to_string(), e.text);
        if !e.notes.is_empty() {
            line.push_str(&format!("  ({})", clean(&e.notes.join("; "))));
        }
        writeln!(f, "{line}")?;
    }
    if r.evidence.len() > EVIDENCE_SHOWN {
        writeln!(
            f,
            "  … and {} more (--json lists them all)",
            r.evidence.len() - EVIDENCE_SHOWN
        )?;
    }
    Ok(())
}

fn condition_lhs(c: &ConditionTrace) -> String {
    let key = clean(&c.key);
    if key == "size" || key.ends_with(".size") {
        format!("{key} {}", clean(&c.pattern))
    } else if key == "new_customer"
        || key.ends_with(".new_customer")
        || key == "sentiment"
        || key.ends_with(".sentiment")
    {
        format!("{key} = {}", c.pattern)
    } else {
        format!("{key} ~ '{}'", cut(&clean(&c.pattern), PATTERN_CHARS))
    }
}
