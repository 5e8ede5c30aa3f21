//! Terminal escape injection (issue #15): mail full of escape sequences,
//! C1 controls and bidi overrides goes in through `postdesk ingest`, and
//! every command that shows it must print it visibly escaped, never raw.
//!
//! The hostile messages are `tests/corpus/hostile/terminal-*.eml` (so the
//! intake checks of tests/hostile.rs run on them too); the delivery report
//! that marks an address is made here, since it must name the outbox mail.

mod common;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::TestDesk;

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/hostile")
        .join(name)
}

/// What must never reach a terminal from mail: C0 controls but newline and
/// tab, DEL, C1 controls, bidi embeddings, overrides and isolates.
fn forbidden(c: char) -> bool {
    (c < ' ' && c != '\n' && c != '\t')
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn assert_terminal_safe(what: &str, stream: &str, bytes: &[u8]) {
    let text = std::str::from_utf8(bytes)
        .unwrap_or_else(|e| panic!("{what}: {stream} is not UTF-8 ({e}): {bytes:?}"));
    for (i, c) in text.char_indices() {
        assert!(
            !forbidden(c),
            "{what}: {c:?} raw at byte {i} of {stream}:\n{}",
            text.escape_debug()
        );
    }
    // The same at byte level, as the issue states it.
    assert!(!bytes.contains(&0x1b), "{what}: ESC in {stream}");
    assert!(!bytes.contains(&0x07), "{what}: BEL in {stream}");
    assert!(
        !bytes.windows(2).any(|w| w == [0xc2, 0x9b]),
        "{what}: C1 CSI in {stream}"
    );
}

/// Runs `postdesk ARGS`, checks it succeeded and printed nothing raw.
fn safe_run(desk: &TestDesk, args: &[&str]) -> String {
    let out = desk.run(args);
    check(args, &out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn check(args: &[&str], out: &Output) {
    let what = format!("postdesk {}", args.join(" "));
    assert!(
        out.status.success(),
        "{what}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_terminal_safe(&what, "stdout", &out.stdout);
    assert_terminal_safe(&what, "stderr", &out.stderr);
}

fn has(what: &str, out: &str, needle: &str) {
    assert!(
        out.contains(needle),
        "{what}: {needle:?} not shown in:\n{out}"
    );
}

/// A delivery report for the desk's acknowledgement to eve, whose
/// diagnostic (the remote server's words) is hostile.
fn dsn(envelope_from: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>\r\n\
         To: {envelope_from}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn-terminal@mx.customer.test>\r\n\
         Date: Sun, 22 Nov 2026 10:05:00 +0000\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n\
         --r\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Your message could not be delivered.\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.customer.test\r\n\r\n\
         Final-Recipient: rfc822; eve@customer.test\r\n\
         Action: failed\r\n\
         Status: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 \x1b]0;pwned\x07\x1b[2J gone \u{202e}resu\r\n\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\n\
         From: support@desk.test\r\nTo: eve@customer.test\r\n\
         Message-ID: <{message_id}>\r\nSubject: ack\r\n\r\n\
         --r--\r\n"
    )
    .into_bytes()
}

#[test]
fn hostile_mail_is_shown_escaped_by_every_command() {
    let desk = TestDesk::new();
    let escapes = std::fs::read(corpus("terminal-escapes.eml")).expect("fixture");
    // Three tickets with the same subject, so `stats` lists it as recurring.
    for n in ["", "-2", "-3"] {
        let raw = String::from_utf8(escapes.clone())
            .expect("fixture is UTF-8")
            .replace(
                "<terminal-escapes@hostile.test>",
                &format!("<terminal-escapes{n}@hostile.test>"),
            );
        let out = desk.pipe(raw.as_bytes());
        check(&["ingest"], &out);
    }
    let out = desk.pipe(&std::fs::read(corpus("terminal-quarantined.eml")).expect("fixture"));
    check(&["ingest (quarantined)"], &out);
    has(
        "ingest",
        &String::from_utf8_lossy(&out.stderr),
        "quarantined as",
    );

    // The desk acknowledged the first ticket; eve's server rejects it.
    let outbox: serde_json::Value =
        serde_json::from_str(&safe_run(&desk, &["outbox", "list", "--json"])).expect("JSON");
    let ack = outbox
        .as_array()
        .expect("a list")
        .iter()
        .find(|e| e["ticket"] == "ACME-1")
        .expect("an acknowledgement for ACME-1");
    let out = desk.pipe(&dsn(
        ack["envelope_from"].as_str().expect("envelope_from"),
        ack["message_id"].as_str().expect("message_id"),
    ));
    check(&["ingest (delivery report)"], &out);

    let list = safe_run(&desk, &["tickets", "list"]);
    has("tickets list", &list, "Hi \\x1b[31mRED\\x1b[0m");
    // One line per ticket: nothing in a subject broke the table.
    assert_eq!(list.lines().count(), 4, "{list}");

    let show = safe_run(&desk, &["tickets", "show", "ACME-1"]);
    for shown in [
        // subject: CSI colours, an OSC 8 hyperlink, C1 CSI, bidi, DEL
        "Hi \\x1b[31mRED\\x1b[0m \\x1b]8;;http://evil.test\\x07Link",
        "csi\\u{9b}2J rlo\\u{202e}txt.exe isolate\\u{2066}x\\u{2069} del\\x7f",
        // sender's name
        "Eve \\x1b[1mBold\\x1b[0m <eve@customer.test>",
        // body: clear screen, retitle, C1, NEL, backspaces, OSC 52
        "clear \\x1b[2J\\x1b]0;pwned\\x07 title",
        "c1 csi \\u{9b}31m and next line \\u{85} bidi \\u{202e}gnp.exe",
        "backspace ab\\x08\\x08xy, tab\tkept",
        "osc52 \\x1b]52;c;ZXZpbA==\\x07 done",
        // a backslash written by the customer stays distinguishable
        "a literal \\\\x1b stays text",
        // the delivery report's diagnostic, in the message flags
        "\\x1b]0;pwned\\x07\\x1b[2J gone \\u{202e}resu",
    ] {
        has("tickets show", &show, shown);
    }

    let quarantine = safe_run(&desk, &["quarantine", "list"]);
    let id = quarantine
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .expect("one quarantined entry")
        .to_string();
    let preview = safe_run(&desk, &["quarantine", "show", &id]);
    has(
        "quarantine show",
        &preview,
        "Subject: no sender \\x1b]0;pwned\\x07 \\x1b[2J\\r\n",
    );
    has(
        "quarantine show",
        &preview,
        "body \\x1b[5m\\u{9b}\\u{202e}\\r\n\\xff\\xfe not utf-8",
    );

    let outbox = safe_run(&desk, &["outbox", "list"]);
    has("outbox list", &outbox, "[ACME-1] Hi");

    let marks = safe_run(&desk, &["addresses", "list"]);
    has(
        "addresses list",
        &marks,
        "550 5.1.1 \\x1b]0;pwned\\x07\\x1b[2J gone \\u{202e}resu",
    );

    // The customer's name and subjects, as `customers` shows them.
    safe_run(&desk, &["customers", "list"]);
    let customer = safe_run(&desk, &["customers", "show", "eve@customer.test"]);
    has("customers show", &customer, "Eve \\x1b[1mBold\\x1b[0m");
    has("customers show", &customer, "Hi \\x1b[31mRED\\x1b[0m");

    let stats = safe_run(&desk, &["stats"]);
    has("stats", &stats, "Hi \\x1b[31mRED\\x1b[0m");

    // The status report (no daemon: exit 3) and the offline tools.
    let out = desk.run(&["status"]);
    assert_terminal_safe("status", "stdout", &out.stdout);
    assert_terminal_safe("status", "stderr", &out.stderr);
    let fixture = corpus("terminal-escapes.eml");
    let fixture = fixture.to_str().expect("UTF-8 path");
    safe_run(&desk, &["rules", "test", fixture]);
    let stripped = safe_run(&desk, &["strip", "--explain", fixture]);
    has("strip", &stripped, "\\x1b[2J");
    safe_run(&desk, &["classify", fixture]);
    let report = desk.dir.path().join("hostile-dsn.eml");
    std::fs::write(&report, dsn("support@desk.test", "x@desk.test")).expect("write");
    let classified = safe_run(&desk, &["classify", report.to_str().expect("UTF-8 path")]);
    has(
        "classify",
        &classified,
        "550 5.1.1 \\x1b]0;pwned\\x07\\x1b[2J gone \\u{202e}resu",
    );
}

#[test]
fn json_output_escapes_controls_and_keeps_the_text() {
    let desk = TestDesk::new();
    let out = desk.pipe(&std::fs::read(corpus("terminal-escapes.eml")).expect("fixture"));
    check(&["ingest"], &out);
    for args in [
        &["tickets", "list", "--json"][..],
        &["tickets", "show", "ACME-1", "--json"],
        &["outbox", "list", "--json"],
    ] {
        safe_run(&desk, args);
    }
    let list: serde_json::Value =
        serde_json::from_str(&safe_run(&desk, &["tickets", "list", "--json"])).expect("JSON");
    // Escaped for the terminal, the same text for a script.
    assert_eq!(
        list[0]["subject"],
        "Hi \x1b[31mRED\x1b[0m \x1b]8;;http://evil.test\x07Link\x1b]8;;\x07 \
         csi\u{9b}2J rlo\u{202e}txt.exe isolate\u{2066}x\u{2069} del\u{7f}"
    );
    assert_eq!(list[0]["requester"]["name"], "Eve \x1b[1mBold\x1b[0m");
    let raw = safe_run(&desk, &["tickets", "show", "ACME-1", "--json"]);
    for escape in ["\\u001b[2J", "\\u0007", "\\u009b", "\\u202e", "\\u007f"] {
        has("tickets show --json", &raw, escape);
    }
    let out = desk
        .cmd()
        .args(["ingest", "--json"])
        .arg(corpus("terminal-quarantined.eml"))
        .output()
        .expect("runs");
    check(&["ingest --json"], &out);
}

/// A pseudo-terminal: the controller end to read, the device end to hand
/// to a child as its stdout.
fn pty() -> (std::fs::File, OwnedFd) {
    let (mut controller, mut device) = (-1, -1);
    // SAFETY: openpty writes two new descriptors into the two ints; the
    // name, termios and window size pointers may be null.
    let rc = unsafe {
        libc::openpty(
            &mut controller,
            &mut device,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    unsafe {
        (
            std::fs::File::from_raw_fd(controller),
            OwnedFd::from_raw_fd(device),
        )
    }
}

/// Runs `postdesk ARGS` with stdout on a terminal; its exit status, what
/// reached the terminal and stderr.
fn on_terminal(desk: &TestDesk, args: &[&str]) -> (std::process::ExitStatus, Vec<u8>, String) {
    let (mut controller, device) = pty();
    let mut child = desk
        .cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(device))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn postdesk");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("postdesk exits");
    // The child's copy of the device end is gone; this process's was moved
    // into the Command, dropped with it: reading ends with EIO then.
    let mut shown = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match controller.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => shown.extend_from_slice(&buf[..n]),
        }
    }
    (status, shown, stderr)
}

#[test]
fn raw_quarantined_bytes_are_not_written_to_a_terminal_without_force() {
    let desk = TestDesk::new();
    let raw = std::fs::read(corpus("terminal-quarantined.eml")).expect("fixture");
    check(&["ingest"], &desk.pipe(&raw));
    let list: serde_json::Value =
        serde_json::from_str(&safe_run(&desk, &["quarantine", "list", "--json"])).expect("JSON");
    let id = list[0]["id"].as_str().expect("an id").to_string();

    let (status, shown, stderr) = on_terminal(&desk, &["quarantine", "show", &id, "--raw"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(shown.is_empty(), "wrote to the terminal: {shown:?}");
    assert!(
        stderr.contains("not writing raw mail to a terminal")
            && stderr.contains(&format!("--raw > {id}.eml"))
            && stderr.contains("--force"),
        "{stderr}"
    );

    // --force writes anyway (the terminal turns \n into \r\n).
    let (status, shown, stderr) =
        on_terminal(&desk, &["quarantine", "show", &id, "--raw", "--force"]);
    assert!(status.success(), "{stderr}");
    assert!(
        shown.windows(9).any(|w| w == b"\x1b]0;pwned"),
        "{}",
        String::from_utf8_lossy(&shown)
    );

    // Redirected, the bytes are exactly what arrived (to save or re-ingest).
    let out = desk.run(&["quarantine", "show", &id, "--raw"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, raw);

    // --force means nothing without --raw.
    let out = desk.run(&["quarantine", "show", &id, "--force"]);
    assert!(!out.status.success());
}

/// A server that answers every connection with `greeting`, then `reply`
/// to every line after the first (EHLO): a hostile IMAP or SMTP server.
fn fake_server(greeting: &'static str, reply: &'static str) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = conn.write_all(greeting.as_bytes());
                let Ok(read) = conn.try_clone() else { return };
                for (n, line) in BufReader::new(read).lines().enumerate() {
                    let Ok(line) = line else { return };
                    let answer = if n == 0 && line.to_ascii_uppercase().starts_with("EHLO") {
                        "250 fake.test\r\n"
                    } else {
                        reply
                    };
                    if conn.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn server_answers_are_shown_escaped_in_status_and_outbox() {
    use std::os::unix::fs::PermissionsExt;
    let imap = fake_server("* BYE \x1b]0;pwned\x07\x1b[2J\u{202e}go away\r\n", "");
    let smtp = fake_server(
        "220 fake.test ESMTP\r\n",
        "554 5.7.1 \x1b]8;;http://evil.test\x07rejected\x1b]8;;\x07 \u{9b}2J\r\n",
    );
    let secrets = tempfile::tempdir().expect("temp dir");
    let pw = secrets.path().join("pw");
    std::fs::write(&pw, "secret\n").expect("password file");
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let desk = TestDesk::with(common::Options {
        smtp_port: Some(u64::from(smtp)),
        extra: format!(
            "\n[[inbox]]\nname = \"remote\"\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap}\n\
             tls = \"none\"\nusername = \"support\"\npassword_file = \"{}\"\npoll = \"1s\"\n",
            pw.display()
        ),
        ..common::Options::default()
    });
    let raw = std::fs::read(corpus("terminal-escapes.eml")).expect("fixture");
    check(&["ingest"], &desk.pipe(&raw));
    let _daemon = desk.serve();

    common::wait_until(60, "the IMAP inbox's error and the SMTP rejection", || {
        let status: serde_json::Value =
            serde_json::from_slice(&desk.run(&["status", "--json"]).stdout).unwrap_or_default();
        let outbox: serde_json::Value =
            serde_json::from_slice(&desk.run(&["outbox", "list", "--json"]).stdout)
                .unwrap_or_default();
        let imap_failed = status["inboxes"]
            .as_array()
            .is_some_and(|i| i.iter().any(|i| i["last_error"].is_string()));
        let smtp_failed = outbox
            .as_array()
            .is_some_and(|o| o.iter().any(|e| e["last_error"].is_string()));
        imap_failed && smtp_failed
    });
    let out = desk.run(&["status"]);
    assert_terminal_safe("status", "stdout", &out.stdout);
    assert_terminal_safe("status", "stderr", &out.stderr);
    has(
        "status",
        &String::from_utf8_lossy(&out.stdout),
        "\\x1b]0;pwned\\x07\\x1b[2J\\u{202e}go away",
    );
    let outbox = safe_run(&desk, &["outbox", "list"]);
    has(
        "outbox list",
        &outbox,
        "\\x1b]8;;http://evil.test\\x07rejected\\x1b]8;;\\x07 \\u{9b}2J",
    );
    // Degraded (an inbox is not connected): exit 1, still clean.
    let out = desk.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_terminal_safe("status --json", "stdout", &out.stdout);
    safe_run(&desk, &["outbox", "list", "--json"]);
}

/// Runs `postdesk ARGS` with stderr on a terminal (and `env` set); what
/// reached the terminal.
fn stderr_on_terminal(desk: &TestDesk, args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let (mut controller, device) = pty();
    let mut cmd = desk.cmd();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(device))
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn postdesk");
    child.wait().expect("postdesk exits");
    drop(cmd);
    let mut shown = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match controller.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => shown.extend_from_slice(&buf[..n]),
        }
    }
    shown
}

#[test]
fn logs_are_coloured_on_a_terminal_unless_no_color_or_never() {
    let desk = TestDesk::new();
    let junk = desk.dir.path().join("junk.bin");
    std::fs::write(&junk, [0u8, 159, 146, 150, 0, 1, 2]).expect("write");
    let junk = junk.to_str().expect("utf-8");
    let esc = |b: &[u8]| b.contains(&0x1b);
    // The quarantine logs a warning: coloured on a terminal by default...
    let shown = stderr_on_terminal(&desk, &["ingest", junk], &[]);
    assert!(
        String::from_utf8_lossy(&shown).contains("quarantined"),
        "{shown:?}"
    );
    assert!(esc(&shown), "colour on a terminal");
    // ...and not with NO_COLOR (no-color.org) or --color never.
    let shown = stderr_on_terminal(&desk, &["ingest", junk], &[("NO_COLOR", "1")]);
    assert!(String::from_utf8_lossy(&shown).contains("quarantined"));
    assert!(
        !esc(&shown),
        "NO_COLOR: {:?}",
        String::from_utf8_lossy(&shown)
    );
    let shown = stderr_on_terminal(&desk, &["--color", "never", "ingest", junk], &[]);
    assert!(!esc(&shown), "--color never");
    // --color always colours a pipe too.
    let out = desk
        .cmd()
        .args(["--color", "always", "ingest", junk])
        .output()
        .expect("runs");
    assert!(esc(&out.stderr), "--color always");
}
