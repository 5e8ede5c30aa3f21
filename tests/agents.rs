//! Agents by mail, through the real desk and store: notifications, relayed
//! answers, notes, commands, forged senders, merges and late replies. The
//! outbox is read back and parsed, so what is asserted is what would be
//! sent. (tests/e2e_agents.rs does the same through Postfix and Dovecot.)

mod common;

use common::{mail, Options, TestDesk};
use postdesk::agent::Author;
use postdesk::api::Outcome;
use postdesk::decide::Mode;
use postdesk::desk::Desk;
use postdesk::mail::{parse, Inbound};

const AGENTS: &str = r#"
[[agent]]
email = "alice@desk.test"
name = "Alice"
queues = ["general"]

[[agent]]
email = "bob@desk.test"
name = "Bob"
queues = ["general"]

[[queue]]
name = "general"
"#;

fn desk_with(extra: &str) -> (TestDesk, Desk) {
    let t = TestDesk::with(Options {
        extra: format!("{AGENTS}\n{extra}"),
        ..Options::default()
    });
    let d = Desk::open(t.config()).expect("desk opens");
    (t, d)
}

fn ingest(d: &Desk, raw: &[u8]) -> Outcome {
    let o = d
        .ingest(raw, Some("main"), "test", Mode::Live)
        .expect("stored");
    d.flush().expect("flushed");
    o
}

/// Every queued mail so far, parsed, oldest first.
fn sent(d: &Desk) -> Vec<(String, Inbound)> {
    d.store()
        .outbox_entries()
        .unwrap()
        .into_iter()
        .map(|e| {
            let (_, bytes) = d.outgoing(e.id).unwrap().unwrap();
            (e.kind, parse(&bytes).unwrap())
        })
        .collect()
}

fn sent_to<'a>(all: &'a [(String, Inbound)], kind: &str, to: &str) -> Vec<&'a Inbound> {
    all.iter()
        .filter(|(k, m)| k == kind && m.to.iter().any(|p| p.email == to))
        .map(|(_, m)| m)
        .collect()
}

/// A new ticket from carol; returns the notification Alice got.
fn open_ticket(d: &Desk) -> Inbound {
    ingest(
        d,
        &mail(
            "Carol <carol@customer.test>",
            "Printer on fire",
            "c1@customer.test",
            "",
            "It burns.",
        ),
    );
    let all = sent(d);
    sent_to(&all, "agent_notify", "alice@desk.test")[0].clone()
}

