//! Which ticket a message belongs to, in DESIGN.md's order. Pure: the shell
//! gathers [`Facts`] from the store, this module only chooses.
//!
//! The order is by trust. A signed token was written by us; a Message-ID
//! reference was copied by the sender's client from mail in the thread; a
//! subject tag can be typed by anyone, so it counts only from someone who is
//! already part of that ticket. A stranger who writes `[ACME-12]` into a
//! subject gets a ticket of their own, not a look at someone else's.
//!
//! Mail arrives in any order (a reply before its parent, two branches
//! before the message between them), so the index also remembers ids that
//! stored mail *mentions* but the desk never saw, with the ticket that
//! mentioned them (the first to mention one keeps it). A message reached
//! through such an id is placed like a reply: in that ticket, and when its
//! sender takes no part in it, flagged as an outsider's (stored, shown to
//! agents, never relayed) — the same policy as for a stranger's reply to
//! a stored message.
//!
//! One message can prove two tickets are one thread (it replies into one
//! and the other replied to it, or its references name both). Then they
//! are joined ([`Choice::joins`]): into the oldest, the way `tickets
//! merge` does, but only where that exposes nobody's mail to a stranger:
//! tickets of different requesters are joined only when the sender takes
//! part in both.
//! The subject alone never links anything.

use crate::ticket::ThreadReason;

/// A ticket a message is linked to, as far as the decision needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Linked {
    /// The ticket, after earlier merges were followed.
    pub number: u64,
    /// Its requester's address.
    pub requester: String,
    /// The sender of the message is one of its participants.
    pub participant: bool,
}

/// An id the message names that the index knows.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub message_id: String,
    /// The ticket it belongs to (merges followed).
    pub ticket: u64,
    /// A message with this id was stored or sent; `false`: only mentioned
    /// by another message so far.
    pub seen: bool,
}

/// What the store knows that bears on threading one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The message's own Message-ID is already stored on this ticket.
    pub duplicate_of: Option<u64>,
    /// A recipient address with a valid token, and the (existing) ticket.
    pub token: Option<(String, u64)>,
    /// Ids from In-Reply-To then References (nearest first) that the desk
    /// has seen, sent, or been told of, with their ticket.
    pub known_references: Vec<Known>,
    /// A message already stored referenced this message's id before it
    /// arrived: the late parent joins its children's ticket.
    pub referenced_by: Option<(String, u64)>,
    /// The ticket of the message's Outlook conversation (see
    /// [`conversation_key`]), for mail that names no parent at all.
    pub conversation: Option<u64>,
    /// Every ticket above (token, references, referenced-by,
    /// conversation), once each.
    pub linked: Vec<Linked>,
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

/// Another ticket the message proves to be the same thread as the one it
/// joins: it is merged into that one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub ticket: u64,
    /// The Message-ID (or the message's own, for a late parent) that links
    /// it, for the record.
    pub via: String,
}

/// [`choose`]'s answer with the tickets to join.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub threading: Threading,
    /// Higher-numbered tickets to merge into the chosen one, if any.
    pub joins: Vec<Join>,
}

pub fn choose(facts: &Facts) -> Threading {
    decide_links(facts).threading
}

/// The ticket a message joins and the tickets it joins with it.
pub fn decide_links(facts: &Facts) -> Choice {
    let plain = |threading| Choice {
        threading,
        joins: Vec::new(),
    };
    if let Some(t) = facts.duplicate_of {
        return plain(Threading::Duplicate(t));
    }
    let links = links(facts);
    let Some((first, _, _)) = links.first() else {
        if let Some((t, _)) = facts.tagged.iter().find(|(_, participant)| *participant) {
            return plain(Threading::Existing(
                *t,
                ThreadReason::SubjectTag {
                    tag: format!("[{}-{t}]", facts.tag_prefix),
                },
            ));
        }
        return plain(Threading::New);
    };
    // The tickets this message may fold together: the first link's, then
    // every other that each one already taken may be joined with.
    let mut group: Vec<u64> = vec![*first];
    for (t, _, _) in &links {
        if !group.contains(t) && group.iter().all(|m| joinable(facts, *t, *m)) {
            group.push(*t);
        }
    }
    let survivor = group.iter().copied().min().unwrap_or(*first);
    let reason = links
        .iter()
        .find(|(t, _, _)| *t == survivor)
        .map(|(_, _, r)| r.clone())
        .unwrap_or(ThreadReason::New);
    let joins = group
        .iter()
        .filter(|t| **t != survivor)
        .filter_map(|t| {
            links
                .iter()
                .find(|(n, _, _)| n == t)
                .map(|(_, via, _)| Join {
                    ticket: *t,
                    via: via.clone(),
                })
        })
        .collect();
    Choice {
        threading: Threading::Existing(survivor, reason),
        joins,
    }
}

