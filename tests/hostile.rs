//! The hostile corpus through the whole intake path.
//!
//! Small cases are files in `tests/corpus/hostile/`; the huge ones (25 MB
//! attachment, 1 MB header line, 100,000 recipients, 100,000 levels of
//! nesting, ...) are generated here, deterministically, so nothing of that
//! size is committed. Every case must be stored or quarantined with its
//! reason, never crash or hang: once in process through
//! [`postdesk::fuzzing::Harness`] (the path `cargo fuzz` runs) and once
//! through the real `postdesk ingest` binary, whose peak memory is measured
//! and bounded and which a watchdog kills if it hangs.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::TestDesk;
use postdesk::api::{Outcome, Request, Response};

/// What must become of a case.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Stored in a ticket; when given, a message flag says what was cut.
    Stored(Option<&'static str>),
    /// Quarantined with a reason containing this; `true` when not mail at
    /// all (`ingest` exits 65).
    Quarantined(&'static str, bool),
}

use Expect::{Quarantined, Stored};

/// Every file in the corpus directory must be listed here, so a new case
/// comes with its expectation.
const SMALL: &[(&str, Expect)] = &[
    ("bare-cr-line-ends.eml", Quarantined("no sender", false)),
    ("boundary-prefix-clash.eml", Stored(None)),
    ("broken-boundary-empty.eml", Stored(None)),
    ("broken-boundary-midline.eml", Stored(None)),
    ("broken-boundary-missing.eml", Stored(None)),
    ("broken-boundary-unterminated.eml", Stored(None)),
    ("digest-without-types.eml", Stored(None)),
    ("header-without-colon.eml", Stored(None)),
    ("hostile-filenames.eml", Stored(None)),
    ("invalid-base64.eml", Stored(None)),
    ("invalid-quoted-printable.eml", Stored(None)),
    (
        "nesting-hidden-in-base64.eml",
        Stored(Some("max_mime_depth")),
    ),
    ("no-sender.eml", Quarantined("no sender", false)),
    ("not-mail.eml", Quarantined("not mail", true)),
    ("nul-bytes-body.eml", Stored(None)),
    ("nul-bytes-header.eml", Quarantined("NUL bytes", true)),
    ("nul-only.eml", Quarantined("not mail", true)),
    ("only-headers-no-body.eml", Stored(None)),
    ("overlong-encoded-word.eml", Stored(None)),
    ("subject-8bit-wrong-charset.eml", Stored(None)),
    // Escape sequences for the admin's terminal: tests/terminal.rs.
    ("terminal-escapes.eml", Stored(None)),
    ("terminal-quarantined.eml", Quarantined("no sender", false)),
    ("wrong-charset.eml", Stored(None)),
];

struct Case {
    name: String,
    raw: Vec<u8>,
    expect: Expect,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/hostile")
}

fn small_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("tests/corpus/hostile exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    for name in names {
        let expect = SMALL
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| {
                panic!("{name}: add it to SMALL in tests/hostile.rs with what must become of it")
            })
            .1;
        let raw = std::fs::read(corpus_dir().join(&name)).expect("read case");
        cases.push(Case { name, raw, expect });
    }
    assert_eq!(
        cases.len(),
        SMALL.len(),
        "a file listed in SMALL is missing"
    );
    cases
}

const HEAD: &str = "From: Hostile Tester <cust4@customer.test>\r\nTo: support@desk.test\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n";

fn head(subject: &str) -> String {
    format!("{HEAD}Subject: {subject}\r\nMessage-ID: <{subject}@hostile.test>\r\n")
}

