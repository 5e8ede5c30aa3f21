//! What a new admin runs into first, through the binary: where the
//! configuration is looked for, what a wrong value says, and the exit
//! codes scripts and systemd rely on (sysexits.h: 64 usage, 78 config).

mod common;

use std::process::Command;

use common::{mail, TestDesk};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The binary with no configuration named, run in `dir`.
fn bare(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.current_dir(dir).env_remove("POSTDESK_CONFIG");
    c
}

#[test]
fn the_configuration_is_found_where_admins_put_it_and_the_search_is_told() {
    let empty = tempfile::tempdir().expect("temp dir");
    let o = bare(empty.path()).arg("check").output().expect("runs");
    // /etc/postdesk/postdesk.toml may exist on a machine with the package
    // installed; then it is found, which is the point.
    if !std::path::Path::new("/etc/postdesk/postdesk.toml").exists() {
        assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("config/postdesk.toml") && err.contains("/etc/postdesk/postdesk.toml"),
            "the paths tried: {err}"
        );
        assert!(err.contains("POSTDESK_CONFIG"), "{err}");
    }

    // ./config/postdesk.toml, as in a checkout.
    let t = TestDesk::new();
    let here = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(here.path().join("config")).expect("mkdir");
    std::fs::copy(&t.config_path, here.path().join("config/postdesk.toml")).expect("copy");
    let o = bare(here.path()).arg("check").output().expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));

    // POSTDESK_CONFIG names it too.
    let o = bare(empty.path())
        .env("POSTDESK_CONFIG", &t.config_path)
        .arg("check")
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_bad_environment_override_names_the_variable_not_the_file() {
    let t = TestDesk::new();
    let o = t
        .cmd()
        .env("POSTDESK_DESK__NAEM", "Typo Desk")
        .arg("check")
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(78));
    let err = stderr(&o);
    assert!(
        err.starts_with("postdesk: POSTDESK_DESK__NAEM:") || err.contains("POSTDESK_DESK__NAEM:"),
        "{err}"
    );
    assert!(err.contains("naem"), "{err}");
}

#[test]
fn wrong_values_name_the_valid_ones_and_exit_64() {
    let t = TestDesk::new();
    t.pipe(&mail("carol@customer.test", "Hi", "a1@c", "", "Hello"));
    let o = t.run(&["outbox", "list", "--state", "bogus"]);
    assert_eq!(o.status.code(), Some(64), "{}", stderr(&o));
    assert!(stderr(&o).contains("queued"), "{}", stderr(&o));
    for args in [
        &["tickets", "list", "--queue", "nosuch"][..],
        &["stats", "--queue", "nosuch"][..],
    ] {
        let o = t.run(args);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("the queues are general"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty(), "{args:?} printed an answer");
    }
    let o = t.run(&["tickets", "lsit"]);
    assert_eq!(o.status.code(), Some(64));
    let o = t.run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn tickets_show_lists_the_mail_that_went_out_and_the_next_timer() {
    let t = TestDesk::with(common::Options {
        extra: "[[agent]]\nemail = \"alice@desk.test\"\nqueues = [\"general\"]\n".into(),
        ..common::Options::default()
    });
    t.pipe(&mail(
        "carol@customer.test",
        "Printer",
        "p1@c",
        "",
        "Broken",
    ));
    t.pipe(&mail(
        "dave@customer.test",
        "Scanner",
        "s1@c",
        "",
        "Broken too",
    ));
    let o = t.run(&["tickets", "show", "ACME-1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("outgoing mail:"), "{out}");
    assert!(
        out.contains("ack") && out.contains("to carol@customer.test"),
        "{out}"
    );
    assert!(
        out.contains("agent_notify") && out.contains("to alice@desk.test"),
        "{out}"
    );
    assert!(
        out.contains("next timer") && out.contains("SLA first response warning"),
        "{out}"
    );
    // Outbox ids are small and dense, across processes (each command here
    // opened the store anew).
    let o = t.run(&["outbox", "list", "--json"]);
    let all: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let ids: Vec<u64> = all
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|e| e["id"].as_u64())
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4]);
    let o = t.run(&["outbox", "list", "--ticket", "ACME-2", "--json"]);
    let mine: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let tickets: Vec<&str> = mine
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|e| e["ticket"].as_str())
        .collect();
    assert_eq!(tickets, vec!["ACME-2", "ACME-2"]);
}

