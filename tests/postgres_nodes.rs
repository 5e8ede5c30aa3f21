//! Several `serve` nodes on one PostgreSQL database (issue 20), through
//! the binary: two daemons share one Maildir inbox and one outgoing spool;
//! the node reading the inbox is killed with -9 while mail arrives, and
//! the other takes the inbox over once the lease runs out. Every message
//! becomes one ticket, and every acknowledgement is sent once. Inboxes
//! are shared evenly among the nodes, also while nodes join and leave
//! with mail arriving in three IMAP inboxes.
//! Needs the test cluster (tests/pg/start.sh, POSTDESK_TEST_PG); the
//! churn test also the mail stack (POSTDESK_MAILSTACK), whose mailboxes
//! desk19, desk20 and cust20 are that test's alone.

mod common;

use std::time::Duration;

use common::nodes::{one_ticket_per_mail, pid_of, tail, ticket_count, ImapInbox, Node};
use common::{deliver, mail, mailstack, test_pg, wait_until, TestDesk};

/// Which node holds the inbox's lease now, by the pid in its node id.
fn holder(db: &str) -> Option<u32> {
    let out = common::psql(
        &test_pg(),
        db,
        "SELECT holder FROM leases WHERE name = 'inbox:main' AND expires > now()",
    );
    pid_of(String::from_utf8_lossy(&out.stdout).trim())
}

fn acks(t: &TestDesk) -> Vec<String> {
    let mut to = Vec::new();
    for m in common::spool(t) {
        if m.subject.contains("Order") {
            to.push(m.to.first().map(|a| a.email.clone()).unwrap_or_default());
        }
    }
    to.sort();
    to
}

#[test]
fn two_nodes_share_an_inbox_and_the_survivor_of_a_kill_takes_it_without_loss_or_double() {
    let database = common::moved::database("nodes");
    let t = database.desk("kind = \"postgres\"\npool = 4\nlease_ttl = \"3s\"\n");
    common::moved::migrate(&t, &[]);
    let db = database.name.as_str();

    let mut nodes = Node::pair(&t);
    let pids = nodes.each_ref().map(Node::pid);
    wait_until(30, "one node takes the inbox", || holder(db).is_some());

    let total = 60;
    let mut sent = 0;
    let send = |from: usize, to: usize| {
        for i in from..to {
            let who = format!("customer{i:03}@example.test");
            deliver(
                &t.inbox(),
                &format!("{i}.msg"),
                &mail(
                    &who,
                    &format!("Order {i}"),
                    &format!("order{i}@example.test"),
                    "",
                    "Where is it?",
                ),
            );
        }
    };
    send(0, 20);
    sent += 20;
    wait_until(30, "the first mail is taken", || {
        std::fs::read_dir(t.inbox().join("new"))
            .map(|d| d.count())
            .unwrap_or(1)
            < 20
    });

    // Kill the reader mid-stream, with mail still arriving.
    let reader = holder(db).expect("a holder");
    let (dead, alive) = if reader == pids[0] { (0, 1) } else { (1, 0) };
    send(sent, 40);
    sent = 40;
    nodes[dead].kill9();
    send(sent, total);

    wait_until(60, "the survivor takes the inbox and reads it all", || {
        holder(db) == Some(pids[alive])
            && std::fs::read_dir(t.inbox().join("new"))
                .map(|d| d.count())
                .unwrap_or(1)
                == 0
    });
    wait_until(60, "every acknowledgement is sent", || {
        acks(&t).len() >= total
    });
    // A moment for a late double to show.
    std::thread::sleep(Duration::from_secs(2));

    let tickets = t.run(&["tickets", "list", "--all", "--json"]);
    assert!(
        tickets.status.success(),
        "{}",
        String::from_utf8_lossy(&tickets.stderr)
    );
    let n = String::from_utf8_lossy(&tickets.stdout).lines().count();
    assert_eq!(n, total, "one ticket per message");
    let got = acks(&t);
    let mut want: Vec<String> = (0..total)
        .map(|i| format!("customer{i:03}@example.test"))
        .collect();
    want.sort();
    assert_eq!(got, want, "every acknowledgement once");

    let status = t.run(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(text.contains("nodes"), "{text}");
    assert!(text.contains(&format!("/{}/", pids[alive])), "{text}");
    // The takeover is listed: which inbox, by whom, from the dead node.
    let takeover = text
        .lines()
        .find(|l| l.contains("main taken over by"))
        .unwrap_or_else(|| panic!("no takeover listed:\n{text}"));
    assert!(
        takeover.contains(&format!("/{}/", pids[alive]))
            && takeover.contains(&format!("/{}/", pids[dead])),
        "{takeover}"
    );

    nodes[alive].stop();
}

/// Who holds each inbox's lease now, by the pid in the node id.
fn holders(db: &str) -> Vec<(String, u32)> {
    let out = common::psql(
        &test_pg(),
        db,
        "SELECT name || '|' || holder FROM leases WHERE holder IS NOT NULL \
         AND expires > now() ORDER BY name",
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, holder) = l.split_once('|')?;
            Some((name.to_string(), pid_of(holder)?))
        })
        .collect()
}

