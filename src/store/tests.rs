//! Unit tests of `store.rs`.

use super::*;

#[test]
fn id_entries_round_trip() {
    for kind in [
        IdKind::Stored,
        IdKind::Sent,
        IdKind::Referenced,
        IdKind::Conversation,
    ] {
        let e = IdEntry { kind, ticket: 42 };
        assert_eq!(IdEntry::decode(&e.encode()), Some(e));
    }
    assert_eq!(IdEntry::decode(&[9, 0]), None);
}

#[test]
fn second_open_reports_lock_and_quarantine_dedupes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    match Store::open(dir.path()) {
        Err(StoreError::Locked { .. }) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
    let now = Utc::now();
    let a = store.quarantine(b"junk", "not mail", "test", now).unwrap();
    let b = store.quarantine(b"junk", "not mail", "test", now).unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(b.arrivals, 2);
    assert_eq!(store.quarantined().unwrap().len(), 1);
    let (_, raw) = store.quarantined_entry(&a.id).unwrap().unwrap();
    assert_eq!(raw, b"junk");
}

fn queued(id: u64, at: DateTime<Utc>) -> outbox::Entry {
    outbox::Entry {
        id,
        ticket: Some(format!("ACME-{id}")),
        kind: "ack".into(),
        message_id: format!("m{id}@desk.test"),
        envelope_from: "support@desk.test".into(),
        recipients: vec!["carol@customer.test".into()],
        subject: "s".into(),
        size: 5,
        created: at,
        state: outbox::State::Queued,
        attempts: 0,
        next_attempt: at,
        last_error: None,
        sent_at: None,
        planned: false,
        in_flight: false,
        unconfirmed: 0,
    }
}

#[test]
fn outbox_attempts_are_recorded_together_and_keep_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = Utc::now();
    let mut staged = Staged::default();
    for id in 1..=3 {
        store.stage_outgoing(&mut staged, queued(id, now), Some(id), None, b"bytes");
    }
    store.commit(&mut staged).unwrap();
    assert_eq!(store.due_outbox(now, 10).unwrap().len(), 3);

    let sent = |e: &outbox::Entry| outbox::Entry {
        state: outbox::State::Sent,
        attempts: 1,
        sent_at: Some(now),
        ..e.clone()
    };
    let later = |e: &outbox::Entry| outbox::Entry {
        attempts: 1,
        next_attempt: now + chrono::Duration::minutes(5),
        ..e.clone()
    };
    let (a, b) = (queued(1, now), queued(2, now));
    // Entry 9 was never stored: skipped, not an error.
    store
        .update_outbox(&[
            (a.clone(), sent(&a)),
            (b.clone(), later(&b)),
            (queued(9, now), sent(&queued(9, now))),
        ])
        .unwrap();
    let due: Vec<u64> = store
        .due_outbox(now, 10)
        .unwrap()
        .iter()
        .map(|(e, _)| e.id)
        .collect();
    assert_eq!(
        due,
        vec![3],
        "sent is out of the queue, the retry is not due yet"
    );
    assert_eq!(store.outbox_len(), 2);
    let (e, bytes) = store.outbox_entry(1).unwrap().unwrap();
    assert_eq!(
        (e.state, bytes.as_slice()),
        (outbox::State::Sent, &b"bytes"[..])
    );
    assert!(store.outbox_entry(9).unwrap().is_none());
}

#[test]
fn verify_names_the_records_it_cannot_read_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let clean = s.verify();
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert_eq!(clean.read.get("tickets"), Some(&0));
    s.sled()
        .expect("a sled store")
        .tickets
        .insert(5u64.to_be_bytes(), &b"not json"[..])
        .unwrap();
    s.sled()
        .expect("a sled store")
        .messages
        .insert(message_key(5, 0), &[0u8, 0, 0, 9, b'{'][..])
        .unwrap();
    let v = s.verify();
    assert_eq!(v.problems.len(), 2, "{:?}", v.problems);
    assert!(v.problems[0].starts_with("tickets #5:"), "{:?}", v.problems);
    assert!(v.problems[1].starts_with("messages "), "{:?}", v.problems);
    assert_eq!(v.read.get("tickets"), Some(&1));
    assert!(
        s.sled()
            .expect("a sled store")
            .tickets
            .get(5u64.to_be_bytes())
            .unwrap()
            .is_some(),
        "left as it was"
    );
}

