//! The PostgreSQL engine's outbox answers and writes as the sled store's
//! (issue 20), and several senders on one database never claim the same
//! mail. A desk filled through the binary is moved into a fresh database
//! (`postdesk migrate --from sled`); both engines are asked the same
//! questions and given the same writes. Needs the test cluster
//! (tests/pg/start.sh, POSTDESK_TEST_PG).

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use common::moved::{pipe_all, MovedDesk};
use common::{mail, psql, test_pg};
use postdesk::outbox::{Entry, State};
use postdesk::pg::engine::PgEngine;
use postdesk::store::engine::{Intake, Outbox};
use postdesk::store::{Staged, Store};

fn entry(id: u64, due: DateTime<Utc>) -> Entry {
    serde_json::from_value(serde_json::json!({
        "id": id, "ticket": "ACME-1", "kind": "notify",
        "message_id": format!("<o{id}@desk.test>"), "envelope_from": "support@desk.test",
        "recipients": ["ann@desk.test"], "subject": "New message", "size": 9,
        "created": due, "state": "queued", "attempts": 0, "next_attempt": due,
    }))
    .expect("entry")
}

fn mail_of(id: u64) -> Vec<u8> {
    format!("Message-ID: <o{id}@desk.test>\r\n\r\nmail {id}\r\n").into_bytes()
}

fn js<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("json")
}

fn ids(v: &[(Entry, Vec<u8>)]) -> Vec<u64> {
    v.iter().map(|(e, _)| e.id).collect()
}

fn sent(e: &Entry, now: DateTime<Utc>) -> Entry {
    let mut s = e.clone();
    s.state = State::Sent;
    s.attempts += 1;
    s.sent_at = Some(now);
    s.in_flight = false;
    s
}

/// Asks both engines every outbox question at a few instants.
fn same_answers(pg: &PgEngine, sled: &Store, instants: &[DateTime<Utc>], what: &str) {
    assert_eq!(
        js(&pg.outbox_entries().unwrap()),
        js(&sled.outbox_entries().unwrap()),
        "{what}: entries"
    );
    assert_eq!(
        pg.outbox_len().unwrap(),
        sled.outbox_len(),
        "{what}: queued"
    );
    assert_eq!(
        js(&pg.queued_outbox().unwrap()),
        js(&sled.queued_outbox().unwrap()),
        "{what}: queue"
    );
    let last = pg.last_outbox_id().unwrap();
    for id in 0..=last + 1 {
        assert_eq!(
            js(&pg.outbox_entry(id).unwrap()),
            js(&sled.outbox_entry(id).unwrap()),
            "{what}: entry {id}"
        );
    }
    for at in instants {
        for limit in [1, 2, 100] {
            assert_eq!(
                js(&pg.due_outbox(*at, limit).unwrap()),
                js(&sled.due_outbox(*at, limit).unwrap()),
                "{what}: due at {at}, {limit} at most"
            );
        }
    }
}