/// Every link that counts, strongest first: (ticket, the id that links
/// it, why). A conversation counts only for a participant of its ticket.
fn links(facts: &Facts) -> Vec<(u64, String, ThreadReason)> {
    let mut out = Vec::new();
    if let Some((address, t)) = &facts.token {
        out.push((
            *t,
            address.clone(),
            ThreadReason::Token {
                address: address.clone(),
            },
        ));
    }
    for k in &facts.known_references {
        out.push((
            k.ticket,
            k.message_id.clone(),
            ThreadReason::Reference {
                message_id: k.message_id.clone(),
            },
        ));
    }
    if let Some((id, t)) = &facts.referenced_by {
        out.push((
            *t,
            id.clone(),
            ThreadReason::ReferencedBy {
                message_id: id.clone(),
            },
        ));
    }
    if let Some(t) = facts.conversation {
        if participant(facts, t) {
            out.push((t, "Thread-Index".into(), ThreadReason::Conversation));
        }
    }
    out
}

fn linked(facts: &Facts, t: u64) -> Option<&Linked> {
    facts.linked.iter().find(|l| l.number == t)
}

fn participant(facts: &Facts, t: u64) -> bool {
    linked(facts, t).is_some_and(|l| l.participant)
}

/// Whether one message may fold tickets `a` and `b` together: the same
/// requester's tickets always (whoever links them, all their mail still
/// goes to that one customer); different requesters' only when the sender
/// takes part in both, so nobody's thread is shown to the other.
fn joinable(facts: &Facts, a: u64, b: u64) -> bool {
    let (Some(x), Some(y)) = (linked(facts, a), linked(facts, b)) else {
        return false;
    };
    x.requester.eq_ignore_ascii_case(&y.requester) || (x.participant && y.participant)
}

/// The key of a message's Outlook conversation: the 22-byte base of its
/// `Thread-Index` (a FILETIME and a GUID Outlook draws when a conversation
/// starts; replies append 5 bytes each) with the conversation's topic
/// (`Thread-Topic`, else the subject without prefixes), lowercase.
///
/// Used only as a fallback, and cautiously: Exchange and Outlook carry the
/// base across replies even when `In-Reply-To`/`References` are lost, but
/// a base can be copied like any header. So it is keyed with the topic
/// (a new subject in an old conversation is a new matter), looked up only
/// for mail that names no parent at all, and it links only a participant
/// of the ticket found (see [`Facts::conversation`]).
pub fn conversation_key(thread_index: &str, topic: &str) -> Option<String> {
    let compact: String = thread_index.split_whitespace().collect();
    let bytes = base64(&compact)?;
    if bytes.len() < 22 || (bytes.len() - 22) % 5 != 0 || bytes.iter().all(|b| *b == 0) {
        return None;
    }
    let hex: String = bytes[..22].iter().map(|b| format!("{b:02x}")).collect();
    let topic: String = topic
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if topic.is_empty() {
        return None;
    }
    Some(format!("outlook-conversation:{hex}:{topic}"))
}

/// [`conversation_key`] of a message with a `Thread-Index`.
pub fn conversation_of(msg: &crate::mail::Inbound) -> Option<String> {
    let index = msg.header("thread-index")?;
    let topic = msg
        .header("thread-topic")
        .map(str::to_string)
        .unwrap_or_else(|| crate::mail::subject::strip_prefixes(&msg.subject).to_string());
    conversation_key(index, &topic)
}

/// Whether a message names a parent at all (`In-Reply-To` or
/// `References`): then those, known or not, say where it belongs and its
/// Outlook conversation is not asked.
pub fn names_a_parent(msg: &crate::mail::Inbound) -> bool {
    !msg.in_reply_to.is_empty() || !msg.references.is_empty()
}

