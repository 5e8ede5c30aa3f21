//! Threading through the real desk and store (no daemon): the order of
//! DESIGN.md, duplicates, late parents and strangers quoting tags.

mod common;

use common::{mail, TestDesk};
use postdesk::api::Outcome;
use postdesk::decide::Mode;
use postdesk::desk::Desk;
use postdesk::ticket::ThreadReason;

fn ingest(desk: &Desk, raw: &[u8]) -> Outcome {
    desk.ingest(raw, Some("main"), "test", Mode::Live)
        .expect("store works")
}

fn ticket_of(o: &Outcome) -> String {
    match o {
        Outcome::Stored { ticket, .. } | Outcome::Duplicate { ticket } => ticket.clone(),
        other => panic!("not stored: {other:?}"),
    }
}

fn created(o: &Outcome) -> bool {
    matches!(o, Outcome::Stored { created: true, .. })
}

fn open() -> (TestDesk, Desk) {
    let t = TestDesk::new();
    let desk = Desk::open(t.config()).expect("desk opens");
    (t, desk)
}

#[test]
fn reply_with_only_references_joins_the_ticket() {
    let (_t, desk) = open();
    let first = ingest(
        &desk,
        &mail("carol@customer.test", "Printer", "p1@c", "", "broken"),
    );
    let reply = ingest(
        &desk,
        &mail(
            "carol@customer.test",
            "something else",
            "p2@c",
            "References: <x@y> <p1@c>\r\n",
            "still",
        ),
    );
    assert_eq!(ticket_of(&first), ticket_of(&reply));
    assert!(matches!(
        reply,
        Outcome::Stored {
            thread: ThreadReason::Reference { .. },
            ..
        }
    ));
}

#[test]
fn reply_via_signed_token_joins_the_ticket() {
    let (_t, desk) = open();
    let first = ingest(
        &desk,
        &mail("carol@customer.test", "Printer", "t1@c", "", "broken"),
    );
    let addr = desk
        .signer()
        .reply_address("support@desk.test", &ticket_of(&first));
    // A different sender, no references, no tag: only the token links it.
    let raw = format!(
        "From: dave@customer.test\r\nTo: {addr}\r\nSubject: new words\r\nMessage-ID: <t2@c>\r\n\r\nhello\r\n"
    );
    let reply = ingest(&desk, raw.as_bytes());
    assert_eq!(ticket_of(&first), ticket_of(&reply));
    assert!(matches!(
        reply,
        Outcome::Stored {
            thread: ThreadReason::Token { .. },
            ..
        }
    ));

    // Delivered-To (what Dovecot adds) counts as well, in any case.
    let raw = format!(
        "Delivered-To: {}\r\nFrom: dave@customer.test\r\nTo: support@desk.test\r\nSubject: x\r\nMessage-ID: <t3@c>\r\n\r\nhi\r\n",
        addr.to_uppercase()
    );
    assert_eq!(ticket_of(&ingest(&desk, raw.as_bytes())), ticket_of(&first));

    // A token with a forged MAC is just an address: a new ticket.
    let forged = addr.replace(
        &addr[addr.find('.').unwrap() + 1..addr.find('@').unwrap()],
        "0000000000",
    );
    let raw = format!(
        "From: eve@evil.test\r\nTo: {forged}\r\nSubject: x\r\nMessage-ID: <t4@c>\r\n\r\nhi\r\n"
    );
    assert!(created(&ingest(&desk, raw.as_bytes())));
}

#[test]
fn subject_tag_from_a_stranger_opens_a_new_ticket() {
    let (_t, desk) = open();
    let first = ingest(
        &desk,
        &mail("carol@customer.test", "Printer", "s1@c", "", "broken"),
    );
    let tag = format!("[{}]", ticket_of(&first));
    let stranger = ingest(
        &desk,
        &mail(
            "eve@evil.test",
            &format!("Re: {tag} Printer"),
            "s2@c",
            "",
            "let me in",
        ),
    );
    assert!(created(&stranger));
    assert_ne!(ticket_of(&first), ticket_of(&stranger));
    let owner = ingest(
        &desk,
        &mail(
            "Carol@Customer.test",
            &format!("Re: {tag} Printer"),
            "s3@c",
            "",
            "again",
        ),
    );
    assert_eq!(ticket_of(&first), ticket_of(&owner));
    assert!(matches!(
        owner,
        Outcome::Stored {
            thread: ThreadReason::SubjectTag { .. },
            ..
        }
    ));
}

#[test]
fn cc_participants_may_continue_by_tag() {
    let (_t, desk) = open();
    let first = ingest(
        &desk,
        &mail(
            "carol@customer.test",
            "Printer",
            "c1@c",
            "Cc: Dave <dave@customer.test>\r\n",
            "broken",
        ),
    );
    let tag = format!("[{}]", ticket_of(&first));
    let dave = ingest(
        &desk,
        &mail(
            "dave@customer.test",
            &format!("{tag} me too"),
            "c2@c",
            "",
            "same",
        ),
    );
    assert_eq!(ticket_of(&first), ticket_of(&dave));
}

