//! Scores automatic-mail recognition on tests/fixtures/automatic (issue 17):
//! for each fixture family (the file name's prefix up to the first `-`),
//! how many mails were judged rightly automatic or human, and how many
//! bounces had their failed recipient, status and hard/soft read rightly.
//!
//! `cargo run --example score_automatic [DIR]`. Prints; asserts nothing
//! (tests/automatic.rs asserts each fixture). Uses only
//! `guard::automatic_reason` and `bounce::parse`, the interface intake
//! uses, so the same scorer measures any version of the code.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(serde::Deserialize)]
struct Expect {
    automatic: bool,
    #[allow(dead_code)]
    kind: String,
    recipient: Option<String>,
    status: Option<String>,
    severity: Option<String>,
}

#[derive(Default)]
struct Tally {
    n: usize,
    verdict: usize,
    bounces: usize,
    traced: usize,
    misses: Vec<String>,
}

fn severity_name(s: postdesk::bounce::Severity) -> &'static str {
    use postdesk::bounce::Severity::*;
    match s {
        Hard => "hard",
        Soft => "soft",
        Delayed => "delayed",
        Delivered => "delivered",
    }
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("tests/fixtures/automatic"));
    let expected: BTreeMap<String, Expect> =
        toml::from_str(&std::fs::read_to_string(dir.join("expected.toml"))?)?;
    let mut families: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut auto_n, mut auto_ok, mut human_n, mut human_ok) = (0, 0, 0, 0);
    for (name, e) in &expected {
        let raw = std::fs::read(dir.join(format!("{name}.eml")))?;
        let family = name.split('-').next().unwrap_or(name).to_string();
        let t = families.entry(family).or_default();
        t.n += 1;
        let judged = postdesk::mail::parse::parse(&raw)
            .ok()
            .map(|m| postdesk::guard::automatic_reason(&m).is_some());
        // Mail that cannot be parsed is quarantined: never answered.
        let automatic = judged.unwrap_or(true);
        if automatic == e.automatic {
            t.verdict += 1;
        } else {
            t.misses.push(format!("{name}: automatic={automatic}"));
        }
        if e.automatic {
            auto_n += 1;
            auto_ok += usize::from(automatic);
        } else {
            human_n += 1;
            human_ok += usize::from(!automatic);
        }
        if let Some(want) = &e.recipient {
            t.bounces += 1;
            let found = postdesk::bounce::parse(&raw).and_then(|r| {
                r.recipients
                    .into_iter()
                    .find(|r| r.address.eq_ignore_ascii_case(want))
            });
            let ok = found.as_ref().is_some_and(|r| {
                r.status == e.status
                    && e.severity
                        .as_deref()
                        .is_none_or(|s| s == severity_name(r.severity))
            });
            if ok {
                t.traced += 1;
            } else {
                t.misses.push(format!(
                    "{name}: bounce read as {:?}",
                    found.map(|r| (r.address, r.status, severity_name(r.severity)))
                ));
            }
        }
    }
    println!("| family | mails | verdict right | bounces | recipient+status+severity right |");
    println!("|---|---|---|---|---|");
    let (mut bn, mut bok) = (0, 0);
    for (family, t) in &families {
        bn += t.bounces;
        bok += t.traced;
        let b = if t.bounces == 0 {
            "–".to_string()
        } else {
            format!("{}/{}", t.traced, t.bounces)
        };
        println!(
            "| {family} | {} | {}/{} | {} | {b} |",
            t.n, t.verdict, t.n, t.bounces
        );
    }
    println!();
    println!("automatic mail left unanswered: {auto_ok}/{auto_n}");
    println!("human mail answered: {human_ok}/{human_n}");
    println!("bounces traced (recipient, status, hard/soft): {bok}/{bn}");
    if std::env::var_os("SCORE_VERBOSE").is_some() {
        for t in families.values() {
            for m in &t.misses {
                println!("  miss {m}");
            }
        }
    }
    Ok(())
}
