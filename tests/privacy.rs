//! Privacy requests through the binary, with and without a daemon:
//! `customers export` writes what the desk holds about a person;
//! `customers erase` removes it, leaves the others and the reports' numbers
//! as they were, and leaves no byte of it in the store's files or in a
//! backup taken afterwards.

mod common;

use std::path::Path;

use common::{mail, wait_until, TestDesk};

const CAROL: &str = "carol.quixote@customer.test";
const CAROL_NAME: &str = "Carolyn Quixotica";
/// A sentence only Carol wrote.
const SENTENCE: &str = "My pet armadillo Bartholomew swallowed the blue invoice";
const CAROL_SUBJECT: &str = "Armadillo incident report";

fn ok(o: std::process::Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Carol writes twice (the second with an attachment that carries her
/// sentence in base64), Hank writes copying Carol, Ivy writes.
fn write_mail(t: &TestDesk) {
    let carol = format!("{CAROL_NAME} <{CAROL}>");
    ok(t.pipe(&mail(
        &carol,
        CAROL_SUBJECT,
        "carol-1@customer.test",
        "",
        &format!("Hello,\r\n\r\n{SENTENCE} last Tuesday.\r\nFrom now on I pay by cheque.\r\n"),
    )));
    let attachment = b64(format!("{SENTENCE}\n").as_bytes());
    let multipart = format!(
        "From: {carol}\r\nTo: support@desk.test\r\nSubject: Scan of the invoice\r\nMessage-ID: <carol-2@customer.test>\r\nDate: Sun, 22 Nov 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe scan is attached.\r\n--b1\r\nContent-Type: text/plain; name=\"armadillo.txt\"\r\nContent-Disposition: attachment; filename=\"armadillo.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--b1--\r\n"
    );
    ok(t.pipe(multipart.as_bytes()));
    ok(t.pipe(&mail(
        "Hank Hill <hank@globex.test>",
        "VPN down again",
        "hank-1@globex.test",
        &format!("Cc: {carol}\r\n"),
        "The VPN concentrator in building 7 rejects every login.",
    )));
    // Something of hers that is not mail at all: kept in the quarantine.
    let garbage = format!("\u{0}\u{1}{CAROL} {SENTENCE}\u{0}");
    let q = t.pipe(garbage.as_bytes());
    assert_eq!(q.status.code(), Some(65), "{q:?}");
    ok(t.pipe(&mail(
        "Ivy Ives <ivy@eu.globex-corp.test>",
        "Badge lost",
        "ivy-1@globex.test",
        "",
        "I lost my badge near the cafeteria of the north wing.",
    )));
}

/// What Carol left that must not survive her erasure, in the forms a
/// scan of raw files can find: (bytes, whether case matters).
fn needles() -> Vec<(Vec<u8>, bool)> {
    let mut n: Vec<(Vec<u8>, bool)> = [CAROL, CAROL_NAME, SENTENCE, CAROL_SUBJECT, "Bartholomew"]
        .iter()
        .map(|s| (s.to_ascii_lowercase().into_bytes(), false))
        .collect();
    n.push((b64(format!("{SENTENCE}\n").as_bytes()).into_bytes(), true));
    n.push((b64(CAROL.as_bytes()).into_bytes(), true));
    n
}

/// Which needles `bytes` holds (case-insensitively where case does not
/// matter).
fn holds(bytes: &[u8]) -> Vec<String> {
    let lower = bytes.to_ascii_lowercase();
    needles()
        .into_iter()
        .filter(|(n, exact)| find(if *exact { bytes } else { &lower }, n))
        .map(|(n, _)| String::from_utf8_lossy(&n).into_owned())
        .collect()
}

/// Standard base64, as a mail client encodes an attachment (one line).
fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every needle found in any file under `dir`, with the file.
fn scan_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                for n in holds(&bytes) {
                    found.push(format!("{} holds {n}", p.display()));
                }
            }
        }
    }
    found
}

