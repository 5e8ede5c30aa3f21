//! Quote and signature stripping against replies as real clients write
//! them (tests/fixtures/replies, made by make_fixtures.py there), hostile
//! input, and the `postdesk strip` command.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use postdesk::mail::quote::{self, Reason, Source};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replies")
}

/// Every `NAME.eml` with its `NAME.expected`, sorted by name.
fn fixtures() -> Vec<(String, Vec<u8>, String)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixture directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|eml| {
            let name = eml
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let raw = std::fs::read(&eml).expect("read fixture");
            let expected = std::fs::read_to_string(eml.with_extension("expected"))
                .unwrap_or_else(|_| panic!("{name}.expected is missing"));
            (name, raw, expected.trim().to_string())
        })
        .collect()
}

/// A line diff (longest common subsequence), `-` expected, `+` got.
fn diff(expected: &str, got: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = got.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("    {:?}\n", a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out += &format!("  + {:?}\n", b[j]);
            j += 1;
        } else {
            out += &format!("  - {:?}\n", a[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn every_fixture_keeps_exactly_the_expected_text() {
    let all = fixtures();
    assert!(all.len() >= 45, "fixture set shrank to {}", all.len());
    let mut failures = Vec::new();
    for (name, raw, expected) in &all {
        let (stripped, source) = quote::strip_raw(raw);
        if source == Source::Body {
            failures.push(format!("{name}: not read as a whole message"));
            continue;
        }
        if stripped.text != *expected {
            let cuts: Vec<String> = stripped.cuts.iter().map(|c| format!("  {c}")).collect();
            failures.push(format!(
                "{name} ({source}):\n{}  cuts:\n{}",
                diff(expected, &stripped.text),
                cuts.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ (- expected, + got):\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}

/// Languages the corpus names as a fixture's second segment.
const LANGUAGES: &[&str] = &[
    "en", "de", "fr", "es", "it", "pt", "ptbr", "nl", "sv", "da", "no", "fi", "pl", "cs", "ru",
    "ja", "zh", "ko", "tr", "hu", "el", "en2",
];

/// Prints each fixture family's accuracy (run with `--nocapture`): by
/// client (the name's first segment) and by language (its second, when it
/// is one). The figures go to benches/RESULTS.md; each fixture's own
/// outcome is asserted by the test above, not here.
#[test]
fn accuracy_by_family() {
    use std::collections::BTreeMap;
    let mut by_client: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut by_language: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for (name, raw, expected) in fixtures() {
        let (stripped, _) = quote::strip_raw(&raw);
        let ok = stripped.text == expected;
        if !ok {
            misses.push(name.clone());
        }
        let mut parts = name.split('-');
        let client = parts.next().unwrap_or_default().to_string();
        let tally = by_client.entry(client).or_default();
        tally.0 += usize::from(ok);
        tally.1 += 1;
        if let Some(lang) = parts.next().filter(|l| LANGUAGES.contains(l)) {
            let tally = by_language.entry(lang.to_string()).or_default();
            tally.0 += usize::from(ok);
            tally.1 += 1;
        }
    }
    let total = by_client
        .values()
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let mut out = String::from("| family | exact | of | % |\n|---|---|---|---|\n");
    for (title, table) in [("client", &by_client), ("language", &by_language)] {
        for (family, (ok, n)) in table {
            out += &format!(
                "| {title} {family} | {ok} | {n} | {:.0} |\n",
                100.0 * *ok as f64 / *n as f64
            );
        }
    }
    out += &format!(
        "| **all** | {} | {} | {:.1} |\n",
        total.0,
        total.1,
        100.0 * total.0 as f64 / total.1.max(1) as f64
    );
    println!("{out}\nmisses: {}", misses.join(" "));
}

#[test]
fn html_only_fixtures_are_stripped_from_their_html() {
    for (name, raw, _) in fixtures() {
        // Named `…html-only…` or `CLIENT-LANG-html`: sent as HTML alone.
        let (_, source) = quote::strip_raw(&raw);
        assert_eq!(
            source == Source::Html,
            name.contains("html"),
            "{name}: stripped as {source}"
        );
    }
}

#[test]
fn cuts_name_the_rule_and_the_lines() {
    let raw = std::fs::read(fixtures_dir().join("gmail-plain.eml")).expect("fixture");
    let (s, _) = quote::strip_raw(&raw);
    let attribution = s
        .cuts
        .iter()
        .find(|c| matches!(c.reason, Reason::Attribution { .. }))
        .expect("an attribution cut");
    assert_eq!(
        attribution.to_string(),
        "cut line 9: attribution line (Gmail: 'On … wrote:')"
    );
    assert!(attribution
        .excerpt
        .starts_with("On Mon, 2 Nov 2026 at 10:00"));
    assert!(s
        .cuts
        .iter()
        .any(|c| c.reason == Reason::Quoted { html: false } && c.first_line == 10));
}

/// Runs a hostile input, bounded in time, and returns what was kept.
fn bounded(name: &str, text: &str) -> quote::Stripped {
    let start = Instant::now();
    let s = quote::strip_reply(text);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "{name}: took {took:?} for {} bytes",
        text.len()
    );
    s
}

#[test]
fn a_megabyte_of_quote_marks_is_kept_whole() {
    let text = "> quoted\n".repeat(120_000);
    let s = bounded("quote marks", &text);
    assert!(s.kept_whole());
    assert_eq!(s.text.len(), text.trim_end().len());
    let s = bounded("bare marks", &">".repeat(1 << 20));
    assert!(!s.text.is_empty());
}

#[test]
fn a_hundred_thousand_lines_finish() {
    let mut text = String::new();
    for i in 0..50_000 {
        text += &format!("> question {i}\nanswer {i}\n");
    }
    let s = bounded("interleaved", &text);
    assert!(s.text.contains("answer 0\n"));
    assert!(s.text.ends_with("> question 49999\nanswer 49999"));

    let text = format!(
        "{}\n\nOn Mon, 2 Nov 2026 at 10:00, Carol <c@x.test> wrote:\n{}",
        "text line\n".repeat(100_000),
        "> q\n".repeat(100_000)
    );
    let s = bounded("top post", &text);
    assert_eq!(s.text.lines().count(), 100_000);

    // Lines that all look like attributions, header lines or delimiters.
    let s = bounded("wrote", &"Carol wrote:\n".repeat(100_000));
    assert!(!s.text.is_empty());
    let s = bounded("from", &"From: x\n".repeat(100_000));
    assert!(!s.text.is_empty());
    let s = bounded("dashes", &"--\n".repeat(100_000));
    assert!(!s.text.is_empty());
}

#[test]
fn megabyte_lines_finish() {
    let long = "x".repeat(1 << 20);
    let s = bounded(
        "long line",
        &format!("{long}\n\nOn Mon, 2 Nov 2026 at 10:00, Carol <c@x.test> wrote:\n> q\n"),
    );
    assert_eq!(s.text, long);
    let s = bounded("long attribution", &format!("On {long} wrote:\nrest\n"));
    assert!(s.text.ends_with("rest"));
    let s = bounded("long quote", &format!("ok\n> {long}\n"));
    assert_eq!(s.text, "ok");

    let start = Instant::now();
    for html in [
        "<blockquote>".repeat(1 << 18),
        "<a \"".repeat(1 << 18) + ">",
        "&amp".repeat(1 << 18),
        format!("<div>{long}</div><blockquote>q</blockquote>"),
        "<br>".repeat(300_000),
        "<style>".repeat(1 << 17),
        "<!--".repeat(1 << 18),
        format!("<p>ok</p>{}", "<x".repeat(1 << 18)),
    ] {
        let _ = quote::strip_reply_html(&html);
    }
    assert!(start.elapsed() < Duration::from_secs(10));
}

fn postdesk(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .args(args)
        // No configuration may be needed: point at one that does not exist.
        .env("POSTDESK_CONFIG", "/nonexistent/postdesk.toml")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run postdesk");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("postdesk output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_prints_what_is_kept() {
    let file = fixtures_dir().join("gmail-plain.eml");
    let expected =
        std::fs::read_to_string(fixtures_dir().join("gmail-plain.expected")).expect("fixture");
    let path = file.to_str().expect("utf-8 path");
    let (code, out, err) = postdesk(&["strip", path], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim_end(), expected.trim_end());

    let (code, out, err) = postdesk(&["strip", "--explain", path], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(expected.trim_end()), "{out}");
    assert!(out.contains("message, plain text"), "{out}");
    assert!(
        out.contains("cut line 9: attribution line (Gmail: 'On … wrote:')"),
        "{out}"
    );
    assert!(out.contains("cut lines 10-18: quoted text"), "{out}");

    // The same message on stdin.
    let raw = std::fs::read(&file).expect("fixture");
    let (code, out, _) = postdesk(&["strip", "-"], Some(&raw));
    assert_eq!(code, 0);
    assert_eq!(out.trim_end(), expected.trim_end());
}

#[test]
fn cli_strips_a_bare_body_and_html() {
    let body = "Works now, thanks!\n\nVon meinem iPhone gesendet\n\n> Am 02.11.2026 um 16:40 schrieb Bob <b@x.test>:\n> \n> Bitte neu starten.\n";
    let (code, out, err) = postdesk(&["strip", "--explain"], Some(body.as_bytes()));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Works now, thanks!\n\n--- explain: bare body"),
        "{out}"
    );
    assert!(out.contains("cut line 3: mobile client footer"), "{out}");
    assert!(
        out.contains("cut line 5: attribution line (German: 'Am … schrieb …:')"),
        "{out}"
    );

    let file = fixtures_dir().join("outlook-web-html-only.eml");
    let (code, out, err) = postdesk(
        &["strip", "--explain", file.to_str().expect("utf-8 path")],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Hi Carol,\n"), "{out}");
    assert!(out.contains("HTML part rendered as text"), "{out}");
    assert!(
        out.contains("HTML quote marker 'appendonsend' (Outlook)"),
        "{out}"
    );

    let (code, _, err) = postdesk(&["strip", "/nonexistent/mail.eml"], None);
    assert_ne!(code, 0);
    assert!(err.contains("cannot read /nonexistent/mail.eml"), "{err}");
}

#[test]
fn cli_signature_policy() {
    let body = "Works now.\n\n-- \nCarol Customer\n+44 20 7946 0000\n\nSent from my iPhone\n\nOn Mon, 2 Nov 2026 at 10:00, Bob <b@x.test> wrote:\n> Restart it.\n";
    let (code, out, err) = postdesk(&["strip", "--explain"], Some(body.as_bytes()));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Works now.\n\n--- explain"), "{out}");
    assert!(out.contains("signatures cut"), "{out}");
    assert!(out.contains("signature ('-- ' delimiter"), "{out}");

    let (code, out, err) = postdesk(&["strip", "--signatures", "keep"], Some(body.as_bytes()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim_end(),
        "Works now.\n\n--\nCarol Customer\n+44 20 7946 0000\n\nSent from my iPhone"
    );

    // Without the flag, the configuration in use decides.
    let dir = tempfile::tempdir().expect("tempdir");
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/postdesk.toml"))
            .expect("example configuration");
    let config = dir.path().join("postdesk.toml");
    std::fs::write(
        &config,
        example.replace("signatures = \"cut\"", "signatures = \"keep\""),
    )
    .expect("write configuration");
    let out = Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .args([
            "--config",
            config.to_str().expect("utf-8"),
            "strip",
            "--json",
            "-",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().expect("stdin").write_all(body.as_bytes())?;
            c.wait_with_output()
        })
        .expect("run postdesk");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["signatures"], "keep", "{v}");
    assert!(
        v["text"]
            .as_str()
            .is_some_and(|t| t.ends_with("Sent from my iPhone")),
        "{v}"
    );

    let (code, _, err) = postdesk(&["strip", "--signatures", "maybe"], None);
    assert_ne!(code, 0);
    assert!(err.contains("cut or keep"), "{err}");
}

#[test]
fn cli_explains_the_new_rules() {
    for (fixture, reason) in [
        (
            "gmail-en-sameline",
            "cut line 1: attribution line (Gmail: 'On … wrote:') after the answer on the same line; the answer is kept",
        ),
        ("yandex-ru-plain", "attribution line (date-first: 'DATE … NAME <ADDRESS>:')"),
        ("gmail-fi-top", "attribution line (Finnish: '… kirjoitti …:')"),
        ("gmx-de-top", "header block of the quoted message"),
        ("outlook-ja-top", "(Japanese: '差出人:/送信日時:/宛先:/件名:')"),
        ("outlook-en-html", "HTML quote marker 'Outlook header block (border-top div)' (Outlook)"),
        ("samsung-de-top", "mobile client footer"),
        ("shape-en-underscores", "signature ('--' or '__' delimiter followed by a short block)"),
        ("polymail-en-top", "cut lines 8-10: attribution line (Gmail: 'On … wrote:')"),
    ] {
        let file = fixtures_dir().join(format!("{fixture}.eml"));
        let (code, out, err) = postdesk(
            &["strip", "--explain", file.to_str().expect("utf-8 path")],
            None,
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(reason), "{fixture}: {out}");
    }
}
