//! Rule-file text to [`Compiled`], collecting every problem on the way.
//!
//! The file is read as a spanned TOML tree (`toml::de::DeTable`) rather than
//! deserialized into structs: serde stops at the first error and loses the
//! position of values it accepted, while an admin wants every mistake at
//! once, each with the line an editor can jump to.

use std::collections::HashMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::compile::{Actions, Cmp, Compiled, Field, Interner, Leaf, Node, On, Rule, Test};
use super::{Ack, Assign, Known, Problem};
use crate::config::line_col;
use crate::mail::sentiment::Sentiment;
use crate::ticket::Priority;

const RULE_KEYS: &[&str] = &["name", "on", "when", "set", "stop"];
const CONDITIONS: &[&str] = &[
    "from",
    "to",
    "cc",
    "subject",
    "body",
    "text",
    "header",
    "inbox",
    "attachment",
    "size",
    "new_customer",
    "sentiment",
    "any",
    "not",
];
const ACTIONS: &[&str] = &[
    "category", "priority", "queue", "assign", "tags", "ack", "spam", "sla",
];
const EVENTS: &[&str] = &["new", "reply"];
const ASSIGN_STRATEGIES: &[&str] = &["round-robin", "least-open"];

type Value<'i> = Spanned<DeValue<'i>>;

pub(crate) fn parse(text: &str, known: &Known) -> Result<Compiled, Vec<Problem>> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    let mut p = Parser {
        text,
        known,
        problems: Vec::new(),
        interner: Interner::default(),
        leaves: Vec::new(),
        label: String::new(),
        names: HashMap::new(),
    };
    if !errors.is_empty() {
        // A tree recovered from broken TOML would report confusing follow-up
        // problems; the syntax errors alone say what to fix first.
        for e in &errors {
            let message = e.message().trim().replace('\n', "; ");
            p.push(
                e.span().unwrap_or(0..0),
                "",
                format!("TOML syntax: {message}"),
            );
        }
        return Err(sorted(p.problems));
    }
    let rules = p.document(doc.get_ref());
    if !p.problems.is_empty() {
        return Err(sorted(p.problems));
    }
    Ok(Compiled {
        rules,
        leaves: p.leaves,
        patterns: p.interner.finish(),
    })
}

fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by_key(|p| (p.line, p.column));
    problems
}

