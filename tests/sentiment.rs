//! The mood of the mail through the `postdesk` binary: a `sentiment` rule
//! raises and routes an angry customer's ticket, `rules test` shows the
//! words that decided, `check` points at a bad value, and quoted history
//! never counts.

mod common;

use common::{mail, TestDesk};

const RULES: &str = r#"
[[rule]]
name = "Upset customer"
on = ["new", "reply"]
when.sentiment = "negative"
set.priority = "high"
set.queue = "escalations"
set.tags = ["upset"]
"#;

fn desk() -> TestDesk {
    TestDesk::with(common::Options {
        rules: RULES.into(),
        extra: "[[queue]]\nname = \"general\"\n\n[[queue]]\nname = \"escalations\"\n".into(),
        ..common::Options::default()
    })
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn show(t: &TestDesk, reference: &str) -> serde_json::Value {
    let o = t.run(&["tickets", "show", reference, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("tickets show --json is JSON")
}

const ANGRY: &str = "Hello,\r\n\r\nthis is the third time I write about the double charge. This is\r\nUNACCEPTABLE!!! Refund immediately or I will cancel my subscription.\r\n\r\nCarol\r\n";

#[test]
fn an_angry_mail_is_raised_and_routed_and_keeps_its_mood() {
    let t = desk();
    let o = t.pipe(&mail(
        "carol@customer.test",
        "Double charge",
        "angry1@c",
        "",
        ANGRY,
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let calm = "Hi,\r\n\r\nhow do I export my invoices as PDF?\r\n\r\nThanks,\r\nDave\r\n";
    let o = t.pipe(&mail(
        "dave@customer.test",
        "Export question",
        "calm1@c",
        "",
        calm,
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let german = "Guten Tag,\r\n\r\ndas ist eine Frechheit. Ich schreibe Ihnen zum dritten Mal und\r\nwerde meinen Vertrag kündigen.\r\n";
    let o = t.pipe(&mail(
        "erik@customer.test",
        "Rechnung",
        "angry2@c",
        "",
        german,
    ));
    assert!(o.status.success(), "{}", stderr(&o));

    let angry = show(&t, "ACME-1");
    assert_eq!(angry["ticket"]["priority"], "high", "{angry:#}");
    assert_eq!(angry["ticket"]["queue"], "escalations");
    assert_eq!(angry["ticket"]["tags"], serde_json::json!(["upset"]));
    assert_eq!(angry["ticket"]["sentiment"], "negative");

    let calm = show(&t, "ACME-2");
    assert_eq!(calm["ticket"]["priority"], "normal");
    assert_eq!(calm["ticket"]["queue"], "general");
    assert_eq!(calm["ticket"]["sentiment"], "neutral");

    let german = show(&t, "ACME-3");
    assert_eq!(german["ticket"]["queue"], "escalations");
    assert_eq!(german["ticket"]["sentiment"], "negative");
}

/// A calm reply that quotes the angry mail below is calm: the quoted
/// history is stripped before the mood is read.
#[test]
fn quoted_anger_does_not_count() {
    let t = desk();
    let reply = format!(
        "Thanks, that fixed it. Have a nice day!\r\n\r\nOn Sun, 22 Nov 2026 at 09:00, Carol <carol@customer.test> wrote:\r\n> {}",
        ANGRY.replace("\r\n", "\r\n> ")
    );
    let o = t.pipe(&mail(
        "carol@customer.test",
        "Re: Double charge",
        "calm2@c",
        "",
        &reply,
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let v = show(&t, "ACME-1");
    assert_eq!(v["ticket"]["priority"], "normal", "{v:#}");
    assert_eq!(v["ticket"]["queue"], "general");
    assert_ne!(v["ticket"]["sentiment"], "negative");

    let msg = t.dir.path().join("reply.eml");
    std::fs::write(
        &msg,
        mail(
            "carol@customer.test",
            "Re: Double charge",
            "calm3@c",
            "",
            &reply,
        ),
    )
    .expect("write");
    let o = t.run(&["rules", "test", msg.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("UNACCEPTABLE"), "{out}");
    assert!(out.contains("✗ sentiment = negative"), "{out}");
}

#[test]
fn rules_test_shows_the_score_and_the_deciding_words() {
    let t = desk();
    let msg = t.dir.path().join("angry.eml");
    // A control sequence in the mail must reach the terminal escaped.
    let body = ANGRY.replace("Carol", "Carol\u{1b}]0;owned\u{7}");
    std::fs::write(
        &msg,
        mail(
            "carol@customer.test",
            "Double charge",
            "angry3@c",
            "",
            &body,
        ),
    )
    .expect("write");
    let o = t.run(&["rules", "test", msg.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("✓ sentiment = negative  (is negative, score -"),
        "{out}"
    );
    let block = out
        .split("Sentiment        ")
        .nth(1)
        .expect("a sentiment block");
    assert!(block.starts_with("negative (score -"), "{block}");
    for words in [
        "\"UNACCEPTABLE\"",
        "\"third time\"",
        "\"Refund immediately\"",
        "\"cancel my subscription\"",
    ] {
        assert!(block.contains(words), "{words} missing:\n{out}");
    }
    assert!(block.contains("in capitals"), "{block}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
    assert!(out.contains("priority         high"), "{out}");

    let o = t.run(&["rules", "test", "--json", msg.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["sentiment"]["sentiment"], "negative");
    let evidence = v["sentiment"]["evidence"].as_array().expect("evidence");
    let sum: f64 = evidence.iter().filter_map(|e| e["weight"].as_f64()).sum();
    let score = v["sentiment"]["score"].as_f64().expect("score");
    assert!((sum - score).abs() < 1e-6, "{sum} vs {score}");
    // Nothing was stored by the dry run.
    assert_eq!(t.tickets_json(), serde_json::json!([]));
}

#[test]
fn check_points_at_a_bad_sentiment_value() {
    let t = TestDesk::with(common::Options {
        rules: "[[rule]]\nname = \"Upset\"\nwhen.sentiment = \"angry\"\nset.priority = \"high\"\n"
            .into(),
        ..common::Options::default()
    });
    let o = t.run(&["check"]);
    assert!(!o.status.success());
    let err = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
    assert!(err.contains("rules.toml:3:"), "{err}");
    assert!(err.contains("unknown sentiment `angry`"), "{err}");
}

// --- the labelled corpus ------------------------------------------------------

/// Every `(language, label, text)` of tests/fixtures/sentiment/*.tsv.
fn corpus() -> Vec<(String, String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sentiment");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let lang = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let text = std::fs::read_to_string(&f).expect("read fixture");
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let (label, body) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("{lang}: no tab in {line:?}"));
            out.push((lang.clone(), label.to_string(), body.replace("\\n", "\n")));
        }
    }
    out
}

fn reading(text: &str) -> postdesk::mail::sentiment::Reading {
    postdesk::mail::sentiment::read(&[text])
}

#[test]
fn every_labelled_mail_reads_as_labelled() {
    let all = corpus();
    assert!(all.len() >= 90, "corpus shrank to {}", all.len());
    let misses: Vec<String> = all
        .iter()
        .filter_map(|(lang, label, text)| {
            let r = reading(text);
            (r.sentiment.to_string() != *label).then(|| {
                let words: Vec<String> = r
                    .evidence
                    .iter()
                    .map(|e| format!("{} {:?}", e.weight, e.text))
                    .collect();
                format!(
                    "{lang} {label}, read {} ({}): {text:?} [{}]",
                    r.sentiment,
                    r.score,
                    words.join(", ")
                )
            })
        })
        .collect();
    assert!(
        misses.is_empty(),
        "{} of {} differ:\n{}",
        misses.len(),
        all.len(),
        misses.join("\n")
    );
}

/// Prints the accuracy per language and per label (run with
/// `--nocapture`); the figures go to benches/RESULTS.md. Each mail's own
/// outcome is asserted by the test above, not here.
#[test]
fn accuracy_by_family() {
    use std::collections::BTreeMap;
    let mut families: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (lang, label, text) in corpus() {
        let ok = reading(&text).sentiment.to_string() == label;
        for family in [
            format!("language {lang}"),
            format!("label {label}"),
            "all".into(),
        ] {
            let t = families.entry(family).or_default();
            t.0 += usize::from(ok);
            t.1 += 1;
        }
    }
    let mut out = String::from("| family | right | of | % |\n|---|---|---|---|\n");
    for (family, (ok, n)) in &families {
        out += &format!(
            "| {family} | {ok} | {n} | {:.0} |\n",
            100.0 * *ok as f64 / (*n).max(1) as f64
        );
    }
    println!("{out}");
}

/// History brought in by `import` is routed by a sentiment rule like live
/// mail (the rules strip it for that), but keeps no mood of its own:
/// reports would otherwise count old mail as this week's.
#[test]
fn imported_history_is_routed_but_keeps_no_mood() {
    let t = desk();
    let mbox = t.dir.path().join("old.mbox");
    let mut data = Vec::new();
    for (i, body) in [ANGRY, "Hi,\r\nwhere is the invoice?\r\n"]
        .iter()
        .enumerate()
    {
        data.extend_from_slice(b"From someone@customer.test Sun Nov 22 10:00:00 2026\n");
        data.extend_from_slice(&mail(
            "old@customer.test",
            &format!("Old {i}"),
            &format!("old{i}@c"),
            "",
            body,
        ));
        data.extend_from_slice(b"\n");
    }
    std::fs::write(&mbox, &data).expect("write");
    let o = t.run(&["import", "mbox", mbox.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let angry = show(&t, "ACME-1");
    assert_eq!(angry["ticket"]["queue"], "escalations", "{angry:#}");
    assert!(angry["ticket"].get("sentiment").is_none(), "{angry:#}");
    let calm = show(&t, "ACME-2");
    assert_eq!(calm["ticket"]["queue"], "general");
}
