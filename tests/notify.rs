//! `postdesk notify`: a templated notice to every customer with a matching
//! ticket, once each; `--dry-run` lists them. Without a daemon (the outbox
//! checked entry by entry) and through a running daemon to the real mail
//! stack, read back from the customers' own mailboxes.

mod common;

use std::collections::BTreeMap;

use common::{imap_fetch, mail, mailstack, wait_until, Options, TestDesk};
use postdesk::mail::parse;
use serde_json::Value;

const RULES: &str = r#"
[[rule]]
name = "Outage"
when.subject = '(?i)\bdown\b'
set.category = "technical"
set.tags = ["outage-eu"]

[[rule]]
name = "Billing"
when.subject = '(?i)invoice'
set.category = "billing"
"#;

fn desk(address: &str, smtp_port: Option<u64>) -> TestDesk {
    TestDesk::with(Options {
        address: address.into(),
        smtp_port,
        rules: RULES.into(),
        // Customers hear only the notice, so mailboxes count it alone.
        extra: "[ack]\nenabled = false\n".into(),
        ..Options::default()
    })
}

fn ok(out: std::process::Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// cust13: one technical ticket; cust14: two; cust15: billing only;
/// cust16: a technical ticket already resolved. Only 13 and 14 match
/// `--category technical` (open tickets by default).
fn seed(t: &TestDesk, run: &str) {
    let c = |n: u32| format!("cust{n}@customer.test");
    let tickets = [
        (13, "Site is down"),
        (14, "Dashboard down since noon"),
        (14, "Still down for our EU team"),
        (15, "Invoice 12 is wrong"),
        (16, "API down"),
    ];
    for (i, (n, subject)) in tickets.iter().enumerate() {
        let raw = mail(
            &c(*n),
            subject,
            &format!("{run}-{i}@customer.test"),
            "",
            "Help!",
        );
        ok(t.pipe(&raw));
    }
    ok(t.run(&["tickets", "set", "ACME-5", "--status", "resolved"]));
}

fn notify(t: &TestDesk, extra: &[&str]) -> Value {
    let mut args = vec!["notify", "--template", "notice_outage", "--json"];
    args.extend_from_slice(extra);
    serde_json::from_slice(&ok(t.run(&args))).expect("notify --json is JSON")
}

/// (email, state, tickets) per recipient.
fn recipients(report: &Value) -> Vec<(String, String, Vec<String>)> {
    report["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
                r["tickets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn outbox(t: &TestDesk) -> Vec<Value> {
    serde_json::from_slice::<Value>(&ok(t.run(&["outbox", "list", "--json"])))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn notices(t: &TestDesk) -> Vec<Value> {
    outbox(t)
        .into_iter()
        .filter(|e| e["kind"] == "notice_outage")
        .collect()
}

#[test]
fn notices_reach_each_matching_customer_once_without_a_daemon() {
    let t = desk("support@desk.test", None);
    seed(&t, "local");
    let v = |s: &str| s.to_string();

    let dry = notify(&t, &["--category", "technical", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        recipients(&dry),
        [
            (
                v("cust13@customer.test"),
                v("would_send"),
                vec![v("ACME-1")]
            ),
            (
                v("cust14@customer.test"),
                v("would_send"),
                vec![v("ACME-3"), v("ACME-2")]
            ),
        ]
    );
    assert!(notices(&t).is_empty(), "a dry run queues nothing");
    let text = String::from_utf8(ok(t.run(&[
        "notify",
        "--template",
        "notice_outage",
        "--category",
        "technical",
        "--dry-run",
    ])))
    .unwrap();
    assert!(text.contains("cust13@customer.test"), "{text}");
    assert!(
        text.contains("2 customer(s) would get `notice_outage`"),
        "{text}"
    );

    let real = notify(&t, &["--category", "technical"]);
    let got = recipients(&real);
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|(_, state, _)| state == "queued"), "{got:?}");
    assert_eq!(real["notice"], dry["notice"]);

    // One mail per customer, to that customer alone, as automatic mail
    // from the desk, about their newest matching ticket.
    let queued = notices(&t);
    assert_eq!(queued.len(), 2);
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    let d = postdesk::desk::Desk::open(t.config()).unwrap();
    for e in &queued {
        let to: Vec<&str> = e["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(to.len(), 1, "never a list of customers: {to:?}");
        *per.entry(to[0].to_string()).or_default() += 1;
        let (_, bytes) = d.outgoing(e["id"].as_u64().unwrap()).unwrap().unwrap();
        let m = parse(&bytes).unwrap();
        assert_eq!(m.header("auto-submitted"), Some("auto-generated"));
        assert_eq!(m.from.email, "support@desk.test");
        assert!(m.cc.is_empty());
        let raw = String::from_utf8_lossy(&bytes);
        assert!(!raw.contains("cust15") && !raw.contains("cust16"));
        if to[0] == "cust14@customer.test" {
            assert!(m.subject.contains("[ACME-3]"), "{}", m.subject);
            assert!(!raw.contains("cust13"), "no other customer's address");
            assert!(m.text.contains("ACME-2"), "{}", m.text);
        } else {
            assert!(!raw.contains("cust14"), "no other customer's address");
        }
    }
    drop(d);
    assert_eq!(
        per,
        BTreeMap::from([
            (v("cust13@customer.test"), 1),
            (v("cust14@customer.test"), 1)
        ])
    );

    // The same command again sends nothing; a customer who matches since
    // is the only one reached.
    let again = notify(&t, &["--category", "technical"]);
    assert!(recipients(&again)
        .iter()
        .all(|(_, state, _)| state == "already_notified"));
    assert_eq!(notices(&t).len(), 2);
    ok(t.run(&["tickets", "set", "ACME-5", "--status", "open"]));
    let later = notify(&t, &["--category", "technical"]);
    let states: Vec<(String, String)> = recipients(&later)
        .into_iter()
        .map(|(e, s, _)| (e, s))
        .collect();
    assert_eq!(
        states,
        [
            (v("cust13@customer.test"), v("already_notified")),
            (v("cust14@customer.test"), v("already_notified")),
            (v("cust16@customer.test"), v("queued")),
        ]
    );
    assert_eq!(notices(&t).len(), 3);

    // A tag and a status select too; a new campaign is a new notice.
    let tagged = notify(
        &t,
        &["--tag", "OUTAGE-EU", "--status", "resolved", "--dry-run"],
    );
    assert!(recipients(&tagged).is_empty());
    let open_billing = notify(
        &t,
        &["--category", "billing", "--campaign", "x", "--dry-run"],
    );
    assert_eq!(recipients(&open_billing)[0].0, "cust15@customer.test");

    // The desk's own kinds are not notices; unknown names are refused.
    let out = t.run(&["notify", "--template", "ack", "--dry-run"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a notice"));
    let out = t.run(&["notify", "--template", "notice_nope", "--dry-run"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no template `notice_nope`"));
}

#[test]
fn notices_through_the_daemon_arrive_in_each_matching_mailbox_once() {
    let stack = mailstack();
    let smtp = stack["smtp_port"].as_u64().unwrap();
    let address = format!("notices{}@desk.test", std::process::id());
    let t = desk(&address, Some(smtp));
    let _daemon = t.serve();
    seed(&t, &format!("e2e{}", std::process::id()));

    let dry = notify(&t, &["--category", "technical", "--dry-run"]);
    assert_eq!(recipients(&dry).len(), 2);
    let real = notify(&t, &["--category", "technical"]);
    assert_eq!(recipients(&real).len(), 2);
    // A second run while the first is still being sent changes nothing.
    notify(&t, &["--category", "technical"]);
    wait_until(60, "the notices to be sent", || {
        let n = notices(&t);
        n.len() == 2 && n.iter().all(|e| e["state"] == "sent")
    });

    // Mailboxes may hold mail of earlier runs: count this desk's only.
    let from_us = |user: &str, min: usize| -> Vec<postdesk::mail::Inbound> {
        imap_fetch(&stack, user, min, 30)
            .iter()
            .filter_map(|raw| parse(raw).ok())
            .filter(|m| m.from.email == address)
            .collect()
    };
    for user in ["cust13@customer.test", "cust14@customer.test"] {
        wait_until(30, "the notice in the mailbox", || {
            !from_us(user, 1).is_empty()
        });
        let got = from_us(user, 1);
        assert_eq!(got.len(), 1, "{user} got {} notices", got.len());
        assert_eq!(got[0].to.len(), 1);
        assert_eq!(got[0].to[0].email, user);
        assert!(
            got[0].subject.contains("Service disruption"),
            "{}",
            got[0].subject
        );
    }
    // Sent in the same batch as the others, and not there (cust16 has the
    // status notice of their resolved ticket, not the outage notice).
    for user in ["cust15@customer.test", "cust16@customer.test"] {
        assert!(
            !from_us(user, 0)
                .iter()
                .any(|m| m.subject.contains("Service disruption")),
            "{user} must not get the notice"
        );
    }
}

/// Notices are automatic mail: the guards' caps apply to them as to
/// acknowledgements, and what they hold back is not recorded as given, so
/// a later run still reaches that customer.
#[test]
fn notices_respect_the_caps_on_automatic_mail() {
    let t = TestDesk::with(Options {
        rules: RULES.into(),
        // One automatic mail a day per address: the acknowledgement of
        // the ticket uses it up.
        extra: "[guard]\nauto_mail_limits = [\"1/1d\"]\n".into(),
        ..Options::default()
    });
    let raw = mail(
        "cust13@customer.test",
        "Site is down",
        "capped-1@customer.test",
        "",
        "Help!",
    );
    ok(t.pipe(&raw));
    let report = notify(&t, &["--category", "technical"]);
    let got = recipients(&report);
    assert_eq!(got.len(), 1, "{report}");
    assert_eq!(got[0].1, "held", "{report}");
    let why = report["recipients"][0]["held"].as_str().unwrap_or_default();
    assert!(why.contains("over the limit"), "{why}");
    let outbox: Value =
        serde_json::from_slice(&ok(t.run(&["outbox", "list", "--json"]))).expect("outbox json");
    let kinds: Vec<&str> = outbox
        .as_array()
        .expect("outbox array")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["ack"], "only the acknowledgement was queued");
    // Held is not given: asked again, it is held again, not "already notified".
    let again = notify(&t, &["--category", "technical"]);
    assert_eq!(recipients(&again)[0].1, "held", "{again}");
}
