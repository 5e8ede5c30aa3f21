//! The PostgreSQL engine answers intake's reads as the sled store does
//! (issue 20): a desk filled through the binary is moved into a fresh
//! database (`postdesk migrate --from sled`), then every primitive the
//! PostgreSQL engine has is asked the same question as the sled store.
//! Needs the test cluster (tests/pg/start.sh, POSTDESK_TEST_PG).

mod common;

use common::moved::{pipe_all, MovedDesk};
use common::{mail, test_pg};
use postdesk::store::engine::Intake;
use postdesk::store::Staged;

#[test]
fn the_postgres_engine_reads_what_the_sled_store_holds() {
    let ids = ["m1@customer.test", "m2@customer.test", "m3@customer.test"];
    let mails = [
        mail("Carol <carol@customer.test>", "Printer on fire", ids[0], "", "It burns. Urgent!"),
        mail("dave@customer.test", "Invoice", ids[1], "", "Wrong total."),
        mail(
            "Carol <carol@customer.test>",
            "Re: Printer on fire",
            ids[2],
            "In-Reply-To: <m1@customer.test>\r\nReferences: <m1@customer.test> <unseen@elsewhere.test>\r\n",
            "Still burning.",
        ),
    ];
    let MovedDesk {
        desk: _desk,
        db,
        engine: pg,
        store: sled,
    } = common::moved::moved_desk(
        "engine_reads",
        "\n[sla.high]\nfirst_response = \"1h\"\n",
        |t| pipe_all(t, &mails),
    );
    let none = Staged::default();

    let last = pg.last_ticket().expect("last ticket");
    assert_eq!(last, 2, "two tickets");
    assert_eq!(sled.next_ticket_number(&none).unwrap(), last + 1);
    for n in 1..=last + 1 {
        let json =
            |t: Option<postdesk::ticket::Ticket>| t.map(|t| serde_json::to_value(t).unwrap());
        assert_eq!(
            json(pg.ticket(n).unwrap()),
            json(sled.ticket(&none, n).unwrap()),
            "ticket {n}"
        );
    }
    for id in ids
        .iter()
        .chain(&["unseen@elsewhere.test", "never@seen.test"])
    {
        let key = postdesk::mail::msgid::key(id);
        assert_eq!(
            pg.id_entry(&key).unwrap(),
            sled.lookup_id(&none, id).unwrap(),
            "{id}"
        );
    }
    assert_eq!(
        pg.id_entry("unseen@elsewhere.test")
            .unwrap()
            .map(|e| e.kind),
        Some(postdesk::store::IdKind::Referenced)
    );
    assert_eq!(
        pg.last_outbox_id().unwrap() + 1,
        sled.next_outbox_id(&none).unwrap()
    );
    assert_eq!(pg.next_timer().unwrap(), sled.next_timer().unwrap());
    assert!(pg.next_timer().unwrap().is_some(), "the SLA set a deadline");
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    assert_eq!(
        pg.due_tickets(later, 10).unwrap(),
        sled.due_tickets(later, 10).unwrap()
    );
    for email in [
        "carol@customer.test",
        " Dave@Customer.test ",
        "nobody@x.test",
    ] {
        assert_eq!(
            pg.mark(email).unwrap(),
            sled.mark(&none, email).unwrap(),
            "{email}"
        );
        assert_eq!(
            pg.auto_sent(email).unwrap(),
            sled.auto_sent(&none, email).unwrap(),
            "{email}"
        );
    }
    assert_eq!(pg.counter("nope").unwrap(), None);
    assert_eq!(
        pg.cursor("nope").unwrap(),
        sled.cursor(&none, "nope").unwrap()
    );

    // The same decisions staged twice, written by each engine: each
    // reads back what the other does.
    let due = chrono::Utc::now() + chrono::Duration::hours(3);
    let fill = |staged: &mut Staged| {
        let mut t = sled.ticket(&none, 1).unwrap().expect("ticket 1");
        t.queue = "billing".into();
        t.assignee = Some("Ann@Desk.test".into());
        t.timer_due = Some(due);
        sled.stage_ticket(staged, &t);
        sled.stage_cursor(staged, "imap:inbox", b"uid 42");
        sled.stage_counter(staged, "round-robin/billing", 7);
        sled.stage_mark(staged, "dave@customer.test", None);
        sled.stage_auto_sent(staged, "Carol@customer.test", vec![due]);
        let id = sled.next_outbox_id(staged).unwrap();
        let entry: postdesk::outbox::Entry = serde_json::from_value(serde_json::json!({
            "id": id, "ticket": "ACME-1", "kind": "notify",
            "message_id": "<n1@desk.test>", "envelope_from": "support@desk.test",
            "recipients": ["ann@desk.test"], "subject": "New message", "size": 9,
            "created": due, "state": "queued", "attempts": 0, "next_attempt": due,
        }))
        .expect("entry");
        sled.stage_outgoing(
            staged,
            entry,
            Some(1),
            Some(("Ann@Desk.test", 2)),
            b"the mail\r\n",
        );
    };
    let (mut a, mut b) = (Staged::default(), Staged::default());
    fill(&mut a);
    fill(&mut b);
    pg.write(&a).expect("PostgreSQL write");
    sled.commit(&mut b).expect("sled commit");
    let json = |t: Option<postdesk::ticket::Ticket>| t.map(|t| serde_json::to_value(t).unwrap());
    assert_eq!(
        json(pg.ticket(1).unwrap()),
        json(sled.ticket(&none, 1).unwrap())
    );
    assert_eq!(
        pg.cursor("imap:inbox").unwrap().as_deref(),
        Some(&b"uid 42"[..])
    );
    assert_eq!(
        pg.cursor("imap:inbox").unwrap(),
        sled.cursor(&none, "imap:inbox").unwrap()
    );
    assert_eq!(pg.counter("round-robin/billing").unwrap(), Some(7));
    assert_eq!(sled.counter(&none, "round-robin/billing").unwrap(), 7);
    assert_eq!(pg.mark("dave@customer.test").unwrap(), None);
    assert_eq!(
        pg.auto_sent("carol@customer.test").unwrap(),
        sled.auto_sent(&none, "carol@customer.test").unwrap()
    );
    assert_eq!(
        pg.id_entry(&postdesk::mail::msgid::key("<n1@desk.test>"))
            .unwrap(),
        sled.lookup_id(&none, "<n1@desk.test>").unwrap()
    );
    assert_eq!(
        pg.notified("<n1@desk.test>").unwrap().as_deref(),
        Some("ann@desk.test 1 2")
    );
    assert_eq!(
        sled.notification(&none, "<n1@desk.test>").unwrap(),
        Some(("ann@desk.test".to_string(), Some((1, 2))))
    );
    assert_eq!(
        pg.last_outbox_id().unwrap() + 1,
        sled.next_outbox_id(&none).unwrap()
    );
    assert_eq!(pg.next_timer().unwrap(), sled.next_timer().unwrap());
    assert_eq!(
        pg.due_tickets(later, 10).unwrap(),
        sled.due_tickets(later, 10).unwrap()
    );

    // A new ticket with its first message, as intake stages it.
    let raw = mail(
        "Frank <frank@customer.test>",
        "Fax",
        "m9@customer.test",
        "References: <gone@elsewhere.test>\r\n",
        "The fax is silent.",
    );
    let stage_new = |staged: &mut Staged, packed: bool| {
        let number = sled.next_ticket_number(staged).unwrap();
        let mut ticket = sled.ticket(&none, 2).unwrap().expect("ticket 2");
        ticket.number = number;
        ticket.requester.email = "frank@customer.test".into();
        let mut record = sled.message_records(2).unwrap().remove(0);
        record.ticket = number;
        record.seq = 1;
        record.message_id = "m9@customer.test".into();
        record.size = raw.len();
        let d = postdesk::decide::Decision {
            ticket,
            created: true,
            record: Some(record),
            also: Vec::new(),
            remember_references: vec!["gone@elsewhere.test".into()],
            conversation: Some("conv:fax".into()),
            notices: Vec::new(),
            ack_suppressed: None,
            quiet: None,
            marks: Vec::new(),
            sent: Vec::new(),
            counters: Vec::new(),
            refused: Vec::new(),
            events: Vec::new(),
        };
        // Each engine's staged mail is packed by its own codec: sled's
        // (with its dictionary, when trained), PostgreSQL's (no dictionary
        // in this fresh database: the plain one).
        let mail = if packed {
            sled.codec().pack_mail(&raw)
        } else {
            postdesk::store::codec::plain().pack_mail(&raw)
        };
        sled.stage(staged, &d, &mail).unwrap();
    };
    let (mut a, mut b) = (Staged::default(), Staged::default());
    stage_new(&mut a, false);
    stage_new(&mut b, true);
    pg.write(&a).expect("PostgreSQL write of a new ticket");
    sled.commit(&mut b).expect("sled commit of a new ticket");
    assert_eq!(pg.last_ticket().unwrap(), 3);
    assert_eq!(
        json(pg.ticket(3).unwrap()),
        json(sled.ticket(&none, 3).unwrap())
    );
    for id in ["m9@customer.test", "gone@elsewhere.test", "conv:fax"] {
        assert_eq!(
            pg.id_entry(&postdesk::mail::msgid::key(id)).unwrap(),
            sled.lookup_id(&none, id).unwrap(),
            "{id}"
        );
    }
    let stored = common::psql(
        &test_pg(),
        &db.name,
        "SELECT packed || ' ' || (SELECT string_agg(convert_from(email, 'UTF8'), ',') \
         FROM customers WHERE ticket = 3) FROM messages WHERE ticket = 3 AND seq = 1",
    );
    let stored = String::from_utf8_lossy(&stored.stdout).trim().to_string();
    assert_eq!(stored, "true frank@customer.test");
    // The mail, unpacked, byte for byte as sled holds it.
    use postdesk::store::engine::Messages;
    assert_eq!(pg.raw_message(3, 1).unwrap().as_deref(), Some(&raw[..]));
    assert_eq!(sled.raw_message(3, 1).unwrap().as_deref(), Some(&raw[..]));
    let (pg_all, sled_all) = (pg.messages(3).unwrap(), sled.messages(3).unwrap());
    assert_eq!(pg_all.len(), 1);
    assert_eq!(pg_all[0].1, raw, "messages() unpacks");
    assert_eq!(
        serde_json::to_value(&pg_all[0].0).unwrap(),
        serde_json::to_value(&sled_all[0].0).unwrap()
    );
    for n in 1..=2 {
        let (p, s) = (pg.messages(n).unwrap(), sled.messages(n).unwrap());
        assert_eq!(p.len(), s.len(), "ticket {n}");
        for (a, b) in p.iter().zip(&s) {
            assert_eq!(a.1, b.1, "ticket {n}'s mail, moved and unpacked");
        }
    }
}

/// Nodes starting at once on a fresh database each offer a desk-wide
/// value (the token secret) and must all come away with the one stored.
/// An insert that waited for another node's and then did nothing used to
/// find no row in its own statement's snapshot, and the node refused to
/// start ("neither stored nor found").
#[test]
fn nodes_offering_a_desk_wide_value_at_once_all_read_the_one_stored() {
    use postdesk::store::engine::Shared;
    let db = common::moved::database("engine_shared_race");
    db.migrate();
    let settings = db.settings("pool = 2\n");
    let nodes = 6;
    let engines: Vec<postdesk::pg::engine::PgEngine> = (0..nodes)
        .map(|_| postdesk::pg::engine::PgEngine::connect(&settings).expect("connect"))
        .collect();
    for round in 0..30 {
        let key = format!("race_{round}");
        let gate = std::sync::Barrier::new(nodes);
        let got: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = engines
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let (gate, key) = (&gate, &key);
                    s.spawn(move || {
                        gate.wait();
                        e.shared_or_insert(key, format!("node {i}").as_bytes())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread").expect("every node reads a value"))
                .collect()
        });
        assert!(
            got.iter().all(|v| *v == got[0]),
            "round {round}: the nodes disagree: {got:?}"
        );
    }
}
