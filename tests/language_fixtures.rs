//! Which language a customer's first mail is answered in, over the
//! fixtures in tests/fixtures/language/: each file is `expect: de` (or
//! `none`: the desk's default, nothing remembered), the subject line, then
//! the text. Every fixture asserts its own outcome; the scorer prints the
//! accuracy per expected language (recorded in benches/RESULTS.md).

use std::collections::BTreeMap;
use std::path::Path;

use postdesk::language::{choose, Evidence};

#[test]
fn each_fixture_gets_its_language_and_the_scorer_prints_the_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/language");
    let available = vec!["en".to_string(), "de".to_string(), "fr".to_string()];
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let mut score: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let (head, rest) = text.split_once('\n').expect("an expect line");
        let expect = head.trim().strip_prefix("expect: ").expect("expect: CODE");
        let got = choose(
            &Evidence {
                remembered: None,
                content_language: None,
                text: rest,
                available: &available,
                detected: None,
            },
            now,
        )
        .map_or_else(|| "none".to_string(), |l| l.code);
        let entry = score.entry(expect.to_string()).or_default();
        entry.1 += 1;
        if got == expect {
            entry.0 += 1;
        } else {
            wrong.push(format!(
                "{}: expected {expect}, got {got}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
    }
    println!("language of a first mail (available: en, de, fr)");
    println!("{:<8} {:>7} {:>7}", "expect", "right", "of");
    for (lang, (right, of)) in &score {
        println!("{lang:<8} {right:>7} {of:>7}");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
