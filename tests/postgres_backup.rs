//! Moving a desk between engines through backup and restore (issue 20):
//! a PostgreSQL desk's records backed up (format 2, the record stream)
//! restore into a fresh sled desk with `postdesk restore`, and a sled
//! desk's `postdesk backup` restores into a fresh PostgreSQL database;
//! each side holds the same records, kind by kind, by count and digest.
//! Library-level where the binary cannot serve PostgreSQL yet. Needs the
//! test cluster (tests/pg/start.sh, POSTDESK_TEST_PG).

mod common;

use common::moved::MovedDesk;
use common::TestDesk;
use postdesk::store::engine::Backup;
use postdesk::store::portable::stream::{tally, Tallies};
use postdesk::store::Store;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A sled desk filled through the binary: tickets, replies threading into
/// them, customers, acknowledgements queued in the outbox.
fn fill(t: &TestDesk) {
    let mut mbox = Vec::new();
    for i in 0..24 {
        let reply = if i % 4 == 3 {
            format!("In-Reply-To: <bk{}@c>\r\n", i - 1)
        } else {
            String::new()
        };
        mbox.extend_from_slice(b"From x@customer.test Sun Nov 22 10:00:00 2026\n");
        mbox.extend_from_slice(
            format!(
                "From: Customer {n} <customer{n}@customer.test>\r\nTo: support@desk.test\r\nSubject: Case {i} \u{e9}\r\nMessage-ID: <bk{i}@c>\r\n{reply}Date: Sun, 22 Nov 2026 10:{i:02}:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody {i} \u{e9}t\u{e9}\r\n",
                n = i % 5
            )
            .as_bytes(),
        );
        mbox.extend_from_slice(b"\n");
    }
    let path = t.dir.path().join("bk.mbox");
    std::fs::write(&path, mbox).expect("mbox");
    let o = t.run(&["import", "mbox", path.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "{}", text(&o));
    // Mail piped in is acknowledged: the outbox has entries too.
    for i in 0..2 {
        let raw = format!(
            "From: Piped {i} <piped{i}@customer.test>\r\nTo: support@desk.test\r\nSubject: Piped {i}\r\nMessage-ID: <piped{i}@c>\r\n\r\nhello\r\n"
        );
        let o = t.pipe(raw.as_bytes());
        assert!(o.status.success(), "{}", text(&o));
    }
}

fn of_engine(e: &dyn Backup) -> Tallies {
    tally(|f| e.export_records(f)).expect("tally")
}

fn of_store(state: &std::path::Path) -> Tallies {
    let store = Store::open(state).expect("open the sled store");
    tally(|f| store.export_records(f)).expect("tally")
}

fn ticket_json(t: &TestDesk, id: &str) -> serde_json::Value {
    let out = t.run(&["tickets", "show", id, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn a_postgres_desk_restores_into_sled_and_a_sled_backup_into_postgres() {
    let MovedDesk {
        desk: t,
        db: _db,
        engine: pg,
        store,
    } = common::moved::moved_desk("sender_backup_from", "", fill);
    // The binary reads the desk it came from below: sled's lock is free.
    drop(store);
    let in_pg = of_engine(&pg);
    let counts = in_pg.counts();
    assert_eq!(counts.get("tickets"), Some(&20), "{counts:?}");
    assert!(counts.get("outbox").is_some_and(|n| *n > 0), "{counts:?}");

    // The PostgreSQL desk's backup, written from its records.
    let from_pg = t.dir.path().join("from-pg");
    let m = postdesk::backup::write_from(&t.state_dir(), &from_pg, |f| pg.export_records(f))
        .expect("back up the PostgreSQL desk");
    assert_eq!((m.format, &m.trees), (2, &counts));
    assert_eq!(m.digests, in_pg.digests());
    assert!(m.secret, "the token secret goes with it");

    // Restored into a fresh sled desk through the binary: the same records.
    let sled_desk = TestDesk::new();
    let out = sled_desk.run(&["restore", from_pg.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out));
    let in_sled = of_store(&sled_desk.state_dir());
    assert_eq!(
        in_sled.counts(),
        in_pg.counts(),
        "counts, PostgreSQL -> sled"
    );
    assert_eq!(
        in_sled.digests(),
        in_pg.digests(),
        "digests, PostgreSQL -> sled"
    );
    assert_eq!(
        ticket_json(&sled_desk, "ACME-1"),
        ticket_json(&t, "ACME-1"),
        "a ticket reads as it did on the desk it came from"
    );

    // That sled desk's `postdesk backup`, restored into a fresh database.
    let from_sled = t.dir.path().join("from-sled");
    let out = sled_desk.run(&["backup", from_sled.to_str().expect("utf-8"), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).expect("manifest");
    assert_eq!(m["format"], 2);
    let into_db = common::moved::database("sender_backup_into");
    into_db.migrate();
    let into = into_db.connect();
    let m =
        postdesk::backup::restore_into(&into, &from_sled, false).expect("restore into PostgreSQL");
    assert_eq!(m.trees, counts);
    let back = of_engine(&into);
    assert_eq!(back.counts(), in_pg.counts(), "counts, sled -> PostgreSQL");
    assert_eq!(
        back.digests(),
        in_pg.digests(),
        "digests, sled -> PostgreSQL"
    );

    // A database that holds records already is not a restore target
    // the check lets pass unnoticed.
    let again = postdesk::backup::restore_into(&into, &from_sled, false);
    assert!(
        again.is_err(),
        "restoring twice into one database is refused"
    );
}
