//! [`Listing`] over the `ticket_index` tree, kept in the same transaction
//! as the tickets it describes.
//!
//! The tree holds, per ticket, one key in last-update order and one per
//! field admins filter by, each ending in the ticket's last update (ms,
//! u64 BE) and number (u64 BE):
//!
//! | key                                      | what                       |
//! |------------------------------------------|----------------------------|
//! | `u` updated ticket                       | every ticket               |
//! | `s` status 0 updated ticket              | by status                  |
//! | `q` queue 0 updated ticket               | by queue                   |
//! | `a` assignee (lower case) 0 updated ticket | by assignee              |
//! | `r` requester (lower case) 0 updated ticket | by requester            |
//! | `#` ticket                               | the keys above, as written: what to remove when the ticket changes |
//!
//! The `u` key's value is the ticket's report summary
//! ([`crate::report::Summary`], ~100 bytes; the other keys' values are
//! empty): written with the key, in the ticket's transaction, so reports
//! (`stats`), the least-open recount and the metrics' gauges read one
//! prefix of small records ([`Listing::for_each_summary`]) instead of
//! decoding every full ticket, and cannot disagree with the tickets after
//! a crash. It rides on a key every ticket change rewrites anyway (its
//! last update moves), so it costs no extra write.
//! So a page is a reverse range scan of one prefix that stops after the
//! page, plus one point read per ticket shown: O(page), whatever the
//! number of tickets. The filters beyond the one the index answers are
//! checked on the ticket itself.

use std::ops::Bound;

use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::*;
use crate::report::Summary;
use crate::store::engine::{Intake as _, Listing, Messages as _};
use crate::store::listing::{updated_ms, SCAN_BUDGET};

const TAG_UPDATED: u8 = b'u';
const TAG_STATUS: u8 = b's';
const TAG_QUEUE: u8 = b'q';
const TAG_ASSIGNEE: u8 = b'a';
const TAG_REQUESTER: u8 = b'r';
const TAG_KEYS: u8 = b'#';

/// The index prefix that answers the most selective filter of a query.
fn prefix(query: &TicketQuery) -> Vec<u8> {
    if let Some(r) = &query.requester {
        return field_prefix(TAG_REQUESTER, &r.trim().to_ascii_lowercase());
    }
    if let Some(a) = &query.assignee {
        return field_prefix(TAG_ASSIGNEE, &a.trim().to_ascii_lowercase());
    }
    if let Some(q) = &query.queue {
        return field_prefix(TAG_QUEUE, q);
    }
    if let Some(s) = &query.status {
        return field_prefix(TAG_STATUS, s.as_str());
    }
    vec![TAG_UPDATED]
}

/// A cursor as the tail of an index key.
fn cursor_bytes(c: Cursor) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&c.updated_ms.to_be_bytes());
    k[8..].copy_from_slice(&c.ticket.to_be_bytes());
    k
}

/// The cursor an index key ends in.
fn cursor_of_key(k: &[u8]) -> Option<Cursor> {
    let tail = k.len().checked_sub(16).and_then(|at| k.get(at..))?;
    Some(Cursor {
        updated_ms: be_u64(tail)?,
        ticket: be_u64(tail.get(8..)?)?,
    })
}

fn field_prefix(tag: u8, value: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(value.len() + 2);
    k.push(tag);
    // A NUL would end the field early; no address or queue has one.
    k.extend(value.bytes().filter(|b| *b != 0));
    k.push(0);
    k
}

/// The index keys of a ticket as it stands.
pub(crate) fn index_keys(t: &Ticket) -> Vec<Vec<u8>> {
    let tail = cursor_bytes(Cursor::of(t));
    let mut prefixes = vec![
        vec![TAG_UPDATED],
        field_prefix(TAG_STATUS, t.status.as_str()),
        field_prefix(TAG_QUEUE, &t.queue),
        field_prefix(
            TAG_REQUESTER,
            &t.requester.email.trim().to_ascii_lowercase(),
        ),
    ];
    if let Some(a) = &t.assignee {
        prefixes.push(field_prefix(TAG_ASSIGNEE, &a.trim().to_ascii_lowercase()));
    }
    prefixes
        .into_iter()
        .map(|mut p| {
            p.extend_from_slice(&tail);
            p
        })
        .collect()
}