fn agent_reply(from: &str, to: &str, in_reply_to: Option<&str>, body: &str, id: &str) -> Vec<u8> {
    let irt = in_reply_to
        .map(|i| format!("In-Reply-To: <{i}>\r\nReferences: <{i}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: [ACME-1] Printer on fire\r\nMessage-ID: <{id}>\r\n{irt}Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn ticket(d: &Desk, n: u64) -> postdesk::ticket::Ticket {
    d.store().ticket(&Default::default(), n).unwrap().unwrap()
}

#[test]
fn new_tickets_notify_each_agent_with_their_own_token() {
    let (_t, d) = desk_with("");
    let alice = open_ticket(&d);
    let all = sent(&d);
    assert_eq!(sent_to(&all, "ack", "carol@customer.test").len(), 1);
    assert_eq!(sent_to(&all, "agent_notify", "bob@desk.test").len(), 1);
    assert_eq!(alice.from.email, "support@desk.test");
    assert_eq!(alice.header("auto-submitted"), Some("auto-generated"));
    assert!(alice.text.contains("It burns."), "{}", alice.text);
    let reply_to = alice.reply_to.unwrap().email;
    assert!(reply_to.starts_with("support+acme-1.a"), "{reply_to}");
    let bob = &sent_to(&all, "agent_notify", "bob@desk.test")[0];
    assert_ne!(
        bob.reply_to.as_ref().unwrap().email,
        reply_to,
        "tokens are per agent"
    );
}

#[test]
fn an_agents_answer_is_relayed_under_the_desks_address() {
    let (_t, d) = desk_with("");
    let note = open_ticket(&d);
    let token = note.reply_to.clone().unwrap().email;
    let body = "Hello Carol, the fire brigade is on its way.\r\n\r\nOn Sun, 22 Nov 2026, Test Desk wrote:\r\n> It burns.";
    let o = ingest(
        &d,
        &agent_reply(
            "Alice <alice@desk.test>",
            &token,
            Some(&note.message_id),
            body,
            "a1@desk.test",
        ),
    );
    assert!(matches!(o, Outcome::Stored { created: false, .. }), "{o:?}");
    let all = sent(&d);
    let relayed = sent_to(&all, "reply", "carol@customer.test");
    assert_eq!(relayed.len(), 1);
    let r = relayed[0];
    assert_eq!(
        r.from.email, "support@desk.test",
        "never the agent's own address"
    );
    assert_eq!(r.from.name.as_deref(), Some("Alice at Test Desk"));
    assert!(
        !String::from_utf8_lossy(&d.outgoing(3).unwrap().unwrap().1).contains("alice@desk.test")
    );
    assert_eq!(r.in_reply_to, vec!["c1@customer.test"]);
    assert!(r.subject.contains("[ACME-1]"));
    assert!(r.text.contains("fire brigade"), "{}", r.text);
    assert!(
        !r.text.contains("> It burns"),
        "quoted text is not relayed: {}",
        r.text
    );
    assert_eq!(r.header("auto-submitted"), None, "a person's answer");
    let t = ticket(&d, 1);
    assert_eq!(t.status.as_str(), "pending");
    assert!(t.first_response.is_some());
    let recs = d.store().message_records(1).unwrap();
    assert!(matches!(&recs[1].author, Author::Agent { email, .. } if email == "alice@desk.test"));
}

#[test]
fn answering_the_notification_without_the_token_still_counts() {
    let (_t, d) = desk_with("");
    let note = open_ticket(&d);
    // Some clients answer From instead of Reply-To: In-Reply-To proves it.
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            "support@desk.test",
            Some(&note.message_id),
            "Done.",
            "a2@desk.test",
        ),
    );
    assert_eq!(sent_to(&sent(&d), "reply", "carol@customer.test").len(), 1);
}

#[test]
fn a_forged_agent_is_stored_flagged_and_never_relayed() {
    let (_t, d) = desk_with("");
    let alice_note = open_ticket(&d);
    let all = sent(&d);
    let bobs_token = sent_to(&all, "agent_notify", "bob@desk.test")[0]
        .reply_to
        .clone()
        .unwrap()
        .email;
    // Eve writes as Alice to the plain address; then as Alice through Bob's token.
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            "support@desk.test",
            None,
            "Refund approved! Send card number.",
            "f1@evil.test",
        ),
    );
    let mut with_ref = agent_reply(
        "alice@desk.test",
        &bobs_token,
        None,
        "Please confirm your password.",
        "f2@evil.test",
    );
    with_ref.splice(0..0, b"References: <c1@customer.test>\r\n".iter().copied());
    ingest(&d, &with_ref);
    let all = sent(&d);
    assert!(
        sent_to(&all, "reply", "carol@customer.test").is_empty(),
        "nothing relayed"
    );
    assert_eq!(
        sent_to(&all, "agent_notify", "admin@desk.test").len(),
        2,
        "the admin is told"
    );
    let recs = d.store().message_records(1).unwrap();
    let flagged: Vec<_> = recs
        .iter()
        .filter(|r| matches!(r.author, Author::Unverified { .. }))
        .collect();
    assert_eq!(flagged.len(), 1, "{recs:?}");
    assert!(flagged[0].flags[0].contains("claims to be agent"));
    let _ = alice_note;
}

#[test]
fn notes_stay_among_agents() {
    let (_t, d) = desk_with("");
    let note = open_ticket(&d);
    let token = note.reply_to.unwrap().email;
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            &token,
            None,
            "#note\nCarol is on the legacy plan; check with billing.",
            "n1@desk.test",
        ),
    );
    let all = sent(&d);
    assert!(sent_to(&all, "reply", "carol@customer.test").is_empty());
    let to_bob = sent_to(&all, "agent_notify", "bob@desk.test");
    assert_eq!(to_bob.len(), 2, "ticket notice and the note");
    assert!(to_bob[1].text.contains("legacy plan"), "{}", to_bob[1].text);
    assert!(
        sent_to(&all, "agent_notify", "alice@desk.test").len() == 1,
        "not back to its author"
    );
    let recs = d.store().message_records(1).unwrap();
    assert!(recs[1].internal);
}

