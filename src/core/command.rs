//! The commands that change a ticket, defined once: an agent's `#status
//! pending` at the top of a mail and an admin's `tickets set --status
//! pending` are the same command, parsed, checked and applied by the same
//! code. The table below feeds the mail parser, the flags of `tickets
//! set`, the help text mailed to agents and README's list (a test holds
//! README to it), so none of them can drift from the others.
//!
//! Pure: checking an `#assign` against the configured agents is done here
//! with the configuration passed in; what a command then causes (status
//! notices, timers) is the decision's (see [`crate::decide`]).

use crate::config::Config;
use crate::ticket::{Priority, Status, Ticket};

/// One command as users see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The word after `#` in mail, and the flag of `tickets set`.
    pub name: &'static str,
    /// The arguments, as the help shows them.
    pub args: &'static str,
    /// One line: what it does.
    pub help: &'static str,
    /// Also a flag of `tickets set` (some commands only make sense in a
    /// mail, such as `#note`, whose text is the rest of the mail).
    pub admin: bool,
    /// The flag may be given more than once (`--tag a --tag b`).
    pub repeats: bool,
    /// How many values the flag takes (`--cc add x@y.test` takes two).
    pub values: usize,
}

/// Every command, in the order help lists them.
pub const COMMANDS: &[Spec] = &[
    Spec {
        name: "status",
        args: "new|open|pending|resolved|closed",
        help: "set the status: pending waits on the customer (follow-up, auto-close), resolved tells the customer and later asks for a rating",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "priority",
        args: "low|normal|high|urgent",
        help: "set the priority (the SLA targets follow it)",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "assign",
        args: "AGENT|me",
        help: "give the ticket to a configured agent (`me` in mail: yourself)",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "queue",
        args: "NAME",
        help: "move the ticket to another queue",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "category",
        args: "NAME",
        help: "set the category",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "tag",
        args: "WORD...",
        help: "add tags",
        admin: true,
        values: 1,
        repeats: true,
    },
    Spec {
        name: "untag",
        args: "WORD...",
        help: "remove tags",
        admin: true,
        values: 1,
        repeats: true,
    },
    Spec {
        name: "cc",
        args: "add|remove ADDRESS",
        help: "copy someone on the ticket's answers, or stop copying them",
        admin: true,
        values: 2,
        repeats: false,
    },
    Spec {
        name: "merge",
        args: "REF",
        help: "merge this ticket into REF (one thread, REF's number)",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "due",
        args: "FRIDAY|2026-12-24|none",
        help: "set the date it must be done by (a weekday is the next one, today included), shown to agents; `none` clears it",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "link",
        args: "REF",
        help: "mark REF as a related ticket; each of the two then names the other",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "time",
        args: "25m|1h30m",
        help: "add time worked on the ticket to your account (the admin's at the command line)",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "snooze",
        args: "3d|until monday 9:00|off",
        help: "set it pending without reminders until then (s, m, h, d, w; `until` a weekday, today, tomorrow or YYYY-MM-DD and a time, 9:00 if none); then it opens again and its assignee (else its queue's agents) is told; `off` wakes it now",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "macro",
        args: "NAME",
        help: "answer with the canned text templates/macros/NAME.hbs (it may also set fields); your words above the line stay above it",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "lang",
        args: "CODE",
        help: "write to the customer in this language from now on, their later tickets too (de, fr, ...: a language the templates have)",
        admin: true,
        values: 1,
        repeats: false,
    },
    Spec {
        name: "note",
        args: "",
        help: "the rest of the mail goes to agents only, never to the customer",
        admin: false,
        values: 0,
        repeats: false,
    },
    Spec {
        name: "send",
        args: "",
        help: "send your answer that was held because the ticket moved on, as you wrote it",
        admin: false,
        values: 0,
        repeats: false,
    },
];