/// The huge cases, made the same way every time.
fn generated_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: &str, raw: Vec<u8>, expect| {
        cases.push(Case {
            name: format!("{name} (generated)"),
            raw,
            expect,
        })
    };

    let mut s = head("nesting-multipart-1000");
    for i in 0..1000 {
        s.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    s.push_str("Content-Type: text/plain\r\n\r\ninnermost\r\n");
    for i in (0..1000).rev() {
        s.push_str(&format!("--b{i}--\r\n"));
    }
    add(
        "nesting-multipart-1000",
        s.into_bytes(),
        Stored(Some("max_mime_depth")),
    );

    // The shape that overflows mail-parser's stack when read whole.
    let mut s = head("nesting-rfc822-100000");
    for i in 0..100_000 {
        s.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\nContent-Type: message/rfc822\r\n\r\nFrom: n{i}@x.test\r\n"
        ));
    }
    s.push_str("\r\nleaf\r\n");
    add(
        "nesting-rfc822-100000",
        s.into_bytes(),
        Stored(Some("max_mime_depth")),
    );

    // The same, with delimiters mid-line and headers right after them,
    // which mail-parser follows too.
    let mut s = head("nesting-midline-100000");
    for i in 0..100_000 {
        s.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\nx--b{i}Content-Type: message/rfc822\r\n\r\nFrom: n{i}@x.test\r\n"
        ));
    }
    s.push_str("\r\nleaf\r\n");
    add(
        "nesting-midline-100000",
        s.into_bytes(),
        Stored(Some("max_mime_depth")),
    );

    let mut s = head("parts-5000");
    s.push_str("Content-Type: multipart/mixed; boundary=p\r\n\r\n");
    for i in 0..5000 {
        s.push_str(&format!(
            "--p\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"
        ));
    }
    s.push_str("--p--\r\n");
    add("parts-5000", s.into_bytes(), Stored(Some("max_mime_parts")));

    let mut s = head("attachment-25mb");
    s.push_str("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nthe log file\r\n--a\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    let mut raw = s.into_bytes();
    base64_lines(&pseudo_random(25 * 1024 * 1024), &mut raw);
    raw.extend_from_slice(b"--a--\r\n");
    add("attachment-25mb", raw, Stored(None));

    let s = format!(
        "{HEAD}Message-ID: <header-line-1mb@hostile.test>\r\nSubject: {}\r\n\r\nbody\r\n",
        "long ".repeat(200_000)
    );
    add(
        "header-line-1mb",
        s.into_bytes(),
        Stored(Some("max_line_bytes")),
    );

    let mut s = head("header-block-2mb");
    for i in 0..40_000 {
        s.push_str(&format!("X-Filler-{i}: {}\r\n", "v".repeat(40)));
    }
    s.push_str("\r\nbody\r\n");
    add(
        "header-block-2mb",
        s.into_bytes(),
        Quarantined("header section too large", false),
    );

    let to: Vec<String> = (0..100_000)
        .map(|i| format!("user{i}@customer.test"))
        .collect();
    let s = format!(
        "From: cust4@customer.test\r\nSubject: to-100000\r\nTo: {}\r\n\r\nbody\r\n",
        to.join(", ")
    );
    add(
        "to-100000",
        s.into_bytes(),
        Quarantined("header section too large", false),
    );

    let to: Vec<String> = (0..5000)
        .map(|i| format!("user{i}@customer.test"))
        .collect();
    let s = format!(
        "From: cust4@customer.test\r\nSubject: to-5000-folded\r\nMessage-ID: <to5000@hostile.test>\r\nTo: {}\r\n\r\nbody\r\n",
        to.join(",\r\n ")
    );
    add(
        "to-5000-folded",
        s.into_bytes(),
        Stored(Some("max_recipients")),
    );

    let mut s = head("markers-3000");
    s.push_str("\r\n");
    s.push_str(&"forwarded as message/rfc822\r\n".repeat(3000));
    add(
        "markers-3000",
        s.into_bytes(),
        Quarantined("nested messages", false),
    );

    let mut raw = head("too-large").into_bytes();
    raw.extend_from_slice(b"\r\n");
    raw.resize(51 * 1024 * 1024, b'x');
    add("too-large", raw, Quarantined("too large", false));
    cases
}

