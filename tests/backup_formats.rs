//! `postdesk backup` writes format 2 (the record stream, the same from
//! either engine) and `postdesk restore` checks it by the manifest's
//! counts and digests; a format 1 backup (sled's trees, as postdesk wrote
//! before issue 20) still restores into sled and is refused, saying how,
//! by a PostgreSQL desk. Runs on both engines (tests/run.sh).

mod common;

use std::io::Write;

use common::TestDesk;
use sha2::{Digest, Sha256};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A desk with a few tickets, piped in (each acknowledged).
fn desk() -> TestDesk {
    filled(TestDesk::new())
}

fn filled(t: TestDesk) -> TestDesk {
    for i in 0..4 {
        let raw = format!(
            "From: Customer {i} <c{i}@customer.test>\r\nTo: support@desk.test\r\nSubject: Case {i}\r\nMessage-ID: <fmt{i}@c>\r\n\r\nhello {i}\r\n"
        );
        let o = t.pipe(raw.as_bytes());
        assert!(o.status.success(), "{}", text(&o));
    }
    t
}

fn ticket_count(t: &TestDesk) -> usize {
    t.tickets_json().as_array().map(|a| a.len()).unwrap_or(0)
}

fn manifest(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn a_format_1_backup_still_restores() {
    // Format 1 is sled's tree dump, so the desk it is taken of is sled
    // on either pass; the desk it is restored into is the pass's engine.
    let t = filled(TestDesk::with(common::Options {
        extra: common::SLED_ONLY.into(),
        ..common::Options::default()
    }));
    let dir = t.dir.path().join("old-backup");
    std::fs::create_dir(&dir).unwrap();
    // Written as postdesk wrote backups before format 2: sled's trees.
    let trees = {
        let store = postdesk::store::Store::open(&t.state_dir()).unwrap();
        let mut f = std::fs::File::create(dir.join("store.pdx")).unwrap();
        let trees = store.export(&mut f).unwrap();
        f.flush().unwrap();
        trees
    };
    let bytes = std::fs::read(dir.join("store.pdx")).unwrap();
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let m = serde_json::json!({
        "format": 1, "schema_version": postdesk::store::SCHEMA_VERSION,
        "postdesk_version": "0.old", "created": "2026-11-01T00:00:00Z",
        "tickets": trees["tickets"], "trees": trees, "bytes": bytes.len(),
        "sha256": sha, "secret": false,
    });
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();

    let fresh = TestDesk::new();
    let out = fresh.run(&["restore", dir.to_str().unwrap()]);
    if common::engine() == "postgres" {
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("restore it into a sled desk, then move that"),
            "{}",
            text(&out)
        );
        assert_eq!(ticket_count(&fresh), 0);
        return;
    }
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(ticket_count(&fresh), 4);
    assert_eq!(fresh.tickets_json(), t.tickets_json());
}

#[test]
fn restore_checks_counts_and_digests_of_a_format_2_backup() {
    let t = desk();
    let dir = t.dir.path().join("backup");
    let out = t.run(&["backup", dir.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let m = manifest(&dir);
    assert_eq!(m["format"], 2);
    assert_eq!(m["trees"]["tickets"], 4);
    assert_eq!(m["trees"]["messages"], 4);
    assert!(m["trees"]["outbox"].as_u64().unwrap() >= 4, "{m}");
    assert!(m["digests"]["tickets"].is_string(), "{m}");

    // As taken: restores, and the desk reads the same.
    let fresh = TestDesk::new();
    let out = fresh.run(&["restore", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fresh.tickets_json(), t.tickets_json());

    // A manifest that says other counts or digests than the stream holds
    // is refused, and the desk is left as it was: the sled store beside
    // the one built, or on PostgreSQL the records the import replaced in
    // its transaction, rolled back.
    for (field, kind, value) in [
        ("trees", "tickets", serde_json::json!(5)),
        (
            "digests",
            "messages",
            serde_json::json!("00000000000000000000000000000000"),
        ),
    ] {
        let mut bad = m.clone();
        bad[field][kind] = value;
        std::fs::write(dir.join("manifest.json"), serde_json::to_vec(&bad).unwrap()).unwrap();
        let out = fresh.run(&["restore", dir.to_str().unwrap(), "--force"]);
        assert!(!out.status.success(), "{field}.{kind}: {}", text(&out));
        let said = text(&out);
        assert!(
            said.contains(kind) && said.contains("the old store was left in place"),
            "{said}"
        );
        assert_eq!(fresh.tickets_json(), t.tickets_json());
    }
}
