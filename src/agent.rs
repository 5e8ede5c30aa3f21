//! Agents by mail: who counts as an agent, and the `#commands` an agent's
//! mail may carry. Pure; the shell gathers the facts.
//!
//! An agent is recognized by proof, not by the From header, which anyone can
//! write: the From must be a configured agent AND the mail must come back
//! through an address only that agent was given (the signed agent token in
//! the notification's Reply-To), or answer a notification sent to that
//! agent. Optionally the receiving server's `Authentication-Results` must
//! also show DKIM or SPF passing. Mail that claims an agent's From without
//! that proof is stored and flagged, never relayed.

use serde::{Deserialize, Serialize};

use crate::ticket::{Priority, Status};

/// Who wrote an inbound message, as far as the desk can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Author {
    /// The requester or a participant (someone copied on the ticket).
    #[default]
    Customer,
    /// A verified agent. `note`: the mail went to the note address.
    Agent { email: String, note_address: bool },
    /// From says an agent, but the proof is missing.
    Unverified { email: String, why: String },
    /// Wrote to the ticket's address without being part of it (a Bcc'd
    /// recipient, a forwarded-to colleague): stored, flagged, not trusted.
    Outsider { email: String },
}

/// The evidence the shell gathered about a message's sender.
#[derive(Debug, Clone, Default)]
pub struct Evidence<'a> {
    /// The configured agent whose address is in From, if any.
    pub agent: Option<&'a str>,
    /// The agent a verified agent token in a recipient address names, and
    /// whether it was the note address.
    pub token_agent: Option<(&'a str, bool)>,
    /// The agent a notification this mail answers was sent to.
    pub answered_notification_of: Option<&'a str>,
    /// `None` when authentication results are not required; else whether a
    /// trusted server reported DKIM or SPF passing.
    pub authenticated: Option<bool>,
    /// The sender is a participant of the ticket the mail joins (or it opens
    /// a new ticket).
    pub participant: bool,
}

pub fn author(from: &str, e: &Evidence<'_>) -> Author {
    let Some(agent) = e.agent else {
        return if e.participant {
            Author::Customer
        } else {
            Author::Outsider {
                email: from.to_string(),
            }
        };
    };
    let same = |a: &str| a.eq_ignore_ascii_case(agent);
    let note_address = matches!(e.token_agent, Some((a, true)) if same(a));
    let proven =
        e.token_agent.is_some_and(|(a, _)| same(a)) || e.answered_notification_of.is_some_and(same);
    let why = if !proven {
        Some("no agent token for this agent in the recipients and no answered notification")
    } else if e.authenticated == Some(false) {
        Some("no trusted Authentication-Results with dkim=pass or spf=pass")
    } else {
        None
    };
    match why {
        None => Author::Agent {
            email: agent.to_ascii_lowercase(),
            note_address,
        },
        Some(why) => Author::Unverified {
            email: agent.to_ascii_lowercase(),
            why: why.to_string(),
        },
    }
}

/// True when an `Authentication-Results` header (RFC 8601) from one of the
/// trusted servers says `dkim=pass` or `spf=pass`. Headers added by anyone
/// else are ignored: a sender can write any header it likes.
pub fn authenticated<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    trusted: &[String],
) -> bool {
    headers
        .filter(|(n, _)| n.eq_ignore_ascii_case("authentication-results"))
        .any(|(_, v)| {
            let mut parts = v.split(';');
            let server = parts
                .next()
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or_default();
            trusted.iter().any(|t| t.eq_ignore_ascii_case(server))
                && parts.any(|p| {
                    let p = p.trim().to_ascii_lowercase();
                    p.starts_with("dkim=pass") || p.starts_with("spf=pass")
                })
        })
}

/// One `#command` from the top of an agent's mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status(Status),
    Priority(Priority),
    /// `me` is resolved to the sending agent by the parser's caller.
    Assign(String),
    Queue(String),
    Category(String),
    Tag(Vec<String>),
    Untag(Vec<String>),
    CcAdd(String),
    CcRemove(String),
    Merge(String),
    Note,
}

/// What the top of an agent's mail said: the commands, the errors (one per
/// bad line), and the rest, which is the answer to relay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub commands: Vec<Command>,
    pub errors: Vec<String>,
    pub body: String,
}

pub const HELP: &str = "Reply above the quoted text to answer the customer. Lines at the very top starting with # are commands: #status open|pending|resolved|closed, #priority low|normal|high|urgent, #assign ADDRESS|me, #queue NAME, #category NAME, #tag WORD..., #untag WORD..., #cc add|remove ADDRESS, #merge REF, #note (the rest goes to agents only, never to the customer).";

