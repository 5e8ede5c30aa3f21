//! The PostgreSQL engine answers listing, message, customer and report
//! reads as the sled store does (issue 20): a desk is filled through the
//! binary (an mbox import: tickets with replies, 13 requesters, dates out
//! of number order), moved into a fresh database (`postdesk migrate
//! --from sled`), then every Messages, Customers and Listing primitive is
//! asked the same questions of both: what `tickets list` shows (pages
//! cursor by cursor, every filter), what `stats` reports (the fold of the
//! summaries), a ticket's messages and bytes, the customer pages. Then the
//! same ticket changes are written by both engines (some within one
//! millisecond, so the order within it is tested) and the answers are
//! compared again. Needs the test cluster (tests/pg/start.sh,
//! POSTDESK_TEST_PG).

mod common;

use common::{fresh_database, test_pg, Options, TestDesk};
use postdesk::pg::engine::PgEngine;
use postdesk::store::engine::{Engine, Intake, Listing};
use postdesk::store::{Cursor, Staged, Store, TicketQuery};
use postdesk::ticket::{Status, Ticket};

const URL_VAR: &str = "PDT_LISTING_DATABASE_URL";
const MESSAGES: usize = 90;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Message `i` of `from` at `minute` minutes past a fixed moment; every
/// seventh one answers the message before it (a second message of a
/// ticket).
fn message(i: usize, from: &str, subject: &str, minute: i64) -> Vec<u8> {
    let date = chrono::DateTime::from_timestamp(1_795_000_000 + minute * 60, 0)
        .expect("a date")
        .to_rfc2822();
    let reply = if i % 7 == 6 {
        format!("In-Reply-To: <list{}@c>\r\n", i - 1)
    } else {
        String::new()
    };
    format!(
        "From: {from}\r\nTo: support@desk.test\r\nSubject: {subject}\r\nMessage-ID: <list{i}@c>\r\n{reply}Date: {date}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody {i} \u{e9}t\u{e9}\r\n"
    )
    .into_bytes()
}