#[test]
fn commands_change_the_ticket_and_mail_nobody() {
    let (_t, d) = desk_with("");
    let note = open_ticket(&d);
    let token = note.reply_to.unwrap().email;
    let before = sent(&d).len();
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            &token,
            None,
            "#priority urgent\n#assign bob@desk.test\n#tag vip fire\n#category facilities\n#cc add dave@customer.test\n#status open",
            "cmd1@desk.test",
        ),
    );
    let t = ticket(&d, 1);
    assert_eq!(t.priority.as_str(), "urgent");
    assert_eq!(t.assignee.as_deref(), Some("bob@desk.test"));
    assert_eq!(t.tags, vec!["vip", "fire"]);
    assert_eq!(t.category, "facilities");
    assert!(t.is_participant("dave@customer.test"));
    assert_eq!(t.status.as_str(), "open");
    assert_eq!(sent(&d).len(), before, "commands only: no mail");

    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            &token,
            None,
            "#untag vip\n#cc remove dave@customer.test\n#status resolved\n#assign me",
            "cmd2@desk.test",
        ),
    );
    let t = ticket(&d, 1);
    assert_eq!(t.tags, vec!["fire"]);
    assert!(!t.is_participant("dave@customer.test"));
    assert_eq!(t.status.as_str(), "resolved");
    assert!(t.resolved_at.is_some());
    assert_eq!(t.assignee.as_deref(), Some("alice@desk.test"));
}

#[test]
fn bad_commands_come_back_to_the_agent_in_one_mail() {
    let (_t, d) = desk_with("");
    let note = open_ticket(&d);
    let token = note.reply_to.unwrap().email;
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            &token,
            None,
            "#status someday\n#frobnicate\nThanks!",
            "bad1@desk.test",
        ),
    );
    let all = sent(&d);
    let back = sent_to(&all, "agent_notify", "alice@desk.test");
    assert_eq!(back.len(), 2);
    assert!(back[1].text.contains("#frobnicate"), "{}", back[1].text);
    assert!(
        back[1].text.contains("status is one of"),
        "{}",
        back[1].text
    );
    // The answer itself was still relayed.
    assert_eq!(sent_to(&all, "reply", "carol@customer.test").len(), 1);
}

#[test]
fn merge_joins_threads_and_later_mail_follows() {
    let (_t, d) = desk_with("");
    open_ticket(&d);
    ingest(
        &d,
        &mail(
            "carol@customer.test",
            "Also the printer",
            "c2@customer.test",
            "",
            "Same thing.",
        ),
    );
    let all = sent(&d);
    let note2 = sent_to(&all, "agent_notify", "alice@desk.test")
        .into_iter()
        .find(|m| m.subject.contains("ACME-2"))
        .unwrap()
        .clone();
    let token2 = note2.reply_to.unwrap().email;
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            &token2,
            None,
            "#merge ACME-1",
            "m1@desk.test",
        ),
    );
    let t2 = ticket(&d, 2);
    assert_eq!(t2.merged_into, Some(1));
    assert_eq!(t2.status.as_str(), "closed");
    assert_eq!(ticket(&d, 1).merged_from, vec![2]);
    // Carol answers the second ticket's thread: it lands on the first.
    let o = ingest(
        &d,
        &mail(
            "carol@customer.test",
            "Re: Also the printer",
            "c3@customer.test",
            "In-Reply-To: <c2@customer.test>\r\n",
            "more",
        ),
    );
    assert!(
        matches!(o, Outcome::Stored { ref ticket, .. } if ticket == "ACME-1"),
        "{o:?}"
    );
}