#[test]
fn a_checkpoint_marks_what_was_durable_and_damage_since_is_refused() {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let target = to.join(e.file_name());
            if e.path().is_dir() {
                copy_dir(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let old = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let add = |store: &Store, ids: std::ops::RangeInclusive<u64>| {
        let mut staged = Staged::default();
        for id in ids {
            store.stage_outgoing(&mut staged, queued(id, now), Some(id), None, b"bytes");
        }
        store.commit(&mut staged).unwrap();
    };
    {
        let store = Store::open(dir.path()).unwrap();
        add(&store, 1..=1);
        store.flush().unwrap();
        store.write_mark(dir.path()).unwrap();
    }
    // The store as it was at that clean stop.
    copy_dir(&dir.path().join("store"), &old.path().join("store"));
    {
        let store = Store::open(dir.path()).unwrap();
        add(&store, 2..=3);
        store.checkpoint_mark(dir.path()).unwrap();
        assert_eq!(mark::Mark::read(dir.path()).unwrap().last_outbox, 3);
        // No clean stop: the process dies here.
    }
    // The files lose what came after the clean stop.
    std::fs::remove_dir_all(dir.path().join("store")).unwrap();
    copy_dir(&old.path().join("store"), &dir.path().join("store"));
    match Store::open(dir.path()) {
        // Refused: as holding less than the checkpoint says ("up to #1 …
        // checkpoint"). Without the checkpoint the mark would say #1 and
        // the store would open. (A copy of a store sled had just closed
        // was once read as unreadable: refused as well.)
        Err(StoreError::Damaged { .. }) => {}
        other => panic!("expected Damaged, got {other:?}"),
    }
}

fn plain_ticket(n: u64, due: Option<DateTime<Utc>>) -> Ticket {
    let at = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
    serde_json::from_value(serde_json::json!({
        "number": n, "reference": format!("ACME-{n}"), "subject": "Printer on fire",
        "status": "open", "priority": "normal", "category": "general", "queue": "general",
        "requester": {"email": "carol@customer.test"}, "participants": ["carol@customer.test"],
        "inbox": "main", "created": at, "updated": at, "message_count": 1, "timer_due": due,
    }))
    .unwrap()
}

/// A store as schema 2 wrote it (plain JSON, LZ4 mail, the ticket-timer
/// index) opens as the current schema and reads as it did.
#[test]
fn values_of_schema_2_still_read_and_the_timer_index_goes() {
    let dir = tempfile::tempdir().unwrap();
    let raw = b"From: carol@customer.test\r\nSubject: hi\r\n\r\nhello\r\n".to_vec();
    let due = DateTime::from_timestamp(1_764_100_000, 0).unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let t = plain_ticket(1, Some(due));
        let record: MessageRecord = serde_json::from_value(serde_json::json!({
            "ticket": 1, "seq": 1, "direction": "inbound", "message_id": "m1@customer.test",
            "from": {"email": "carol@customer.test"}, "to": [], "cc": [], "subject": "hi",
            "date": due, "received": due, "origin": "test", "text": "", "attachments": [],
            "size": raw.len(), "thread": {"by": "new"},
        }))
        .unwrap();
        let json_rec = json(&record);
        let lz4 = lz4_flex::compress_prepend_size(&raw);
        let mut value = (json_rec.len() as u32).to_be_bytes().to_vec();
        value.extend_from_slice(&json_rec);
        value.extend_from_slice(&lz4);
        store
            .sled()
            .expect("a sled store")
            .messages
            .insert(message_key(1, 1), value)
            .unwrap();
        store
            .sled()
            .expect("a sled store")
            .tickets
            .insert(1u64.to_be_bytes(), json(&t))
            .unwrap();
        let ms = due.timestamp_millis() as u64;
        store
            .sled()
            .expect("a sled store")
            .timers
            .insert(timer_key(ms, 1), &[])
            .unwrap();
        store
            .sled()
            .expect("a sled store")
            .ticket_timer
            .insert(1u64.to_be_bytes(), &ms.to_be_bytes())
            .unwrap();
        store
            .sled()
            .expect("a sled store")
            .meta
            .insert(KEY_SCHEMA, &2u32.to_be_bytes())
            .unwrap();
        store.flush().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert!(store.sled().expect("a sled store").ticket_timer.is_empty());
    assert_eq!(
        store.ticket(&Staged::default(), 1).unwrap().unwrap().number,
        1
    );
    assert_eq!(store.raw_message(1, 1).unwrap().unwrap(), raw);
    assert_eq!(
        store.message_records(1).unwrap()[0].message_id,
        "m1@customer.test"
    );
    // The deadline moves: the old entry, found from the plain stored
    // ticket, goes.
    let later = due + chrono::Duration::hours(1);
    let mut staged = Staged::default();
    store.stage_ticket(&mut staged, &plain_ticket(1, Some(later)));
    store.commit(&mut staged).unwrap();
    assert!(store.due_tickets(due, 10).unwrap().is_empty());
    assert_eq!(store.due_tickets(later, 10).unwrap(), vec![1]);
    assert!(store.verify().problems.is_empty());
}

/// Deadlines follow packed tickets through changes, with no second index.
#[test]
fn deadlines_follow_packed_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t0 = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
    let stage = |due: Option<DateTime<Utc>>| {
        let mut staged = Staged::default();
        store.stage_ticket(&mut staged, &plain_ticket(3, due));
        store.commit(&mut staged).unwrap();
    };
    stage(Some(t0));
    assert_eq!(store.due_tickets(t0, 10).unwrap(), vec![3]);
    assert_eq!(
        store
            .sled()
            .expect("a sled store")
            .tickets
            .get(3u64.to_be_bytes())
            .unwrap()
            .unwrap()[0],
        codec::RECORD_V1
    );
    stage(Some(t0 + chrono::Duration::minutes(5)));
    assert!(store.due_tickets(t0, 10).unwrap().is_empty());
    stage(None);
    assert!(store.next_timer().unwrap().is_none());
    assert_eq!(store.sled().expect("a sled store").timers.len(), 0);
}

/// A notification's agent is found after commit from its index entry, and
/// one written the older way (the `notified` tree) still is.
#[test]
fn notifications_are_found_in_the_index_and_the_old_tree() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut staged = Staged::default();
    let mut e = queued(1, Utc::now());
    e.message_id = "N1@Desk.Test".into();
    store.stage_outgoing(&mut staged, e, Some(7), Some(("Alice@desk.test", 3)), b"x");
    store.commit(&mut staged).unwrap();
    assert!(
        store.sled().expect("a sled store").notified.is_empty(),
        "no separate record"
    );
    let found = store
        .notification(&Staged::default(), "<n1@desk.test>")
        .unwrap();
    assert_eq!(found, Some(("alice@desk.test".into(), Some((7, 3)))));
    assert_eq!(
        store.lookup_id(&Staged::default(), "n1@desk.test").unwrap(),
        Some(IdEntry {
            kind: IdKind::Sent,
            ticket: 7
        })
    );
    store
        .sled()
        .expect("a sled store")
        .notified
        .insert("old@desk.test", "bob@desk.test 8 1")
        .unwrap();
    let old = store
        .notification(&Staged::default(), "old@desk.test")
        .unwrap();
    assert_eq!(old, Some(("bob@desk.test".into(), Some((8, 1)))));
    assert_eq!(
        store
            .notification(&Staged::default(), "none@desk.test")
            .unwrap(),
        None
    );
}