/// Reads commands from the first lines of `text` (blank lines between them
/// are allowed); the first line that is not a command ends them. `me` in
/// `#assign me` becomes `agent`.
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
        let verb = words.next().unwrap_or_default().to_ascii_lowercase();
        let args: Vec<&str> = words.collect();
        let one = |what: &str| -> Result<String, String> {
            match args.as_slice() {
                [a] => Ok(a.to_string()),
                _ => Err(format!("`{t}`: #{verb} takes one {what}")),
            }
        };
        let cmd = match verb.as_str() {
            "status" => one("status").and_then(|s| {
                Status::parse(&s).map(Command::Status).ok_or_else(|| {
                    format!("`{t}`: status is one of new, open, pending, resolved, closed")
                })
            }),
            "priority" => one("priority").and_then(|s| {
                Priority::parse(&s).map(Command::Priority).ok_or_else(|| {
                    format!("`{t}`: priority is one of low, normal, high, urgent")
                })
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
            "tag" | "untag" => Err(format!("`{t}`: #{verb} needs at least one tag")),
            "cc" => match args.as_slice() {
                [op, addr] if addr.contains('@') => match op.to_ascii_lowercase().as_str() {
                    "add" => Ok(Command::CcAdd(addr.to_ascii_lowercase())),
                    "remove" => Ok(Command::CcRemove(addr.to_ascii_lowercase())),
                    _ => Err(format!("`{t}`: write #cc add ADDRESS or #cc remove ADDRESS")),
                },
                _ => Err(format!("`{t}`: write #cc add ADDRESS or #cc remove ADDRESS")),
            },
            "merge" => one("ticket reference").map(Command::Merge),
            "note" if args.is_empty() => {
                // `#note` ends the commands: everything after is the note.
                parsed.commands.push(Command::Note);
                break;
            }
            "note" => {
                // `#note some text` on one line: the text starts the note.
                parsed.commands.push(Command::Note);
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
            _ => Err(format!(
                "`{t}`: unknown command #{verb}; the commands are status, priority, assign, queue, category, tag, untag, cc, merge, note"
            )),
        };
        match cmd {
            Ok(c) => parsed.commands.push(c),
            Err(e) => parsed.errors.push(e),
        }
    }
    parsed.body = lines.collect::<Vec<_>>().join("\n").trim().to_string();
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(p.body, "Answer");
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
    fn authors() {
        let agent = "alice@desk.test";
        let proven = Evidence {
            agent: Some(agent),
            token_agent: Some((agent, false)),
            ..Evidence::default()
        };
        assert!(matches!(
            author(agent, &proven),
            Author::Agent {
                note_address: false,
                ..
            }
        ));
        let by_notification = Evidence {
            agent: Some(agent),
            answered_notification_of: Some(agent),
            ..Evidence::default()
        };
        assert!(matches!(
            author(agent, &by_notification),
            Author::Agent { .. }
        ));
        // Another agent's token proves nothing for Alice.
        let wrong = Evidence {
            agent: Some(agent),
            token_agent: Some(("bob@desk.test", false)),
            ..Evidence::default()
        };
        assert!(matches!(author(agent, &wrong), Author::Unverified { .. }));
        let unauthenticated = Evidence {
            authenticated: Some(false),
            ..proven.clone()
        };
        assert!(matches!(
            author(agent, &unauthenticated),
            Author::Unverified { .. }
        ));
        let customer = Evidence {
            participant: true,
            ..Evidence::default()
        };
        assert_eq!(author("c@x", &customer), Author::Customer);
        assert!(matches!(
            author("c@x", &Evidence::default()),
            Author::Outsider { .. }
        ));
    }

    #[test]
    fn authentication_results_only_from_trusted_servers() {
        let trusted = vec!["mx.desk.test".to_string()];
        let h = [(
            "authentication-results",
            "mx.desk.test; dkim=pass header.d=desk.test; spf=fail",
        )];
        assert!(authenticated(h.iter().copied(), &trusted));
        let forged = [("authentication-results", "evil.test; dkim=pass")];
        assert!(!authenticated(forged.iter().copied(), &trusted));
        let failing = [(
            "authentication-results",
            "mx.desk.test; dkim=fail; spf=softfail",
        )];
        assert!(!authenticated(failing.iter().copied(), &trusted));
    }
}