/// Where a ticket's keys are recorded.
fn keys_key(ticket: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = TAG_KEYS;
    k[1..].copy_from_slice(&ticket.to_be_bytes());
    k
}

/// Index keys as one value: each a u16 BE length and its bytes.
fn encode_keys(keys: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    for k in keys {
        let k = &k[..k.len().min(u16::MAX as usize)];
        v.extend_from_slice(&(k.len() as u16).to_be_bytes());
        v.extend_from_slice(k);
    }
    v
}

fn decode_keys(mut v: &[u8]) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    while let Some(len) = v
        .get(..2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
    {
        let Some(k) = v.get(2..2 + len) else { break };
        keys.push(k.to_vec());
        v = &v[2 + len..];
    }
    keys
}

/// A ticket's index entries as they must be after a write: its keys, their
/// record and its report summary (the `u` key's value). Computed before
/// the transaction, which may run twice.
pub(crate) struct Reindex {
    pub ticket: u64,
    /// The `u` key first (see [`index_keys`]).
    pub keys: Vec<Vec<u8>>,
    pub record: Vec<u8>,
    pub summary: Vec<u8>,
}

impl Reindex {
    pub fn of(t: &Ticket) -> Reindex {
        let keys = index_keys(t);
        Reindex {
            ticket: t.number,
            record: encode_keys(&keys),
            summary: Summary::of(t).encode(),
            keys,
        }
    }

    /// The value a key of this ticket holds: the summary for the `u` key,
    /// nothing for the others.
    fn value_of(&self, key: &[u8]) -> &[u8] {
        if key.first() == Some(&TAG_UPDATED) {
            &self.summary
        } else {
            &[]
        }
    }

    /// Inside the ticket's transaction: replaces the entries of the
    /// ticket's previous state (as recorded) by those of the new one.
    pub fn apply(
        &self,
        tx: &TransactionalTree,
    ) -> std::result::Result<(), ConflictableTransactionError<()>> {
        let at = keys_key(self.ticket);
        let old = tx.get(at)?;
        if old.as_deref() == Some(self.record.as_slice()) {
            // The same keys; what the summary says may still have moved
            // (a change that kept the last update), so it is compared.
            if let Some(u) = self.keys.first() {
                if tx.get(u.as_slice())?.as_deref() != Some(self.summary.as_slice()) {
                    tx.insert(u.as_slice(), self.summary.as_slice())?;
                }
            }
            return Ok(());
        }
        if let Some(old) = old {
            for k in decode_keys(&old) {
                tx.remove(k)?;
            }
        }
        for k in &self.keys {
            tx.insert(k.as_slice(), self.value_of(k))?;
        }
        tx.insert(&at, self.record.as_slice())?;
        Ok(())
    }
}