/// Mail of about 17 KiB; `secret` is written into it many times.
fn long_mail(i: u64, secret: Option<&str>) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "invoice", "order", "refund", "login", "export", "delivery", "billing", "team", "error",
        "upgrade", "receipt", "password",
    ];
    let mut m = format!(
        "From: Customer {i} <c{i}@customer.test>\r\nTo: support@desk.test\r\nSubject: Order {i}\r\nMessage-ID: <m{i}@customer.test>\r\n\r\n"
    );
    let mut x = i.wrapping_mul(2_654_435_761) | 1;
    while m.len() < 17 * 1024 {
        for _ in 0..10 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            m.push_str(WORDS[(x % 12) as usize]);
            m.push(' ');
        }
        m.push_str("\r\n");
        if let Some(s) = secret {
            m.push_str(s);
            m.push_str("\r\n");
        }
    }
    m.into_bytes()
}

fn put_message(store: &Store, ticket: u64, raw: &[u8]) {
    let at = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
    let record: MessageRecord = serde_json::from_value(serde_json::json!({
        "ticket": ticket, "seq": 1, "direction": "inbound", "message_id": format!("m{ticket}@customer.test"),
        "from": {"email": format!("c{ticket}@customer.test")}, "to": [], "cc": [], "subject": "Order",
        "date": at, "received": at, "origin": "test", "text": "", "attachments": [],
        "size": raw.len(), "thread": {"by": "new"},
    }))
    .unwrap();
    let value = with_blob(&json(&record), &store.codec().pack_mail(raw));
    store
        .sled()
        .expect("a sled store")
        .messages
        .insert(message_key(ticket, 1), value)
        .unwrap();
}