/// The command of this name.
pub fn spec(name: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// One command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status(Status),
    Priority(Priority),
    /// `me` is resolved to the sending agent when parsed.
    Assign(String),
    Queue(String),
    Category(String),
    Tag(Vec<String>),
    Untag(Vec<String>),
    CcAdd(String),
    CcRemove(String),
    Merge(String),
    Due(DueDate),
    Link(String),
    /// Minutes worked, by this agent.
    Time(String, u32),
    Snooze(Snooze),
    /// A canned answer by name (see [`Macro`]).
    Macro(String),
    /// The customer's language, ISO 639-1 (see [`crate::language`]).
    Lang(String),
    Note,
    /// Releases the agent's newest held answer on the ticket.
    Send,
}

/// What `#due` names: a date, a weekday (the next one, today included,
/// in the desk's time zone) or nothing (cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueDate {
    On(chrono::NaiveDate),
    Next(chrono::Weekday),
    Today,
    Tomorrow,
    Clear,
}

impl DueDate {
    fn parse(s: &str) -> Option<DueDate> {
        let l = s.to_ascii_lowercase();
        match l.as_str() {
            "none" | "clear" | "-" => return Some(DueDate::Clear),
            "today" => return Some(DueDate::Today),
            "tomorrow" => return Some(DueDate::Tomorrow),
            _ => {}
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(&l, "%Y-%m-%d") {
            return Some(DueDate::On(d));
        }
        l.parse::<chrono::Weekday>().ok().map(DueDate::Next)
    }

    /// The date meant, seen on `today`.
    pub fn resolve(self, today: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
        use chrono::Datelike;
        match self {
            DueDate::On(d) => Some(d),
            DueDate::Today => Some(today),
            DueDate::Tomorrow => today.succ_opt(),
            DueDate::Clear => None,
            DueDate::Next(w) => {
                let ahead =
                    (7 + w.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
                today.checked_add_days(chrono::Days::new(u64::from(ahead)))
            }
        }
    }
}

/// What `#snooze` asks for: a while from now, a moment in the desk's
/// time zone, or waking now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snooze {
    /// Seconds from now.
    For(u64),
    /// A day (today when `None`) at a time (9:00 when `None`).
    Until {
        day: Option<DueDate>,
        time: Option<chrono::NaiveTime>,
    },
    Off,
}

impl Snooze {
    fn parse(args: &[&str]) -> Option<Snooze> {
        match args {
            [w] if ["off", "none", "wake"].contains(&w.to_ascii_lowercase().as_str()) => {
                Some(Snooze::Off)
            }
            [u, rest @ ..] if u.eq_ignore_ascii_case("until") && !rest.is_empty() => {
                let mut day = None;
                let mut time = None;
                for w in rest {
                    if let Ok(t) = chrono::NaiveTime::parse_from_str(w, "%H:%M") {
                        if time.replace(t).is_some() {
                            return None;
                        }
                    } else if day.is_none() {
                        day = Some(DueDate::parse(w).filter(|d| *d != DueDate::Clear)?);
                    } else {
                        return None;
                    }
                }
                Some(Snooze::Until { day, time })
            }
            _ => seconds(&args.concat()).map(Snooze::For),
        }
    }