#[test]
fn dry_runs_read_the_files_on_disk_and_live_asks_the_daemon() {
    let t = TestDesk::with(common::Options {
        rules: "[[rule]]\nname = \"Billing\"\nwhen.subject = '(?i)invoice'\nset.category = \"billing\"\n"
            .into(),
        ..common::Options::default()
    });
    let _daemon = t.serve();
    let msg = t.dir.path().join("m.eml");
    std::fs::write(
        &msg,
        mail("carol@customer.test", "Invoice 12", "i1@c", "", "Hi"),
    )
    .expect("write");
    let msg = msg.to_str().expect("utf-8 path");
    let o = t.run(&["rules", "test", msg]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("the file on disk") && out.contains("Billing"),
        "{out}"
    );

    // A bad edit: the dry run says so, as `check` does; the daemon keeps
    // its loaded set, which --live still uses.
    std::fs::write(
        t.rules_path(),
        "[[rule]]\nname = \"Billing\"\nwhen.subject = '(?i)invoice('\nset.category = \"billing\"\n",
    )
    .expect("write rules");
    let o = t.run(&["rules", "test", msg]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("rules.toml:3"), "{}", stderr(&o));
    let check = t.run(&["check"]);
    assert!(!check.status.success());
    let o = t.run(&["rules", "test", "--live", msg]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("(--live)"));

    // Sample data names this desk.
    let o = t.run(&["templates", "preview", "ack"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Test Desk"), "{out}");
    assert!(!out.contains("Acme Support"), "{out}");

    let o = t.run(&["templates", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("ack") && out.contains("agent_notify"), "{out}");
}

#[test]
fn rules_test_explains_not_and_the_defaults_truthfully() {
    let t = TestDesk::with(common::Options {
        rules: "[[rule]]\nname = \"Outside\"\nwhen.subject = '(?i)invoice'\nwhen.not = { from = '@desk\\.test$' }\nset.tags = [\"outside\"]\n".into(),
        ..common::Options::default()
    });
    let msg = t.dir.path().join("m.eml");
    std::fs::write(
        &msg,
        mail("carol@customer.test", "Invoice 12", "i1@c", "", "Hi"),
    )
    .expect("write");
    let o = t.run(&["rules", "test", msg.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let not_line = out
        .lines()
        .find(|l| l.contains("not.from"))
        .expect("the not condition is listed");
    assert!(not_line.trim_start().starts_with('✓'), "{not_line}");
    assert!(not_line.contains("so the `not` holds"), "{not_line}");
    assert!(
        out.contains("priority         normal (desk default)"),
        "{out}"
    );
    assert!(
        out.contains("queue            general (desk default)"),
        "{out}"
    );
    assert!(
        out.contains("sla              normal: first response 4h"),
        "{out}"
    );
}

#[test]
fn answers_come_as_json_where_scripts_need_them() {
    let t = TestDesk::new();
    t.pipe(&mail("carol@customer.test", "One", "j1@c", "", "Hello"));
    t.pipe(&mail("carol@customer.test", "Two", "j2@c", "", "Again"));
    let json = |args: &[&str]| -> serde_json::Value {
        let o = t.run(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    assert_eq!(json(&["check", "--json"])["ok"], true);
    assert_eq!(
        json(&["outbox", "retry", "--json"])["requeued"],
        serde_json::json!([])
    );
    let merged = json(&["tickets", "merge", "ACME-2", "ACME-1", "--json"]);
    assert_eq!(merged[0]["merged_into"], 1);
    let set = json(&["tickets", "set", "ACME-1", "--priority", "high", "--json"]);
    assert_eq!(set[0]["priority"], "high");
    let raw = t.dir.path().join("reply.eml");
    std::fs::write(
        &raw,
        "From: a@b.test\r\nSubject: Re: x\r\n\r\nYes.\r\n\r\nOn Mon, 2 Nov 2026 at 10:00, Carol <c@d.test> wrote:\r\n> Question?\r\n",
    )
    .expect("write");
    let stripped = json(&["strip", "--json", raw.to_str().expect("utf-8")]);
    assert_eq!(stripped["text"], "Yes.");
    assert!(stripped["cuts"].as_array().is_some_and(|c| !c.is_empty()));
}

/// The shipped example counts normal tickets' targets in office hours, so
/// a Sunday-night acknowledgement promises Monday afternoon, not "within
/// 8 hours".
#[test]
fn the_example_configuration_does_not_over_promise() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("config/postdesk.toml")).expect("example");
    let state = tempfile::tempdir().expect("temp dir");
    let text = text
        .replace(
            "state_dir = \"var\"",
            &format!("state_dir = \"{}\"", state.path().display()),
        )
        .replace("\"config/", &format!("\"{}/config/", root.display()))
        .replace(
            "\"templates\"",
            &format!("\"{}/templates\"", root.display()),
        )
        .replace("\"var/", &format!("\"{}/", state.path().display()));
    let config = postdesk::config::Config::from_toml_with_env(
        &root.join("config/postdesk.toml"),
        &text,
        Vec::new(),
    )
    .expect("the example loads");
    let desk = postdesk::desk::Desk::open(config).expect("desk");
    // Sunday 22 Nov 2026, 23:30 in Berlin.
    let sunday_night = chrono::DateTime::parse_from_rfc3339("2026-11-22T22:30:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    desk.ingest_at(
        &mail(
            "carol@customer.test",
            "Printer",
            "sun1@c",
            "",
            "It is broken.",
        ),
        None,
        "test",
        postdesk::decide::Mode::Live,
        sunday_night,
    )
    .expect("stored");
    desk.flush().expect("flushed");
    let ack = desk
        .store()
        .outbox_entries()
        .expect("outbox")
        .into_iter()
        .find(|e| e.kind == "ack")
        .expect("an acknowledgement");
    let (_, bytes) = desk.outgoing(ack.id).expect("built").expect("there");
    let text = postdesk::mail::parse(&bytes).expect("parses").text;
    // Eight office hours from Monday 09:00: Monday afternoon.
    assert!(text.contains("by tomorrow afternoon"), "{text}");
    assert!(!text.contains("within"), "{text}");
}

#[test]
fn old_references_keep_working_after_the_prefix_changes() {
    let t = TestDesk::with(common::Options {
        extra: "[[agent]]\nemail = \"alice@desk.test\"\nqueues = [\"general\"]\n".into(),
        ..common::Options::default()
    });
    t.pipe(&mail(
        "carol@customer.test",
        "Printer",
        "old1@c",
        "",
        "Broken",
    ));
    let signer = t.signer();
    let token = signer.agent_address("support@desk.test", "ACME-1", "alice@desk.test", false);
    let text = std::fs::read_to_string(&t.config_path).expect("config");
    std::fs::write(
        &t.config_path,
        text.replace("ticket_prefix = \"ACME\"", "ticket_prefix = \"GLX\""),
    )
    .expect("write config");

    for reference in ["ACME-1", "GLX-1", "1"] {
        let o = t.run(&["tickets", "show", reference, "--json"]);
        assert!(o.status.success(), "{reference}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        assert_eq!(v["ticket"]["reference"], "ACME-1", "history keeps its name");
    }
    // The customer's tag and the agent's token from before still thread.
    let o = t.pipe(&mail(
        "carol@customer.test",
        "Re: [ACME-1] Printer",
        "old2@c",
        "",
        "Still broken",
    ));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("stored in ACME-1"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = t.pipe(
        format!(
            "From: alice@desk.test\r\nTo: {token}\r\nSubject: Re: [ACME-1] Printer\r\nMessage-ID: <a1@desk.test>\r\n\r\n#priority high\r\n"
        )
        .as_bytes(),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("stored in ACME-1"));
    let o = t.run(&["tickets", "set", "ACME-1", "--status", "pending", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v[0]["priority"], "high", "the agent's old token was proof");
    // New tickets take the new prefix.
    let o = t.pipe(&mail(
        "dave@customer.test",
        "Scanner",
        "new1@c",
        "",
        "Broken",
    ));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("stored in GLX-2"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
