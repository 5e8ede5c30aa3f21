//! A measurement, not a test (`harness = false`): the report summaries of
//! about 100,000 tickets read by the PostgreSQL engine (V3's `summary`
//! column) and by sled (its stored summaries), and a page of each. A desk
//! of one ticket is moved into a fresh database of the test cluster, its
//! ticket cloned 99,001 times in SQL, and the records then imported into
//! sled. Results go to benches/RESULTS.md ("PostgreSQL listing and report
//! summaries").
//!
//! Needs the test cluster (tests/pg/start.sh, POSTDESK_TEST_PG). Runs only
//! when asked: `cargo test --bench pg_listing -- --bench` (a debug build,
//! as recorded) or `cargo bench --bench pg_listing`; `cargo test
//! --all-targets` builds it and it says so and returns.

#[path = "../tests/common/mod.rs"]
mod common;

use common::moved::MovedDesk;
use common::test_pg;
use postdesk::store::engine::{Backup, Listing, Messages};
use postdesk::store::{Store, TicketQuery};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("pg_listing: a measurement; run `cargo test --bench pg_listing -- --bench` (needs POSTDESK_TEST_PG)");
        return;
    }
    const N: i64 = 100_000;
    let MovedDesk {
        desk: t,
        db: database,
        engine: pg,
        store,
    } = common::moved::moved_desk("bench_listing_measure", "", |t| {
        let o = t.pipe(&common::mail(
            "Carol <carol@customer.test>",
            "Printer on fire",
            "measure-1@customer.test",
            "",
            "It burns.",
        ));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    });
    drop(store);
    let db = database.name.as_str();
    let out = common::psql(
        &test_pg(),
        db,
        &format!(
            "INSERT INTO tickets (number, status, queue, assignee, requester, created, updated, \
             timer_due, record, summary, summary_of) SELECT n, status, queue, assignee, \
             requester, created, u, timer_due, r, summary, sha256(convert_to(r::text, 'UTF8')) \
             FROM (SELECT g AS n, status, queue, assignee, requester, created, \
             updated + g * interval '1 millisecond' AS u, timer_due, summary, \
             jsonb_set(jsonb_set(record::jsonb, '{{number}}', to_jsonb(g)), '{{updated}}', \
             to_jsonb(updated + g * interval '1 millisecond'))::json AS r \
             FROM tickets, generate_series(1000, {N}) AS g WHERE number = 1) AS c"
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tickets = pg.ticket_count().unwrap();
    let time = |what: &str, f: &mut dyn FnMut() -> usize| {
        let start = std::time::Instant::now();
        let n = f();
        println!("{what}: {n} in {:?}", start.elapsed());
    };
    time("PostgreSQL for_each_summary", &mut || {
        let mut n = 0;
        pg.for_each_summary(&mut |_| n += 1).unwrap();
        n
    });
    time("PostgreSQL first page of 50", &mut || {
        pg.ticket_page(&TicketQuery::default(), None, 50)
            .unwrap()
            .tickets
            .len()
    });
    time("PostgreSQL page of 50 by queue, --search", &mut || {
        let q = TicketQuery {
            queue: Some("general".into()),
            search: Some("no such words".into()),
            ..Default::default()
        };
        pg.ticket_page(&q, None, 50).unwrap().tickets.len()
    });
    let dir = t.dir.path().join("measured");
    std::fs::create_dir_all(&dir).expect("dir");
    let mut records = Vec::new();
    pg.export_records(&mut |r| {
        records.push(r);
        Ok(())
    })
    .unwrap();
    let mut it = records.into_iter();
    Store::import_records(&dir, || Ok(it.next())).expect("import");
    let sled = common::moved::reopen(&dir);
    assert_eq!(sled.ticket_count().unwrap(), tickets);
    time("sled for_each_summary (stored summaries)", &mut || {
        let mut n = 0;
        sled.for_each_summary(|_| n += 1).unwrap();
        n
    });
    time("sled first page of 50", &mut || {
        sled.ticket_page(&TicketQuery::default(), None, 50)
            .unwrap()
            .tickets
            .len()
    });
}