/// Standard base64 (padding optional); `None` for anything else. A
/// Thread-Index is a few dozen characters: longer input is not one.
fn base64(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() > 1024 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
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

    fn seen(id: &str, ticket: u64) -> Known {
        Known {
            message_id: id.into(),
            ticket,
            seen: true,
        }
    }

    fn unseen(id: &str, ticket: u64) -> Known {
        Known {
            seen: false,
            ..seen(id, ticket)
        }
    }

    fn ticket(number: u64, requester: &str, participant: bool) -> Linked {
        Linked {
            number,
            requester: requester.into(),
            participant,
        }
    }

    fn joins(f: &Facts) -> Vec<u64> {
        decide_links(f).joins.iter().map(|j| j.ticket).collect()
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
            known_references: vec![seen("p@x", 2)],
            tagged: vec![(3, true)],
            ..Facts::default()
        };
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(1));
    }

    #[test]
    fn references_beat_tags() {
        let f = Facts {
            known_references: vec![seen("p@x", 2)],
            tagged: vec![(3, true)],
            ..Facts::default()
        };
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(2));
    }

    #[test]
    fn a_stored_reference_threads_even_a_strangers_reply() {
        // The reply lands in the ticket; the intake flags the outsider.
        let f = Facts {
            known_references: vec![seen("p@x", 2)],
            linked: vec![ticket(2, "carol@c", false)],
            ..Facts::default()
        };
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(2));
    }

    #[test]
    fn late_parent_joins_its_children() {
        let f = Facts {
            referenced_by: Some(("child@x".into(), 9)),
            linked: vec![ticket(9, "carol@c", true)],
            ..Facts::default()
        };
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(9));
    }

    #[test]
    fn a_mention_threads_like_a_reply_a_conversation_only_a_participant() {
        // An id only mentioned so far places the message like a reply
        // (an outsider's is flagged by the intake).
        let sibling = Facts {
            known_references: vec![unseen("root@c", 4)],
            linked: vec![ticket(4, "eve@e", false)],
            ..Facts::default()
        };
        assert_eq!(reason(choose(&sibling)).map(|r| r.0), Some(4));
        let conversation = Facts {
            conversation: Some(4),
            linked: vec![ticket(4, "eve@e", false)],
            ..Facts::default()
        };
        assert_eq!(choose(&conversation), Threading::New);
        let participant = Facts {
            conversation: Some(4),
            linked: vec![ticket(4, "eve@e", true)],
            ..Facts::default()
        };
        assert_eq!(
            choose(&participant),
            Threading::Existing(4, ThreadReason::Conversation)
        );
    }

    #[test]
    fn a_message_linking_two_tickets_joins_them_into_the_older() {
        // B replies into ticket 3 and ticket 1 already answered B.
        let f = Facts {
            known_references: vec![seen("a@x", 3)],
            referenced_by: Some(("b@x".into(), 1)),
            linked: vec![ticket(3, "carol@c", true), ticket(1, "carol@c", true)],
            ..Facts::default()
        };
        let c = decide_links(&f);
        assert_eq!(
            c.threading,
            Threading::Existing(
                1,
                ThreadReason::ReferencedBy {
                    message_id: "b@x".into()
                }
            )
        );
        assert_eq!(
            c.joins,
            vec![Join {
                ticket: 3,
                via: "a@x".into()
            }]
        );
    }

    #[test]
    fn every_reference_counts_not_only_the_first() {
        let f = Facts {
            known_references: vec![seen("p@x", 5), seen("q@x", 2), seen("r@x", 7)],
            linked: vec![
                ticket(5, "carol@c", true),
                ticket(2, "carol@c", false),
                ticket(7, "carol@c", true),
            ],
            ..Facts::default()
        };
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(2));
        assert_eq!(joins(&f), vec![5, 7]);
    }

    #[test]
    fn different_requesters_join_only_through_a_participant_of_both() {
        let mut f = Facts {
            known_references: vec![unseen("a@x", 2)],
            referenced_by: Some(("b@x".into(), 1)),
            linked: vec![ticket(2, "erin@c", true), ticket(1, "carol@c", true)],
            ..Facts::default()
        };
        assert_eq!(joins(&f), vec![2]);
        // Seen links, a sender in only one of them: the message joins its
        // nearest reference's ticket and nothing is folded.
        f.known_references = vec![seen("a@x", 2), seen("c@x", 1)];
        f.referenced_by = None;
        f.linked = vec![ticket(2, "erin@c", true), ticket(1, "carol@c", false)];
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(2));
        assert!(joins(&f).is_empty());
    }

    #[test]
    fn a_stranger_quoting_ids_joins_nothing() {
        // Eve's reply names her own ticket 5 and Carol's ticket 1.
        let f = Facts {
            known_references: vec![seen("e1@e", 5), seen("carol-a@c", 1)],
            linked: vec![ticket(5, "eve@e", true), ticket(1, "carol@c", false)],
            ..Facts::default()
        };
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(5));
        assert!(joins(&f).is_empty());
        // Two tickets of one customer may be joined by anyone: all their
        // mail still goes to that customer.
        let f = Facts {
            known_references: vec![seen("a@c", 3), seen("b@c", 1)],
            linked: vec![ticket(3, "carol@c", false), ticket(1, "Carol@c", false)],
            ..Facts::default()
        };
        assert_eq!(reason(choose(&f)).map(|r| r.0), Some(1));
        assert_eq!(joins(&f), vec![3]);
    }

    #[test]
    fn a_group_is_joined_only_where_every_pair_may_be() {
        // 1 and 2 share a requester; 3 is Dave's, and the sender takes
        // part in 3 and 1 but not 2: 3 may not join 2's mail.
        let f = Facts {
            known_references: vec![seen("a@x", 1), seen("b@x", 2), seen("c@x", 3)],
            linked: vec![
                ticket(1, "carol@c", true),
                ticket(2, "carol@c", false),
                ticket(3, "dave@c", true),
            ],
            ..Facts::default()
        };
        assert_eq!(joins(&f), vec![2]);
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

    #[test]
    fn conversation_keys_take_the_base_and_the_topic() {
        // 22 bytes of base, then one 5-byte reply block.
        let base = "AQHbVRAgWlpaWlpaWlpaWlpaWlpaWg==";
        let reply = "AQHbVRAgWlpaWlpaWlpaWlpaWlpaWgAAECAw";
        let a = conversation_key(base, "Badge  reader offline");
        assert!(a.is_some());
        assert_eq!(a, conversation_key(reply, "badge reader offline"));
        assert_ne!(a, conversation_key(reply, "Unrelated"));
        assert_eq!(conversation_key("AQHb", "x"), None);
        assert_eq!(conversation_key("not base64!", "x"), None);
        assert_eq!(conversation_key(base, "  "), None);
    }
}
