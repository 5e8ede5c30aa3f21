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

pub use crate::command::{parse_commands, Command, Parsed};

#[cfg(test)]
mod tests {
    use super::*;

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