fn desk(store_keys: &str) -> TestDesk {
    let t = TestDesk::with(Options {
        extra: format!("\n[store]\n{store_keys}"),
        ..Options::default()
    });
    let mut mbox = Vec::new();
    for i in 0..MESSAGES {
        let subject = match i % 5 {
            0 => format!("Invoice {i} wrong"),
            _ if i % 7 == 6 => format!("Re: Case {}", i - 1),
            _ => format!("Case {i} \u{c9}T\u{c9}"),
        };
        let from = format!("Customer {} <customer{}@customer.test>", i % 13, i % 13);
        mbox.extend_from_slice(b"From x@customer.test Sun Nov 22 10:00:00 2026\n");
        mbox.extend_from_slice(&message(i, &from, &subject, ((i * 37) % MESSAGES) as i64));
        mbox.extend_from_slice(b"\n");
    }
    let path = t.dir.path().join("list.mbox");
    std::fs::write(&path, mbox).expect("mbox");
    let o = t.run(&["import", "mbox", path.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "{}", text(&o));
    t
}

/// Every page of `q`, cursor by cursor: the tickets of each page and the
/// cursor it hands back, as `tickets list --after` walks them.
fn pages(e: &dyn Listing, q: &TicketQuery, limit: usize) -> Vec<(Vec<u64>, Option<Cursor>)> {
    let (mut out, mut after) = (Vec::new(), None);
    loop {
        let page = e.ticket_page(q, after, limit).expect("a page");
        out.push((page.tickets.iter().map(|t| t.number).collect(), page.next));
        match page.next {
            Some(c) => after = Some(c),
            None => return out,
        }
        assert!(out.len() < 1000, "pages end");
    }
}

fn queries() -> Vec<TicketQuery> {
    let since = chrono::DateTime::from_timestamp(1_795_000_000 + 40 * 60, 0).expect("since");
    vec![
        TicketQuery::default(),
        TicketQuery {
            status: Some(Status::Pending),
            ..Default::default()
        },
        TicketQuery {
            status: Some(Status::New),
            ..Default::default()
        },
        TicketQuery {
            queue: Some("billing".into()),
            ..Default::default()
        },
        TicketQuery {
            requester: Some(" Customer3@CUSTOMER.test".into()),
            ..Default::default()
        },
        TicketQuery {
            assignee: Some("ANN@desk.test".into()),
            ..Default::default()
        },
        TicketQuery {
            search: Some("INVOICE".into()),
            ..Default::default()
        },
        TicketQuery {
            search: Some("\u{e9}t\u{e9}".into()),
            ..Default::default()
        },
        TicketQuery {
            search: Some("customer 4".into()),
            status: Some(Status::New),
            ..Default::default()
        },
        TicketQuery {
            since: Some(since),
            ..Default::default()
        },
        TicketQuery {
            since: Some(since),
            queue: Some("general".into()),
            requester: Some("customer5@customer.test".into()),
            ..Default::default()
        },
    ]
}

fn json(t: &Ticket) -> serde_json::Value {
    serde_json::to_value(t).expect("ticket JSON")
}

/// What `stats` reports from an engine's summaries.
fn stats(e: &dyn Engine) -> serde_json::Value {
    let now = chrono::DateTime::from_timestamp(1_795_000_000 + 200 * 60, 0).expect("now");
    let o = postdesk::report::Options::new(now);
    let mut fold = postdesk::report::Fold::new(&o);
    let mut order = Vec::new();
    e.for_each_summary(&mut |s| {
        order.push(s.number);
        fold.add(s);
    })
    .expect("summaries");
    let stats = fold.finish(|n| {
        let t = e.ticket(n).ok().flatten()?;
        Some(postdesk::report::Shown {
            reference: t.reference,
            subject: t.subject,
        })
    });
    serde_json::json!({"order": order, "stats": stats})
}

/// Asks both engines every listing, message, customer and report question.
fn same_answers(pg: &dyn Engine, sled: &dyn Engine, label: &str) {
    let all: Vec<Ticket> = sled.tickets().map(|t| t.expect("ticket")).collect();
    let pg_all: Vec<Ticket> = pg.tickets().map(|t| t.expect("ticket")).collect();
    assert_eq!(
        pg_all.iter().map(json).collect::<Vec<_>>(),
        all.iter().map(json).collect::<Vec<_>>(),
        "{label}: every ticket"
    );
    assert_eq!(pg.ticket_count().unwrap(), sled.ticket_count().unwrap());
    assert_eq!(pg.ticket_count().unwrap(), all.len() as u64);
    for t in &all {
        let n = t.number;
        let records = |e: &dyn Engine| {
            e.message_records(n)
                .expect("records")
                .iter()
                .map(|r| serde_json::to_value(r).expect("record JSON"))
                .collect::<Vec<_>>()
        };
        assert_eq!(records(pg), records(sled), "{label}: records of #{n}");
        let with_raw = |e: &dyn Engine| {
            e.messages(n)
                .expect("messages")
                .into_iter()
                .map(|(r, raw)| (serde_json::to_value(r).expect("record JSON"), raw))
                .collect::<Vec<_>>()
        };
        let messages = with_raw(sled);
        assert_eq!(with_raw(pg), messages, "{label}: messages of #{n}");
        for seq in 0..=messages.len() as u32 + 1 {
            assert_eq!(
                pg.raw_message(n, seq).unwrap(),
                sled.raw_message(n, seq).unwrap(),
                "{label}: #{n} message {seq}"
            );
        }
    }
    for who in [
        "customer3@customer.test",
        "CUSTOMER3@Customer.Test",
        "nobody@x.test",
    ] {
        assert_eq!(
            pg.tickets_of_customer(who).unwrap(),
            sled.tickets_of_customer(who).unwrap(),
            "{label}: {who}"
        );
    }
    assert!(!sled
        .tickets_of_customer("customer3@customer.test")
        .unwrap()
        .is_empty());
    for limit in [1, 4, 100] {
        let walk = |e: &dyn Engine| {
            let (mut out, mut after) = (Vec::new(), None::<String>);
            loop {
                let page = e.customers_page(after.as_deref(), limit).expect("page");
                let Some((last, _)) = page.last() else {
                    return out;
                };
                after = Some(last.to_uppercase());
                out.push(page);
            }
        };
        let sled_pages = walk(sled);
        assert_eq!(walk(pg), sled_pages, "{label}: customer pages of {limit}");
        assert_eq!(
            sled_pages.iter().map(Vec::len).sum::<usize>(),
            13,
            "13 requesters"
        );
    }
    for q in queries() {
        for limit in [1, 7, 50] {
            let expected = pages(sled, &q, limit);
            assert_eq!(pages(pg, &q, limit), expected, "{label}: {q:?} by {limit}");
        }
        let mut full: Vec<&Ticket> = all.iter().filter(|t| q.matches(t)).collect();
        full.sort_by_key(|t| std::cmp::Reverse(Cursor::of(t)));
        let listed: Vec<u64> = pages(pg, &q, 500).into_iter().flat_map(|p| p.0).collect();
        assert_eq!(
            listed,
            full.iter().map(|t| t.number).collect::<Vec<_>>(),
            "{label}: {q:?} lists what a full scan finds"
        );
    }
    for minute in [0, 45, 89, 10_000] {
        let since = chrono::DateTime::from_timestamp(1_795_000_000 + minute * 60, 0).expect("t");
        let recent = |e: &dyn Engine| {
            e.tickets_updated_since(since)
                .map(|t| t.expect("ticket").number)
                .collect::<Vec<_>>()
        };
        assert_eq!(recent(pg), recent(sled), "{label}: updated since {since}");
    }
    assert_eq!(stats(pg), stats(sled), "{label}: stats");
}

#[test]
fn the_postgres_engine_lists_and_reports_what_the_sled_store_does() {
    let url = fresh_database("listing_reads");
    let ca = test_pg()["ca_file"].as_str().expect("ca_file").to_string();
    let store_keys = format!("url_env = \"{URL_VAR}\"\nca_file = \"{ca}\"\n");
    let t = desk(&store_keys);
    let state = t.state_dir();
    let out = t
        .cmd()
        .args(["migrate", "--from", "sled"])
        .arg(&state)
        .args(["--to", "postgres"])
        .env(URL_VAR, &url)
        .output()
        .expect("run migrate");
    assert!(out.status.success(), "{}", text(&out));

    std::env::set_var(URL_VAR, &url);
    let config: postdesk::config::StoreConfig = toml::from_str(&store_keys).expect("[store]");
    let settings = postdesk::pg::Settings::from_config(&config).expect("settings");
    let pg = PgEngine::connect(&settings).expect("connect");
    let sled = Store::open(&state).expect("open the sled store");
    let sled_engine = sled.engine();

    let tickets = pg.last_ticket().unwrap();
    assert!(tickets > 60, "{tickets} tickets");
    same_answers(&pg, sled_engine, "as moved");

    // The same changes written by each engine: statuses, queues and an
    // assignee change the filters' indexes; five tickets are updated in
    // one millisecond (microseconds apart, out of number order), so the
    // order within a millisecond is the number's on both.
    let at = chrono::DateTime::from_timestamp(1_795_000_000 + 300 * 60, 123_456_789).expect("at");
    let fill = |staged: &mut Staged| {
        for n in 1..=tickets {
            let mut t = sled.ticket(&Staged::default(), n).unwrap().expect("ticket");
            match n % 9 {
                0 => t.status = Status::Pending,
                1 => t.queue = "billing".into(),
                2 => t.assignee = Some("Ann@Desk.test".into()),
                3 if n < 40 => {
                    t.updated = at + chrono::Duration::microseconds(((n * 7) % 11) as i64)
                }
                _ => continue,
            }
            sled.stage_ticket(staged, &t);
        }
    };
    let (mut a, mut b) = (Staged::default(), Staged::default());
    fill(&mut a);
    fill(&mut b);
    pg.write(&a).expect("PostgreSQL write");
    sled.commit(&mut b).expect("sled commit");
    let newest = sled_engine
        .ticket_page(&TicketQuery::default(), None, 5)
        .unwrap();
    assert_eq!(
        newest.tickets.iter().map(|t| t.number).collect::<Vec<_>>(),
        vec![39, 30, 21, 12, 3],
        "one millisecond, by number"
    );
    same_answers(&pg, sled_engine, "after the same writes");
}