#[test]
fn localized_reply_prefixes_thread_and_name_the_ticket() {
    let (_t, desk) = open();
    let first = ingest(
        &desk,
        &mail(
            "carol@customer.test",
            "WG: AW: Drucker kaputt",
            "l1@c",
            "",
            "x",
        ),
    );
    let reference = ticket_of(&first);
    for (i, prefix) in ["AW:", "WG:", "SV:", "Antw:", "RE:", "TR:", "RV:", "回复:"]
        .iter()
        .enumerate()
    {
        let subject = format!("{prefix} [{reference}] Drucker kaputt");
        let o = ingest(
            &desk,
            &mail(
                "carol@customer.test",
                &subject,
                &format!("l{}@c", i + 2),
                "",
                "y",
            ),
        );
        assert_eq!(ticket_of(&o), reference, "{prefix}");
    }
    desk.flush().unwrap();
    let view = desk
        .store()
        .ticket(&Default::default(), 1)
        .unwrap()
        .unwrap();
    assert_eq!(view.subject, "Drucker kaputt");
    assert_eq!(view.message_count, 9);
}

#[test]
fn missing_message_id_is_deduplicated_by_content() {
    let (_t, desk) = open();
    let raw = b"Received: from a by b\r\nFrom: carol@customer.test\r\nTo: support@desk.test\r\nSubject: no id\r\n\r\nbody\r\n";
    let again = b"Received: from c by d\r\nFrom: carol@customer.test\r\nTo: support@desk.test\r\nSubject: no id\r\n\r\nbody\r\n";
    let first = ingest(&desk, raw);
    assert!(created(&first));
    assert!(matches!(ingest(&desk, again), Outcome::Duplicate { .. }));
    let other = b"From: carol@customer.test\r\nTo: support@desk.test\r\nSubject: no id\r\n\r\nanother body\r\n";
    assert!(created(&ingest(&desk, other)));
}

#[test]
fn the_same_message_twice_is_stored_once() {
    let (_t, desk) = open();
    let raw = mail("carol@customer.test", "Printer", "d1@c", "", "broken");
    let first = ingest(&desk, &raw);
    let second = ingest(&desk, &raw);
    assert!(matches!(second, Outcome::Duplicate { .. }));
    assert_eq!(ticket_of(&first), ticket_of(&second));
    desk.flush().unwrap();
    assert_eq!(desk.store().messages(1).unwrap().len(), 1);
}

#[test]
fn a_reply_that_arrives_before_its_parent_shares_its_ticket() {
    let (_t, desk) = open();
    let child = ingest(
        &desk,
        &mail(
            "carol@customer.test",
            "Re: Printer",
            "child@c",
            "In-Reply-To: <parent@c>\r\nReferences: <parent@c>\r\n",
            "reply",
        ),
    );
    assert!(created(&child));
    let parent = ingest(
        &desk,
        &mail("carol@customer.test", "Printer", "parent@c", "", "original"),
    );
    assert_eq!(ticket_of(&child), ticket_of(&parent));
    assert!(matches!(
        parent,
        Outcome::Stored {
            thread: ThreadReason::ReferencedBy { .. },
            ..
        }
    ));
    // A sibling that also only knows the parent joins the same ticket.
    let sibling = ingest(
        &desk,
        &mail(
            "dave@customer.test",
            "Re: Printer",
            "sib@c",
            "In-Reply-To: <parent@c>\r\n",
            "me too",
        ),
    );
    assert_eq!(ticket_of(&child), ticket_of(&sibling));
}

#[test]
fn unparseable_mail_is_quarantined_not_lost() {
    let (_t, desk) = open();
    let o = ingest(&desk, b"\x00\x01garbage\x00");
    let Outcome::Quarantined { id, not_mail, .. } = o else {
        panic!("{o:?}")
    };
    assert!(not_mail);
    let (entry, raw) = desk.store().quarantined_entry(&id).unwrap().unwrap();
    assert_eq!(raw, b"\x00\x01garbage\x00");
    assert!(entry.reason.contains("not mail"));
    let no_sender = ingest(&desk, b"Subject: who am I\r\n\r\nbody\r\n");
    assert!(matches!(
        no_sender,
        Outcome::Quarantined {
            not_mail: false,
            ..
        }
    ));
}