    /// When a snooze given at `now` ends, in the desk's time zone `tz`;
    /// `None` for `off` and for a moment already past.
    pub fn wake_at(
        self,
        now: chrono::DateTime<chrono::Utc>,
        tz: chrono_tz::Tz,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        use chrono::TimeZone;
        match self {
            Snooze::Off => None,
            Snooze::For(s) => now.checked_add_signed(chrono::Duration::seconds(s as i64)),
            Snooze::Until { day, time } => {
                let local = now.with_timezone(&tz);
                let time = time.unwrap_or(chrono::NaiveTime::from_hms_opt(9, 0, 0)?);
                let date = match day {
                    Some(d) => d.resolve(local.date_naive())?,
                    None => local.date_naive(),
                };
                let at = |date: chrono::NaiveDate| {
                    tz.from_local_datetime(&date.and_time(time))
                        .earliest()
                        .map(|t| t.with_timezone(&chrono::Utc))
                };
                let first = at(date)?;
                if first > now {
                    return Some(first);
                }
                // A weekday or a bare time already past today means the
                // next one; a named date in the past means nothing.
                match day {
                    Some(DueDate::Next(_)) => at(date.checked_add_days(chrono::Days::new(7))?),
                    None => at(date.succ_opt()?),
                    _ => None,
                }
            }
        }
    }
}

/// Seconds in `2s`, `3d`, `1h30m`, `1w`: units required, at most a year.
fn seconds(s: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in s.to_ascii_lowercase().chars() {
        match c {
            '0'..='9' if number.len() < 8 => number.push(c),
            's' | 'm' | 'h' | 'd' | 'w' if !number.is_empty() => {
                let n: u64 = number.parse().ok()?;
                let unit = match c {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    'd' => 86_400,
                    _ => 7 * 86_400,
                };
                total = total.checked_add(n.checked_mul(unit)?)?;
                number.clear();
                any = true;
            }
            _ => return None,
        }
    }
    (any && number.is_empty() && total > 0 && total <= 366 * 86_400).then_some(total)
}

/// A canned answer as the shell loaded it from `templates/macros/NAME.hbs`:
/// its name and the command lines of its front matter (without `#`), parsed
/// when used so `#assign me` means whoever used it. The text itself is the
/// templates' to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    pub name: String,
    pub commands: Vec<String>,
}

/// The commands a macro's front matter may give: fields of the ticket,
/// not other answers, merges or notes.
pub fn allowed_in_macro(c: &Command) -> bool {
    !matches!(
        c,
        Command::Macro(_)
            | Command::Lang(_)
            | Command::Merge(_)
            | Command::Link(_)
            | Command::Note
            | Command::Send
            | Command::Time(..)
    )
}

/// Minutes in `25m`, `1h`, `1h30m`, `90m`: units are required, so a bare
/// `25` is not silently read as minutes or hours. At most a week per line.
fn minutes(s: &str) -> Option<u32> {
    let mut total: u32 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in s.to_ascii_lowercase().chars() {
        match c {
            '0'..='9' if number.len() < 6 => number.push(c),
            'h' | 'm' if !number.is_empty() => {
                let n: u32 = number.parse().ok()?;
                total = total.checked_add(if c == 'h' { n.checked_mul(60)? } else { n })?;
                number.clear();
                any = true;
            }
            _ => return None,
        }
    }
    (any && number.is_empty() && total > 0 && total <= 7 * 24 * 60).then_some(total)
}

/// What the top of an agent's mail said: the commands, the errors (one per
/// bad line), and the rest, which is the answer to relay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub commands: Vec<Command>,
    pub errors: Vec<String>,
    pub body: String,
    /// With a `#macro` line in the answer: `body` is what the agent wrote
    /// above it, this what they wrote below; the macro's text goes between.
    pub below_macro: Option<String>,
    /// Every command line as written, in order, with what it parsed to:
    /// the transcript answers them one by one.
    pub lines: Vec<(String, Result<Command, String>)>,
}

/// The help mailed to agents with every notification and every error.
pub fn help() -> String {
    let list: Vec<String> = COMMANDS
        .iter()
        .map(|s| match s.args {
            "" => format!("#{} ({})", s.name, s.help),
            args => format!("#{} {args}", s.name),
        })
        .collect();
    format!(
        "Reply above the quoted text to answer the customer. Lines at the very top starting with # are commands: {}.",
        list.join(", ")
    )
}

