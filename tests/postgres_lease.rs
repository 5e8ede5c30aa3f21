//! Inbox leases on the real test PostgreSQL (issue 20): one holder at a
//! time, taken over only after it ran out, a fence that rises with every
//! taking, and a write check that a takeover cannot slip past. Needs the
//! test cluster (tests/pg/start.sh, POSTDESK_TEST_PG).

mod common;

use std::time::Duration;

use postdesk::pg::lease::{self, Hold, NodeInfo};

/// A pool on a fresh, migrated database of the test cluster.
fn database(name: &str) -> (tokio::runtime::Runtime, deadpool_postgres::Pool, String) {
    let (rt, pool, at, _) = database_with_settings(name);
    (rt, pool, at)
}

fn database_with_settings(
    name: &str,
) -> (
    tokio::runtime::Runtime,
    deadpool_postgres::Pool,
    String,
    postdesk::pg::Settings,
) {
    let db = common::moved::database(name);
    db.migrate();
    let settings = db.settings("pool = 8\n");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pool = rt.block_on(async { settings.pool() }).expect("pool");
    let at = settings.describe();
    (rt, pool, at, settings)
}

async fn node(pool: &deadpool_postgres::Pool, at: &str) -> NodeInfo {
    let n = NodeInfo::here();
    let c = pool.get().await.expect("connection");
    lease::register(&**c, at, &n).await.expect("register");
    n
}

#[test]
fn one_node_holds_an_inbox_until_its_lease_runs_out_and_the_fence_rises_with_each_taking() {
    let (rt, pool, at) = database("lease_takeover");
    rt.block_on(async {
        let (a, b) = (node(&pool, &at).await, node(&pool, &at).await);
        let c = pool.get().await.expect("connection");
        let name = lease::inbox_lease("support");
        let long = Duration::from_secs(60);

        let held = lease::take(&**c, &at, &name, &a.id, long).await.unwrap();
        let held = held.expect("a free lease is taken");
        assert_eq!(held.fence, 1);
        assert_eq!(
            lease::take(&**c, &at, &name, &b.id, long).await.unwrap(),
            None,
            "b cannot take what a holds"
        );
        assert!(lease::renew(&**c, &at, &held, long).await.unwrap());
        assert_eq!(
            lease::take(&**c, &at, &name, &b.id, long).await.unwrap(),
            None
        );

        // a stops renewing: the lease runs out (made to, on the server's
        // clock) and b takes it under a higher fence.
        c.execute(
            "UPDATE leases SET expires = now() - interval '1 second' WHERE name = $1",
            &[&name],
        )
        .await
        .unwrap();
        let taken = lease::take(&**c, &at, &name, &b.id, long).await.unwrap();
        let taken = taken.expect("an expired lease is taken");
        assert_eq!(taken.fence, 2);
        assert!(
            !lease::renew(&**c, &at, &held, long).await.unwrap(),
            "a's renewal fails once b took the lease"
        );
        let both = [held.clone(), taken.clone()];
        let lost = lease::lost(&**c, &at, &both).await.unwrap();
        assert_eq!(lost, vec![&held], "only a's hold is lost");

        // A clean stop gives the lease up at once.
        lease::release(&**c, &at, &taken).await.unwrap();
        let again = lease::take(&**c, &at, &name, &a.id, long).await.unwrap();
        assert_eq!(again.map(|h| h.fence), Some(3));

        let rows = lease::leases(&**c, &at).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].holder.as_deref(), Some(a.id.as_str()));
        let nodes = lease::nodes(&**c, &at, Duration::from_secs(3600))
            .await
            .unwrap();
        let ids: Vec<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&a.id.as_str()) && ids.contains(&b.id.as_str()));
    });
}