impl Listing for Sled {
    /// A reverse range scan of the prefix of the most selective filter,
    /// one point read per entry; the other filters are checked on the
    /// ticket.
    fn ticket_page(
        &self,
        query: &TicketQuery,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let prefix = prefix(query);
        let with = |c: Cursor| {
            let mut k = prefix.clone();
            k.extend_from_slice(&cursor_bytes(c));
            k
        };
        let low = with(Cursor {
            updated_ms: query
                .since
                .map_or(0, |s| s.timestamp_millis().max(0) as u64),
            ticket: 0,
        });
        let high = match after {
            Some(c) => Bound::Excluded(with(c)),
            None => Bound::Included(with(Cursor {
                updated_ms: u64::MAX,
                ticket: u64::MAX,
            })),
        };
        let mut scan = self
            .ticket_index
            .range::<Vec<u8>, _>((Bound::Included(low), high))
            .rev();
        let mut page = Page::default();
        let mut scanned = 0usize;
        let mut last = None;
        loop {
            if page.tickets.len() >= limit || scanned >= SCAN_BUDGET {
                // One key more says whether to hand back a cursor.
                let more = scan
                    .next()
                    .transpose()
                    .map_err(self.io("read ticket index"))?;
                page.next = more.and(last);
                return Ok(page);
            }
            let Some(item) = scan.next() else {
                return Ok(page);
            };
            let (k, _) = item.map_err(self.io("read ticket index"))?;
            scanned += 1;
            let Some(at) = cursor_of_key(&k) else {
                continue;
            };
            last = Some(at);
            let Some(t) = self.ticket(at.ticket)? else {
                continue;
            };
            // An entry of a state the ticket has left cannot be (it goes in
            // the same transaction); were one there, it is not shown.
            if updated_ms(&t) == at.updated_ms && query.matches(&t) {
                page.tickets.push(t);
            }
        }
    }

    fn tickets_updated_since(
        &self,
        since: DateTime<Utc>,
    ) -> Box<dyn Iterator<Item = Result<Ticket>> + '_> {
        let bound = |updated_ms: u64, ticket: u64| {
            let mut k = vec![TAG_UPDATED];
            k.extend_from_slice(&cursor_bytes(Cursor { updated_ms, ticket }));
            k
        };
        let low = bound(since.timestamp_millis().max(0) as u64, 0);
        let high = bound(u64::MAX, u64::MAX);
        Box::new(
            self.ticket_index
                .range::<Vec<u8>, _>((Bound::Included(low), Bound::Included(high)))
                .rev()
                .filter_map(move |item| {
                    let at = match item {
                        Ok((k, _)) => cursor_of_key(&k)?,
                        Err(e) => return Some(Err(self.io("read ticket index")(e))),
                    };
                    match self.ticket(at.ticket) {
                        Ok(Some(t)) if updated_ms(&t) == at.updated_ms => Some(Ok(t)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    }
                }),
        )
    }

