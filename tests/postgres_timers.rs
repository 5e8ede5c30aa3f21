//! Ticket timers for several nodes on one PostgreSQL database (issue 20):
//! due tickets are claimed with `FOR UPDATE SKIP LOCKED`, so two nodes
//! never run one ticket's timers at once; writing the ticket ends its
//! claim. The same tickets written to sled are found due alike. Needs the
//! test cluster (tests/pg/start.sh, POSTDESK_TEST_PG).

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use common::moved::{pipe_all, MovedDesk};
use common::{mail, psql, test_pg};
use postdesk::pg::engine::PgEngine;
use postdesk::store::engine::{Intake, Timers};
use postdesk::store::{Staged, Store};
use postdesk::ticket::Ticket;

/// Writes tickets `numbers`, copies of `template` due at `due`, with both
/// engines.
fn write_due(
    pg: &PgEngine,
    sled: &Store,
    template: &Ticket,
    numbers: impl Iterator<Item = u64> + Clone,
    due: Option<DateTime<Utc>>,
) {
    let fill = |staged: &mut Staged| {
        for n in numbers.clone() {
            let mut t = template.clone();
            t.number = n;
            t.timer_due = due;
            sled.stage_ticket(staged, &t);
        }
    };
    let (mut a, mut b) = (Staged::default(), Staged::default());
    fill(&mut a);
    fill(&mut b);
    pg.write(&a).expect("PostgreSQL write");
    sled.commit(&mut b).expect("sled commit");
}

#[test]
fn nodes_on_one_database_never_claim_the_same_tickets_timers() {
    let MovedDesk {
        desk: _desk,
        db,
        engine: pg,
        store: sled,
    } = common::moved::moved_desk("timer_claims", "", |t| {
        pipe_all(
            t,
            &[mail(
                "carol@customer.test",
                "Help",
                "m1@customer.test",
                "",
                "Please.",
            )],
        )
    });
    let template = sled
        .ticket(&Staged::default(), 1)
        .unwrap()
        .expect("ticket 1");
    let db = &db.name;

    let now = Utc::now();
    // Deadlines within one millisecond, to the microsecond: both engines
    // keep whole milliseconds and order by number within one.
    let base = DateTime::from_timestamp_millis(now.timestamp_millis() - 60_000).expect("ms");
    write_due(&pg, &sled, &template, 2..=31, Some(base));
    write_due(
        &pg,
        &sled,
        &template,
        32..=41,
        Some(base + Duration::microseconds(700)),
    );
    write_due(
        &pg,
        &sled,
        &template,
        42..=45,
        Some(now + Duration::hours(1)),
    );
    for at in [now - Duration::days(1), base, now, now + Duration::days(1)] {
        for limit in [1, 7, 100] {
            assert_eq!(
                pg.due_tickets(at, limit).unwrap(),
                sled.due_tickets(at, limit).unwrap(),
                "due at {at}, {limit} at most"
            );
        }
    }
    assert_eq!(pg.next_timer().unwrap(), sled.next_timer().unwrap());
    let due: BTreeSet<u64> = pg.due_tickets(now, 1000).unwrap().into_iter().collect();
    assert!((2..=41).all(|n| due.contains(&n)), "{due:?}");
    assert_eq!(
        sled.claim_due_tickets(now, 1000, "any").unwrap(),
        sled.due_tickets(now, 1000).unwrap(),
        "on sled, claiming is reading what is due"
    );
    assert_eq!(
        pg.claim_due_tickets(now, 1000, "first").unwrap(),
        pg.due_tickets(now, 1000).unwrap(),
        "claims come in deadline order"
    );
    psql(
        &test_pg(),
        db,
        "UPDATE tickets SET timer_claim_until = now() - interval '1 second'",
    );

    // Eight nodes at once, each taking all it can: disjoint, and together
    // every due ticket.
    let barrier = std::sync::Barrier::new(8);
    let got: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (pg, barrier) = (&pg, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    pg.claim_due_tickets(now, 1000, &format!("greedy-{i}"))
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = BTreeSet::new();
    for g in &got {
        for n in g {
            assert!(all.insert(*n), "ticket {n} claimed twice: {got:?}");
        }
    }
    assert_eq!(all, due);
    assert!(pg.claim_due_tickets(now, 1000, "late").unwrap().is_empty());

    // Their claims run out; eight nodes loop as the timer pass would:
    // claim a few, write each ticket with its next deadline (which ends
    // the claim), until nothing is due.
    psql(
        &test_pg(),
        db,
        "UPDATE tickets SET timer_claim_until = now() - interval '1 second'",
    );
    let barrier = std::sync::Barrier::new(8);
    let ran: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (pg, barrier, template, sled) = (&pg, &barrier, &template, &sled);
                s.spawn(move || {
                    barrier.wait();
                    let mut mine = Vec::new();
                    loop {
                        let claimed = pg.claim_due_tickets(now, 3, &format!("node-{i}")).unwrap();
                        if claimed.is_empty() {
                            return mine;
                        }
                        let mut staged = Staged::default();
                        for n in &claimed {
                            let mut t = template.clone();
                            t.number = *n;
                            t.timer_due = Some(now + Duration::days(2));
                            sled.stage_ticket(&mut staged, &t);
                        }
                        pg.write(&staged).unwrap();
                        mine.extend(claimed);
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = BTreeSet::new();
    for g in &ran {
        for n in g {
            assert!(all.insert(*n), "ticket {n} run twice: {ran:?}");
        }
    }
    assert_eq!(all, due);
    assert!(pg.due_tickets(now, 1000).unwrap().is_empty());

    // One ticket, step by step: a live claim is skipped, writing the
    // ticket ends it even when it stays due, a claim that ran out is taken.
    write_due(&pg, &sled, &template, 2..=3, Some(base));
    assert_eq!(pg.claim_due_tickets(now, 1, "x").unwrap(), vec![2]);
    assert_eq!(pg.claim_due_tickets(now, 10, "y").unwrap(), vec![3]);
    assert!(pg.claim_due_tickets(now, 10, "z").unwrap().is_empty());
    write_due(&pg, &sled, &template, 2..=2, Some(base));
    assert_eq!(pg.claim_due_tickets(now, 10, "z").unwrap(), vec![2]);
    psql(
        &test_pg(),
        db,
        "UPDATE tickets SET timer_claim_until = now() - interval '1 second' WHERE number = 3",
    );
    assert_eq!(pg.claim_due_tickets(now, 10, "z").unwrap(), vec![2, 3]);
}
