//! The PostgreSQL engine writes a large staged batch (many new tickets,
//! each with its message, ids and customer) in one transaction of one
//! statement a table, as the sled store writes it; a NUL a hostile header
//! put in a column's text is written as the move from sled writes it
//! (U+FFFD beside the record, which keeps it). Needs the test cluster
//! (tests/pg/start.sh, POSTDESK_TEST_PG).

mod common;

use common::moved::{pipe_all, MovedDesk};
use common::{mail, psql, test_pg};
use postdesk::store::engine::{Customers, Intake};
use postdesk::store::Staged;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_large_batch_is_written_alike_by_both_engines() {
    let MovedDesk {
        desk: _desk,
        db,
        engine: pg,
        store: sled,
    } = common::moved::moved_desk("intake_batch", "", |t| {
        pipe_all(
            t,
            &[mail(
                "Carol <carol@customer.test>",
                "Help",
                "m0@customer.test",
                "",
                "Please.",
            )],
        )
    });
    let none = Staged::default();
    let template = sled.ticket(&none, 1).unwrap().expect("ticket 1");
    let record = sled.message_records(1).unwrap().remove(0);

    const N: u64 = 120;
    let stage = |staged: &mut Staged, packed: bool| {
        for i in 0..N {
            let number = sled.next_ticket_number(staged).unwrap();
            let id = format!("b{i}@customer.test");
            let raw = mail(
                &format!("c{i}@customer.test"),
                "Batch",
                &id,
                "",
                "one of many",
            );
            let mut ticket = template.clone();
            ticket.number = number;
            ticket.requester.email = if i == 0 {
                "nul\0@customer.test".into()
            } else {
                format!("c{i}@customer.test")
            };
            if i == 1 {
                ticket.queue = "q\0ueue".into();
            }
            let mut r = record.clone();
            r.ticket = number;
            r.seq = 1;
            r.message_id = id;
            r.size = raw.len();
            let d = postdesk::decide::Decision {
                ticket,
                created: true,
                record: Some(r),
                also: Vec::new(),
                remember_references: vec![
                    format!("ref{i}@elsewhere.test"),
                    "m0@customer.test".into(),
                ],
                conversation: Some(format!("conv:{i}")),
                notices: Vec::new(),
                ack_suppressed: None,
                quiet: None,
                marks: Vec::new(),
                sent: Vec::new(),
                counters: Vec::new(),
                refused: Vec::new(),
                events: Vec::new(),
            };
            // Each engine's staged mail is packed by its own codec: sled's,
            // PostgreSQL's (a fresh database has no dictionary: plain).
            let mail = if packed {
                sled.codec().pack_mail(&raw)
            } else {
                postdesk::store::codec::plain().pack_mail(&raw)
            };
            sled.stage(staged, &d, &mail).unwrap();
        }
    };
    let (mut a, mut b) = (Staged::default(), Staged::default());
    stage(&mut a, false);
    stage(&mut b, true);
    // Within one write turn, reads are remembered (and read ahead for a
    // batch); a write forgets them: the checks below run in the same turn
    // and must read the batch.
    pg.enter().expect("take the write turn");
    let keys: Vec<String> = (0..N)
        .map(|i| postdesk::mail::msgid::key(&format!("b{i}@customer.test")))
        .chain(["m0@customer.test".to_string()])
        .collect();
    pg.prefetch(&keys, &["carol@customer.test".to_string()])
        .expect("read ahead");
    assert_eq!(pg.id_entry(&keys[0]).unwrap(), None);
    assert!(pg.id_entry("m0@customer.test").unwrap().is_some());
    assert_eq!(pg.last_ticket().unwrap(), 1);
    assert_eq!(
        pg.tickets_of_customer("carol@customer.test").unwrap(),
        vec![1]
    );
    pg.write(&a).expect("PostgreSQL write of the batch");
    sled.commit(&mut b).expect("sled commit of the batch");

    assert_eq!(pg.last_ticket().unwrap(), N + 1);
    let json = |t: Option<postdesk::ticket::Ticket>| t.map(|t| serde_json::to_value(t).unwrap());
    for n in 1..=N + 2 {
        assert_eq!(
            json(pg.ticket(n).unwrap()),
            json(sled.ticket(&none, n).unwrap()),
            "ticket {n}"
        );
    }
    for i in 0..N {
        for id in [
            format!("b{i}@customer.test"),
            format!("ref{i}@elsewhere.test"),
            format!("conv:{i}"),
        ] {
            assert_eq!(
                pg.id_entry(&postdesk::mail::msgid::key(&id)).unwrap(),
                sled.lookup_id(&none, &id).unwrap(),
                "{id}"
            );
        }
    }
    assert_eq!(
        pg.id_entry("m0@customer.test").unwrap(),
        sled.lookup_id(&none, "m0@customer.test").unwrap(),
        "a mention never overwrites a stored id"
    );
    let db = &db.name;
    let counts = psql(
        &test_pg(),
        db,
        "SELECT (SELECT count(*) FROM messages) || ' ' || (SELECT count(*) FROM customers) \
         || ' ' || (SELECT count(*) FROM tickets WHERE requester = 'nul\u{FFFD}@customer.test') \
         || ' ' || (SELECT count(*) FROM tickets WHERE queue = 'q\u{FFFD}ueue')",
    );
    assert_eq!(
        String::from_utf8_lossy(&counts.stdout).trim(),
        format!("{} {} 1 1", N + 1, N + 1),
        "{}",
        text(&counts)
    );
    pg.leave();
}