    /// A scan of the `u` keys, whose values are the summaries, decoded
    /// without copying. A summary this build cannot read (damaged, or of
    /// another version) is made from the ticket itself, so a report never
    /// fails or skips a ticket for it.
    fn for_each_summary(&self, f: &mut dyn FnMut(&Summary<'_>)) -> Result<()> {
        for item in self.ticket_index.scan_prefix([TAG_UPDATED]) {
            let (k, v) = item.map_err(self.io("read ticket index"))?;
            match Summary::decode(&v) {
                Ok(s) => f(&s),
                Err(e) => {
                    let Some(at) = cursor_of_key(&k) else {
                        continue;
                    };
                    tracing::debug!(ticket = at.ticket, error = %e, "summary read from the ticket");
                    if let Some(t) = self.ticket(at.ticket)? {
                        f(&Summary::of(&t));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Sled {
    /// Builds the ticket indexes of a store written before they existed:
    /// one pass over the tickets in batches, so memory does not grow with
    /// the desk. Starting again after a crash starts from empty.
    pub(crate) fn build_ticket_index(&self) -> Result<()> {
        self.ticket_index
            .clear()
            .map_err(self.io("clear the ticket index"))?;
        let mut batch = sled::Batch::default();
        let mut pending = 0usize;
        for t in self.tickets() {
            let r = Reindex::of(&t?);
            for k in &r.keys {
                batch.insert(k.as_slice(), r.value_of(k));
            }
            batch.insert(&keys_key(r.ticket), r.record);
            pending += 1;
            if pending == 1000 {
                self.ticket_index
                    .apply_batch(std::mem::take(&mut batch))
                    .map_err(self.io("build the ticket index"))?;
                pending = 0;
            }
        }
        self.ticket_index
            .apply_batch(batch)
            .map_err(self.io("build the ticket index"))?;
        self.flush()
    }

    /// Whether the ticket indexes say what the tickets say: every ticket's
    /// entries present and recorded, and no entry more. Problems are
    /// pushed to `problems`; returns the entries read.
    pub(crate) fn verify_ticket_index(&self, note: &mut dyn FnMut(String)) -> u64 {
        let mut expected = 0u64;
        for (i, t) in self.tickets().enumerate() {
            let t = match t {
                Ok(t) => t,
                Err(_) => continue, // reported with the tickets
            };
            let r = Reindex::of(&t);
            expected += r.keys.len() as u64 + 1;
            match self.ticket_index.get(keys_key(r.ticket)) {
                Ok(Some(v)) if *v == *r.record => {}
                Ok(_) => note(format!(
                    "ticket index: #{} is not indexed as it stands",
                    t.number
                )),
                Err(e) => {
                    note(format!("ticket index: cannot read past ticket {i}: {e}"));
                    return 0;
                }
            }
            for k in &r.keys {
                match self.ticket_index.get(k) {
                    Ok(Some(v)) if *v == *r.value_of(k) => {}
                    Ok(Some(_)) => note(format!(
                        "ticket index: #{}'s report summary is not the ticket's",
                        t.number
                    )),
                    _ => note(format!(
                        "ticket index: #{} is missing from an index ({})",
                        t.number,
                        char::from(k[0])
                    )),
                }
            }
        }
        let mut found = 0u64;
        for item in self.ticket_index.iter() {
            match item {
                Ok(_) => found += 1,
                Err(e) => {
                    note(format!("ticket index: cannot read past entry {found}: {e}"));
                    break;
                }
            }
        }
        if found != expected {
            note(format!(
                "ticket index: holds {found} entries where the tickets make {expected} (stale entries)"
            ));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::listing::updated_ms;
    use crate::ticket::Status;
    /// Opens a store a moment ago closed: sled lets go of its lock when
    /// its flusher thread notices.
    fn reopen(path: &std::path::Path) -> Store {
        let mut tries = 0;
        loop {
            match Store::open(path) {
                Err(StoreError::Locked { .. }) if tries < 200 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other.unwrap(),
            }
        }
    }

    fn ticket(n: u64, updated_s: i64, status: &str, queue: &str, who: &str) -> Ticket {
        let at = DateTime::from_timestamp(1_764_000_000 + updated_s, 0).unwrap();
        serde_json::from_value(serde_json::json!({
            "number": n, "reference": format!("ACME-{n}"), "subject": format!("Printer {n} on fire"),
            "status": status, "priority": "normal", "category": "general", "queue": queue,
            "requester": {"email": who}, "participants": [who], "inbox": "main",
            "created": at, "updated": at, "message_count": 1,
            "assignee": n.is_multiple_of(7).then_some("Alice@desk.test"),
        }))
        .unwrap()
    }

    fn fill(store: &Store, n: u64) {
        let mut staged = Staged::default();
        for i in 1..=n {
            let queue = if i % 10 == 0 { "billing" } else { "general" };
            // Updates out of number order, some at the same moment.
            let t = ticket(
                i,
                ((i * 7919) % n) as i64,
                "open",
                queue,
                &format!("c{}@customer.test", i % 100),
            );
            store.stage_ticket(&mut staged, &t);
            if i % 500 == 0 {
                store.commit(&mut staged).unwrap();
            }
        }
        store.commit(&mut staged).unwrap();
    }

    /// Every ticket answering `q`, newest update first, by reading them all.
    fn scan(store: &Store, q: &TicketQuery) -> Vec<u64> {
        let mut all: Vec<Ticket> = store
            .tickets()
            .map(|t| t.unwrap())
            .filter(|t| q.matches(t))
            .collect();
        all.sort_by_key(|t| std::cmp::Reverse((updated_ms(t), t.number)));
        all.iter().map(|t| t.number).collect()
    }

    /// Every page of `q`, followed cursor by cursor.
    fn paged(store: &Store, q: &TicketQuery, limit: usize) -> Vec<u64> {
        let (mut out, mut after) = (Vec::new(), None);
        loop {
            let page = store.ticket_page(q, after, limit).unwrap();
            out.extend(page.tickets.iter().map(|t| t.number));
            match page.next {
                Some(c) => after = Some(c),
                None => return out,
            }
        }
    }

    #[test]
    fn recent_tickets_are_read_through_the_index_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fill(&store, 1000);
        let since = DateTime::from_timestamp(1_764_000_000 + 900, 0).unwrap();
        let mut expected: Vec<Ticket> = store
            .tickets()
            .map(|t| t.unwrap())
            .filter(|t| t.updated >= since)
            .collect();
        expected.sort_by_key(|t| std::cmp::Reverse((updated_ms(t), t.number)));
        let got: Vec<u64> = store
            .tickets_updated_since(since)
            .map(|t| t.unwrap().number)
            .collect();
        assert_eq!(got, expected.iter().map(|t| t.number).collect::<Vec<_>>());
        assert_eq!(got.len(), 100, "updates 900..999 s of 1000 tickets");
    }

    #[test]
    fn a_page_reads_the_page_not_the_desk() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fill(&store, 5000);
        let queries = [
            TicketQuery::default(),
            TicketQuery {
                queue: Some("billing".into()),
                ..Default::default()
            },
            TicketQuery {
                status: Some(Status::Open),
                ..Default::default()
            },
            TicketQuery {
                requester: Some("C7@Customer.test".into()),
                ..Default::default()
            },
            TicketQuery {
                assignee: Some("alice@desk.test".into()),
                ..Default::default()
            },
        ];
        for q in &queries {
            let before = store.sled().expect("a sled store").usage.records();
            let page = store.ticket_page(q, None, 50).unwrap();
            let read = store.sled().expect("a sled store").usage.records() - before;
            // 50 index entries, one more to know there is more, 50 tickets.
            assert!(
                read <= 2 * 50 + 2,
                "{q:?}: a page of 50 read {read} records"
            );
            let expected = scan(&store, q);
            assert_eq!(
                page.tickets.iter().map(|t| t.number).collect::<Vec<_>>(),
                expected[..50.min(expected.len())]
            );
            assert_eq!(paged(&store, q, 37), expected, "{q:?}");
        }
        let v = store.verify();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(v.read.get("ticket index"), Some(&(5000 * 5 + 5000 / 7)));
    }

    #[test]
    fn changes_move_the_entries_and_old_stores_are_indexed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            fill(&store, 300);
            // A ticket changes status, queue and update time.
            let mut t = store
                .sled()
                .expect("a sled store")
                .ticket(10)
                .unwrap()
                .unwrap();
            t.status = Status::Resolved;
            t.queue = "general".into();
            t.updated += chrono::Duration::days(1);
            let mut staged = Staged::default();
            store.stage_ticket(&mut staged, &t);
            store.commit(&mut staged).unwrap();
            let newest = store.ticket_page(&TicketQuery::default(), None, 1).unwrap();
            assert_eq!(newest.tickets[0].number, 10);
            let billing = TicketQuery {
                queue: Some("billing".into()),
                ..Default::default()
            };
            assert!(!paged(&store, &billing, 50).contains(&10));
            let resolved = TicketQuery {
                status: Some(Status::Resolved),
                ..Default::default()
            };
            assert_eq!(paged(&store, &resolved, 50), vec![10]);
            let since = TicketQuery {
                since: Some(t.updated),
                ..Default::default()
            };
            assert_eq!(paged(&store, &since, 50), vec![10]);
            let search = TicketQuery {
                search: Some("PRINTER 1".into()),
                ..Default::default()
            };
            assert_eq!(paged(&store, &search, 5), scan(&store, &search));
            assert!(store.verify().problems.is_empty());
            // A stale entry is found by verify.
            store
                .sled()
                .expect("a sled store")
                .ticket_index
                .insert(b"squeue\0stale-entry-xx", &[])
                .unwrap();
            assert!(store.verify().problems.iter().any(|p| p.contains("stale")));
            // As a version 1 store: no index.
            store
                .sled()
                .expect("a sled store")
                .ticket_index
                .clear()
                .unwrap();
            store
                .sled()
                .expect("a sled store")
                .meta
                .insert(KEY_SCHEMA, &1u32.to_be_bytes())
                .unwrap();
            store.flush().unwrap();
        }
        let store = reopen(dir.path());
        let v = store.verify();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(
            paged(&store, &TicketQuery::default(), 100),
            scan(&store, &TicketQuery::default())
        );
    }

    /// Every ticket's summary through the index, by number.
    fn summaries(store: &Store) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        store
            .for_each_summary(|s| out.push((s.number, s.encode())))
            .unwrap();
        out.sort();
        out
    }

    fn expected_summaries(store: &Store) -> Vec<(u64, Vec<u8>)> {
        store
            .tickets()
            .map(|t| {
                let t = t.unwrap();
                (t.number, Summary::of(&t).encode())
            })
            .collect()
    }

    #[test]
    fn summaries_follow_every_change_and_old_stores_get_them_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            fill(&store, 200);
            assert_eq!(summaries(&store), expected_summaries(&store));
            // A change that keeps the keys (same update time, status,
            // queue, people) still moves the summary.
            let mut t = store
                .sled()
                .expect("a sled store")
                .ticket(5)
                .unwrap()
                .unwrap();
            t.agent_replies = 3;
            t.category = "billing".into();
            let mut staged = Staged::default();
            store.stage_ticket(&mut staged, &t);
            store.commit(&mut staged).unwrap();
            let five = summaries(&store)
                .into_iter()
                .find(|(n, _)| *n == 5)
                .unwrap();
            assert_eq!(five.1, Summary::of(&t).encode());
            // And one that moves them.
            t.status = Status::Resolved;
            t.updated += chrono::Duration::hours(1);
            t.resolved_at = Some(t.updated);
            store.stage_ticket(&mut staged, &t);
            store.commit(&mut staged).unwrap();
            assert_eq!(summaries(&store), expected_summaries(&store));
            assert!(store.verify().problems.is_empty());
            // A damaged summary is found by verify, and a report reads the
            // ticket instead.
            let u = index_keys(&t).remove(0);
            store
                .sled()
                .expect("a sled store")
                .ticket_index
                .insert(&u, &b"\x01junk"[..])
                .unwrap();
            assert!(store
                .verify()
                .problems
                .iter()
                .any(|p| p.contains("report summary")));
            assert_eq!(summaries(&store), expected_summaries(&store));
            // As a version 2 store: the last-update keys hold nothing.
            for t in store.tickets() {
                let u = index_keys(&t.unwrap()).remove(0);
                store
                    .sled()
                    .expect("a sled store")
                    .ticket_index
                    .insert(u, &[])
                    .unwrap();
            }
            store
                .sled()
                .expect("a sled store")
                .meta
                .insert(KEY_SCHEMA, &2u32.to_be_bytes())
                .unwrap();
            store.flush().unwrap();
        }
        let store = reopen(dir.path());
        let v = store.verify();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(summaries(&store), expected_summaries(&store));
        let schema = store
            .sled()
            .expect("a sled store")
            .meta
            .get(KEY_SCHEMA)
            .unwrap()
            .unwrap();
        assert_eq!(*schema, SCHEMA_VERSION.to_be_bytes());
    }

    #[test]
    fn keys_round_trip_and_end_in_the_cursor() {
        let keys = vec![b"u12345678abcdefgh".to_vec(), b"squeue\0x".to_vec()];
        assert_eq!(decode_keys(&encode_keys(&keys)), keys);
        assert_eq!(decode_keys(&[0, 9, 1]), Vec::<Vec<u8>>::new());
    }
}
