//! Several senders on one PostgreSQL database (issue 20): a node records
//! marks and results only while its claim is its own, and mail a node
//! left in flight is recovered (counted as a possible send) by the node
//! that claims it after the claim ran out, never while another node is
//! sending it. Needs the test cluster (tests/pg/start.sh,
//! POSTDESK_TEST_PG).

mod common;

use chrono::{DateTime, Duration, Utc};
use common::moved::MovedDesk;
use common::{psql, test_pg};
use postdesk::outbox::{recover, start_send, Entry, State};
use postdesk::pg::engine::PgEngine;
use postdesk::store::engine::{Claims, Intake, Outbox};
use postdesk::store::Staged;

fn entry(id: u64, due: DateTime<Utc>) -> Entry {
    serde_json::from_value(serde_json::json!({
        "id": id, "ticket": "ACME-1", "kind": "notify",
        "message_id": format!("<c{id}@desk.test>"), "envelope_from": "support@desk.test",
        "recipients": ["ann@desk.test"], "subject": "New message", "size": 9,
        "created": due, "state": "queued", "attempts": 0, "next_attempt": due,
    }))
    .expect("entry")
}

fn mail_of(id: u64) -> Vec<u8> {
    format!("Message-ID: <c{id}@desk.test>\r\n\r\nmail {id}\r\n").into_bytes()
}

fn sent(e: &Entry, now: DateTime<Utc>) -> Entry {
    let mut s = e.clone();
    s.state = State::Sent;
    s.attempts += 1;
    s.sent_at = Some(now);
    s.in_flight = false;
    s
}

fn stored(pg: &PgEngine, id: u64) -> Entry {
    pg.outbox_entry(id).unwrap().expect("stored").0
}

#[test]
fn a_node_records_only_under_its_own_claim_and_recovers_what_a_dead_node_left() {
    let MovedDesk {
        desk: _desk,
        db,
        engine: pg,
        store: stager,
    } = common::moved::migrated_desk("sender_claims");
    let db = &db.name;
    let now = Utc::now();
    let due = now - Duration::minutes(1);
    let mut staged = Staged::default();
    for id in 1..=3 {
        stager.stage_outgoing(&mut staged, entry(id, due), None, None, &mail_of(id));
    }
    pg.write(&staged).expect("queue mail");

    // Node a claims all three and marks them in flight under its claim.
    let claimed = pg.claim_due(now, 10, "a").unwrap();
    assert_eq!(claimed.len(), 3);
    let marks: Vec<(Entry, Entry)> = claimed
        .iter()
        .map(|(e, _)| (e.clone(), start_send(e.clone())))
        .collect();
    assert_eq!(pg.update_claimed(&marks, "a").unwrap(), vec![1, 2, 3]);
    assert!(
        pg.update_claimed(&marks, "b").unwrap().is_empty(),
        "b holds no claim: nothing written"
    );
    assert!(
        pg.claim_in_flight(now, "b").unwrap().is_empty(),
        "b does not recover mail a is sending (a's claim is live)"
    );
    assert!(pg.claim_due(now, 10, "b").unwrap().is_empty());

    // a records 1 as sent: the claim ends, the record is a's.
    let flying1 = start_send(entry(1, due));
    assert_eq!(
        pg.update_claimed(&[(flying1.clone(), sent(&flying1, now))], "a")
            .unwrap(),
        vec![1]
    );
    assert_eq!(stored(&pg, 1).state, State::Sent);

    // a dies; its claims run out. b's sender claims 2 and 3, found in
    // flight: it recovers them (one possible send each) before anything.
    psql(
        &test_pg(),
        db,
        "UPDATE outbox SET claim_until = now() - interval '1 second'",
    );
    let taken = pg.claim_due(now, 10, "b").unwrap();
    let stuck: Vec<Entry> = taken.iter().map(|(e, _)| e.clone()).collect();
    assert_eq!(stuck.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2, 3]);
    assert!(stuck.iter().all(|e| e.in_flight), "found in flight");

    // a comes back to life late and records 2 as sent: refused, b holds it.
    let flying2 = start_send(entry(2, due));
    assert!(
        pg.update_claimed(&[(flying2.clone(), sent(&flying2, now))], "a")
            .unwrap()
            .is_empty(),
        "a's claim was taken over: its result is not written"
    );
    assert!(stored(&pg, 2).in_flight, "b's view of 2 stands");

    let recovered: Vec<(Entry, Entry)> = stuck
        .iter()
        .map(|e| (e.clone(), recover(e.clone())))
        .collect();
    assert_eq!(pg.update_claimed(&recovered, "b").unwrap(), vec![2, 3]);
    for id in [2, 3] {
        let e = stored(&pg, id);
        assert_eq!(
            (e.state, e.in_flight, e.unconfirmed),
            (State::Queued, false, 1),
            "mail {id} counted as possibly sent once"
        );
    }
    // Recovery ended b's claims: any node may send them now, once.
    assert_eq!(pg.claim_due(now, 10, "c").unwrap().len(), 2);
    assert!(pg.claim_due(now, 10, "b").unwrap().is_empty());

    // Start-up recovery: c marks 2 in flight and dies; while its claim is
    // live no one recovers it, once it ran out the next node does.
    let flying = start_send(stored(&pg, 2));
    assert_eq!(
        pg.update_claimed(&[(stored(&pg, 2), flying)], "c").unwrap(),
        vec![2]
    );
    assert!(pg.claim_in_flight(now, "d").unwrap().is_empty());
    assert_eq!(
        pg.claim_in_flight(now, "c")
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        vec![2],
        "a node recovers its own"
    );
    psql(
        &test_pg(),
        db,
        "UPDATE outbox SET claim_until = now() - interval '1 second' WHERE id = 2",
    );
    let stuck = pg.claim_in_flight(now, "d").unwrap();
    assert_eq!(stuck.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2]);
    assert!(
        pg.claim_due(now, 10, "e")
            .unwrap()
            .iter()
            .all(|(e, _)| e.id != 2),
        "d's recovery claim keeps others off it"
    );

    // A pass no claim covers (bringing mail forward) writes only what is
    // stored as it read it and no node holds now.
    let e3 = stored(&pg, 3);
    let mut forward = e3.clone();
    forward.next_attempt = now - Duration::seconds(5);
    let e2 = stored(&pg, 2);
    let mut forward2 = e2.clone();
    forward2.next_attempt = now - Duration::seconds(5);
    assert!(
        pg.update_unchanged(&[(e3.clone(), forward.clone()), (e2, forward2)])
            .unwrap()
            .is_empty(),
        "3 is claimed by c, 2 by d: neither is written"
    );
    psql(
        &test_pg(),
        db,
        "UPDATE outbox SET claim_until = now() - interval '1 second'",
    );
    let mut stale = e3.clone();
    stale.attempts = 9;
    assert!(
        pg.update_unchanged(&[(stale, forward.clone())])
            .unwrap()
            .is_empty(),
        "a record changed since it was read is not overwritten"
    );
    assert_eq!(pg.update_unchanged(&[(e3, forward)]).unwrap(), vec![3]);
    assert_eq!(
        stored(&pg, 3).next_attempt.timestamp_millis(),
        (now - Duration::seconds(5)).timestamp_millis()
    );

    // On sled (one process) every entry is this sender's.
    let mut staged = Staged::default();
    stager.stage_outgoing(&mut staged, entry(9, due), None, None, &mail_of(9));
    stager.commit(&mut staged).unwrap();
    let e9 = entry(9, due);
    assert_eq!(
        stager
            .update_claimed_outbox(&[(e9.clone(), start_send(e9.clone()))], "any")
            .unwrap(),
        vec![9]
    );
    assert_eq!(
        stager
            .claim_in_flight_outbox(now, "other")
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        vec![9]
    );
}