/// The dictionary is made of the first messages: after one of them is
/// emptied (as an erasure does), the rewrite trains a new dictionary from
/// the live mail, re-packs every mail with it, and no older dictionary
/// stays. Mail packed without a dictionary, or by LZ4, reads as before.
#[test]
fn a_rewrite_retrains_the_mail_dictionary_from_live_mail_only() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "Bartholomew the armadillo swallowed invoice 4471 on the ferry";
    let old_id = {
        let store = Store::open(dir.path()).unwrap();
        // Before there is a dictionary: zstd without one, and LZ4.
        put_message(&store, 1, &long_mail(1, None));
        let lz4 = lz4_flex::compress_prepend_size(b"held in quarantine");
        store
            .sled()
            .expect("a sled store")
            .qraw
            .insert("q1", lz4)
            .unwrap();
        for n in 2..=300 {
            put_message(&store, n, &long_mail(n, (n <= 40).then_some(secret)));
        }
        assert!(store.train_dictionary().unwrap());
        let dicts = store.mail_dictionaries().unwrap();
        assert_eq!(dicts.len(), 1);
        assert!(
            find(&dicts[0].1, b"Bartholomew"),
            "the test needs a dictionary that learnt the secret"
        );
        // Mail packed with the dictionary, then the secret's mail
        // emptied, as an erasure leaves it.
        put_message(&store, 301, &long_mail(301, None));
        for n in 2..=40 {
            put_message(&store, n, b"");
        }
        store
            .quarantine(b"held too", "test", "test", Utc::now())
            .unwrap();
        store.flush().unwrap();
        dicts[0].0
    };
    Store::rewrite(dir.path()).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let dicts = store.mail_dictionaries().unwrap();
    assert_eq!(dicts.len(), 1, "one dictionary, the new one");
    assert_ne!(dicts[0].0, old_id);
    for word in ["Bartholomew", "armadillo", "swallowed", "ferry"] {
        assert!(!find(&dicts[0].1, word.as_bytes()), "{word}");
    }
    assert!(store.codec().has_dictionary());
    for n in (1..=1).chain(41..=301) {
        assert_eq!(
            store.raw_message(n, 1).unwrap().unwrap(),
            long_mail(n, None),
            "message {n}"
        );
        let v = store
            .sled()
            .expect("a sled store")
            .messages
            .get(message_key(n, 1))
            .unwrap()
            .unwrap();
        let len = u32::from_be_bytes(v[..4].try_into().unwrap()) as usize;
        assert_eq!(
            zstd::zstd_safe::get_dict_id_from_frame(&v[4 + len..]).map(|i| i.get()),
            Some(dicts[0].0),
            "message {n} is packed with the new dictionary"
        );
    }
    assert_eq!(store.raw_message(2, 1).unwrap().unwrap(), b"");
    let held: Vec<Vec<u8>> = store
        .quarantined()
        .unwrap()
        .iter()
        .map(|e| store.quarantined_entry(&e.id).unwrap().unwrap().1)
        .collect();
    assert_eq!(held, vec![b"held too".to_vec()]);
    assert_eq!(
        store
            .codec()
            .unpack_mail(
                &store
                    .sled()
                    .expect("a sled store")
                    .qraw
                    .get("q1")
                    .unwrap()
                    .unwrap()
            )
            .unwrap(),
        b"held in quarantine"
    );
    // Every message and quarantine record reads (these bare messages
    // have no tickets: the index checks do not apply).
    let verified = store.verify();
    let unread: Vec<&String> = verified
        .problems
        .iter()
        .filter(|p| p.starts_with("messages") || p.starts_with("quarantine"))
        .collect();
    assert!(unread.is_empty(), "{unread:?}");
    assert_eq!(verified.read["messages"], 301);
}

/// With too little live mail left to train from, the rewrite drops the
/// dictionary and packs the mail without one; intake trains later.
#[test]
fn a_rewrite_with_too_little_mail_drops_the_dictionary() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        for n in 1..=300 {
            put_message(&store, n, &long_mail(n, None));
        }
        assert!(store.train_dictionary().unwrap());
        for n in 1..=250 {
            store
                .sled()
                .expect("a sled store")
                .messages
                .remove(message_key(n, 1))
                .unwrap();
        }
        store.flush().unwrap();
    }
    Store::rewrite(dir.path()).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.mail_dictionaries().unwrap().is_empty());
    assert!(!store.codec().has_dictionary());
    for n in 251..=300 {
        assert_eq!(
            store.raw_message(n, 1).unwrap().unwrap(),
            long_mail(n, None)
        );
    }
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn an_unreachable_database_shows_one_hint() {
    let plain = StoreError::Unreachable("connection reset".into()).to_string();
    assert_eq!(plain.matches("hint:").count(), 1, "{plain}");
    assert!(plain.contains("try again"), "{plain}");
    let told = StoreError::Unreachable(
        "cannot connect to PostgreSQL at u@h:5432/d: refused\n  hint: check that the server runs"
            .into(),
    )
    .to_string();
    assert_eq!(told.matches("hint:").count(), 1, "{told}");
    assert!(told.contains("server runs"), "{told}");
    assert!(told.contains("try again"), "{told}");
}