#[test]
fn the_postgres_outbox_answers_and_writes_as_the_sled_store_does() {
    let MovedDesk {
        desk: _desk,
        db,
        engine: pg,
        store: sled,
    } = common::moved::moved_desk("outbox_parity", "", |t| {
        pipe_all(
            t,
            &[
                mail(
                    "carol@customer.test",
                    "Help",
                    "m0@customer.test",
                    "",
                    "Please.",
                ),
                mail(
                    "dave@customer.test",
                    "Help",
                    "m1@customer.test",
                    "",
                    "Please.",
                ),
            ],
        )
    });
    let none = Staged::default();

    let acks = sled.outbox_entries().unwrap();
    assert!(
        acks.iter().any(|e| e.planned),
        "intake queued planned acknowledgements: {acks:?}"
    );
    let now = Utc::now();
    let instants = [
        now - Duration::days(1),
        now,
        now + Duration::hours(1),
        now + Duration::days(30),
    ];
    same_answers(&pg, &sled, &instants, "migrated");

    // The same outgoing mail queued on both, due at different times;
    // two within one millisecond, the later one with the lower id: both
    // engines order by whole milliseconds, then id.
    let base = DateTime::from_timestamp_millis(now.timestamp_millis()).expect("ms");
    let first = sled.next_outbox_id(&none).unwrap();
    let dues = [
        base - Duration::hours(1),
        base + Duration::microseconds(900),
        base + Duration::microseconds(100),
        base + Duration::hours(2),
        base - Duration::hours(1),
    ];
    let stage = |staged: &mut Staged| {
        for (i, due) in dues.iter().enumerate() {
            let id = first + i as u64;
            sled.stage_outgoing(staged, entry(id, *due), Some(1), None, &mail_of(id));
        }
    };
    let (mut a, mut b) = (Staged::default(), Staged::default());
    stage(&mut a);
    stage(&mut b);
    pg.write(&a).expect("PostgreSQL write");
    sled.commit(&mut b).expect("sled commit");
    same_answers(&pg, &sled, &instants, "queued");
    assert_eq!(
        ids(&pg.due_outbox(base, 100).unwrap())
            .into_iter()
            .filter(|id| *id >= first)
            .collect::<Vec<_>>(),
        vec![first, first + 4, first + 1, first + 2],
        "soonest first; within a millisecond, by id"
    );

    // A planned mail built, and one built from a stale read (attempted
    // meanwhile): only the first is replaced, on both.
    let planned: Vec<Entry> = acks.iter().filter(|e| e.planned).cloned().collect();
    let mut built = planned[0].clone();
    built.planned = false;
    built.subject = "We got your mail".into();
    let bytes = b"Subject: We got your mail\r\n\r\nThanks.\r\n".to_vec();
    built.size = bytes.len();
    let mut batch = vec![(built.clone(), bytes.clone())];
    if let Some(p) = planned.get(1) {
        let mut stale = p.clone();
        stale.planned = false;
        stale.attempts += 1;
        batch.push((stale, b"stale".to_vec()));
    }
    let replaced = pg.store_built(&batch).unwrap();
    assert_eq!(replaced, vec![built.id]);
    assert_eq!(sled.store_built(&batch).unwrap(), replaced);
    assert_eq!(
        pg.outbox_entry(built.id).unwrap().map(|(_, m)| m),
        Some(bytes)
    );
    same_answers(&pg, &sled, &instants, "built");

    // Attempts recorded: one sent, one to retry later, one failed, one
    // in flight, and one no longer stored (skipped).
    let later = now + Duration::minutes(30);
    let mut retry = entry(first + 1, dues[1]);
    retry.attempts = 1;
    retry.next_attempt = later;
    retry.last_error = Some("451 try again".into());
    let mut failed = entry(first + 2, dues[2]);
    failed.state = State::Failed;
    failed.attempts = 1;
    failed.last_error = Some("550 no such user".into());
    let mut flying = entry(first + 3, dues[3]);
    flying.in_flight = true;
    let changes = vec![
        (built.clone(), sent(&built, now)),
        (entry(first + 1, dues[1]), retry),
        (entry(first + 2, dues[2]), failed),
        (entry(first + 3, dues[3]), flying),
        (entry(first + 90, now), sent(&entry(first + 90, now), now)),
    ];
    pg.update_outbox(&changes).unwrap();
    sled.update_outbox(&changes).unwrap();
    same_answers(&pg, &sled, &instants, "attempts recorded");
    assert!(pg.outbox_entry(first + 90).unwrap().is_none());
    let db = &db.name;
    let states = psql(
        &test_pg(),
        db,
        &format!(
            "SELECT string_agg(state || ' ' || (extract(epoch FROM next_attempt) * 1000)::bigint, ',' \
             ORDER BY id) FROM outbox WHERE id BETWEEN {} AND {}",
            first + 1,
            first + 2
        ),
    );
    assert_eq!(
        String::from_utf8_lossy(&states.stdout).trim(),
        format!(
            "queued {},failed {}",
            later.timestamp_millis(),
            dues[2].timestamp_millis()
        ),
        "the columns beside the record follow it, in whole milliseconds"
    );
}

/// Queues `n` mails due at `due` from id `first`, written through the
/// engine.
fn queue(pg: &PgEngine, stager: &Store, first: u64, n: u64, due: DateTime<Utc>) {
    let mut staged = Staged::default();
    for id in first..first + n {
        stager.stage_outgoing(&mut staged, entry(id, due), None, None, &mail_of(id));
    }
    pg.write(&staged).expect("queue mail");
}