#[test]
fn a_second_node_takes_over_half_of_the_inboxes_and_both_read_theirs() {
    let database = common::moved::database("nodes_share");
    let second = tempfile::tempdir().expect("second inbox");
    for d in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(second.path().join(d)).expect("maildir");
    }
    let t = database.desk(&format!(
        "kind = \"postgres\"\npool = 4\nlease_ttl = \"3s\"\n\n[[inbox]]\nname = \"second\"\n\
         kind = \"maildir\"\npath = \"{}\"\n",
        second.path().display()
    ));
    common::moved::migrate(&t, &[]);
    let db = database.name.as_str();

    // Alone, the first node reads both inboxes.
    let mut a = Node::of(&t, "a");
    wait_until(30, "the first node reads both inboxes", || {
        let h = holders(db);
        h.len() == 2 && h.iter().all(|(_, pid)| *pid == a.pid())
    });
    // A second node comes: the first hands one inbox over.
    let mut b = Node::of(&t, "b");
    wait_until(60, "each node reads one inbox", || {
        let h = holders(db);
        h.len() == 2 && h.iter().any(|(_, p)| *p == a.pid()) && h.iter().any(|(_, p)| *p == b.pid())
    });
    let inboxes = [t.inbox(), second.path().to_path_buf()];
    for (n, inbox) in inboxes.iter().enumerate() {
        for i in 0..10 {
            let who = format!("c{n}x{i}@example.test");
            deliver(
                inbox,
                &format!("{n}-{i}.msg"),
                &mail(
                    &who,
                    &format!("Order {n}-{i}"),
                    &format!("o{n}x{i}@example.test"),
                    "",
                    "Hi",
                ),
            );
        }
    }
    wait_until(60, "both inboxes are read", || {
        inboxes.iter().all(|i| {
            std::fs::read_dir(i.join("new"))
                .map(|d| d.count())
                .unwrap_or(1)
                == 0
        })
    });
    let tickets = t.run(&["tickets", "list", "--all", "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&tickets.stdout).lines().count(),
        20,
        "one ticket per message"
    );
    // The balance holds: nobody took the other's inbox back meanwhile.
    let h = holders(db);
    assert!(
        h.iter().any(|(_, p)| *p == a.pid()) && h.iter().any(|(_, p)| *p == b.pid()),
        "{h:?}\n{}",
        std::fs::read_to_string(&a.log).unwrap_or_default()
    );
    a.stop();
    b.stop();
}

/// What happens to the nodes between two waves of mail.
#[derive(Debug, Clone, Copy)]
enum Churn {
    /// Node N (of `a`, `b`, `c`) starts, or starts again.
    Join(usize),
    /// Node N stops cleanly (SIGTERM): it gives its leases back.
    Stop(usize),
    /// Node N is killed with -9: its leases run out.
    Kill(usize),
}

/// The leased inboxes each running node reads now, by node (index into
/// `nodes`), and whether every inbox of `names` is read by a running
/// node: a lease held by a dead node does not count.
fn shares(db: &str, names: &[String], nodes: &mut [Node]) -> (Vec<usize>, bool) {
    let held = holders(db);
    let running: Vec<Option<u32>> = nodes
        .iter_mut()
        .map(|n| n.alive().then(|| n.pid()))
        .collect();
    let mut counts = vec![0; nodes.len()];
    let mut all_read = true;
    for name in names {
        match held
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, pid)| running.iter().position(|r| *r == Some(*pid)))
        {
            Some(i) => counts[i] += 1,
            None => all_read = false,
        }
    }
    (counts, all_read)
}

/// Whether the running nodes read every inbox and hold an even share:
/// none reads more than one beyond another, and (with at least as many
/// inboxes as nodes) each reads one.
fn balanced(db: &str, names: &[String], nodes: &mut [Node]) -> bool {
    let (counts, all_read) = shares(db, names, nodes);
    let running: Vec<usize> = nodes
        .iter_mut()
        .zip(&counts)
        .filter_map(|(n, c)| n.alive().then_some(*c))
        .collect();
    let (Some(most), Some(least)) = (running.iter().max(), running.iter().min()) else {
        return false;
    };
    all_read && most - least <= 1 && (names.len() < running.len() || *least >= 1)
}