#[test]
fn outbox_retry_leaves_mail_a_node_is_sending_alone() {
    let db = common::moved::database("retry_claims");
    let t = db.desk("kind = \"postgres\"\n");
    common::moved::migrate(&t, &[]);
    let db_name = db.name.clone();
    let run = |args: &[&str]| {
        let out = t.run(args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let pg = db.connect();
    let stager = postdesk::store::Store::open(&t.state_dir()).expect("a store to stage with");
    let now = Utc::now();
    let due = now - Duration::minutes(1);
    let mut staged = Staged::default();
    for id in 1..=2 {
        stager.stage_outgoing(&mut staged, entry(id, due), None, None, &mail_of(id));
    }
    pg.write(&staged).expect("queue mail");
    // The stager is a sled store in the desk's state directory: the CLI
    // below would find the directory busy.
    drop(stager);
    // 2 failed for good; node a is sending 1 right now.
    let failed2 = {
        let mut f = entry(2, due);
        f.state = State::Failed;
        f
    };
    pg.update_outbox(&[(entry(2, due), failed2)]).unwrap();
    let claimed = pg.claim_due(now, 1, "a").unwrap();
    assert_eq!(claimed.len(), 1);
    let flying = start_send(claimed[0].0.clone());
    pg.update_claimed(&[(claimed[0].0.clone(), flying.clone())], "a")
        .unwrap();

    let (code, _, err) = run(&["outbox", "retry", "1"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("being sent right now"), "{err}");
    let (code, out, err) = run(&["outbox", "retry", "--all", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("\"requeued\":[2]"),
        "only the failed one: {out}"
    );
    assert!(stored(&pg, 1).in_flight, "a's send is left as it is");
    assert_eq!(stored(&pg, 2).state, State::Queued);

    // Once a's claim has run out (a died), the admin may send it again.
    psql(
        &test_pg(),
        &db_name,
        "UPDATE outbox SET claim_until = now() - interval '1 second'",
    );
    let (code, out, err) = run(&["outbox", "retry", "1"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("requeued 1"), "{out}");
    assert!(!stored(&pg, 1).in_flight);
}
