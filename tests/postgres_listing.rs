//! The PostgreSQL engine answers listing, message, customer and report
//! reads as the sled store does (issue 20): a desk is filled through the
//! binary (an mbox import: tickets with replies, 13 requesters, dates out
//! of number order), moved into a fresh database (`postdesk migrate
//! --from sled`), then every Messages, Customers and Listing primitive is
//! asked the same questions of both: what `tickets list` shows (pages
//! cursor by cursor, every filter), what `stats` reports (the fold of the
//! summaries), a ticket's messages and bytes, the customer pages. Then the
//! same ticket changes are written by both engines (some within one
//! millisecond, so the order within it is tested) and the answers are
//! compared again. An erasure written by both engines leaves them alike
//! too. Needs the test cluster (tests/pg/start.sh,
//! POSTDESK_TEST_PG).

mod common;

use common::moved::MovedDesk;
use common::{test_pg, TestDesk};
use std::collections::BTreeMap;

use postdesk::pg::rows::{row_of, Digest};
use postdesk::store::engine::{Backup, Engine, Intake, Listing, Privacy};
use postdesk::store::portable::Record;
use postdesk::store::{Cursor, Erasure, ErasureRecord, NoticeRecord, Staged, Store, TicketQuery};
use postdesk::ticket::{Status, Ticket};
const MESSAGES: usize = 90;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Message `i` of `from` at `minute` minutes past a fixed moment; every
/// seventh one answers the message before it (a second message of a
/// ticket).
fn message(i: usize, from: &str, subject: &str, minute: i64) -> Vec<u8> {
    let date = chrono::DateTime::from_timestamp(1_795_000_000 + minute * 60, 0)
        .expect("a date")
        .to_rfc2822();
    let reply = if i % 7 == 6 {
        format!("In-Reply-To: <list{}@c>\r\n", i - 1)
    } else {
        String::new()
    };
    format!(
        "From: {from}\r\nTo: support@desk.test\r\nSubject: {subject}\r\nMessage-ID: <list{i}@c>\r\n{reply}Date: {date}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody {i} \u{e9}t\u{e9}\r\n"
    )
    .into_bytes()
}

