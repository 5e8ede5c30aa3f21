//! `customers list` and `customers show`, through the binary, with and
//! without a daemon: what an agent or admin asks about a person.

mod common;

use common::{mail, wait_until, Options, TestDesk};

fn ok(o: std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn desk() -> TestDesk {
    let t = TestDesk::with(Options {
        extra: "[[organization]]\nname = \"Globex\"\ndomains = [\"globex.test\", \"globex-corp.test\"]\n"
            .into(),
        ..Options::default()
    });
    let mails = [
        ("Carol <carol@customer.test>", "Printer jam", "c1@x"),
        ("Carol <carol@customer.test>", "Invoice question", "c2@x"),
        ("Hank <hank@globex.test>", "VPN down", "h1@x"),
        ("Ivy <ivy@eu.globex-corp.test>", "Badge lost", "i1@x"),
    ];
    for (from, subject, id) in mails {
        ok(t.pipe(&mail(from, subject, id, "", "Please help.")));
    }
    t
}

#[test]
fn customers_are_listed_and_shown_the_same_with_and_without_the_daemon() {
    let t = desk();
    let list = ok(t.run(&["customers", "list"]));
    assert!(list.contains("carol@customer.test"), "{list}");
    let v: serde_json::Value =
        serde_json::from_str(&ok(t.run(&["customers", "list", "--json"]))).expect("JSON");
    let rows = v.as_array().expect("an array");
    assert_eq!(rows.len(), 3);
    let org = |addr: &str| {
        rows.iter()
            .find(|r| r["address"] == addr)
            .map(|r| r["organization"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(org("carol@customer.test").as_deref(), Some("customer.test"));
    assert_eq!(org("hank@globex.test").as_deref(), Some("Globex"));
    assert_eq!(org("ivy@eu.globex-corp.test").as_deref(), Some("Globex"));
    let carol = rows
        .iter()
        .find(|r| r["address"] == "carol@customer.test")
        .expect("carol");
    assert_eq!(carol["tickets"], 2);
    assert_eq!(carol["open"], 2);

    let show = ok(t.run(&["customers", "show", "Carol@Customer.test"]));
    assert!(
        show.contains("Printer jam") && show.contains("Invoice question") && show.contains("Carol"),
        "{show}"
    );

    // Pages: one at a time, `next:` says where to go on.
    let o = t.run(&["customers", "list", "--limit", "1"]);
    let first = ok(o.clone());
    let next = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(first.contains("carol@customer.test"), "{first}");
    let after = next
        .lines()
        .find_map(|l| l.strip_prefix("next: "))
        .expect("a next cursor");
    let second = ok(t.run(&["customers", "list", "--limit", "1", "--after", after]));
    assert!(second.contains("hank@globex.test"), "{second}");
    let all = ok(t.run(&["customers", "list", "--all", "--json"]));
    assert_eq!(all.lines().count(), 3, "{all}");

    // The same answers through the daemon.
    let _daemon = t.serve();
    wait_until(10, "the daemon", || t.run(&["status"]).status.success());
    let through: serde_json::Value =
        serde_json::from_str(&ok(t.run(&["customers", "list", "--json"]))).expect("JSON");
    assert_eq!(through, v);
    assert_eq!(
        ok(t.run(&["customers", "show", "carol@customer.test"])),
        show
    );
}

#[test]
fn an_unknown_customer_is_said_so() {
    let t = desk();
    let o = t.run(&["customers", "show", "nobody@nowhere.test"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no customer nobody@nowhere.test"), "{err}");
}