#[test]
fn of_many_nodes_taking_a_free_lease_at_once_exactly_one_gets_it() {
    let (rt, pool, at) = database("lease_race");
    rt.block_on(async {
        let name = lease::inbox_lease("sales");
        for round in 0..10 {
            let mut tasks = Vec::new();
            for _ in 0..8 {
                let (pool, at, name) = (pool.clone(), at.clone(), name.clone());
                tasks.push(tokio::spawn(async move {
                    let n = node(&pool, &at).await;
                    let c = pool.get().await.expect("connection");
                    lease::take(&**c, &at, &name, &n.id, Duration::from_secs(60))
                        .await
                        .expect("take")
                }));
            }
            let mut won: Vec<Hold> = Vec::new();
            for t in tasks {
                if let Some(h) = t.await.expect("task") {
                    won.push(h);
                }
            }
            assert_eq!(
                won.len(),
                1,
                "round {round}: exactly one taker, got {won:?}"
            );
            assert_eq!(won[0].fence, round + 1);
            let c = pool.get().await.expect("connection");
            lease::release(&**c, &at, &won[0]).await.expect("release");
        }
    });
}

/// The write check holds the lease row: a takeover that starts while a
/// write under the old fence is open waits for it, so the old holder's
/// last write lands before anyone else reads the inbox, never after.
#[test]
fn a_takeover_waits_for_the_old_holders_open_write() {
    let (rt, pool, at) = database("lease_fence");
    rt.block_on(async {
        let (a, b) = (node(&pool, &at).await, node(&pool, &at).await);
        let name = lease::inbox_lease("support");
        let long = Duration::from_secs(60);
        let mut ca = pool.get().await.expect("connection");
        let held = lease::take(&**ca, &at, &name, &a.id, long)
            .await
            .unwrap()
            .expect("taken");
        ca.execute(
            "UPDATE leases SET expires = now() - interval '1 second' WHERE name = $1",
            &[&name],
        )
        .await
        .unwrap();

        // a, not yet knowing its lease ran out, writes: its fence is still
        // the lease's (nobody took it), so the write may commit.
        let tx = ca.transaction().await.unwrap();
        let holds = [held.clone()];
        assert!(lease::lost(&*tx, &at, &holds).await.unwrap().is_empty());
        tx.execute(
            "INSERT INTO cursors (source, value) VALUES ('support', '\\x01')",
            &[],
        )
        .await
        .unwrap();

        let taker = {
            let (pool, at, name, b) = (pool.clone(), at.clone(), name.clone(), b.id.clone());
            tokio::spawn(async move {
                let c = pool.get().await.expect("connection");
                lease::take(&**c, &at, &name, &b, long).await.expect("take")
            })
        };
        // The takeover is blocked on the row a's write holds.
        let watcher = pool.get().await.expect("connection");
        let mut blocked = false;
        for _ in 0..600 {
            let waiting: i64 = watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if waiting > 0 {
                blocked = true;
                break;
            }
            assert!(
                !taker.is_finished(),
                "the takeover did not wait for a's write"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(blocked, "the takeover never reached the lease row");
        tx.commit().await.unwrap();
        let taken = taker.await.unwrap().expect("b takes it after a's write");
        assert_eq!(taken.fence, held.fence + 1);

        // Now a's next write finds its fence gone.
        let tx = ca.transaction().await.unwrap();
        assert_eq!(lease::lost(&*tx, &at, &holds).await.unwrap(), vec![&held]);
        tx.rollback().await.unwrap();
    });
}

/// Two nodes serve one inbox through the daemon's lease loop: one reads
/// it at a time; when the reader dies without a word (its task aborted,
/// its lease never released), the other takes over once the lease ran
/// out; a clean stop hands over at once.
#[test]
fn two_nodes_read_one_inbox_in_turn_and_the_survivor_takes_over() {
    use postdesk::daemon::leasing::{leased, Leasing};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let db = common::moved::database("lease_loop");
    db.migrate();
    let settings = db.settings("");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let pool = settings.pool().expect("pool");
        let ttl = Duration::from_millis(1500);
        // Who reads now (a bit per node), and whether two ever did.
        let reading = Arc::new(AtomicUsize::new(0));
        let overlap = Arc::new(AtomicUsize::new(0));
        let mut nodes = Vec::new();
        // Each node serves from a state directory of its own.
        let states = [
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        ];
        for (bit, state) in [1usize, 2].into_iter().zip(&states) {
            let leasing = Leasing::start(&settings, ttl, state.path())
                .await
                .expect("node");
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let (reading, overlap) = (reading.clone(), overlap.clone());
            let task = tokio::spawn(leased(
                leasing.clone(),
                "support".into(),
                stop_rx,
                move |mut stop| {
                    let (reading, overlap) = (reading.clone(), overlap.clone());
                    async move {
                        if reading.fetch_or(bit, Ordering::SeqCst) != 0 {
                            overlap.fetch_add(1, Ordering::SeqCst);
                        }
                        // Read until told to stop, or until the loop that
                        // started us is gone (the node died).
                        while !*stop.borrow() {
                            if stop.changed().await.is_err() {
                                break;
                            }
                        }
                        reading.fetch_and(!bit, Ordering::SeqCst);
                    }
                },
            ));
            nodes.push((bit, leasing, stop_tx, task));
        }
        let wait_for = |want: fn(usize) -> bool, what: &'static str| {
            let reading = reading.clone();
            async move {
                for _ in 0..400 {
                    let now = reading.load(Ordering::SeqCst);
                    if want(now) {
                        return now;
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                panic!("{what}: still {}", reading.load(Ordering::SeqCst));
            }
        };
        let first = wait_for(|r| r == 1 || r == 2, "one node reads").await;
        let (dead, alive) = if first == 1 { (0, 1) } else { (1, 0) };
        assert!(nodes[dead].1.holds().holds("support"));
        assert!(!nodes[alive].1.holds().holds("support"));

        // The reader dies: no release, its lease must run out.
        nodes[dead].3.abort();
        let survivor = nodes[alive].0;
        let now = wait_for(
            if survivor == 1 {
                |r| r == 1
            } else {
                |r| r == 2
            },
            "the survivor takes over",
        )
        .await;
        assert_eq!(now, survivor);
        let c = pool.get().await.expect("connection");
        let rows = lease::leases(&**c, &settings.describe()).await.unwrap();
        assert_eq!(rows[0].fence, 2, "taken twice: {rows:?}");
        assert_eq!(
            rows[0].holder.as_deref(),
            Some(nodes[alive].1.node().id.as_str())
        );

        // A clean stop releases the lease at once.
        let _ = nodes[alive].2.send(true);
        let (_, _, _, task) = nodes.remove(alive);
        task.await.expect("the loop ends");
        let rows = lease::leases(&**c, &settings.describe()).await.unwrap();
        assert_eq!(rows[0].holder, None, "released: {rows:?}");
        assert_eq!(overlap.load(Ordering::SeqCst), 0, "two nodes read at once");
    });
}

/// The write turn: one node decides at a time; the next waits for it,
/// and a node that dies holding it does not keep it.
#[test]
fn the_write_turn_is_held_by_one_node_and_freed_when_its_holder_dies() {
    use postdesk::pg::turn::{self, Turn};
    use std::sync::Arc;

    let (rt, pool, at, settings) = database_with_settings("turn");
    rt.block_on(async {
        let (a, b) = (Arc::new(Turn::default()), Arc::new(Turn::default()));
        a.take(&settings, &pool).await.expect("a takes the turn");
        let watcher = pool.get().await.expect("connection");
        assert!(turn::held_elsewhere(&**watcher, &at).await.unwrap());

        let waiting = {
            let (b, settings, pool) = (b.clone(), settings.clone(), pool.clone());
            tokio::spawn(async move { b.take(&settings, &pool).await })
        };
        let mut blocked = false;
        for _ in 0..600 {
            let n: i64 = watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if n > 0 {
                blocked = true;
                break;
            }
            assert!(!waiting.is_finished(), "b took the turn a holds");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(blocked, "b never waited for the turn");
        // The batch runs on the connection holding the turn.
        let one = a
            .with(async |c| {
                c.query_one("SELECT 1::int", &[])
                    .await
                    .map(|r| r.get::<_, i32>(0))
            })
            .await;
        assert_eq!(one.map(|r| r.unwrap()), Some(1));
        a.give_back().await;
        waiting
            .await
            .unwrap()
            .expect("b takes the turn once a gives it back");
        assert!(b.is_held() && !a.is_held());

        // b dies holding it: its connection closes, the server frees it.
        drop(b);
        a.take(&settings, &pool)
            .await
            .expect("a takes the turn of a dead holder");
        a.give_back().await;
        assert!(!turn::held_elsewhere(&**watcher, &at).await.unwrap());
    });
}

/// A batch staged while this node held an inbox's lease at one fence must
/// not be written once the fence has moved, not even after this node has
/// taken the lease again (the other node may have stored the same mail in
/// between). The write used to check whatever this node held at write
/// time, so the re-taken lease let the stale batch through; and a lost
/// lease, no longer held at all, was not checked. Now the fence is taken
/// when the mail is staged, and a batch that can never be written makes
/// the store fail over to a reopening (its mail is fetched again).
#[test]
fn a_batch_staged_under_a_lost_lease_is_not_written_after_the_lease_is_taken_again() {
    use postdesk::pg::lease::Holds;
    use postdesk::store::{Staged, Store};
    use std::sync::Arc;

    let url = common::fresh_database("lease_staged");
    let db = url.rsplit('/').next().expect("database").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let url_file = dir.path().join("db.url");
    std::fs::write(&url_file, &url).expect("url");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let ca = common::test_pg()["ca_file"]
        .as_str()
        .expect("ca_file")
        .to_string();
    let t = common::TestDesk::with(common::Options {
        extra: format!(
            "\n[store]\nkind = \"postgres\"\nurl_file = \"{}\"\nca_file = \"{ca}\"\n",
            url_file.display()
        ),
        ..common::Options::default()
    });
    let out = t.run(&["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = |q: &str| {
        let out = common::psql(&common::test_pg(), &db, q);
        assert!(
            out.status.success(),
            "{q}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sql("INSERT INTO nodes (id, host, pid, version, started, seen) \
         VALUES ('here', 'h', 1, 't', now(), now())");
    sql("INSERT INTO leases (name, holder, fence, expires) \
         VALUES ('inbox:main', 'here', 1, now() + interval '1 hour')");
    let hold = |fence| Hold {
        name: "inbox:main".into(),
        node: "here".into(),
        fence,
    };

    let store = Store::open_config(&t.config()).expect("open the store");
    let holds = Arc::new(Holds::default());
    store.set_leases(holds.clone());
    holds.set("main", Some(hold(1)));
    let none = Staged::default();

    // Held: written.
    let mut staged = Staged::default();
    store.stage_inbox(&mut staged, "main");
    store.stage_cursor(&mut staged, "main", b"1");
    store
        .commit(&mut staged)
        .expect("written under its own fence");
    assert_eq!(
        store.cursor(&none, "main").unwrap().as_deref(),
        Some(&b"1"[..])
    );

    // Staged at fence 1; meanwhile another node took the lease (2) and
    // this one took it back (3).
    let mut staged = Staged::default();
    store.stage_inbox(&mut staged, "main");
    store.stage_cursor(&mut staged, "main", b"2");
    sql("UPDATE leases SET fence = 3");
    holds.set("main", Some(hold(3)));
    let err = store
        .commit(&mut staged)
        .expect_err("a stale batch is refused");
    assert!(err.to_string().contains("inbox:main"), "{err}");
    assert!(
        store.fault().failure().is_some(),
        "the store asks to be reopened, which drops the batch"
    );
    assert_eq!(
        store.cursor(&none, "main").unwrap().as_deref(),
        Some(&b"1"[..]),
        "nothing of the stale batch was written"
    );
    // And it stays refused, however often it is tried.
    assert!(store.commit(&mut staged).is_err());
}
