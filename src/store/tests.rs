//! Unit tests of `store.rs`.

use super::*;

#[test]
fn id_entries_round_trip() {
    for kind in [IdKind::Stored, IdKind::Sent, IdKind::Referenced] {
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