/// Every needle found in the desk's store at rest: on sled its files
/// under the state directory; on PostgreSQL every live row of its
/// database, and the files of its tables, indexes and TOAST, where the
/// old versions of rows an erasure changed stay until the erasure's
/// `VACUUM FULL` (src/pg/engine/privacy.rs).
fn scan_store(t: &TestDesk) -> Vec<String> {
    match &t.database {
        None => scan_files(&t.state_dir()),
        Some(db) => {
            let mut found: Vec<String> = holds(&common::dump_database(db))
                .into_iter()
                .map(|n| format!("database {db} holds {n}"))
                .collect();
            for (relation, f) in common::table_files(db) {
                if let Ok(bytes) = std::fs::read(&f) {
                    for n in holds(&bytes) {
                        found.push(format!("{relation} ({}) holds {n}", f.display()));
                    }
                }
            }
            found
        }
    }
}

/// The backup restored into a fresh state directory and every record read
/// back decompressed: messages, outbox mail, quarantine.
fn scan_backup_decompressed(backup: &Path) -> Vec<String> {
    let state = tempfile::tempdir().expect("temp dir");
    postdesk::backup::restore(state.path(), backup, false).expect("restore the backup");
    // The restore has just closed it: sled lets go of its lock a moment
    // later (`Store::reopen` waits for that).
    let store = postdesk::store::Store::reopen(state.path()).expect("open the restored store");
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    for t in store.tickets() {
        let t = t.expect("ticket");
        blobs.push((
            format!("ticket {}", t.number),
            serde_json::to_vec(&t).unwrap(),
        ));
        for (m, raw) in store.messages(t.number).expect("messages") {
            blobs.push((format!("message {}/{}", m.ticket, m.seq), raw));
            blobs.push((
                format!("record {}/{}", m.ticket, m.seq),
                serde_json::to_vec(&m).unwrap(),
            ));
        }
    }
    for e in store.outbox_entries().expect("outbox") {
        let (entry, bytes) = store.outbox_entry(e.id).expect("entry").expect("stored");
        blobs.push((format!("outbox {}", e.id), bytes));
        blobs.push((
            format!("outbox record {}", e.id),
            serde_json::to_vec(&entry).unwrap(),
        ));
    }
    for q in store.quarantined().expect("quarantine") {
        let (_, raw) = store.quarantined_entry(&q.id).expect("q").expect("stored");
        blobs.push((format!("quarantine {}", q.id), raw));
    }
    // The mail dictionary is made of the desk's first messages.
    for (id, dict) in store.mail_dictionaries().expect("dictionaries") {
        blobs.push((format!("mail dictionary {id}"), dict));
    }
    let mut found = Vec::new();
    for (what, bytes) in &blobs {
        for n in holds(bytes) {
            found.push(format!("{what} holds {n}"));
        }
    }
    found
}

