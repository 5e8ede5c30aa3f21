//! The rule file in a running daemon: matches are recorded on the ticket,
//! edits are picked up from disk and on SIGHUP, and a bad edit is refused
//! with its file and line while the old rules stay live.

mod common;

use common::{deliver, mail, wait_until, Options, TestDesk};

const BILLING: &str = r#"
[[rule]]
name = "Invoices"
when.subject = '(?i)invoice'
set.category = "billing"
set.priority = "high"
set.tags = ["money"]
"#;

const RENAMED: &str = r#"
[[rule]]
name = "Invoices v2"
when.subject = '(?i)invoice'
set.category = "finance"
"#;

const BROKEN: &str = r#"
[[rule]]
name = "Broken"
when.subject = '(unclosed'
set.category = "nope"
"#;

fn log(t: &TestDesk) -> String {
    std::fs::read_to_string(t.dir.path().join("serve.log")).unwrap_or_default()
}

fn category_of(t: &TestDesk, subject: &str) -> Option<String> {
    t.tickets_json()
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["subject"] == subject)
        .map(|x| x["category"].as_str().unwrap().to_string())
}

fn send(t: &TestDesk, subject: &str) -> String {
    deliver(
        &t.inbox(),
        &format!("{subject}.eml"),
        &mail(
            "carol@customer.test",
            subject,
            &format!("{subject}@c"),
            "",
            "hi",
        ),
    );
    wait_until(20, subject, || category_of(t, subject).is_some());
    category_of(t, subject).unwrap()
}

#[test]
fn rules_apply_reload_on_edit_and_refuse_a_bad_edit() {
    let t = TestDesk::with(Options {
        rules: BILLING.into(),
        ..Options::default()
    });
    let daemon = t.serve();

    assert_eq!(send(&t, "Invoice 1"), "billing");
    let show = t.run(&["tickets", "show", "ACME-1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(
        v["ticket"]["matched_rules"],
        serde_json::json!(["Invoices"])
    );
    assert_eq!(v["ticket"]["priority"], "high");
    assert_eq!(v["ticket"]["tags"], serde_json::json!(["money"]));
    assert_eq!(v["messages"][0]["rules"], serde_json::json!(["Invoices"]));
    let text = t.run(&["tickets", "show", "ACME-1"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("rules        Invoices"));

    // A good edit on disk is picked up without a signal.
    std::fs::write(t.rules_path(), RENAMED).unwrap();
    wait_until(20, "the edit to be loaded", || {
        log(&t).contains("reloaded rules")
    });
    assert_eq!(send(&t, "Invoice 2"), "finance");

    // A bad edit is refused with file:line; the old rules keep working.
    std::fs::write(t.rules_path(), BROKEN).unwrap();
    let where_ = format!("{}:4:", t.rules_path().display());
    wait_until(20, "the bad edit to be refused", || {
        log(&t).contains(&where_)
    });
    assert!(
        log(&t).contains("previous rules and templates stay live"),
        "{}",
        log(&t)
    );
    assert_eq!(send(&t, "Invoice 3"), "finance");

    // SIGHUP reloads too; fixed file, new rules.
    std::fs::write(t.rules_path(), BILLING).unwrap();
    let before = log(&t).matches("reloaded rules").count();
    let pid = daemon.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    wait_until(20, "SIGHUP reload", || {
        log(&t).matches("reloaded rules").count() > before
    });
    assert_eq!(send(&t, "Invoice 4"), "billing");
}

#[test]
fn check_and_serve_refuse_a_bad_rule_file_naming_the_line() {
    let t = TestDesk::with(Options {
        rules: BROKEN.into(),
        ..Options::default()
    });
    let o = t.run(&["check"]);
    assert_eq!(o.status.code(), Some(78));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{}:4:", t.rules_path().display())),
        "{err}"
    );
    let o = t.run(&["serve"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("rules.toml:4:"));
}

#[test]
fn rules_test_explains_without_storing() {
    let t = TestDesk::with(Options {
        rules: BILLING.into(),
        ..Options::default()
    });
    let f = t.dir.path().join("m.eml");
    std::fs::write(
        &f,
        mail("carol@customer.test", "Your invoice", "x@c", "", "hello"),
    )
    .unwrap();
    let o = t.run(&["rules", "test", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("✓ Invoices"), "{out}");
    assert!(out.contains("billing"), "{out}");
    let o = t.run(&["rules", "test", f.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["result"]["category"], "billing");
    assert_eq!(
        t.tickets_json().as_array().unwrap().len(),
        0,
        "nothing stored"
    );
}

/// The knowledge base reloads with the rules and templates: an article
/// added while the daemon runs is suggested in the next acknowledgement.
#[test]
fn knowledge_base_edits_reach_the_next_acknowledgement() {
    let t = TestDesk::new();
    let kb = t.dir.path().join("kb.toml");
    let article = |title: &str| {
        format!("[[article]]\ntitle = \"{title}\"\nurl = \"https://help.test/x\"\nkeywords = [\"invoice\"]\n")
    };
    std::fs::write(&kb, article("Invoices, first edition")).unwrap();
    let mut config = std::fs::read_to_string(&t.config_path).unwrap();
    config.push_str(&format!("\n[kb]\nfile = \"{}\"\n", kb.display()));
    std::fs::write(&t.config_path, config).unwrap();
    let _daemon = t.serve();
    let spool = t.dir.path().join("outgoing");
    let acks_naming = |title: &str| {
        std::fs::read_dir(&spool)
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .filter(|m| m.contains(title))
                    .count()
            })
            .unwrap_or(0)
    };
    send(&t, "Invoice 1");
    wait_until(20, "the first acknowledgement", || {
        acks_naming("Invoices, first edition") == 1
    });
    std::fs::write(&kb, article("Invoices, second edition")).unwrap();
    wait_until(20, "the edit to be loaded", || {
        log(&t).contains("reloaded rules")
    });
    send(&t, "Invoice 2");
    wait_until(20, "the second acknowledgement", || {
        acks_naming("Invoices, second edition") == 1
    });
    assert_eq!(acks_naming("Invoices, first edition"), 1);
}