/// Entries in file order, whether or not toml keeps insertion order.
fn entries<'a, 'i>(
    t: &'a DeTable<'i>,
) -> Vec<(&'a Spanned<std::borrow::Cow<'i, str>>, &'a Value<'i>)> {
    let mut v: Vec<_> = t.iter().collect();
    v.sort_by_key(|(k, _)| k.span().start);
    v
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The closest candidate, when one is close enough to be a typo: a small
/// edit distance catches swapped letters in short words ("akc"), Jaro-Winkler
/// catches longer words with a shared start ("replies" for "reply").
fn nearest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .filter_map(|c| {
            let lc = c.to_lowercase();
            let edits = strsim::damerau_levenshtein(&word, &lc);
            let similar = strsim::jaro_winkler(&word, &lc);
            (edits <= (lc.chars().count() / 3).max(1) || similar >= 0.8)
                .then_some((edits, -similar, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map(|(_, _, c)| c)
}

/// `unknown WHAT `VALUE` — did you mean `X`? Rest` when a candidate is close,
/// else `unknown WHAT `VALUE`; rest`.
fn unknown<'c>(
    what: &str,
    value: &str,
    candidates: impl IntoIterator<Item = &'c str>,
    rest: &str,
) -> String {
    match nearest(value, candidates) {
        Some(c) => {
            let mut chars = rest.chars();
            let rest = match chars.next() {
                Some(first) => format!("{}{}", first.to_uppercase(), chars.as_str()),
                None => String::new(),
            };
            format!("unknown {what} `{value}` — did you mean `{c}`? {rest}")
        }
        None => format!("unknown {what} `{value}`; {rest}"),
    }
}

struct Parser<'t, 'k> {
    text: &'t str,
    known: &'k Known,
    problems: Vec<Problem>,
    interner: Interner,
    leaves: Vec<Leaf>,
    /// `rule "NAME"` or `rule #N` while inside a rule.
    label: String,
    /// Rule name -> line of its first use.
    names: HashMap<String, usize>,
}

impl Parser<'_, '_> {
    fn push(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.problems.push(Problem {
            line,
            column,
            rule: self.label.clone(),
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn wrong_type(&mut self, v: &Value<'_>, key: &str, expected: &str) {
        let found = v.get_ref().type_str();
        self.push(v.span(), key, format!("expected {expected}, found {found}"));
    }

    fn document(&mut self, doc: &DeTable<'_>) -> Vec<Rule> {
        let mut rules = Vec::new();
        for (k, v) in entries(doc) {
            let key: &str = k.get_ref();
            if key != "rule" {
                self.push(
                    k.span(),
                    key,
                    unknown(
                        "top-level key",
                        key,
                        ["rule"],
                        "a rule file holds only [[rule]] sections",
                    ),
                );
                continue;
            }
            match v.get_ref() {
                DeValue::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match item.get_ref() {
                            DeValue::Table(t) => {
                                if let Some(r) = self.rule(i + 1, item.span(), t) {
                                    rules.push(r);
                                }
                            }
                            _ => {
                                self.label = format!("rule #{}", i + 1);
                                self.wrong_type(item, "rule", "a [[rule]] table");
                            }
                        }
                    }
                }
                DeValue::Table(_) => self.push(
                    k.span(),
                    "rule",
                    "write [[rule]] with two brackets: each rule is one entry of a list",
                ),
                _ => self.wrong_type(v, "rule", "[[rule]] sections"),
            }
        }
        self.label.clear();
        rules
    }

    fn rule(&mut self, index: usize, span: Range<usize>, t: &DeTable<'_>) -> Option<Rule> {
        self.label = format!("rule #{index}");
        let (line, _) = line_col(self.text, span.start);
        let before = self.problems.len();
        let name = match t.get("name") {
            None => {
                self.push(
                    span.clone(),
                    "name",
                    "missing: every rule needs `name = \"...\"` (reports and ticket history show it)",
                );
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => {
                    Some((s.trim().to_string(), v.span()))
                }
                DeValue::String(_) => {
                    self.push(
                        v.span(),
                        "name",
                        "is empty; give the rule a short descriptive name",
                    );
                    None
                }
                _ => {
                    self.wrong_type(v, "name", "a string");
                    None
                }
            },
        };
        if let Some((n, nspan)) = &name {
            self.label = format!("rule {n:?}");
            if let Some(first) = self.names.get(n) {
                let first = *first;
                self.push(
                    nspan.clone(),
                    "name",
                    format!("duplicate: the rule at line {first} has the same name; rename one so reports can tell them apart"),
                );
            } else {
                self.names.insert(n.clone(), line);
            }
        }

        let mut on = On {
            new: true,
            reply: false,
        };
        let mut when = Node::All(Vec::new());
        let mut set = Actions::default();
        let mut stop = false;
        for (k, v) in entries(t) {
            let key: &str = k.get_ref();
            match key {
                "name" => {}
                "on" => on = self.on(v).unwrap_or(on),
                "when" => match v.get_ref() {
                    DeValue::Table(c) => when = self.conditions("when", c),
                    _ => self.wrong_type(v, "when", "a table of conditions (when.subject = '...')"),
                },
                "set" => match v.get_ref() {
                    DeValue::Table(a) => set = self.actions(a),
                    _ => self.wrong_type(v, "set", "a table of actions (set.queue = '...')"),
                },
                "stop" => match v.get_ref() {
                    DeValue::Boolean(b) => stop = *b,
                    _ => self.wrong_type(v, "stop", "true or false"),
                },
                other => self.push(
                    k.span(),
                    other,
                    unknown(
                        "key",
                        other,
                        RULE_KEYS.iter().copied(),
                        &format!("a rule has {}", RULE_KEYS.join(", ")),
                    ),
                ),
            }
        }
        let (name, _) = name?;
        (self.problems.len() == before).then_some(Rule {
            name,
            line,
            on,
            when,
            set,
            stop,
        })
    }

    fn on(&mut self, v: &Value<'_>) -> Option<On> {
        let items: Vec<&Value<'_>> = match v.get_ref() {
            DeValue::String(_) => vec![v],
            DeValue::Array(a) => a.iter().collect(),
            _ => {
                self.wrong_type(v, "on", "a list of events: [\"new\"], [\"reply\"] or both");
                return None;
            }
        };
        if items.is_empty() {
            self.push(
                v.span(),
                "on",
                "is empty, so the rule would never run; write [\"new\"], [\"reply\"] or both",
            );
            return None;
        }
        let mut on = On {
            new: false,
            reply: false,
        };
        for item in items {
            match item.get_ref() {
                DeValue::String(s) if s.as_ref() == "new" => on.new = true,
                DeValue::String(s) if s.as_ref() == "reply" => on.reply = true,
                DeValue::String(s) => {
                    let msg = unknown(
                        "event",
                        s,
                        EVENTS.iter().copied(),
                        "events are `new` (a message opening a ticket) and `reply` (a message joining one)",
                    );
                    self.push(item.span(), "on", msg);
                    return None;
                }
                _ => {
                    self.wrong_type(item, "on", "\"new\" or \"reply\"");
                    return None;
                }
            }
        }
        Some(on)
    }

    /// A condition table: every key must hold.
    fn conditions(&mut self, path: &str, t: &DeTable<'_>) -> Node {
        let mut all = Vec::new();
        for (k, v) in entries(t) {
            let key: &str = k.get_ref();
            let kpath = join(path, key);
            let node = match key {
                "from" => self.regex_leaf(&kpath, &[Field::From], v),
                "to" => self.regex_leaf(&kpath, &[Field::To], v),
                "cc" => self.regex_leaf(&kpath, &[Field::Cc], v),
                "subject" => self.regex_leaf(&kpath, &[Field::Subject], v),
                "body" => self.regex_leaf(&kpath, &[Field::Body], v),
                // Both fields' sets already scan subject and body; sharing
                // them keeps `text` from scanning the body a second time.
                "text" => self.regex_leaf(&kpath, &[Field::Subject, Field::Body], v),
                "inbox" => self.regex_leaf(&kpath, &[Field::Inbox], v),
                "attachment" => self.regex_leaf(&kpath, &[Field::Attachment], v),
                "header" => match v.get_ref() {
                    DeValue::Table(h) => {
                        let mut nodes = Vec::new();
                        for (hk, hv) in entries(h) {
                            let hpath = join(&kpath, hk.get_ref());
                            if let Some(n) = self.header_leaf(&hpath, hk, hv) {
                                nodes.push(n);
                            }
                        }
                        Some(Node::All(nodes))
                    }
                    _ => {
                        self.wrong_type(
                            v,
                            &kpath,
                            "a table of header names, e.g. when.header.\"X-Spam-Flag\" = 'YES'",
                        );
                        None
                    }
                },
                _ if key.starts_with("header.") => self.header_leaf(&kpath, k, v),
                "size" => self.size_leaf(&kpath, v),
                "new_customer" => match v.get_ref() {
                    DeValue::Boolean(b) => {
                        Some(self.leaf(&kpath, b.to_string(), Test::NewCustomer(*b)))
                    }
                    _ => {
                        self.wrong_type(v, &kpath, "true or false");
                        None
                    }
                },
                "sentiment" => self.sentiment_leaf(&kpath, v),
                "any" => match v.get_ref() {
                    DeValue::Array(items) if items.is_empty() => {
                        self.push(
                            v.span(),
                            &kpath,
                            "is empty and would never match; list condition tables: any = [ { subject = '...' }, { body = '...' } ]",
                        );
                        None
                    }
                    DeValue::Array(items) => {
                        let mut alts = Vec::new();
                        for (i, item) in items.iter().enumerate() {
                            let ipath = format!("{kpath}[{i}]");
                            match item.get_ref() {
                                DeValue::Table(c) => alts.push(self.conditions(&ipath, c)),
                                _ => self.wrong_type(
                                    item,
                                    &ipath,
                                    "a condition table { subject = '...' }",
                                ),
                            }
                        }
                        Some(Node::Any(alts))
                    }
                    _ => {
                        self.wrong_type(
                            v,
                            &kpath,
                            "a list of condition tables: any = [ { subject = '...' }, { body = '...' } ]",
                        );
                        None
                    }
                },
                "not" => match v.get_ref() {
                    DeValue::Table(c) if c.is_empty() => {
                        self.push(v.span(), &kpath, "is empty and would never match; put the conditions to exclude inside: not = { from = '...' }");
                        None
                    }
                    DeValue::Table(c) => Some(Node::Not(Box::new(self.conditions(&kpath, c)))),
                    _ => {
                        self.wrong_type(
                            v,
                            &kpath,
                            "one condition table, e.g. not = { from = '...' } (to exclude several: not = { any = [...] })",
                        );
                        None
                    }
                },
                other => {
                    let hint = match nearest(other, CONDITIONS.iter().copied()) {
                        Some(c) => format!(" — did you mean `{c}`?"),
                        None => format!(" (conditions: {}, header.NAME)", CONDITIONS.join(", ")),
                    };
                    self.push(
                        k.span(),
                        &kpath,
                        format!("unknown condition `{other}`{hint}"),
                    );
                    None
                }
            };
            all.extend(node);
        }
        Node::All(all)
    }

    fn leaf(&mut self, kpath: &str, pattern: String, test: Test) -> Node {
        let key = kpath.strip_prefix("when.").unwrap_or(kpath).to_string();
        self.leaves.push(Leaf { key, pattern, test });
        Node::Leaf(self.leaves.len() - 1)
    }

    fn regex_leaf(&mut self, kpath: &str, fields: &[Field], v: &Value<'_>) -> Option<Node> {
        let DeValue::String(pattern) = v.get_ref() else {
            self.wrong_type(v, kpath, "a regex string, e.g. '(?i)invoice|refund'");
            return None;
        };
        let mut slots = [None, None];
        for (slot, field) in slots.iter_mut().zip(fields) {
            match self.interner.intern(field.clone(), pattern) {
                Ok(s) => *slot = Some(s),
                Err(e) => {
                    self.push(v.span(), kpath, regex_message(&e));
                    return None;
                }
            }
        }
        Some(self.leaf(kpath, pattern.to_string(), Test::Pattern { slots }))
    }

    fn header_leaf(
        &mut self,
        kpath: &str,
        k: &Spanned<std::borrow::Cow<'_, str>>,
        v: &Value<'_>,
    ) -> Option<Node> {
        let raw: &str = k.get_ref();
        let name = raw.strip_prefix("header.").unwrap_or(raw);
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            self.push(
                k.span(),
                kpath,
                format!("`{name}` is not a header name (printable ASCII, no spaces or colons)"),
            );
            return None;
        }
        let name = name.to_ascii_lowercase();
        let kpath = kpath
            .strip_suffix(raw)
            .map(|p| format!("{p}{}", raw.to_ascii_lowercase()))
            .unwrap_or_else(|| kpath.to_string());
        self.regex_leaf(&kpath, &[Field::Header(name)], v)
    }

    fn sentiment_leaf(&mut self, kpath: &str, v: &Value<'_>) -> Option<Node> {
        let DeValue::String(s) = v.get_ref() else {
            self.wrong_type(v, kpath, "\"negative\", \"neutral\" or \"positive\"");
            return None;
        };
        match Sentiment::parse(s) {
            Some(want) => Some(self.leaf(kpath, want.to_string(), Test::Sentiment(want))),
            None => {
                let msg = unknown(
                    "sentiment",
                    s.trim(),
                    Sentiment::NAMES,
                    "write \"negative\", \"neutral\" or \"positive\" (to match two, use not = { sentiment = \"...\" })",
                );
                self.push(v.span(), kpath, msg);
                None
            }
        }
    }

    fn size_leaf(&mut self, kpath: &str, v: &Value<'_>) -> Option<Node> {
        let DeValue::String(expr) = v.get_ref() else {
            self.wrong_type(v, kpath, "a comparison string such as \"> 5MB\"");
            return None;
        };
        match parse_size(expr) {
            Some((cmp, bytes)) => {
                Some(self.leaf(kpath, expr.trim().to_string(), Test::Size { cmp, bytes }))
            }
            None => {
                self.push(
                    v.span(),
                    kpath,
                    format!("`{expr}` is not a size comparison; write it like \"> 5MB\", \">= 100KB\" or \"< 2000\" (units B, KB, MB, GB; 1KB = 1024 bytes)"),
                );
                None
            }
        }
    }

    fn actions(&mut self, t: &DeTable<'_>) -> Actions {
        // A copy of the reference, so the lists outlive `self`'s borrows.
        let known: &Known = self.known;
        let mut a = Actions::default();
        for (k, v) in entries(t) {
            let key: &str = k.get_ref();
            let kpath = join("set", key);
            match key {
                "category" => a.category = self.nonempty(&kpath, v),
                "priority" => {
                    if let Some(s) = self.string(&kpath, v) {
                        a.priority = Priority::parse(&s);
                        if a.priority.is_none() {
                            let levels = ["low", "normal", "high", "urgent"];
                            let msg = unknown(
                                "priority",
                                &s,
                                levels,
                                "use one of low, normal, high, urgent",
                            );
                            self.push(v.span(), &kpath, msg);
                        }
                    }
                }
                "queue" => {
                    a.queue = self.string(&kpath, v).and_then(|s| {
                        self.known_name(
                            v,
                            &kpath,
                            "queue",
                            &s,
                            &known.queues,
                            "add a [[queue]] with this name to postdesk.toml",
                        )
                    })
                }
                "sla" => {
                    a.sla = self.string(&kpath, v).and_then(|s| {
                        self.known_name(
                            v,
                            &kpath,
                            "SLA class",
                            &s,
                            &known.sla_classes,
                            "define it as [sla.NAME] in postdesk.toml",
                        )
                    })
                }
                "assign" => a.assign = self.assign(&kpath, v),
                "tags" => a.tags = self.tags(&kpath, v),
                "ack" => match v.get_ref() {
                    DeValue::Boolean(false) => a.ack = Some(Ack::Suppressed),
                    DeValue::String(s) if s.trim().is_empty() => self.push(
                        v.span(),
                        &kpath,
                        "is empty; name a template such as \"ack\", or write false to send none",
                    ),
                    DeValue::String(s) if known.templates.is_empty() => {
                        a.ack = Some(Ack::Template(s.trim().to_string()))
                    }
                    DeValue::String(s) => {
                        a.ack = self
                            .known_name(
                                v,
                                &kpath,
                                "template",
                                s,
                                &known.templates,
                                "add NAME.hbs to the templates directory",
                            )
                            .map(Ack::Template)
                    }
                    _ => self.wrong_type(
                        v,
                        &kpath,
                        "a template name such as \"ack\", or false to send no acknowledgement",
                    ),
                },
                "spam" => match v.get_ref() {
                    DeValue::Boolean(b) => a.spam = Some(*b),
                    _ => self.wrong_type(v, &kpath, "true or false"),
                },
                other => {
                    let hint = match nearest(other, ACTIONS.iter().copied()) {
                        Some(c) => format!(" — did you mean `{c}`?"),
                        None => format!(" (actions: {})", ACTIONS.join(", ")),
                    };
                    self.push(k.span(), &kpath, format!("unknown action `{other}`{hint}"));
                }
            }
        }
        a
    }

    fn string(&mut self, kpath: &str, v: &Value<'_>) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.trim().to_string()),
            _ => {
                self.wrong_type(v, kpath, "a string");
                None
            }
        }
    }

    fn nonempty(&mut self, kpath: &str, v: &Value<'_>) -> Option<String> {
        let s = self.string(kpath, v)?;
        if s.is_empty() {
            self.push(v.span(), kpath, "is empty; remove the line or give a value");
            return None;
        }
        Some(s)
    }

    /// `value` as the config spells it, or a problem naming the valid ones.
    fn known_name(
        &mut self,
        v: &Value<'_>,
        kpath: &str,
        what: &str,
        value: &str,
        known: &[String],
        how_to_add: &str,
    ) -> Option<String> {
        let value = value.trim();
        if let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(value)) {
            return Some(k.clone());
        }
        let message = if known.is_empty() {
            format!("unknown {what} `{value}`: none are defined; {how_to_add}")
        } else {
            unknown(
                what,
                value,
                known.iter().map(String::as_str),
                &format!("known: {} (or {how_to_add})", known.join(", ")),
            )
        };
        self.push(v.span(), kpath, message);
        None
    }

    fn assign(&mut self, kpath: &str, v: &Value<'_>) -> Option<Assign> {
        let s = self.string(kpath, v)?;
        match s.to_ascii_lowercase().as_str() {
            "round-robin" => return Some(Assign::RoundRobin),
            "least-open" => return Some(Assign::LeastOpen),
            _ => {}
        }
        if let Some(a) = self
            .known
            .agents
            .iter()
            .find(|a| a.eq_ignore_ascii_case(&s))
        {
            return Some(Assign::Agent(a.clone()));
        }
        let candidates = self
            .known
            .agents
            .iter()
            .map(String::as_str)
            .chain(ASSIGN_STRATEGIES.iter().copied());
        let agents = if self.known.agents.is_empty() {
            "no [[agent]] is defined in postdesk.toml".to_string()
        } else {
            format!("agents: {}", self.known.agents.join(", "))
        };
        self.push(
            v.span(),
            kpath,
            unknown(
                "agent",
                &s,
                candidates,
                &format!("write an agent's email ({agents}), \"round-robin\" or \"least-open\""),
            ),
        );
        None
    }

    fn tags(&mut self, kpath: &str, v: &Value<'_>) -> Vec<String> {
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(v, kpath, "a list of strings, e.g. tags = [\"money\"]");
            return Vec::new();
        };
        let mut tags: Vec<String> = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => {
                    let t = s.trim().to_string();
                    if !tags.contains(&t) {
                        tags.push(t);
                    }
                }
                DeValue::String(_) => self.push(item.span(), kpath, "contains an empty tag"),
                _ => self.wrong_type(item, kpath, "a tag string"),
            }
        }
        tags
    }
}