#[test]
fn ticket_numbers_are_sequential_and_survive_reopen() {
    let t = TestDesk::new();
    {
        let desk = Desk::open(t.config()).unwrap();
        for i in 0..3 {
            ingest(
                &desk,
                &mail("carol@customer.test", "x", &format!("n{i}@c"), "", "b"),
            );
        }
        desk.flush().unwrap();
    }
    let desk = Desk::open(t.config()).unwrap();
    let o = ingest(&desk, &mail("carol@customer.test", "x", "n9@c", "", "b"));
    assert_eq!(ticket_of(&o), "ACME-4");
}

#[test]
fn a_message_that_links_two_tickets_joins_them_and_old_references_follow() {
    let (_t, desk) = open();
    let carol = "carol@customer.test";
    // C (a reply to B) comes first, then the root A, then B between them.
    let c = ingest(
        &desk,
        &mail(carol, "Re: Fan", "j.c@c", "In-Reply-To: <j.b@c>\r\n", "c"),
    );
    let a = ingest(&desk, &mail(carol, "Fan", "j.a@c", "", "a"));
    assert_eq!(ticket_of(&c), "ACME-1");
    assert_eq!(ticket_of(&a), "ACME-2");
    let b = ingest(
        &desk,
        &mail(carol, "Re: Fan", "j.b@c", "In-Reply-To: <j.a@c>\r\n", "b"),
    );
    assert_eq!(ticket_of(&b), "ACME-1", "the older ticket survives");
    desk.flush().unwrap();
    let store = desk.store();
    let joined = store.ticket(&Default::default(), 2).unwrap().unwrap();
    assert_eq!(joined.merged_into, Some(1));
    let survivor = store.ticket(&Default::default(), 1).unwrap().unwrap();
    assert_eq!(survivor.merged_from, vec![2]);
    let records = store.message_records(1).unwrap();
    let why = records
        .iter()
        .find(|r| r.message_id == "j.b@c")
        .unwrap()
        .flags
        .join("; ");
    assert!(
        why.contains("joined ACME-2 into ACME-1: message <j.b@c> links both threads"),
        "{why}"
    );
    // What named the joined ticket names the survivor now: a reply to its
    // message, and its subject tag.
    let reply = ingest(
        &desk,
        &mail(carol, "Re: Fan", "j.d@c", "In-Reply-To: <j.a@c>\r\n", "d"),
    );
    assert_eq!(ticket_of(&reply), "ACME-1");
    let tagged = ingest(&desk, &mail(carol, "[ACME-2] Fan", "j.e@c", "", "e"));
    assert_eq!(ticket_of(&tagged), "ACME-1");
}

#[test]
fn a_stranger_naming_two_customers_messages_joins_nothing() {
    let (_t, desk) = open();
    let carol = ingest(
        &desk,
        &mail("carol@customer.test", "Refund", "s.a@c", "", "a"),
    );
    let dave = ingest(&desk, &mail("dave@other.test", "Hinge", "s.d@o", "", "d"));
    let eve = ingest(
        &desk,
        &mail(
            "eve@evil.test",
            "Re: Hinge",
            "s.e@e",
            "In-Reply-To: <s.d@o>\r\nReferences: <s.a@c> <s.d@o>\r\n",
            "e",
        ),
    );
    // Her message sits in the ticket her In-Reply-To names, as an
    // outsider's; the two customers' tickets stay apart.
    assert_eq!(ticket_of(&eve), ticket_of(&dave));
    desk.flush().unwrap();
    let store = desk.store();
    for n in [1, 2] {
        let t = store.ticket(&Default::default(), n).unwrap().unwrap();
        assert_eq!(t.merged_into, None);
        assert!(t.merged_from.is_empty());
    }
    assert_ne!(ticket_of(&carol), ticket_of(&dave));
}

#[test]
fn ids_match_whatever_their_case_spacing_or_brackets() {
    let (_t, desk) = open();
    let first = ingest(
        &desk,
        &mail(
            "carol@customer.test",
            "Label",
            "Case.Root@Mail.Example",
            "",
            "a",
        ),
    );
    for (i, header) in [
        "In-Reply-To: <case.root@mail.example>\r\n",
        "In-Reply-To: case.root@MAIL.example\r\n",
        "In-Reply-To: <case.root@mail.example> (Carol's message of Tue)\r\n",
        "References: <x@y>,\r\n\t<CASE.ROOT@mail.example>\r\n",
    ]
    .iter()
    .enumerate()
    {
        let o = ingest(
            &desk,
            &mail(
                "carol@customer.test",
                "Re: Label",
                &format!("case.{i}@c"),
                header,
                "b",
            ),
        );
        assert_eq!(ticket_of(&o), ticket_of(&first), "{header}");
    }
    // The same mail again, its id in another case: stored once.
    let again = ingest(
        &desk,
        &mail(
            "carol@customer.test",
            "Label",
            "CASE.ROOT@mail.example",
            "",
            "a",
        ),
    );
    assert!(matches!(again, Outcome::Duplicate { .. }));
}