fn names() -> String {
    COMMANDS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses one command line (`verb` without the `#`). `agent` is who gave
/// it, for `#assign me`.
pub fn parse(verb: &str, args: &[&str], agent: &str) -> Result<Command, String> {
    let verb = verb.to_ascii_lowercase();
    let shown = if args.is_empty() {
        format!("#{verb}")
    } else {
        format!("#{verb} {}", args.join(" "))
    };
    let usage = |what: &str| match spec(&verb) {
        Some(s) => format!("`{shown}`: {what}; write #{} {}", s.name, s.args),
        None => format!("`{shown}`: {what}"),
    };
    let one = |what: &str| -> Result<String, String> {
        match args {
            [a] => Ok(a.to_string()),
            _ => Err(usage(&format!("#{verb} takes one {what}"))),
        }
    };
    match verb.as_str() {
        "status" => one("status").and_then(|s| {
            Status::parse(&s)
                .map(Command::Status)
                .ok_or_else(|| usage("status is one of new, open, pending, resolved, closed"))
        }),
        "priority" => one("priority").and_then(|s| {
            Priority::parse(&s)
                .map(Command::Priority)
                .ok_or_else(|| usage("priority is one of low, normal, high, urgent"))
        }),
        "assign" => one("address or `me`").map(|a| {
            Command::Assign(if a.eq_ignore_ascii_case("me") {
                agent.to_ascii_lowercase()
            } else {
                a.to_ascii_lowercase()
            })
        }),
        "queue" => one("queue name").map(Command::Queue),
        "category" => one("category").map(Command::Category),
        "tag" if !args.is_empty() => Ok(Command::Tag(args.iter().map(|a| a.to_string()).collect())),
        "untag" if !args.is_empty() => {
            Ok(Command::Untag(args.iter().map(|a| a.to_string()).collect()))
        }
        "tag" | "untag" => Err(usage(&format!("#{verb} needs at least one tag"))),
        "cc" => match args {
            [op, addr] if addr.contains('@') => match op.to_ascii_lowercase().as_str() {
                "add" => Ok(Command::CcAdd(addr.to_ascii_lowercase())),
                "remove" => Ok(Command::CcRemove(addr.to_ascii_lowercase())),
                _ => Err(usage("add or remove one address")),
            },
            _ => Err(usage("add or remove one address")),
        },
        "merge" => one("ticket reference").map(Command::Merge),
        "due" => one("date").and_then(|d| {
            DueDate::parse(&d).map(Command::Due).ok_or_else(|| {
                usage("the date is a weekday (friday), today, tomorrow, YYYY-MM-DD or none")
            })
        }),
        "link" => one("ticket reference").map(Command::Link),
        "time" => one("duration").and_then(|d| {
            let who = if agent.is_empty() { "admin" } else { agent };
            minutes(&d)
                .map(|m| Command::Time(who.to_ascii_lowercase(), m))
                .ok_or_else(|| usage("time worked has units, up to a week: 25m, 1h, 1h30m"))
        }),
        "snooze" => Snooze::parse(args).map(Command::Snooze).ok_or_else(|| {
            usage("a while with units (2s, 30m, 3d, 1w), `until monday 9:00` (a weekday, today, tomorrow or YYYY-MM-DD, and/or H:MM), or off")
        }),
        "macro" => one("macro name").and_then(|n| {
            let n = n.to_ascii_lowercase();
            if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                Ok(Command::Macro(n))
            } else {
                Err(usage("a macro name is letters, digits, `_` and `-`"))
            }
        }),
        "lang" => one("language").and_then(|l| {
            crate::language::normalize(&l)
                .map(Command::Lang)
                .ok_or_else(|| usage("a language is its ISO 639-1 code: de, fr, en, ..."))
        }),
        "note" => Ok(Command::Note),
        "send" if args.is_empty() => Ok(Command::Send),
        "send" => Err(usage(
            "#send takes nothing; it sends your held answer as written",
        )),
        _ => Err(format!(
            "`{shown}`: unknown command #{verb}; the commands are {}",
            names()
        )),
    }
}