fn export_checks(t: &TestDesk) {
    let out = t.dir.path().join("carol-export");
    ok(t.run(&["customers", "export", CAROL, out.to_str().unwrap()]));
    let mbox = std::fs::read(out.join("messages.mbox")).expect("messages.mbox");
    let text = String::from_utf8_lossy(&mbox);
    // mboxrd: a message starts at a `From ` line; a body line that began
    // with `From ` is quoted.
    let starts = text.lines().filter(|l| l.starts_with("From ")).count();
    assert_eq!(starts, 2, "{text}");
    assert!(text.contains(">From now on I pay by cheque."), "{text}");
    assert!(text.contains("<carol-1@customer.test>") && text.contains("<carol-2@customer.test>"));
    assert!(
        !text.contains("hank-1@globex.test") && !text.contains("ivy-1"),
        "{text}"
    );
    assert!(text.contains(SENTENCE));

    let tickets: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("tickets.json")).unwrap()).unwrap();
    let tickets = tickets.as_array().expect("an array");
    // Two she asked, and Hank's, which copied her.
    assert_eq!(tickets.len(), 3, "{tickets:?}");
    let asked = tickets
        .iter()
        .filter(|t| t["requested_by_you"] == true)
        .count();
    assert_eq!(asked, 2);
    // What the desk sent her: at least the acknowledgement of each of her tickets.
    let sent: usize = tickets
        .iter()
        .filter(|t| t["requested_by_you"] == true)
        .map(|t| t["sent_to_you"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(sent >= 2, "{tickets:?}");
    let all = serde_json::to_string(tickets).unwrap();
    assert!(
        all.contains("VPN concentrator") && !all.contains("badge"),
        "{all}"
    );
    let customer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("customer.json")).unwrap()).unwrap();
    assert_eq!(customer["address"], CAROL);
    assert_eq!(customer["name"], CAROL_NAME);

    // A directory that holds something is never written into.
    let again = t.run(&["customers", "export", CAROL, out.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    std::fs::remove_dir_all(&out).unwrap();
}

/// The numbers the managers' report shows, which an erasure keeps.
fn counts(t: &TestDesk) -> serde_json::Value {
    let s: serde_json::Value = serde_json::from_str(&ok(t.run(&[
        "stats",
        "--json",
        "--now",
        "2026-12-01T00:00:00Z",
    ])))
    .expect("stats JSON");
    serde_json::json!({
        "tickets": s["tickets"],
        "volume": s["volume"],
        "backlog": s["backlog"],
        "csat": s["csat"],
        "first_response": s["first_response"],
        "resolution": s["resolution"],
        "sla": s["sla"],
    })
}

fn erase_checks(t: &TestDesk, queued_before: bool) {
    let before = counts(t);
    // The scans below can see her: before, the store's files name her,
    // and a backup's records, decompressed, hold her text in every form.
    assert!(!scan_store(t).is_empty());
    let early = t.dir.path().join(format!("before-erasure-{queued_before}"));
    ok(t.run(&["backup", early.to_str().unwrap()]));
    let seen = scan_backup_decompressed(&early).join("\n");
    let encoded = b64(format!("{SENTENCE}\n").as_bytes());
    assert!(
        seen.contains(&encoded) && seen.contains(&SENTENCE.to_ascii_lowercase()),
        "{seen}"
    );
    std::fs::remove_dir_all(&early).unwrap();
    let hank_before = ok(t.run(&["tickets", "show", "ACME-3"]));
    if queued_before {
        let refused = t.run(&["customers", "erase", CAROL]);
        assert!(!refused.status.success());
        let why = String::from_utf8_lossy(&refused.stderr);
        assert!(why.contains("queued") && why.contains("--force"), "{why}");
        // Nothing changed.
        ok(t.run(&["customers", "show", CAROL]));
    }
    let erased: serde_json::Value = serde_json::from_str(&ok(t.run(&[
        "customers",
        "erase",
        CAROL,
        "--force",
        "--by",
        "dpo@desk.test",
        "--json",
    ])))
    .expect("erase JSON");
    let pseudonym = erased["erasure"]["pseudonym"]
        .as_str()
        .expect("pseudonym")
        .to_string();
    assert!(pseudonym.ends_with("@erased.invalid"), "{pseudonym}");
    // Sled rewrites the store (its old log segments hold the removed
    // values), PostgreSQL its tables (VACUUM FULL: the old versions of
    // the rows stay in the files until then, see `scan_store`).
    let rewritten = erased["rewritten_records"].as_u64().unwrap_or(0);
    assert!(rewritten > 0, "{erased}");

    let gone = t.run(&["customers", "show", CAROL]);
    assert!(!gone.status.success());
    let shown = ok(t.run(&["customers", "show", &pseudonym]));
    assert!(
        shown.contains("erased") && shown.contains("dpo@desk.test"),
        "{shown}"
    );
    // No automatic mail goes to the pseudonym: it is marked as the
    // guards mark a dead address.
    let marks = ok(t.run(&["addresses", "list"]));
    assert!(marks.contains(&pseudonym), "{marks}");
    let quarantine: serde_json::Value =
        serde_json::from_str(&ok(t.run(&["quarantine", "list", "--json"]))).unwrap();
    assert_eq!(quarantine.as_array().map(Vec::len), Some(0), "{quarantine}");
    assert_eq!(erased["erasure"]["quarantined"], 1, "{erased}");
    let erasures = ok(t.run(&["customers", "erasures"]));
    assert!(
        erasures.contains(&pseudonym) && !erasures.contains(CAROL),
        "{erasures}"
    );

    // The others are untouched; Hank's ticket keeps his words and
    // subject, and only Carol's address in it is replaced.
    let hank = ok(t.run(&["tickets", "show", "ACME-3"]));
    assert!(
        hank.contains("VPN down again") && hank.contains("VPN concentrator"),
        "{hank}"
    );
    assert!(!hank_before.is_empty());
    let ivy = ok(t.run(&["tickets", "show", "ACME-4"]));
    assert!(
        ivy.contains("Badge lost") && ivy.contains("north wing"),
        "{ivy}"
    );
    let list = ok(t.run(&["customers", "list", "--json"]));
    assert!(list.contains("hank@globex.test") && list.contains("ivy@eu.globex-corp.test"));
    assert!(!list.to_lowercase().contains(CAROL), "{list}");
    assert_eq!(counts(t), before, "the report's numbers stay");

    // The store reads whole, its indexes agreeing with its tickets.
    let checked = ok(t.run(&["check", "--store"]));
    assert!(checked.contains("no damage found"), "{checked}");

    // No byte left: not in the store's files ...
    let residue = scan_store(t);
    assert!(residue.is_empty(), "{residue:#?}");
    // ... nor in a backup taken now, raw or decompressed.
    let backup = t.dir.path().join("after-erasure");
    ok(t.run(&["backup", backup.to_str().unwrap()]));
    let residue = scan_files(&backup);
    assert!(residue.is_empty(), "{residue:#?}");
    let residue = scan_backup_decompressed(&backup);
    assert!(residue.is_empty(), "{residue:#?}");

    // Erasing again finds the pseudonym's record: nothing more to do but
    // the rewrite, and the same pseudonym.
    let again: serde_json::Value =
        serde_json::from_str(&ok(t.run(&["customers", "erase", CAROL, "--json"]))).unwrap();
    assert_eq!(again["erasure"]["pseudonym"], pseudonym.as_str());
}

#[test]
fn export_then_erase_without_a_daemon_leaves_no_byte_of_the_person() {
    let t = TestDesk::new();
    write_mail(&t);
    // Without a daemon the acknowledgements wait in the outbox.
    export_checks(&t);
    erase_checks(&t, true);
    // She writes again, and is erased again: the same pseudonym, and both
    // erasures on record.
    ok(t.pipe(&mail(
        &format!("{CAROL_NAME} <{CAROL}>"),
        "Back again",
        "carol-3@customer.test",
        "",
        SENTENCE,
    )));
    ok(t.run(&["customers", "erase", CAROL, "--force"]));
    let list: serde_json::Value =
        serde_json::from_str(&ok(t.run(&["customers", "erasures", "--json"]))).unwrap();
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["pseudonym"], list[1]["pseudonym"]);
    assert!(scan_store(&t).is_empty());
    // The store opens and serves after its rewrite.
    let _daemon = t.serve();
    wait_until(10, "the daemon", || t.run(&["status"]).status.success());
    ok(t.run(&["tickets", "show", "ACME-4"]));
}