#[test]
fn senders_on_one_database_never_claim_the_same_mail() {
    let MovedDesk {
        desk: _desk,
        db,
        engine: pg,
        store: stager,
    } = common::moved::migrated_desk("outbox_claims");
    let now = Utc::now();
    queue(&pg, &stager, 1, 60, now - Duration::minutes(1));
    queue(&pg, &stager, 61, 5, now + Duration::hours(1));
    let due: BTreeSet<u64> = (1..=60).collect();

    // Eight senders at once, each taking all it can: what they got is
    // disjoint and, together, every due mail.
    let barrier = std::sync::Barrier::new(8);
    let got: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (pg, barrier) = (&pg, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    ids(&pg.claim_due(now, 100, &format!("greedy-{i}")).unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = BTreeSet::new();
    for g in &got {
        for id in g {
            assert!(all.insert(*id), "mail {id} claimed twice: {got:?}");
        }
    }
    assert_eq!(all, due, "every due mail claimed once, none early");
    assert!(pg.claim_due(now, 100, "late").unwrap().is_empty());

    // Their claims run out (as if those nodes died); now eight senders
    // loop as the worker does: claim a few, record them sent (which ends
    // the claim and the queueing), claim again until nothing is due.
    psql(
        &test_pg(),
        &db.name,
        "UPDATE outbox SET claim_until = now() - interval '1 second'",
    );
    let barrier = std::sync::Barrier::new(8);
    let sent_by: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (pg, barrier) = (&pg, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let mut mine = Vec::new();
                    loop {
                        let claimed = pg.claim_due(now, 3, &format!("sender-{i}")).unwrap();
                        if claimed.is_empty() {
                            return mine;
                        }
                        let changes: Vec<(Entry, Entry)> = claimed
                            .iter()
                            .map(|(e, _)| (e.clone(), sent(e, now)))
                            .collect();
                        pg.update_outbox(&changes).unwrap();
                        mine.extend(claimed.iter().map(|(e, _)| e.id));
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = BTreeSet::new();
    for g in &sent_by {
        for id in g {
            assert!(all.insert(*id), "mail {id} sent twice: {sent_by:?}");
        }
    }
    assert_eq!(all, due, "every due mail sent once");
    assert_eq!(pg.outbox_len().unwrap(), 5, "the mail not due yet waits");

    // One node's claims, step by step.
    queue(&pg, &stager, 66, 4, now - Duration::seconds(1));
    assert_eq!(ids(&pg.claim_due(now, 2, "x").unwrap()), vec![66, 67]);
    assert_eq!(
        ids(&pg.claim_due(now, 10, "y").unwrap()),
        vec![68, 69],
        "x's live claims are skipped"
    );
    assert_eq!(
        ids(&pg.claim_due(now, 10, "x").unwrap()),
        vec![66, 67],
        "a node takes its own claims again (a batch it did not send)"
    );
    assert!(pg.claim_due(now, 10, "z").unwrap().is_empty());
    assert_eq!(
        ids(&pg.due_outbox(now, 10).unwrap()),
        vec![66, 67, 68, 69],
        "the plain read does not look at claims"
    );
    let e66 = entry(66, now - Duration::seconds(1));
    let mut flying = e66.clone();
    flying.in_flight = true;
    pg.update_outbox(&[(e66.clone(), flying.clone())]).unwrap();
    assert!(
        pg.claim_due(now, 10, "z").unwrap().is_empty(),
        "marking it in flight keeps the claim"
    );
    let mut retry = flying.clone();
    retry.in_flight = false;
    retry.attempts = 1;
    pg.update_outbox(&[(flying, retry)]).unwrap();
    assert_eq!(
        ids(&pg.claim_due(now, 10, "z").unwrap()),
        vec![66],
        "recording the attempt ends the claim"
    );
    psql(
        &test_pg(),
        &db.name,
        "UPDATE outbox SET claim_until = now() - interval '1 second' WHERE id = 67",
    );
    assert_eq!(
        ids(&pg.claim_due(now, 10, "z").unwrap()),
        vec![66, 67],
        "a claim that ran out is taken (z keeps its own 66)"
    );

    // On sled (one process) claiming is reading what is due.
    let mut staged = Staged::default();
    stager.stage_outgoing(
        &mut staged,
        entry(1, now - Duration::seconds(1)),
        None,
        None,
        &mail_of(1),
    );
    stager.commit(&mut staged).unwrap();
    assert_eq!(
        js(&stager.claim_due_outbox(now, 10, "any").unwrap()),
        js(&stager.due_outbox(now, 10).unwrap())
    );
}