/// Deterministic incompressible bytes (xorshift).
fn pseudo_random(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn base64_lines(data: &[u8], out: &mut Vec<u8>) {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for line in data.chunks(57) {
        for chunk in line.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                out.push(if i <= chunk.len() {
                    A[((v >> (18 - 6 * i)) & 63) as usize]
                } else {
                    b'='
                });
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

/// Checks one outcome against its expectation; for a stored message with
/// an expected cut, the flag on the stored message.
fn check(desk: &postdesk::desk::Desk, case: &Case, outcome: &Outcome) -> Result<(), String> {
    match (case.expect, outcome) {
        (Stored(flag), Outcome::Stored { ticket, .. }) => {
            let Some(flag) = flag else { return Ok(()) };
            let Response::Ticket(view) = desk.handle(Request::ShowTicket {
                reference: ticket.clone(),
            }) else {
                return Err(format!("{}: ticket {ticket} cannot be shown", case.name));
            };
            // The message just stored is the ticket's newest (the guards
            // may have joined it to an earlier ticket of the same sender).
            let flags: Vec<_> = view
                .messages
                .iter()
                .last()
                .map(|m| &m.flags)
                .into_iter()
                .flatten()
                .collect();
            if flags.iter().any(|f| f.contains(flag)) {
                Ok(())
            } else {
                Err(format!(
                    "{}: no flag mentioning {flag}: {flags:?}",
                    case.name
                ))
            }
        }
        (
            Quarantined(reason, not_mail),
            Outcome::Quarantined {
                reason: r,
                not_mail: n,
                ..
            },
        ) => {
            if r.contains(reason) && *n == not_mail {
                Ok(())
            } else {
                Err(format!(
                    "{}: quarantined with {r:?} (not mail: {n}), expected {reason:?} ({not_mail})",
                    case.name
                ))
            }
        }
        (expect, got) => Err(format!("{}: expected {expect:?}, got {got:?}", case.name)),
    }
}

fn all_ok(failures: Vec<String>) {
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_case_in_process() {
    let mut harness = postdesk::fuzzing::Harness::new(&templates()).expect("harness");
    let mut failures = Vec::new();
    for case in small_cases().into_iter().chain(generated_cases()) {
        let outcome = harness
            .ingest(&case.raw)
            .unwrap_or_else(|e| panic!("{}: store failed: {e}", case.name));
        harness.flush().expect("flush");
        failures.extend(check(harness.desk(), &case, &outcome).err());
    }
    all_ok(failures);
}

/// Runs `postdesk ARGS` with a watchdog that only catches hangs, and
/// returns its exit code, stdout, stderr and peak resident memory in KiB.
///
/// The peak is the child's own `VmHWM`, read while it runs (it only ever
/// grows; the last reading misses at most the final poll interval).
/// `ru_maxrss` from `wait4` cannot be used: it keeps the high-water mark of
/// the address space the child was spawned from, this test process.
fn run_bounded(desk: &TestDesk, args: &[&str], what: &str) -> (i32, String, String, i64) {
    use std::os::unix::process::ExitStatusExt;
    let dir = desk.dir.path();
    let out_path = dir.join("child.out");
    let err_path = dir.join("child.err");
    let child = desk
        .cmd()
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("spawn postdesk");
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut status = 0;
    let mut peak_kib = 0;
    let proc_status = format!("/proc/{pid}/status");
    loop {
        if let Some(hwm) = std::fs::read_to_string(&proc_status).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        }) {
            peak_kib = peak_kib.max(hwm);
        }
        // SAFETY: waits for our own child by pid; no other code waits on it.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        assert!(r == 0, "{what}: waitpid failed");
        if Instant::now() > deadline {
            // SAFETY: signals our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{what}: still running after 300 s: a hang");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::mem::forget(child);
    let status = std::process::ExitStatus::from_raw(status);
    let code = status
        .code()
        .unwrap_or_else(|| panic!("{what}: killed by a signal ({status:?}): a crash"));
    (
        code,
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default(),
        peak_kib,
    )
}

#[test]
fn every_case_through_the_binary() {
    let desk = TestDesk::new();
    let files = desk.dir.path().join("cases");
    std::fs::create_dir_all(&files).expect("cases dir");
    let mut quarantined = Vec::new();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for case in small_cases().into_iter().chain(generated_cases()) {
        let file = files.join(case.name.replace(' ', "_"));
        std::fs::write(&file, &case.raw).expect("write case");
        let (code, stdout, stderr, rss_kib) = run_bounded(
            &desk,
            &["ingest", "--json", file.to_str().expect("utf-8 path")],
            &case.name,
        );
        std::fs::remove_file(&file).expect("remove case");
        report.push(format!(
            "{:<44} {:>9} bytes  exit {code}  peak RSS {:>7} KiB",
            case.name,
            case.raw.len(),
            rss_kib
        ));
        // Generous: the raw bytes a few times over (read, fitted copy,
        // decoded parts, compressed copy) plus the process itself with the
        // store's cache, which grows with what is already stored (measured:
        // about 50 MB on an empty store, 130 MB after the 25 MB case).
        let bound_kib = (case.raw.len() as i64 * 6) / 1024 + 256 * 1024;
        assert!(
            rss_kib < bound_kib,
            "{}: peak RSS {rss_kib} KiB over {bound_kib} KiB",
            case.name
        );
        let outcome: Outcome = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "{}: exit {code}, no outcome ({e}): {stdout}\n{stderr}",
                case.name
            )
        });
        let expected_code = match case.expect {
            Quarantined(_, true) => 65,
            _ => 0,
        };
        if code != expected_code {
            failures.push(format!(
                "{}: exit {code}, expected {expected_code}: {stderr}",
                case.name
            ));
        }
        if let Outcome::Quarantined { id, .. } = &outcome {
            quarantined.push((id.clone(), case.name.clone()));
        }
        let config = desk.config();
        let d = postdesk::desk::Desk::open(config).expect("open store");
        failures.extend(check(&d, &case, &outcome).err());
    }
    eprintln!("{}", report.join("\n"));
    all_ok(failures);

    let out = desk.run(&["quarantine", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let listed = listed.as_array().expect("a list");
    for (id, name) in &quarantined {
        let entry = listed
            .iter()
            .find(|e| e["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{name}: {id} not in `quarantine list`"));
        assert!(
            !entry["reason"].as_str().unwrap_or_default().is_empty(),
            "{name}: no reason"
        );
    }
}

#[test]
fn rules_test_survives_every_small_case() {
    let desk = TestDesk::new();
    for case in small_cases() {
        let file = corpus_dir().join(&case.name);
        let (code, _, stderr, _) = run_bounded(
            &desk,
            &["rules", "test", file.to_str().expect("utf-8 path")],
            &case.name,
        );
        // What would be stored can be explained; what would be
        // quarantined is refused with a reason.
        match case.expect {
            Stored(_) => assert_eq!(code, 0, "{}: `rules test`: {stderr}", case.name),
            Quarantined(reason, _) => assert!(
                code != 0 && stderr.contains(reason),
                "{}: `rules test` exit {code}: {stderr}",
                case.name
            ),
        }
    }
}
