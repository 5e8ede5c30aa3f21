//! Automatic mail (issue 17) through the doors users use: `postdesk
//! classify` on every fixture in tests/fixtures/automatic (made by
//! make_fixtures.py there; each fixture asserts its own expectation from
//! expected.toml), and `postdesk ingest` on a desk, where automatic mail
//! must be stored unanswered and people's mail answered. Accuracy per
//! family is printed by `cargo run --example score_automatic`, not
//! asserted here.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::TestDesk;

#[derive(serde::Deserialize)]
struct Expect {
    automatic: bool,
    kind: String,
    recipient: Option<String>,
    status: Option<String>,
    severity: Option<String>,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/automatic")
}

fn expected() -> BTreeMap<String, Expect> {
    let text = std::fs::read_to_string(dir().join("expected.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

/// `postdesk classify ARGS`, with no configuration anywhere in reach.
fn classify(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.env_remove("POSTDESK_CONFIG")
        .current_dir(std::env::temp_dir())
        .arg("classify")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// What `classify --json` says of one fixture, against what it should.
fn check(name: &str, e: &Expect) -> Result<(), String> {
    let path = dir().join(format!("{name}.eml"));
    let out = classify(&["--json", path.to_str().unwrap()], None);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|err| {
        format!(
            "{name}: not JSON ({err}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if v["mail"] == false {
        // Intake quarantines what is not mail: never answered, which is
        // right for automatic mail only.
        return if e.automatic {
            Ok(())
        } else {
            Err(format!(
                "{name}: a person's mail is not mail: {}",
                v["error"]
            ))
        };
    }
    if v["automatic"] != e.automatic {
        return Err(format!(
            "{name}: automatic {} (want {}): {}",
            v["automatic"], e.automatic, v["reason"]
        ));
    }
    if e.automatic && v["kind"] != e.kind.as_str() {
        return Err(format!(
            "{name}: kind {} (want {}): {}",
            v["kind"], e.kind, v["reason"]
        ));
    }
    if let Some(want) = &e.recipient {
        let found = v["bounce"]["recipients"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["address"] == want.as_str()))
            .ok_or_else(|| format!("{name}: no recipient {want} in {}", v["bounce"]))?;
        let status = found["status"].as_str().map(str::to_string);
        if status != e.status {
            return Err(format!("{name}: status {status:?} (want {:?})", e.status));
        }
        if let Some(sev) = &e.severity {
            if found["severity"] != sev.as_str() {
                return Err(format!(
                    "{name}: severity {} (want {sev})",
                    found["severity"]
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_fixture_is_classified_as_expected() {
    let all = expected();
    assert!(all.len() >= 150, "{} fixtures", all.len());
    // Four processes at a time: each fixture is one run of the binary.
    let all: Vec<(&String, &Expect)> = all.iter().collect();
    let chunk = all.len().div_ceil(4);
    let wrong: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = all
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|(n, e)| check(n, e).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        all.len(),
        wrong.join("\n")
    );
}

#[test]
fn classify_explains_a_bounce_in_words() {
    let path = dir().join("qmail-0.eml");
    let out = classify(&[path.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("automatic: yes (bounce)"), "{text}");
    assert!(
        text.contains("why: delivery report: sender mailer-daemon@mx.customer.test"),
        "{text}"
    );
    assert!(
        text.contains("nobody@customer.test  5.1.1  hard bounce"),
        "{text}"
    );
    assert!(
        text.contains("returned message: <ACME-12.ack.0f3e9a@desk.test>"),
        "{text}"
    );
}

#[test]
fn classify_reads_stdin_and_says_why_a_person_is_answered() {
    let raw = std::fs::read(dir().join("human-smime.eml")).unwrap();
    let out = classify(&["-"], Some(&raw));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("automatic: no\n"), "{text}");
    let raw = std::fs::read(dir().join("exchange-rule-1.eml")).unwrap();
    let out = classify(&[], Some(&raw));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("automatic: yes (auto-reply)"), "{text}");
    assert!(text.contains("X-MS-Exchange-Inbox-Rules-Loop"), "{text}");
}

#[test]
fn classify_of_what_is_not_mail_exits_65() {
    let out = classify(&["--json", "-"], Some(b"\x00\x01 not a mail at all"));
    assert_eq!(out.status.code(), Some(65));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mail"], false);
    let out = classify(&["/nonexistent/mail.eml"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

/// Automatic mail of every kind is stored and answers nothing; people's
/// mail that merely looks like it (quoting or attaching a bounce, signed,
/// "delivery" in the subject, "Daemon Smith") is acknowledged.
#[test]
fn ingest_answers_people_and_never_machines() {
    let t = TestDesk::new();
    let machines = [
        "arf-0",
        "mdn-outlook",
        "exchange-rule-0",
        "exchange-rule-3",
        "challenge-1",
        "challenge-4",
        "qmail-oddsender",
        "o365-ndr-plain",
        "domino-1",
        "bare-3",
        "autoresp-0",
        "list-7",
    ];
    let people = [
        "human-quotes-bounce",
        "human-forwards-bounce",
        "human-attached-bounce",
        "human-smime",
        "human-delivery-failed-subject",
        "human-auto-german",
        "human-daemon-smith",
    ];
    let mails = t.dir.path().join("mails");
    std::fs::create_dir_all(&mails).unwrap();
    let mut args = vec!["ingest".to_string()];
    for name in machines.iter().chain(people.iter()) {
        let p = mails.join(format!("{name}.eml"));
        std::fs::copy(dir().join(format!("{name}.eml")), &p).unwrap();
        args.push(p.display().to_string());
    }
    let out = t.cmd().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = t.run(&["outbox", "list", "--json"]);
    let outbox: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let acked: Vec<String> = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "ack")
        .map(|e| e["recipients"].to_string())
        .collect();
    assert_eq!(acked.len(), people.len(), "{acked:#?}");
    for a in &acked {
        assert!(
            a.contains("carol@customer.test")
                || a.contains("carola@kunde.test")
                || a.contains("daemon.smith@customer.test"),
            "{a}"
        );
    }
    // Each machine's mail is stored with the guard's reason as a flag;
    // no person's is.
    let tickets = t.tickets_json();
    let mut quiet = 0;
    for ticket in tickets.as_array().unwrap() {
        let reference = ticket["reference"].as_str().unwrap().to_string();
        let out = t.run(&["tickets", "show", &reference, "--json"]);
        let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for m in shown["messages"].as_array().unwrap() {
            let flags = m["flags"].to_string();
            let from = m["from"].to_string();
            let person = from.contains("carol@")
                || from.contains("carola@")
                || from.contains("daemon.smith@");
            let flagged = flags.contains("automatic mail (") || flags.contains("delivery report");
            assert!(person != flagged, "{from}: {flags}");
            quiet += usize::from(flagged);
        }
    }
    assert_eq!(quiet, machines.len());
}