#[test]
fn late_replies_follow_the_policy() {
    for (policy, expect) in [("reopen", "reopen"), ("new", "new"), ("reject", "reject")] {
        let (_t, d) = desk_with(&format!("[agent_mail]\nafter_window = \"{policy}\"\n"));
        let note = open_ticket(&d);
        let token = note.reply_to.unwrap().email;
        ingest(
            &d,
            &agent_reply(
                "alice@desk.test",
                &token,
                None,
                "#status closed",
                &format!("close-{policy}@desk.test"),
            ),
        );
        let o = ingest(
            &d,
            &mail(
                "carol@customer.test",
                "Re: [ACME-1] Printer on fire",
                &format!("late-{policy}@c"),
                "In-Reply-To: <c1@customer.test>\r\n",
                "It is back.",
            ),
        );
        match expect {
            "reopen" => {
                assert!(matches!(o, Outcome::Stored { created: false, .. }));
                assert_eq!(ticket(&d, 1).status.as_str(), "open");
            }
            "new" => {
                assert!(matches!(o, Outcome::Stored { created: true, .. }), "{o:?}");
                assert_eq!(ticket(&d, 2).follows.as_deref(), Some("ACME-1"));
                assert_eq!(ticket(&d, 1).status.as_str(), "closed");
            }
            _ => {
                assert!(matches!(o, Outcome::Stored { created: false, .. }));
                assert_eq!(ticket(&d, 1).status.as_str(), "closed");
                let all = sent(&d);
                assert_eq!(
                    sent_to(&all, "status_closed", "carol@customer.test").len(),
                    1
                );
            }
        }
    }
}

#[test]
fn a_resolved_ticket_reopens_within_the_window() {
    let (_t, d) = desk_with("[agent_mail]\nafter_window = \"reject\"\n");
    let note = open_ticket(&d);
    let token = note.reply_to.unwrap().email;
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            &token,
            None,
            "#status resolved",
            "res@desk.test",
        ),
    );
    ingest(
        &d,
        &mail(
            "carol@customer.test",
            "Re: [ACME-1] Printer on fire",
            "again@c",
            "In-Reply-To: <c1@customer.test>\r\n",
            "Still burning",
        ),
    );
    assert_eq!(ticket(&d, 1).status.as_str(), "open");
}

#[test]
fn an_outsider_with_a_token_does_not_take_over() {
    let (_t, d) = desk_with("");
    open_ticket(&d);
    let token = d.signer().reply_address("support@desk.test", "ACME-1");
    let raw = format!("From: mallory@else.test\r\nTo: {token}\r\nSubject: hi\r\nMessage-ID: <o1@else.test>\r\nCc: mallory2@else.test\r\n\r\nI found this address.\r\n");
    ingest(&d, raw.as_bytes());
    let t = ticket(&d, 1);
    assert_eq!(t.requester.email, "carol@customer.test");
    assert!(!t.is_participant("mallory@else.test") && !t.is_participant("mallory2@else.test"));
    let recs = d.store().message_records(1).unwrap();
    assert!(matches!(recs[1].author, Author::Outsider { .. }));
    assert!(recs[1].flags[0].contains("not a participant"));
}

#[test]
fn required_authentication_results_are_checked() {
    let (_t, d) = desk_with(
        "[agent_mail]\nrequire_authentication = true\ntrusted_servers = [\"mx.desk.test\"]\n",
    );
    let note = open_ticket(&d);
    let token = note.reply_to.unwrap().email;
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            &token,
            None,
            "Unauthenticated answer",
            "u1@desk.test",
        ),
    );
    assert!(sent_to(&sent(&d), "reply", "carol@customer.test").is_empty());
    let mut ok = agent_reply(
        "alice@desk.test",
        &token,
        None,
        "Authenticated answer",
        "u2@desk.test",
    );
    ok.splice(
        0..0,
        b"Authentication-Results: mx.desk.test; dkim=pass header.d=desk.test\r\n"
            .iter()
            .copied(),
    );
    ingest(&d, &ok);
    assert_eq!(sent_to(&sent(&d), "reply", "carol@customer.test").len(), 1);
}