#[test]
fn export_then_erase_through_the_daemon_leaves_no_byte_of_the_person() {
    let t = TestDesk::new();
    write_mail(&t);
    let _daemon = t.serve();
    wait_until(10, "the daemon", || t.run(&["status"]).status.success());
    // The acknowledgements go out first: nothing queued, no --force needed
    // (the test passes it anyway; it cancels nothing).
    wait_until(20, "the outbox to empty", || {
        let o = t.run(&["outbox", "list", "--json"]);
        !String::from_utf8_lossy(&o.stdout).contains("\"queued\"")
    });
    export_checks(&t);
    erase_checks(&t, false);
    // The daemon took the store back: mail is taken and answered again.
    ok(t.pipe(&mail(
        "Hank Hill <hank@globex.test>",
        "Printer on fire",
        "hank-2@globex.test",
        "",
        "Smoke.",
    )));
    let hank = ok(t.run(&["customers", "show", "hank@globex.test"]));
    assert!(hank.contains("Printer on fire"), "{hank}");
}

#[test]
fn a_large_export_comes_whole_through_the_daemon_page_by_page() {
    let t = TestDesk::new();
    let _daemon = t.serve();
    wait_until(10, "the daemon", || t.run(&["status"]).status.success());
    // Three mails of about 4 MiB: more than one page (8 MiB) holds.
    let line = format!("{}\r\n", "A".repeat(76));
    let body = line.repeat(4 * 1024 * 1024 / line.len());
    for i in 1..=3 {
        ok(t.pipe(&mail(
            &format!("{CAROL_NAME} <{CAROL}>"),
            &format!("Big scan {i}"),
            &format!("big-{i}@customer.test"),
            "",
            &format!("part {i}\r\n{body}"),
        )));
    }
    let out = t.dir.path().join("big-export");
    ok(t.run(&["customers", "export", CAROL, out.to_str().unwrap()]));
    let mbox = std::fs::read(out.join("messages.mbox")).unwrap();
    let text = String::from_utf8_lossy(&mbox);
    assert_eq!(text.lines().filter(|l| l.starts_with("From ")).count(), 3);
    for i in 1..=3 {
        assert_eq!(
            text.matches(&format!("<big-{i}@customer.test>")).count(),
            1,
            "message {i} once"
        );
    }
    assert!(mbox.len() > 12_000_000, "{}", mbox.len());
}