fn fill(t: &TestDesk) {
    let mut mbox = Vec::new();
    for i in 0..MESSAGES {
        let subject = match i % 5 {
            0 => format!("Invoice {i} wrong"),
            _ if i % 7 == 6 => format!("Re: Case {}", i - 1),
            _ => format!("Case {i} \u{c9}T\u{c9}"),
        };
        let from = format!("Customer {} <customer{}@customer.test>", i % 13, i % 13);
        mbox.extend_from_slice(b"From x@customer.test Sun Nov 22 10:00:00 2026\n");
        mbox.extend_from_slice(&message(i, &from, &subject, ((i * 37) % MESSAGES) as i64));
        mbox.extend_from_slice(b"\n");
    }
    let path = t.dir.path().join("list.mbox");
    std::fs::write(&path, mbox).expect("mbox");
    let o = t.run(&["import", "mbox", path.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "{}", text(&o));
}

/// Every page of `q`, cursor by cursor: the tickets of each page and the
/// cursor it hands back, as `tickets list --after` walks them.
fn pages(e: &dyn Listing, q: &TicketQuery, limit: usize) -> Vec<(Vec<u64>, Option<Cursor>)> {
    let (mut out, mut after) = (Vec::new(), None);
    loop {
        let page = e.ticket_page(q, after, limit).expect("a page");
        out.push((page.tickets.iter().map(|t| t.number).collect(), page.next));
        match page.next {
            Some(c) => after = Some(c),
            None => return out,
        }
        assert!(out.len() < 1000, "pages end");
    }
}

fn queries() -> Vec<TicketQuery> {
    let since = chrono::DateTime::from_timestamp(1_795_000_000 + 40 * 60, 0).expect("since");
    vec![
        TicketQuery::default(),
        TicketQuery {
            status: Some(Status::Pending),
            ..Default::default()
        },
        TicketQuery {
            status: Some(Status::New),
            ..Default::default()
        },
        TicketQuery {
            queue: Some("billing".into()),
            ..Default::default()
        },
        TicketQuery {
            requester: Some(" Customer3@CUSTOMER.test".into()),
            ..Default::default()
        },
        TicketQuery {
            assignee: Some("ANN@desk.test".into()),
            ..Default::default()
        },
        TicketQuery {
            search: Some("INVOICE".into()),
            ..Default::default()
        },
        TicketQuery {
            search: Some("\u{e9}t\u{e9}".into()),
            ..Default::default()
        },
        TicketQuery {
            search: Some("customer 4".into()),
            status: Some(Status::New),
            ..Default::default()
        },
        TicketQuery {
            since: Some(since),
            ..Default::default()
        },
        TicketQuery {
            since: Some(since),
            queue: Some("general".into()),
            requester: Some("customer5@customer.test".into()),
            ..Default::default()
        },
    ]
}

fn json(t: &Ticket) -> serde_json::Value {
    serde_json::to_value(t).expect("ticket JSON")
}

/// What `stats` reports from an engine's summaries.
fn stats(e: &dyn Engine) -> serde_json::Value {
    let now = chrono::DateTime::from_timestamp(1_795_000_000 + 200 * 60, 0).expect("now");
    let o = postdesk::report::Options::new(now);
    let mut fold = postdesk::report::Fold::new(&o);
    let mut order = Vec::new();
    e.for_each_summary(&mut |s| {
        order.push(s.number);
        fold.add(s);
    })
    .expect("summaries");
    // Each ticket once; the order is the engine's own.
    order.sort_unstable();
    let stats = fold.finish(|n| {
        let t = e.ticket(n).ok().flatten()?;
        Some(postdesk::report::Shown {
            reference: t.reference,
            subject: t.subject,
        })
    });
    serde_json::json!({"order": order, "stats": stats})
}

/// Asks both engines every listing, message, customer and report question.
fn same_answers(pg: &dyn Engine, sled: &dyn Engine, label: &str) {
    let all: Vec<Ticket> = sled.tickets().map(|t| t.expect("ticket")).collect();
    let pg_all: Vec<Ticket> = pg.tickets().map(|t| t.expect("ticket")).collect();
    assert_eq!(
        pg_all.iter().map(json).collect::<Vec<_>>(),
        all.iter().map(json).collect::<Vec<_>>(),
        "{label}: every ticket"
    );
    assert_eq!(pg.ticket_count().unwrap(), sled.ticket_count().unwrap());
    assert_eq!(pg.ticket_count().unwrap(), all.len() as u64);
    for t in &all {
        let n = t.number;
        let records = |e: &dyn Engine| {
            e.message_records(n)
                .expect("records")
                .iter()
                .map(|r| serde_json::to_value(r).expect("record JSON"))
                .collect::<Vec<_>>()
        };
        assert_eq!(records(pg), records(sled), "{label}: records of #{n}");
        let with_raw = |e: &dyn Engine| {
            e.messages(n)
                .expect("messages")
                .into_iter()
                .map(|(r, raw)| (serde_json::to_value(r).expect("record JSON"), raw))
                .collect::<Vec<_>>()
        };
        let messages = with_raw(sled);
        assert_eq!(with_raw(pg), messages, "{label}: messages of #{n}");
        for seq in 0..=messages.len() as u32 + 1 {
            assert_eq!(
                pg.raw_message(n, seq).unwrap(),
                sled.raw_message(n, seq).unwrap(),
                "{label}: #{n} message {seq}"
            );
        }
    }
    for who in [
        "customer3@customer.test",
        "CUSTOMER4@Customer.Test",
        "erased-7f3a9c",
        "nobody@x.test",
    ] {
        assert_eq!(
            pg.tickets_of_customer(who).unwrap(),
            sled.tickets_of_customer(who).unwrap(),
            "{label}: {who}"
        );
    }
    assert!(!sled
        .tickets_of_customer("customer4@customer.test")
        .unwrap()
        .is_empty());
    for limit in [1, 4, 100] {
        let walk = |e: &dyn Engine| {
            let (mut out, mut after) = (Vec::new(), None::<String>);
            loop {
                let page = e.customers_page(after.as_deref(), limit).expect("page");
                let Some((last, _)) = page.last() else {
                    return out;
                };
                after = Some(last.to_uppercase());
                out.push(page);
            }
        };
        let sled_pages = walk(sled);
        assert_eq!(walk(pg), sled_pages, "{label}: customer pages of {limit}");
        assert_eq!(
            sled_pages.iter().map(Vec::len).sum::<usize>(),
            13,
            "13 requesters"
        );
    }
    for q in queries() {
        for limit in [1, 7, 50] {
            let expected = pages(sled, &q, limit);
            assert_eq!(pages(pg, &q, limit), expected, "{label}: {q:?} by {limit}");
        }
        let mut full: Vec<&Ticket> = all.iter().filter(|t| q.matches(t)).collect();
        full.sort_by_key(|t| std::cmp::Reverse(Cursor::of(t)));
        let listed: Vec<u64> = pages(pg, &q, 500).into_iter().flat_map(|p| p.0).collect();
        assert_eq!(
            listed,
            full.iter().map(|t| t.number).collect::<Vec<_>>(),
            "{label}: {q:?} lists what a full scan finds"
        );
    }
    for minute in [0, 45, 89, 10_000] {
        let since = chrono::DateTime::from_timestamp(1_795_000_000 + minute * 60, 0).expect("t");
        let recent = |e: &dyn Engine| {
            e.tickets_updated_since(since)
                .map(|t| t.expect("ticket").number)
                .collect::<Vec<_>>()
        };
        assert_eq!(recent(pg), recent(sled), "{label}: updated since {since}");
    }
    assert_eq!(stats(pg), stats(sled), "{label}: stats");
}

/// A desk filled through the binary ([`fill`]) and moved into a fresh
/// database, opened with both engines.
fn moved(db: &str) -> MovedDesk {
    common::moved::moved_desk(db, "", fill)
}

#[test]
fn the_postgres_engine_lists_and_reports_what_the_sled_store_does() {
    let MovedDesk {
        desk: _t,
        db: database,
        engine: pg,
        store: sled,
    } = moved("listing_reads");
    let sled_engine = sled.engine();

    let tickets = pg.last_ticket().unwrap();
    assert!(tickets > 60, "{tickets} tickets");
    same_answers(&pg, sled_engine, "as moved");

    // The same changes written by each engine: statuses, queues and an
    // assignee change the filters' indexes; five tickets are updated in
    // one millisecond (microseconds apart, out of number order), so the
    // order within a millisecond is the number's on both.
    let at = chrono::DateTime::from_timestamp(1_795_000_000 + 300 * 60, 123_456_789).expect("at");
    let fill = |staged: &mut Staged| {
        for n in 1..=tickets {
            let mut t = sled.ticket(&Staged::default(), n).unwrap().expect("ticket");
            match n % 9 {
                0 => t.status = Status::Pending,
                1 => t.queue = "billing".into(),
                2 => t.assignee = Some("Ann@Desk.test".into()),
                3 if n < 40 => {
                    t.updated = at + chrono::Duration::microseconds(((n * 7) % 11) as i64)
                }
                _ => continue,
            }
            sled.stage_ticket(staged, &t);
        }
    };
    let (mut a, mut b) = (Staged::default(), Staged::default());
    fill(&mut a);
    fill(&mut b);
    pg.write(&a).expect("PostgreSQL write");
    sled.commit(&mut b).expect("sled commit");
    let newest = sled_engine
        .ticket_page(&TicketQuery::default(), None, 5)
        .unwrap();
    assert_eq!(
        newest.tickets.iter().map(|t| t.number).collect::<Vec<_>>(),
        vec![39, 30, 21, 12, 3],
        "one millisecond, by number"
    );
    same_answers(&pg, sled_engine, "after the same writes");

    // Every ticket's report summary is stored beside it (V3), with the
    // hash of the record it was made from; a writer that changes a record
    // without its summary leaves one that no longer matches, and the
    // report computes that ticket's from the record: never a stale one.
    let db = database.name.as_str();
    let sql = |sql: &str| {
        let out = common::psql(&test_pg(), db, sql);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let current = "SELECT count(*) FROM tickets \
                   WHERE summary_of = sha256(convert_to(record::text, 'UTF8'))";
    assert_eq!(sql(current), tickets.to_string());
    sql(
        "UPDATE tickets SET record = jsonb_set(record::jsonb, '{category}', '\"hardware\"')::json \
         WHERE number = 5",
    );
    assert_eq!(sql(current), (tickets - 1).to_string());
    let mut five = sled
        .ticket(&Staged::default(), 5)
        .unwrap()
        .expect("ticket 5");
    five.category = "hardware".into();
    let mut staged = Staged::default();
    sled.stage_ticket(&mut staged, &five);
    sled.commit(&mut staged).expect("sled commit");
    assert_eq!(
        stats(&pg),
        stats(sled_engine),
        "a summary computed from the record"
    );
}

#[test]
fn an_erasure_leaves_both_engines_alike() {
    let MovedDesk {
        desk: _t,
        db: database,
        engine: pg,
        store: sled,
    } = moved("listing_erasure");
    let none = Staged::default();
    let address = "customer3@customer.test";
    let pseudonym = "erased-7f3a9c";
    let at = chrono::DateTime::from_timestamp(1_795_100_000, 250_000_000).expect("at");

    // What the person has beyond tickets: a notice given, a bounce mark
    // and caps, queued mail, and a new ticket with an Outlook
    // conversation key; written alike by both engines.
    let raw =
        b"From: customer3@customer.test\r\nSubject: Fax\r\nMessage-ID: <fax@c>\r\n\r\nFax.\r\n";
    let fill = |staged: &mut Staged, packed: bool| {
        let mark: postdesk::bounce::Mark = serde_json::from_value(serde_json::json!({
            "address": address, "last": "soft", "last_at": at, "soft_bounces": 2,
        }))
        .expect("mark");
        sled.stage_mark(staged, address, Some(mark));
        sled.stage_auto_sent(staged, address, vec![at]);
        let id = sled.next_outbox_id(staged).unwrap();
        sled.stage_notice(
            staged,
            "outage",
            address,
            &NoticeRecord {
                at,
                outbox_id: id,
                ticket: "ACME-4".into(),
            },
        );
        let entry: postdesk::outbox::Entry = serde_json::from_value(serde_json::json!({
            "id": id, "ticket": "ACME-4", "kind": "reply",
            "message_id": "<r1@desk.test>", "envelope_from": "support@desk.test",
            "recipients": [address], "subject": "About your case", "size": 9,
            "created": at, "state": "queued", "attempts": 0, "next_attempt": at,
        }))
        .expect("entry");
        sled.stage_outgoing(staged, entry, Some(4), None, b"the mail\r\n");
        let number = sled.next_ticket_number(staged).unwrap();
        let mut ticket = sled.ticket(&none, 4).unwrap().expect("ticket 4");
        ticket.number = number;
        ticket.reference = format!("ACME-{number}");
        let mut record = sled.message_records(4).unwrap().remove(0);
        record.ticket = number;
        record.seq = 1;
        record.message_id = "fax@c".into();
        record.size = raw.len();
        let d = postdesk::decide::Decision {
            ticket,
            created: true,
            record: Some(record),
            also: Vec::new(),
            remember_references: Vec::new(),
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
        // sled keeps mail packed; PostgreSQL takes it raw.
        let mail = if packed {
            sled.codec().pack_mail(raw)
        } else {
            raw.to_vec()
        };
        sled.stage(staged, &d, &mail).unwrap();
    };
    let (mut a, mut b) = (Staged::default(), Staged::default());
    fill(&mut a, false);
    fill(&mut b, true);
    pg.write(&a).expect("PostgreSQL write");
    sled.commit(&mut b).expect("sled commit");
    assert!(pg.id_entry("conv:fax").unwrap().is_some());
    // Mail of theirs in the quarantine, in both (PostgreSQL's row as the
    // move writes it).
    let q = sled
        .quarantine(
            b"From: customer3@customer.test\r\n\r\nhalf",
            "not mail",
            "test",
            at,
        )
        .expect("quarantine");
    let db = database.name.as_str();
    let record = serde_json::to_string(&q).expect("entry JSON");
    let out = common::psql(
        &test_pg(),
        db,
        &format!(
            "INSERT INTO quarantine (id, received, record) VALUES (convert_to('{}', 'UTF8'), now(), '{}'); \
             INSERT INTO quarantine_raw (id, raw) VALUES (convert_to('{}', 'UTF8'), '\\x00')",
            q.id,
            record.replace('\'', "''"),
            q.id
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let quarantined = |db: &str| {
        let out = common::psql(
            &test_pg(),
            db,
            "SELECT (SELECT count(*) FROM quarantine) + (SELECT count(*) FROM quarantine_raw)",
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(quarantined(db), "2");

    // The erasure, planned once from what the desk holds (as `customers
    // erase` plans it), written by each engine.
    let mine: Vec<u64> = sled.tickets_of_customer(address).unwrap();
    assert!(mine.len() > 3, "{mine:?}");
    let mut tickets = Vec::new();
    let mut messages = Vec::new();
    for n in &mine {
        let mut t = sled.ticket(&none, *n).unwrap().expect("ticket");
        t.requester.email = pseudonym.into();
        t.requester.name = None;
        t.subject = "[erased]".into();
        tickets.push(t);
        for (mut m, _) in sled.messages(*n).unwrap() {
            m.subject = "[erased]".into();
            messages.push((m, Vec::new()));
        }
    }
    let outbox: Vec<_> = sled
        .outbox_entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.recipients.iter().any(|r| r == address))
        .map(|e| {
            let mut new = e.clone();
            postdesk::privacy::scrub_entry(&mut new, address, pseudonym);
            (e, new)
        })
        .collect();
    assert_eq!(outbox.len(), 1);
    let mark: postdesk::bounce::Mark = serde_json::from_value(serde_json::json!({
        "address": pseudonym, "last": "hard", "last_at": at, "status": "erased",
        "soft_bounces": 2, "suppressed_until": "9999-12-31T00:00:00Z",
    }))
    .expect("mark");
    let record = ErasureRecord {
        pseudonym: pseudonym.into(),
        at,
        by: "test".into(),
        tickets: tickets.len(),
        messages: messages.len(),
        outgoing: outbox.len(),
        cancelled: 1,
        quarantined: 0,
    };
    let erasure = Erasure {
        address: address.into(),
        pseudonym: pseudonym.into(),
        tickets,
        messages,
        outbox,
        conversations_of: mine.clone(),
        quarantine: vec![q.id.clone(), "no-such-entry".into()],
        mark,
        record: record.clone(),
    };
    pg.apply_erasure(&erasure).expect("PostgreSQL erasure");
    sled.apply_erasure(&erasure).expect("sled erasure");
    assert_eq!(
        sled.engine().reclaim().unwrap(),
        None,
        "sled's old copies go in its offline rewrite"
    );
    assert_eq!(quarantined(db), "0", "their quarantined mail goes");
    assert!(sled.quarantined_entry(&q.id).unwrap().is_none());
    assert!(
        pg.reclaim().unwrap().is_some_and(|rows| rows > 0),
        "PostgreSQL rewrites its tables at once (VACUUM FULL)"
    );

    same_answers(&pg, sled.engine(), "after an erasure");
    for e in [&pg as &dyn Engine, sled.engine()] {
        assert_eq!(e.tickets_of_customer(address).unwrap(), Vec::<u64>::new());
        assert_eq!(e.tickets_of_customer(pseudonym).unwrap(), mine);
        assert_eq!(e.mark(address).unwrap(), None);
        assert!(e.auto_sent(address).unwrap().is_empty());
        assert_eq!(e.auto_sent(pseudonym).unwrap(), vec![at]);
        assert_eq!(e.notice("outage", address).unwrap(), None);
        assert_eq!(
            e.id_entry("conv:fax").unwrap(),
            None,
            "the conversation key goes"
        );
        assert_eq!(e.erasures().unwrap(), vec![record.clone()]);
        assert_eq!(e.erasure(" Erased-7F3A9C").unwrap(), Some(record.clone()));
        assert_eq!(e.erasure("erased-other").unwrap(), None);
    }
    assert_eq!(
        pg.mark(pseudonym).unwrap(),
        sled.engine().mark(pseudonym).unwrap()
    );
    assert_eq!(
        pg.mark(pseudonym).unwrap().map(|m| m.status),
        Some(Some("erased".to_string()))
    );
    assert_eq!(
        pg.notice("outage", pseudonym).unwrap(),
        sled.engine().notice("outage", pseudonym).unwrap()
    );
    assert!(pg.notice("outage", pseudonym).unwrap().is_some());
    // The outbox entry as it stood, scrubbed and cancelled, without its
    // mail.
    let db = database.name.as_str();
    let out = common::psql(
        &test_pg(),
        db,
        "SELECT record::text || '|' || length(body) FROM outbox ORDER BY id",
    );
    let rows: Vec<(serde_json::Value, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (j, len) = l.rsplit_once('|').expect("row");
            (serde_json::from_str(j).expect("JSON"), len.to_string())
        })
        .collect();
    let sled_outbox: Vec<(serde_json::Value, String)> = sled
        .outbox_entries()
        .unwrap()
        .iter()
        .map(|e| (serde_json::to_value(e).expect("JSON"), "0".to_string()))
        .collect();
    assert_eq!(rows, sled_outbox);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0["state"], "failed");
}

/// What an engine exports, as the rows the records make, one checksum
/// per table (order does not matter: the engines read in their own
/// orders). A notification is keyed by its normalized id: sled keeps a
/// ticket's in the sent mail's index entry, under that key, where
/// PostgreSQL keeps the id as the mail gave it; both find it either way.
fn exported(e: &dyn Engine) -> (Vec<Record>, BTreeMap<&'static str, String>) {
    let mut records = Vec::new();
    e.export_records(&mut |r| {
        records.push(r);
        Ok(())
    })
    .expect("export");
    let mut digests: BTreeMap<&'static str, Digest> = BTreeMap::new();
    for r in &records {
        let r = match r {
            Record::Notified {
                message_id,
                agent,
                seen,
            } => Record::Notified {
                message_id: postdesk::mail::msgid::key(&String::from_utf8_lossy(message_id))
                    .into_bytes(),
                agent: agent.clone(),
                seen: *seen,
            },
            other => {
                let (table, row) = row_of(other).expect("row");
                digests.entry(table.name()).or_default().add(&row);
                continue;
            }
        };
        let (table, row) = row_of(&r).expect("row");
        digests.entry(table.name()).or_default().add(&row);
    }
    let hex = digests
        .into_iter()
        .map(|(t, d)| (t, format!("{} {}", d.rows, d.hex())))
        .collect();
    (records, hex)
}

#[test]
fn both_engines_export_the_same_records_and_import_each_others() {
    let MovedDesk {
        desk: t,
        db: _database,
        engine: pg,
        store: sled,
    } = moved("listing_backup");
    // A notification to an agent, which sled keeps in the index entry of
    // the sent mail, written alike by both.
    let at = chrono::DateTime::from_timestamp(1_795_100_000, 0).expect("at");
    let fill = |staged: &mut Staged| {
        let id = sled.next_outbox_id(staged).unwrap();
        let entry: postdesk::outbox::Entry = serde_json::from_value(serde_json::json!({
            "id": id, "ticket": "ACME-2", "kind": "notify",
            "message_id": "<N1@Desk.test>", "envelope_from": "support@desk.test",
            "recipients": ["ann@desk.test"], "subject": "New message", "size": 9,
            "created": at, "state": "queued", "attempts": 0, "next_attempt": at,
        }))
        .expect("entry");
        sled.stage_outgoing(
            staged,
            entry,
            Some(2),
            Some(("Ann@Desk.test", 1)),
            b"mail\r\n",
        );
        sled.stage_cursor(staged, "imap:inbox", b"uid 7");
    };
    let (mut a, mut b) = (Staged::default(), Staged::default());
    fill(&mut a);
    fill(&mut b);
    pg.write(&a).expect("PostgreSQL write");
    sled.commit(&mut b).expect("sled commit");

    let (from_sled, sled_digests) = exported(sled.engine());
    let (from_pg, pg_digests) = exported(&pg);
    assert_eq!(pg_digests, sled_digests, "the same records from both");
    for table in [
        "tickets",
        "messages",
        "msgids",
        "customers",
        "outbox",
        "notified",
        "cursors",
    ] {
        assert!(
            sled_digests.contains_key(table),
            "{table}: {sled_digests:?}"
        );
    }

    // PostgreSQL's records into a new sled store, and sled's into a new
    // database: each answers as the engine they came from.
    let dir = t.dir.path().join("imported");
    std::fs::create_dir_all(&dir).expect("dir");
    let mut records = from_pg.into_iter();
    let n = Store::import_records(&dir, || Ok(records.next())).expect("import into sled");
    assert!(n > 200, "{n} records");
    let imported = common::moved::reopen(&dir);
    let v = imported.verify();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    same_answers(&pg, imported.engine(), "sled from PostgreSQL's export");
    assert_eq!(exported(imported.engine()).1, sled_digests);
    assert_eq!(
        imported
            .notification(&Staged::default(), "<N1@Desk.test>")
            .unwrap(),
        Some(("ann@desk.test".to_string(), Some((2, 1))))
    );
    assert_eq!(imported.next_timer().unwrap(), sled.next_timer().unwrap());
    assert_eq!(imported.outbox_len(), sled.outbox_len());

    let into_database = common::moved::database("listing_backup_into");
    into_database.migrate();
    let into = into_database.connect();
    let mut records = from_sled.into_iter();
    let n = into
        .import_records(&mut || Ok(records.next()))
        .expect("import into PostgreSQL");
    assert!(n > 200, "{n} records");
    same_answers(&into, sled.engine(), "PostgreSQL from sled's export");
    assert_eq!(exported(&into).1, sled_digests);
    assert_eq!(
        into.notified("<N1@Desk.test>").unwrap().as_deref(),
        Some("ann@desk.test 2 1")
    );
    // Into a store that holds records: refused, nothing written.
    let mut again = exported(sled.engine()).0.into_iter();
    assert!(into.import_records(&mut || Ok(again.next())).is_err());
    assert_eq!(exported(&into).1, sled_digests);
}