/// Reads commands from the first lines of `text` (blank lines between them
/// are allowed); the first line that is not a command ends them. `#note`
/// ends them too: what follows it (on its line or below) is the note.
pub fn parse_commands(text: &str, agent: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.peek() {
        let t = line.trim();
        if t.is_empty() {
            lines.next();
            continue;
        }
        let Some(rest) = t.strip_prefix('#') else {
            break;
        };
        lines.next();
        let mut words = rest.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        if verb.eq_ignore_ascii_case("note") {
            parsed.commands.push(Command::Note);
            parsed.lines.push(("#note".to_string(), Ok(Command::Note)));
            let first = args.join(" ");
            let rest: Vec<&str> = lines.collect();
            parsed.body = std::iter::once(first.as_str())
                .chain(rest)
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_string();
            return parsed;
        }
        let result = parse(verb, &args, agent);
        match &result {
            Ok(c) => parsed.commands.push(c.clone()),
            Err(e) => parsed.errors.push(e.clone()),
        }
        parsed.lines.push((t.to_string(), result));
    }
    let rest: Vec<&str> = lines.collect();
    if parsed.lines.iter().any(|(l, _)| {
        l.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("#macro"))
    }) {
        // A macro among the commands at the top: its text comes first
        // (and when the line is refused, nothing below it is sent alone).
        parsed.below_macro = Some(rest.join("\n").trim().to_string());
        return parsed;
    }
    // A `#macro NAME` line inside the answer: the agent's words around it
    // stay where they are. One macro per answer: a further `#macro` line
    // is taken out of the text too and refused (so the answer is not sent).
    let mut above: Option<Vec<&str>> = None;
    let mut kept: Vec<&str> = Vec::new();
    for line in rest {
        if !is_macro_line(line) {
            kept.push(line);
            continue;
        }
        let t = line.trim();
        let words: Vec<&str> = t[1..].split_whitespace().collect();
        let result = parse(words[0], &words[1..], agent);
        match &result {
            Ok(c) => parsed.commands.push(c.clone()),
            Err(e) => parsed.errors.push(e.clone()),
        }
        parsed.lines.push((t.to_string(), result));
        if above.is_none() {
            above = Some(std::mem::take(&mut kept));
        }
    }
    match above {
        Some(above) => {
            parsed.body = above.join("\n").trim().to_string();
            parsed.below_macro = Some(kept.join("\n").trim().to_string());
        }
        None => parsed.body = kept.join("\n").trim().to_string(),
    }
    parsed
}

/// `#macro NAME` on a line of its own (the line-length guard keeps a
/// pasted paragraph starting with `#macro` from counting).
fn is_macro_line(line: &str) -> bool {
    let t = line.trim();
    t.len() < 80
        && t.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("#macro "))
        && t.split_whitespace().count() == 2
}

/// Puts `ticket` to sleep until `until` (pending, no reminders), or wakes
/// it (open) when `until` is `None` and it sleeps.
pub fn snooze(
    ticket: &mut Ticket,
    until: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) {
    match until {
        Some(at) => {
            crate::decide::set_status(ticket, Status::Pending, now);
            ticket.snoozed_until = Some(at);
        }
        None if ticket.snoozed_until.is_some() => {
            ticket.snoozed_until = None;
            crate::decide::set_status(ticket, Status::Open, now);
        }
        None => {}
    }
}

/// Whether a parsed command may be applied with this configuration: an
/// assignee must be a configured agent, since the customer's next message
/// goes to the assignee as a notification (a typo must not send a
/// customer's mail to a stranger); a queue must be one the desk has, or
/// the ticket would sit where no agent looks.
pub fn check(c: &Command, config: &Config) -> Result<(), String> {
    match c {
        Command::Assign(a) if config.agent(a).is_none() => {
            let known: Vec<&str> = config.agents.iter().map(|a| a.email.as_str()).collect();
            Err(if known.is_empty() {
                format!("#assign {a}: no agents are configured; add an [[agent]] to postdesk.toml")
            } else {
                format!(
                    "#assign {a}: not an agent of this desk; the agents are {}",
                    known.join(", ")
                )
            })
        }
        Command::Queue(q) if !config.queue_names().iter().any(|k| k == q) => Err(format!(
            "#queue {q}: no such queue; the queues are {}",
            config.queue_names().join(", ")
        )),
        _ => Ok(()),
    }
}

