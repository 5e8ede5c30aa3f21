//! Every fixture in tests/fixtures/mail parses as expected.json says:
//! charsets, HTML-only mail, attachments, broken MIME and not-mail input.

use std::path::Path;

use postdesk::mail::parse;

#[test]
fn fixtures_parse_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let cases = expected.as_object().unwrap();
    assert!(cases.len() >= 12, "fixture set shrank");
    let mut failures = Vec::new();
    for (file, want) in cases {
        let raw = std::fs::read(dir.join(file)).unwrap();
        let got = parse(&raw);
        if want["not_mail"].as_bool().unwrap() {
            match got {
                Err(e) if e.is_not_mail() => {}
                other => failures.push(format!("{file}: expected not-mail, got {other:?}")),
            }
            continue;
        }
        let msg = match got {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{file}: did not parse: {e}"));
                continue;
            }
        };
        if let Some(subject) = want["subject"].as_str() {
            if msg.subject != subject {
                failures.push(format!("{file}: subject {:?} != {subject:?}", msg.subject));
            }
        }
        for needle in want["body_contains"].as_array().unwrap() {
            let needle = needle.as_str().unwrap();
            if !msg.text.contains(needle) {
                failures.push(format!("{file}: body lacks {needle:?}"));
            }
        }
        let names: Vec<&str> = msg.attachments.iter().map(|a| a.name.as_str()).collect();
        let want_names: Vec<&str> = want["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        if names != want_names {
            failures.push(format!("{file}: attachments {names:?} != {want_names:?}"));
        }
        if msg.message_id_synthetic == want["has_message_id"].as_bool().unwrap() {
            failures.push(format!(
                "{file}: message-id synthetic = {}",
                msg.message_id_synthetic
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