/// The regex crate's message, headline first so it fits the one-line
/// `FILE:LINE:COL:` shape; its caret diagram follows, indented.
fn regex_message(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => {
            let headline = s
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or("syntax error");
            let diagram: Vec<&str> = s
                .lines()
                .filter(|l| !l.starts_with("regex parse error") && !l.starts_with("error: "))
                .collect();
            if diagram.is_empty() {
                format!("invalid regex: {headline}")
            } else {
                format!("invalid regex: {headline}\n{}", diagram.join("\n"))
            }
        }
        regex::Error::CompiledTooBig(_) => format!(
            "invalid regex: {e}; make it smaller (fewer or shorter counted repetitions such as {{1000}}, or split it over several rules)"
        ),
        _ => format!("invalid regex: {e}"),
    }
}

/// `"> 5MB"` to a comparison and a byte count (1KB = 1024).
pub(crate) fn parse_size(expr: &str) -> Option<(Cmp, u64)> {
    const OPS: [(&str, Cmp); 7] = [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        ("==", Cmp::Eq),
        ("!=", Cmp::Ne),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
        ("=", Cmp::Eq),
    ];
    let t = expr.trim();
    let (cmp, rest) = OPS
        .iter()
        .find_map(|(op, cmp)| t.strip_prefix(op).map(|rest| (*cmp, rest.trim())))?;
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, unit) = rest.split_at(split);
    let unit: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return None,
    };
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let bytes = if number.contains('.') {
        let n: f64 = number.parse().ok()?;
        let b = (n * unit as f64).round();
        // 2^63 bytes is far beyond any mail; reject rather than saturate.
        (b.is_finite() && b < 9.2e18).then_some(b as u64)?
    } else {
        number.parse::<u64>().ok()?.checked_mul(unit)?
    };
    Some((cmp, bytes))
}
