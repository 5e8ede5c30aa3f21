//! The PostgreSQL engine's quarantine, guard scans and health answer as
//! the sled store's (issue 20). A desk that quarantined mail through the
//! binary is moved into a fresh database (`postdesk migrate --from
//! sled`); both engines are asked the same questions and given the same
//! writes. Needs the test cluster (tests/pg/start.sh, POSTDESK_TEST_PG).

mod common;

use chrono::{DateTime, Duration, Utc};
use common::moved::{pipe_all, MovedDesk};
use postdesk::bounce::{Mark, Severity};
use postdesk::pg::engine::PgEngine;
use postdesk::store::engine::{Guard, Health, Intake, Quarantine};
use postdesk::store::{QuarantineEntry, Staged, Store};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn js<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("json")
}

fn sorted(mut v: Vec<QuarantineEntry>) -> Vec<QuarantineEntry> {
    v.sort_by(|a, b| a.received.cmp(&b.received).then(a.id.cmp(&b.id)));
    v
}

fn mark(address: &str, hard: u32, at: DateTime<Utc>) -> Mark {
    Mark {
        address: address.into(),
        last: Severity::Hard,
        last_at: at,
        status: Some("5.1.1".into()),
        diagnostic: Some("550 no such user".into()),
        ticket: Some("ACME-1".into()),
        hard_bounces: hard,
        soft_bounces: 0,
        suppressed_until: Some(at + Duration::days(7)),
    }
}

/// Both engines' quarantine, entry by entry with its mail.
fn same_quarantine(pg: &PgEngine, sled: &Store, what: &str) {
    let kept = sled.quarantined().unwrap();
    assert_eq!(
        js(&sorted(pg.quarantined().unwrap())),
        js(&kept),
        "{what}: entries"
    );
    assert_eq!(
        pg.quarantine_len().unwrap(),
        sled.quarantine_len(),
        "{what}: count"
    );
    for e in kept
        .iter()
        .map(|e| e.id.as_str())
        .chain(["0000000000000000"])
    {
        assert_eq!(
            js(&pg.quarantined_entry(e).unwrap()),
            js(&sled.quarantined_entry(e).unwrap()),
            "{what}: {e}"
        );
    }
}

#[test]
fn the_postgres_quarantine_guards_and_health_answer_as_the_sled_store_does() {
    let junk = b"Subject: who sent this\r\n\r\nno sender at all\r\n";
    let MovedDesk {
        desk: _desk,
        db: _db,
        engine: pg,
        store: sled,
    } = common::moved::moved_desk("quarantine_parity", "", |t| {
        // Not mail (no sender): quarantined; the same bytes twice are one
        // entry that arrived twice.
        for raw in [&junk[..], &junk[..], b"\x00\x01 not even headers\r\n"] {
            let out = t.pipe(raw);
            assert!(text(&out).contains("quarantined as"), "{}", text(&out));
        }
        let carol = common::mail(
            "carol@customer.test",
            "Help",
            "m1@customer.test",
            "",
            "Please.",
        );
        pipe_all(t, &[carol]);
    });

    let kept = sled.quarantined().unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().any(|e| e.arrivals == 2), "{kept:?}");
    same_quarantine(&pg, &sled, "migrated");

    // The same bytes quarantined again, and new ones, on both.
    let now = Utc::now();
    let fresh = b"Subject: also junk\r\n\r\nx\r\n";
    for raw in [&junk[..], &fresh[..]] {
        let on_sled = sled.quarantine(raw, "no sender", "pipe", now).unwrap();
        let on_pg = pg
            .quarantine(
                &QuarantineEntry {
                    arrivals: 1,
                    ..on_sled.clone()
                },
                raw,
            )
            .unwrap();
        assert_eq!(js(&on_pg), js(&on_sled));
    }
    same_quarantine(&pg, &sled, "quarantined again");

    // Eight nodes quarantine the same new bytes at once: one entry, every
    // arrival counted.
    let raced = QuarantineEntry {
        id: "00000000000000aa".into(),
        reason: "no sender".into(),
        origin: "imap:support".into(),
        received: now,
        size: 3,
        arrivals: 1,
    };
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| pg.quarantine(&raced, b"abc").unwrap());
        }
    });
    let (entry, raw) = pg.quarantined_entry(&raced.id).unwrap().expect("kept");
    assert_eq!(entry.arrivals, 8);
    assert_eq!(raw, b"abc");

    // Marks set and cleared by the same staged decisions on both: the scan
    // answers alike, in address order.
    let fill = |staged: &mut Staged| {
        sled.stage_mark(
            staged,
            "zed@customer.test",
            Some(mark("zed@customer.test", 1, now)),
        );
        sled.stage_mark(
            staged,
            " Amy@Customer.test",
            Some(mark("amy@customer.test", 2, now)),
        );
        sled.stage_mark(
            staged,
            "bob@customer.test",
            Some(mark("bob@customer.test", 1, now)),
        );
    };
    let (mut a, mut b) = (Staged::default(), Staged::default());
    fill(&mut a);
    fill(&mut b);
    pg.write(&a).unwrap();
    sled.commit(&mut b).unwrap();
    let (mut a, mut b) = (Staged::default(), Staged::default());
    sled.stage_mark(&mut a, "bob@customer.test", None);
    sled.stage_mark(&mut b, "bob@customer.test", None);
    pg.write(&a).unwrap();
    sled.commit(&mut b).unwrap();
    let marks = sled.marks().unwrap();
    assert_eq!(
        marks.iter().map(|m| m.address.as_str()).collect::<Vec<_>>(),
        ["amy@customer.test", "zed@customer.test"]
    );
    assert_eq!(js(&pg.marks().unwrap()), js(&marks));
    let none = Staged::default();
    for email in [
        "amy@customer.test",
        "bob@customer.test",
        "ZED@customer.test",
    ] {
        assert_eq!(
            js(&pg.mark(email).unwrap()),
            js(&sled.mark(&none, email).unwrap()),
            "{email}"
        );
    }

    // Health: both take a probe write; the sled-only measures are empty on PostgreSQL, and it records no
    // sticky failure.
    pg.probe().expect("PostgreSQL probe");
    sled.probe().expect("sled probe");
    assert!(pg.space().unwrap().is_empty());
    assert!(!sled.space().unwrap().is_empty());
    assert!(pg.fault().failure().is_none());
    assert_eq!(pg.usage(), (0, 0));
}