/// An mbox of `count` mails of about 17 KiB from `who`, numbered from
/// `first`; `words` is written into each many times.
fn long_mails(who: &str, subject: &str, first: usize, count: usize, words: &str) -> Vec<u8> {
    const FILLER: [&str; 10] = [
        "the", "export", "stopped", "again", "after", "our", "update", "and", "nobody", "knows",
    ];
    let mut mbox = Vec::new();
    for i in first..first + count {
        let mut body = String::new();
        let mut x = (i as u64).wrapping_mul(2_654_435_761) | 1;
        while body.len() < 17 * 1024 {
            for _ in 0..12 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                body.push_str(FILLER[(x % 10) as usize]);
                body.push(' ');
            }
            body.push_str(&format!("{}\n{words}\n", x % 100_000));
        }
        mbox.extend_from_slice(b"From someone@customer.test Sun Nov 22 10:00:00 2026\n");
        mbox.extend_from_slice(
            format!(
                "From: {who}\nTo: support@desk.test\nSubject: {subject} {i}\nMessage-ID: <long-{i}@customer.test>\nDate: Sun, 22 Nov 2026 10:00:00 +0000\n\n{body}\n"
            )
            .as_bytes(),
        );
    }
    mbox
}

/// The store's mail dictionaries (the store must be closed).
fn dictionaries(t: &TestDesk) -> Vec<(u32, Vec<u8>)> {
    let store = postdesk::store::Store::open_config(&t.config()).expect("open the store");
    store.mail_dictionaries().expect("dictionaries")
}

/// A desk with mail enough to train its mail dictionary from its first
/// messages, Carol's among them: the dictionary learns her words, so her
/// erasure must not leave it behind. After it the desk has a dictionary
/// trained from the others' mail, and every message reads.
///
/// On the suite's engine: sled replaces its dictionary in the offline
/// rewrite; PostgreSQL (schema V8) trains a new one, re-packs every row
/// and deletes the old one, and the scan reads every live row, the
/// dictionaries' among them.
#[test]
fn erasure_leaves_a_mail_dictionary_trained_without_her() {
    let t = TestDesk::new();
    let carol = format!("{CAROL_NAME} <{CAROL}>");
    let mut mbox = long_mails(
        &carol,
        CAROL_SUBJECT,
        0,
        60,
        &format!("{SENTENCE}, said {CAROL_NAME} ({CAROL})."),
    );
    mbox.extend(long_mails(
        "Hank Hill <hank@globex.test>",
        "VPN down again",
        60,
        300,
        "The VPN concentrator rejects every login.",
    ));
    let path = t.dir.path().join("history.mbox");
    std::fs::write(&path, &mbox).unwrap();
    ok(t.run(&["import", "mbox", path.to_str().unwrap()]));
    let before = dictionaries(&t);
    assert_eq!(before.len(), 1, "the import trained a dictionary");
    assert!(
        !holds(&before[0].1).is_empty(),
        "the test needs a dictionary that learnt Carol's words"
    );

    ok(t.run(&["customers", "erase", CAROL, "--force"]));
    let after = dictionaries(&t);
    assert_eq!(after.len(), 1, "a new dictionary, and only it");
    assert_ne!(after[0].0, before[0].0);
    assert_eq!(holds(&after[0].1), Vec::<String>::new());
    let residue = scan_store(&t);
    assert!(residue.is_empty(), "{residue:#?}");
    // Every message reads with the new dictionary.
    let checked = ok(t.run(&["check", "--store"]));
    assert!(checked.contains("no damage found"), "{checked}");
    let hank = ok(t.run(&["customers", "show", "hank@globex.test"]));
    assert!(hank.contains("VPN down again 359"), "{hank}");
    let backup = t.dir.path().join("after-erasure");
    ok(t.run(&["backup", backup.to_str().unwrap()]));
    let residue = scan_backup_decompressed(&backup);
    assert!(residue.is_empty(), "{residue:#?}");
}