/// A customer's forward keeps what it forwards for the agents; an agent
/// who forwards the notification back (internal notes, their token in it)
/// has only their own words relayed.
#[test]
fn forwards_keep_the_forwarded_mail_for_agents_and_never_relay_it() {
    let (_t, d) = desk_with("");
    ingest(
        &d,
        b"From: Carol <carol@customer.test>\r\nTo: support@desk.test\r\nSubject: FW: Invoice 4711\r\nMessage-ID: <fw1@customer.test>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nSee below: I was charged twice.\r\n\r\nFrom: Billing <billing@shop.test>\r\nSent: Monday, November 16, 2026 9:00 AM\r\nTo: Carol\r\nSubject: Invoice 4711\r\n\r\nYour card was charged 49.00 EUR.\r\n",
    );
    let all = sent(&d);
    let notice = &sent_to(&all, "agent_notify", "alice@desk.test")[0];
    assert!(
        notice.text.contains("Your card was charged 49.00 EUR."),
        "{}",
        notice.text
    );
    let token = notice.reply_to.clone().unwrap().email;
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            &token,
            None,
            "#note\nShe is on the legacy plan; refund from the old account.",
            "n1@desk.test",
        ),
    );
    let forwarded = format!(
        "From: alice@desk.test\r\nTo: {token}\r\nSubject: FW: [ACME-1] FW: Invoice 4711\r\nMessage-ID: <a-fw@desk.test>\r\nDate: Sun, 22 Nov 2026 12:00:00 +0000\r\n\r\nWe refund you today.\r\n\r\nFrom: Test Desk <support@desk.test>\r\nSent: Sunday, November 22, 2026 11:00 AM\r\nTo: Alice\r\nSubject: [ACME-1] FW: Invoice 4711\r\n\r\n(internal note) She is on the legacy plan; refund from the old account.\r\nReply-To: {token}\r\n"
    );
    ingest(&d, forwarded.as_bytes());
    let all = sent(&d);
    let relayed = sent_to(&all, "reply", "carol@customer.test");
    assert_eq!(relayed.len(), 1);
    assert!(relayed[0].text.contains("We refund you today."));
    for secret in ["legacy plan", "internal note", token.as_str()] {
        assert!(
            !relayed[0].text.contains(secret),
            "{secret} leaked: {}",
            relayed[0].text
        );
    }
}

/// An agent who sends a reply with nothing written above the quote (the
/// notification, internal notes and all) sends the customer nothing, and
/// is told so; nor is an agent's bare signature relayed.
#[test]
fn a_reply_of_only_the_quote_sends_the_customer_nothing() {
    let (_t, d) = desk_with("");
    let note = open_ticket(&d);
    let token = note.reply_to.clone().unwrap().email;
    let before = sent(&d).len();
    let body = "On Sun, 22 Nov 2026, Test Desk wrote:\r\n> (internal note) legacy plan, refund from the old account\r\n> It burns.";
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            &token,
            Some(&note.message_id),
            body,
            "empty1@desk.test",
        ),
    );
    let all = sent(&d);
    assert!(sent_to(&all, "reply", "carol@customer.test").is_empty());
    assert_eq!(all.len(), before + 1, "only the word to the agent");
    let told = sent_to(&all, "agent_notify", "alice@desk.test");
    let last = told.last().unwrap();
    assert!(
        last.subject.contains("nothing was sent"),
        "{}",
        last.subject
    );
    assert!(d.store().message_records(1).unwrap()[1]
        .flags
        .iter()
        .any(|f| f.contains("nothing sent")));
    ingest(
        &d,
        &agent_reply(
            "alice@desk.test",
            &token,
            None,
            "-- \r\nAlice Agent\r\nalice@desk.test | +1 555 0100\r\n\r\nOn Sun, 22 Nov 2026, Test Desk wrote:\r\n> It burns.",
            "empty2@desk.test",
        ),
    );
    assert!(sent_to(&sent(&d), "reply", "carol@customer.test").is_empty());
}

/// The outbox list names mail not built yet by the subject it will have.
#[test]
fn the_outbox_lists_unbuilt_mail_with_its_subject() {
    let (_t, d) = desk_with("");
    open_ticket(&d);
    let postdesk::api::Response::Outbox(entries) = d.handle(postdesk::api::Request::ListOutbox)
    else {
        panic!("an outbox listing");
    };
    assert_eq!(
        entries.len(),
        3,
        "the acknowledgement and two notifications"
    );
    for e in &entries {
        assert!(e.planned, "not built before the worker runs");
        assert!(e.subject.starts_with("[ACME-1] "), "{:?}", e.subject);
        assert!(e.last_error.is_none());
    }
}