/// Applies one command's direct effect on the ticket. `#merge`, `#note`
/// and `#send` change nothing here: a merge needs the other ticket, a note
/// is about the mail, not the ticket, and a release needs the held answer;
/// the decision handles them.
pub fn apply(
    ticket: &mut Ticket,
    c: &Command,
    now: chrono::DateTime<chrono::Utc>,
    today: chrono::NaiveDate,
) {
    use Command as C;
    match c {
        C::Due(d) => ticket.due = d.resolve(today),
        C::Time(agent, m) => {
            let t = ticket.time_worked.entry(agent.clone()).or_insert(0);
            *t = t.saturating_add(*m);
        }
        C::Link(r) => {
            if !ticket.links.iter().any(|l| l.eq_ignore_ascii_case(r)) && *r != ticket.reference {
                ticket.links.push(r.clone());
            }
        }
        C::Status(s) => crate::decide::set_status(ticket, *s, now),
        C::Priority(p) => ticket.priority = *p,
        C::Assign(a) => ticket.assignee = Some(a.clone()),
        C::Queue(q) => ticket.queue = q.clone(),
        C::Category(cat) => ticket.category = cat.clone(),
        C::Tag(tags) => {
            for t in tags {
                if !ticket.tags.contains(t) {
                    ticket.tags.push(t.clone());
                }
            }
        }
        C::Untag(tags) => ticket.tags.retain(|t| !tags.contains(t)),
        C::CcAdd(a) => ticket.add_participant(a),
        C::CcRemove(a) => {
            if !a.eq_ignore_ascii_case(&ticket.requester.email) {
                ticket.participants.retain(|p| !p.eq_ignore_ascii_case(a));
            }
        }
        C::Snooze(Snooze::Off) => snooze(ticket, None, now),
        // The wake time needs the desk's time zone and may be refused, and
        // a macro's fields come from its file: the decision applies them.
        // A language must be one the templates have, and remembers who
        // chose it: the decision applies it.
        C::Snooze(_) | C::Macro(_) | C::Lang(_) => {}
        C::Merge(_) | C::Note | C::Send => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates_and_times_worked() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // 2026-12-06 is a Sunday.
        let sunday = day("2026-12-06");
        let due = |s: &str| match parse("due", &[s], "a@d") {
            Ok(Command::Due(d)) => d.resolve(sunday),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(due("FRIDAY"), Some(day("2026-12-11")));
        assert_eq!(due("fri"), Some(day("2026-12-11")));
        assert_eq!(due("sunday"), Some(sunday), "today counts");
        assert_eq!(due("2026-12-24"), Some(day("2026-12-24")));
        assert_eq!(due("tomorrow"), Some(day("2026-12-07")));
        assert_eq!(due("none"), None);
        assert!(parse("due", &["someday"], "a@d").is_err());
        let time = |s: &str| parse("time", &[s], "Alice@d");
        assert_eq!(time("25m"), Ok(Command::Time("alice@d".into(), 25)));
        assert_eq!(time("1h30m"), Ok(Command::Time("alice@d".into(), 90)));
        assert_eq!(time("2H"), Ok(Command::Time("alice@d".into(), 120)));
        for bad in ["25", "m", "0m", "1h30", "-5m", "99999999h", "1d"] {
            assert!(time(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse("time", &["5m"], ""),
            Ok(Command::Time("admin".into(), 5))
        );
    }

    #[test]
    fn commands_then_answer() {
        let p = parse_commands(
            "#status pending\n#priority HIGH\n\n#assign me\n#tag vip billing\nHello Carol,\n#not a command here\n",
            "Alice@desk.test",
        );
        assert_eq!(
            p.commands,
            vec![
                Command::Status(Status::Pending),
                Command::Priority(Priority::High),
                Command::Assign("alice@desk.test".into()),
                Command::Tag(vec!["vip".into(), "billing".into()]),
            ]
        );
        assert!(p.errors.is_empty());
        assert_eq!(p.body, "Hello Carol,\n#not a command here");
    }

    #[test]
    fn every_command_parses() {
        let p = parse_commands(
            "#queue billing\n#category refunds\n#untag vip\n#cc add Dave@x.test\n#cc remove e@x.test\n#merge ACME-7",
            "a@d",
        );
        assert_eq!(p.commands.len(), 6);
        assert!(p.body.is_empty());
    }

    #[test]
    fn bad_commands_are_reported_one_by_one() {
        let p = parse_commands("#status maybe\n#frobnicate\n#cc add nobody\nAnswer", "a@d");
        assert_eq!(p.errors.len(), 3, "{:?}", p.errors);
        assert!(p.errors[0].contains("status is one of"));
        assert!(p.errors[1].contains("the commands are status, priority"));
        assert_eq!(p.body, "Answer");
    }

    #[test]
    fn a_macro_line_splits_the_answer_where_it_stands() {
        let p = parse_commands(
            "#priority low\nHi Carol,\n\n#macro need-more-info\nAlice",
            "a@d",
        );
        assert_eq!(
            p.commands,
            vec![
                Command::Priority(Priority::Low),
                Command::Macro("need-more-info".into())
            ]
        );
        assert_eq!(p.body, "Hi Carol,");
        assert_eq!(p.below_macro.as_deref(), Some("Alice"));
        let p = parse_commands("#macro a\n\nThanks", "a@d");
        assert_eq!(
            (p.body.as_str(), p.below_macro.as_deref()),
            ("", Some("Thanks"))
        );
        // A second macro line never reaches the customer as text.
        let p = parse_commands("Hi\n#macro a\nmid\n#macro b\nend", "a@d");
        assert_eq!(p.commands.len(), 2);
        assert_eq!(p.below_macro.as_deref(), Some("mid\nend"));
        // Mentioning #macro inside a sentence is text.
        let p = parse_commands("Use #macro x for this, please.", "a@d");
        assert!(p.commands.is_empty() && p.below_macro.is_none());
    }

    #[test]
    fn note_takes_the_rest() {
        let p = parse_commands("#status open\n#note\nCustomer is on the old plan.", "a@d");
        assert_eq!(
            p.commands,
            vec![Command::Status(Status::Open), Command::Note]
        );
        assert_eq!(p.body, "Customer is on the old plan.");
        let p = parse_commands("#note call them back\nline two", "a@d");
        assert_eq!(p.body, "call them back\nline two");
    }

    #[test]
    fn the_table_and_the_parser_agree() {
        // Every command in the table parses with an example of its
        // arguments, and the help names each one.
        let help = help();
        for s in COMMANDS {
            assert!(help.contains(&format!("#{}", s.name)), "{}", s.name);
            let example: Vec<&str> = match s.name {
                "status" => vec!["open"],
                "priority" => vec!["high"],
                "assign" => vec!["me"],
                "cc" => vec!["add", "x@y.test"],
                "note" | "send" => vec![],
                "due" => vec!["friday"],
                "time" => vec!["1h30m"],
                "snooze" => vec!["3d"],
                "lang" => vec!["de"],
                _ => vec!["x"],
            };
            assert!(parse(s.name, &example, "a@d").is_ok(), "{}", s.name);
        }
    }

    #[test]
    fn readme_lists_every_command_as_the_table_defines_it() {
        let readme = include_str!("../../README.md");
        for s in COMMANDS {
            let shown = format!("#{} {}", s.name, s.args);
            let row = format!("| `{}` |", shown.trim().replace('|', "\\|"));
            assert!(
                readme.contains(&row),
                "README's table of agents' commands lacks `{row}`"
            );
            assert!(
                readme.contains(s.help),
                "README lacks the help of #{}",
                s.name
            );
        }
    }
}
