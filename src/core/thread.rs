//! Which ticket a message belongs to, in DESIGN.md's order. Pure: the shell
//! gathers [`Facts`] from the store, this module only chooses.
//!
//! The order is by trust. A signed token was written by us; a Message-ID
//! reference was copied by the sender's client from mail in the thread; a
//! subject tag can be typed by anyone, so it counts only from someone who is
//! already part of that ticket. A stranger who writes `[ACME-12]` into a
//! subject gets a ticket of their own, not a look at someone else's.

use crate::ticket::ThreadReason;

/// What the store knows that bears on threading one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The message's own Message-ID is already stored on this ticket.
    pub duplicate_of: Option<u64>,
    /// A recipient address with a valid token, and the (existing) ticket.
    pub token: Option<(String, u64)>,
    /// Ids from In-Reply-To then References (nearest first) that the desk
    /// has seen, sent, or been told of, with their ticket.
    pub known_references: Vec<(String, u64)>,
    /// A message already stored referenced this message's id before it
    /// arrived: the late parent joins its children's ticket.
    pub referenced_by: Option<(String, u64)>,
    /// Tickets named by subject tags that exist, and whether the sender is
    /// one of their participants.
    pub tagged: Vec<(u64, bool)>,
    /// The tag text as the subject had it, for the record.
    pub tag_prefix: String,
}

/// The choice for one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Threading {
    /// Already stored: nothing to do (the source may be marked done).
    Duplicate(u64),
    /// Joins an existing ticket.
    Existing(u64, ThreadReason),
    /// Opens a new ticket.
    New,
}

pub fn choose(facts: &Facts) -> Threading {
    if let Some(t) = facts.duplicate_of {
        return Threading::Duplicate(t);
    }
    if let Some((address, t)) = &facts.token {
        return Threading::Existing(
            *t,
            ThreadReason::Token {
                address: address.clone(),
            },
        );
    }
    if let Some((id, t)) = facts.known_references.first() {
        return Threading::Existing(
            *t,
            ThreadReason::Reference {
                message_id: id.clone(),
            },
        );
    }
    if let Some((id, t)) = &facts.referenced_by {
        return Threading::Existing(
            *t,
            ThreadReason::ReferencedBy {
                message_id: id.clone(),
            },
        );
    }
    if let Some((t, _)) = facts.tagged.iter().find(|(_, participant)| *participant) {
        return Threading::Existing(
            *t,
            ThreadReason::SubjectTag {
                tag: format!("[{}-{t}]", facts.tag_prefix),
            },
        );
    }
    Threading::New
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(t: Threading) -> Option<(u64, ThreadReason)> {
        match t {
            Threading::Existing(n, r) => Some((n, r)),
            _ => None,
        }
    }

    #[test]
    fn duplicate_wins_over_everything() {
        let f = Facts {
            duplicate_of: Some(3),
            token: Some(("a".into(), 1)),
            ..Facts::default()
        };
        assert_eq!(choose(&f), Threading::Duplicate(3));
    }

    #[test]
    fn token_beats_references_and_tags() {
        let f = Facts {
            token: Some(("support+ACME-1.x@d".into(), 1)),
            known_references: vec![("p@x".into(), 2)],
            tagged: vec![(3, true)],
            ..Facts::default()
        };
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(1));
    }

    #[test]
    fn references_beat_tags() {
        let f = Facts {
            known_references: vec![("p@x".into(), 2)],
            tagged: vec![(3, true)],
            ..Facts::default()
        };
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(2));
    }

    #[test]
    fn late_parent_joins_its_children() {
        let f = Facts {
            referenced_by: Some(("child@x".into(), 9)),
            ..Facts::default()
        };
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(9));
    }

    #[test]
    fn tag_only_from_a_participant() {
        let stranger = Facts {
            tagged: vec![(12, false)],
            tag_prefix: "ACME".into(),
            ..Facts::default()
        };
        assert_eq!(choose(&stranger), Threading::New);
        let participant = Facts {
            tagged: vec![(12, false), (13, true)],
            tag_prefix: "ACME".into(),
            ..Facts::default()
        };
        assert_eq!(
            choose(&participant),
            Threading::Existing(
                13,
                ThreadReason::SubjectTag {
                    tag: "[ACME-13]".into()
                }
            )
        );
    }

    #[test]
    fn nothing_known_is_new() {
        assert_eq!(choose(&Facts::default()), Threading::New);
    }
}