#[test]
fn inboxes_stay_read_once_and_evenly_shared_while_nodes_join_stop_and_die() {
    let stack = mailstack();
    let database = common::moved::database("nodes_churn");
    let secrets = tempfile::tempdir().expect("temp dir");
    let pw = secrets.path().join("imap.pw");
    std::fs::write(&pw, "secret\n").expect("password file");
    let boxes = [
        "desk19@desk.test",
        "desk20@desk.test",
        "cust20@customer.test",
    ]
    .map(|user| ImapInbox {
        stack: &stack,
        user,
    });
    let mut extra = String::from("kind = \"postgres\"\npool = 4\nlease_ttl = \"3s\"\n");
    for (n, b) in boxes.iter().enumerate() {
        b.clear();
        extra += &b.inbox_toml(&format!("imap{n}"), &pw, "1s");
    }
    let t = database.desk(&extra);
    common::moved::migrate(&t, &[]);
    let db = database.name.as_str();
    // The desk's own Maildir inbox (`main`, no mail) is shared too.
    let names: Vec<String> = ["inbox:main".to_string()]
        .into_iter()
        .chain((0..boxes.len()).map(|n| format!("inbox:imap{n}")))
        .collect();

    // `c` joins later.
    let mut nodes = vec![Node::of(&t, "a"), Node::of(&t, "b")];
    let logs = |nodes: &[Node]| {
        nodes
            .iter()
            .map(|n| format!("--- {}\n{}", n.log.display(), tail(&n.log)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    wait_until(60, "the two first nodes read every inbox", || {
        shares(db, &names, &mut nodes).1
    });

    // A wave of mail into every inbox before each change, and one after
    // the last: intake runs throughout.
    let churn = [
        Churn::Join(2),
        Churn::Stop(0),
        Churn::Kill(1),
        Churn::Join(0),
        Churn::Kill(2),
        Churn::Join(1),
        Churn::Stop(1),
        Churn::Join(1),
    ];
    let wave = 15;
    let mut delivered = 0;
    for step in churn {
        for (n, b) in boxes.iter().enumerate() {
            b.deliver(&format!("churn{n}x"), delivered..delivered + wave);
        }
        delivered += wave;
        println!("{delivered} mails in each inbox, then {step:?}");
        match step {
            Churn::Join(i) if i == nodes.len() => nodes.push(Node::of(&t, ["a", "b", "c"][i])),
            Churn::Join(i) => nodes[i].restart(),
            Churn::Stop(i) => nodes[i].stop(),
            Churn::Kill(i) => nodes[i].kill9(),
        }
        wait_until(60, "every inbox is read by a running node", || {
            shares(db, &names, &mut nodes).1
        });
    }
    for (n, b) in boxes.iter().enumerate() {
        b.deliver(&format!("churn{n}x"), delivered..delivered + wave);
    }
    delivered += wave;
    let total = delivered * boxes.len();

    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(300, "every mail is stored", || ticket_count(&t) >= total);
        wait_until(120, "nothing is left unread on the servers", || {
            boxes.iter().all(|b| b.status() == (delivered as u64, 0))
        });
        // A node killed -9 counts as live until it has been silent for
        // two TTLs: the shares settle after that.
        wait_until(120, "the survivors share the inboxes evenly", || {
            balanced(db, &names, &mut nodes)
        });
    }));
    if done.is_err() {
        panic!(
            "{} tickets of {total}; shares {:?}:\n{}",
            ticket_count(&t),
            shares(db, &names, &mut nodes),
            logs(&nodes)
        );
    }
    // A moment for a late double to show.
    std::thread::sleep(Duration::from_secs(2));

    let requesters = one_ticket_per_mail(&t, total);
    let want: std::collections::HashSet<String> = (0..boxes.len())
        .flat_map(|n| (0..delivered).map(move |i| format!("churn{n}x{i}@customer.test")))
        .collect();
    assert_eq!(requesters, want, "every mail is a ticket");
    let (counts, all_read) = shares(db, &names, &mut nodes);
    println!("inboxes read by a, b, c at the end: {counts:?}");
    assert!(all_read, "every inbox is read by a live node: {counts:?}");
    for n in nodes.iter_mut() {
        if n.alive() {
            n.stop();
        }
    }
}
