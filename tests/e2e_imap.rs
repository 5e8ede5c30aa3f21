//! IMAP intake end to end, against the real Dovecot of the test stack:
//! messages go in the way a mail client or an MTA puts them there (python's
//! imaplib APPEND, SMTP through Postfix), `postdesk serve` reads them over
//! IMAPS or STARTTLS, and the result is checked in the store and, over
//! IMAP again, on the server.
//!
//! Mailboxes: desk5..desk12 of the shared stack, one set per test (desk9
//! never logs in, so the two tests that use it cannot disturb each other);
//! the Dovecot-restart test runs its own stack.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{mailstack, smtplib_send, wait_until, Options, Stack, TestDesk};
use postdesk::store::Store;
use serde_json::Value;

/// IMAP chores done as a mail client does them: python's imaplib over
/// IMAPS, trusting the stack's test CA.
const IMAP_CLIENT: &str = r#"
import imaplib, ssl, sys, time
cmd, port, ca, user = sys.argv[1:5]
rest = sys.argv[5:]
ctx = ssl.create_default_context(cafile=ca)
def connect():
    m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=15)
    m.login(user, "secret")
    return m
def msg(tag, i):
    body = "\r\n".join("Line %d of a customer's question about case %d." % (n, i) for n in range(3 + i % 40))
    return ("From: Customer %d <cust%d@customer.test>\r\nTo: %s\r\nSubject: Case %s %d\r\n"
            "Message-ID: <%s-%d@customer.test>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"
            % (i % 97, i % 97, user, tag, i, tag, i, body)).encode()
m = connect()
if cmd == "append":
    folder, tag, start, count, flags = rest
    for i in range(int(start), int(start) + int(count)):
        for attempt in range(20):
            typ, data = m.append(folder, flags or None, None, msg(tag, i))
            # Right after a folder is recreated Dovecot may still refuse
            # it for a moment; a mail client would try again.
            if typ == "OK" or b"deleted under us" not in data[0]:
                break
            time.sleep(0.1)
        if typ != "OK":
            sys.exit("APPEND failed: %r" % (data,))
elif cmd == "append-through-outages":
    # Like a client that reconnects and tries again when the server goes
    # away; a message whose APPEND was cut off may end up twice on the
    # server, which the desk must take as one.
    folder, tag, start, count = rest
    i, end = int(start), int(start) + int(count)
    while i < end:
        try:
            typ, data = m.append(folder, None, None, msg(tag, i))
            if typ != "OK":
                sys.exit("APPEND failed: %r" % (data,))
            i += 1
        except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error):
            deadline = time.monotonic() + 30
            while True:
                time.sleep(0.2)
                try:
                    m = connect()
                    break
                except (OSError, imaplib.IMAP4.error):
                    if time.monotonic() > deadline:
                        raise
elif cmd == "status":
    typ, data = m.status(rest[0], "(MESSAGES UNSEEN)")
    print(data[0].decode() if typ == "OK" else "missing")
elif cmd == "clear":
    # A rerun against the same stack starts from empty mailboxes.
    for folder in rest:
        if folder == "INBOX":
            typ, data = m.select("INBOX")
            if int(data[0]) > 0:
                m.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
                m.expunge()
            m.close()
        else:
            m.delete(folder)
elif cmd == "count":
    m.select(rest[0], readonly=True)
    typ, data = m.uid("search", None, rest[1])
    print(len(data[0].split()))
elif cmd == "create":
    m.create(rest[0])
elif cmd == "recreate":
    typ, data = m.delete(rest[0])
    if typ != "OK":
        sys.exit("DELETE failed: %r" % (data,))
    typ, data = m.create(rest[0])
    if typ != "OK":
        sys.exit("CREATE failed: %r" % (data,))
m.logout()
"#;

fn imap_client_cmd(stack: &Value, user: &str, args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.arg("-c")
        .arg(IMAP_CLIENT)
        .arg(args[0])
        .arg(stack["imaps_port"].to_string())
        .arg(stack["ca_file"].as_str().expect("ca_file"))
        .arg(user)
        .args(&args[1..]);
    c
}

fn imap_client(stack: &Value, user: &str, args: &[&str]) -> String {
    let out = imap_client_cmd(stack, user, args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "imaplib {args:?} for {user} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Empties INBOX and deletes the other folders named: each test starts
/// from a clean mailbox, also when run again against the same stack.
fn clear(stack: &Value, user: &str, folders: &[&str]) {
    let mut args = vec!["clear"];
    args.extend_from_slice(folders);
    imap_client(stack, user, &args);
}

/// APPENDs messages `start..start+count` (Message-ID `<tag-i@customer.test>`).
fn append(stack: &Value, user: &str, folder: &str, tag: &str, start: usize, count: usize) {
    append_flagged(stack, user, folder, tag, start, count, "");
}

fn append_flagged(
    stack: &Value,
    user: &str,
    folder: &str,
    tag: &str,
    start: usize,
    count: usize,
    flags: &str,
) {
    imap_client(
        stack,
        user,
        &[
            "append",
            folder,
            tag,
            &start.to_string(),
            &count.to_string(),
            flags,
        ],
    );
}

/// (messages, unseen) in a folder; `None` if it does not exist.
fn folder_status(stack: &Value, user: &str, folder: &str) -> Option<(u64, u64)> {
    let line = imap_client(stack, user, &["status", folder]);
    let num = |key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some((num("MESSAGES")?, num("UNSEEN")?))
}

/// A test desk with IMAP inboxes; its password files live as long as it.
struct ImapDesk {
    t: TestDesk,
    _secrets: tempfile::TempDir,
}

/// One `[[inbox]]` entry: `tls` is implicit or starttls; `password` is
/// written to a file named by password_file.
struct InboxSpec<'a> {
    name: &'a str,
    user: &'a str,
    tls: &'a str,
    password: &'a str,
    /// The CA to trust; default: the stack's test CA.
    ca: Option<&'a Path>,
    extra: &'a str,
}

fn imap_desk(stack: &Value, inboxes: &[InboxSpec<'_>]) -> ImapDesk {
    let secrets = tempfile::tempdir().expect("temp dir");
    let mut extra = String::from("\n[ack]\nenabled = false\n");
    for i in inboxes {
        let pw = secrets.path().join(i.name);
        std::fs::write(&pw, format!("{}\n", i.password)).expect("write password file");
        let port = match i.tls {
            "implicit" => &stack["imaps_port"],
            _ => &stack["imap_port"],
        };
        extra.push_str(&format!(
            r#"
[[inbox]]
name = "{name}"
kind = "imap"
host = "127.0.0.1"
port = {port}
tls = "{tls}"
ca_file = "{ca}"
username = "{user}"
password_file = "{pw}"
{poll}
{extra}
"#,
            name = i.name,
            tls = i.tls,
            ca = match i.ca {
                Some(p) => p.display().to_string(),
                None => stack["ca_file"].as_str().expect("ca_file").to_string(),
            },
            user = i.user,
            pw = pw.display(),
            // Long enough that only IDLE explains a quick pickup.
            poll = if i.extra.contains("poll =") {
                ""
            } else {
                "poll = \"60s\""
            },
            extra = i.extra,
        ));
    }
    let t = TestDesk::with(Options {
        extra,
        ..Options::default()
    });
    ImapDesk {
        t,
        _secrets: secrets,
    }
}

/// Messages stored so far, as the CLI reports them (the daemon may run).
fn stored_count(t: &TestDesk) -> u64 {
    t.tickets_json()
        .as_array()
        .expect("tickets list")
        .iter()
        .map(|t| t["message_count"].as_u64().unwrap_or(0))
        .sum()
}

fn status(t: &TestDesk) -> Value {
    let out = t.run(&["status", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn inbox_state(t: &TestDesk, name: &str) -> Value {
    status(t)["inboxes"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == name).cloned())
        .unwrap_or(Value::Null)
}

/// Opens the store once the daemon is gone and checks that every stored
/// message is there once; returns the Message-IDs.
fn stored_once(t: &TestDesk) -> HashSet<String> {
    let store = Store::open_config(&t.config()).expect("store opens once serve has exited");
    let mut ids = HashSet::new();
    for ticket in store.tickets() {
        let ticket = ticket.expect("ticket");
        for (m, raw) in store.messages(ticket.number).expect("messages") {
            assert!(
                ids.insert(m.message_id.clone()),
                "{} stored twice",
                m.message_id
            );
            assert!(!raw.is_empty(), "{} has its bytes", m.message_id);
        }
    }
    ids
}

fn expected_ids(tag: &str, range: std::ops::Range<usize>) -> HashSet<String> {
    range.map(|i| format!("{tag}-{i}@customer.test")).collect()
}

fn serve_log(t: &TestDesk) -> String {
    std::fs::read_to_string(t.dir.path().join("serve.log")).unwrap_or_default()
}

/// Like `common::wait_until`, but a timeout shows what the daemon said and
/// where its inboxes stand, which is what one needs to see then.
fn wait_for(t: &TestDesk, secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        if Instant::now() >= deadline {
            let log = serve_log(t);
            let tail: Vec<&str> = log
                .lines()
                .filter(|l| !l.contains("no acknowledgement"))
                .collect();
            panic!(
                "timed out after {secs}s waiting for {what}\nstatus: {}\nserve.log (end):\n{}",
                status(t),
                tail[tail.len().saturating_sub(40)..].join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn thousand_appended_messages_are_stored_once_and_moved() {
    let stack = mailstack();
    let user = "desk5@desk.test";
    clear(&stack, user, &["INBOX", "Processed"]);
    append(&stack, user, "INBOX", "move1k", 0, 1000);
    let d = imap_desk(
        &stack,
        &[InboxSpec {
            name: "support",
            user,
            tls: "implicit",
            password: "secret",
            ca: None,
            extra: "after = \"move:Processed\"",
        }],
    );
    let mut daemon = d.t.serve();
    wait_for(&d.t, 90, "1,000 messages stored and moved", || {
        stored_count(&d.t) == 1000 && folder_status(&stack, user, "INBOX") == Some((0, 0))
    });
    let processed = folder_status(&stack, user, "Processed").expect("Processed was created");
    assert_eq!(processed.0, 1000, "every message moved once: {processed:?}");
    let state = inbox_state(&d.t, "support");
    assert_eq!(state["connected"], true, "{state}");
    // UIDs go on across reruns on the same stack: at least 1,000.
    let uid = state["cursor"]
        .as_str()
        .filter(|c| c.starts_with("uidvalidity "))
        .and_then(|c| c.rsplit_once(", uid "))
        .and_then(|(_, u)| u.parse::<u64>().ok());
    assert!(uid.is_some_and(|u| u >= 1000), "{state}");
    assert!(daemon.terminate().success());
    assert!(
        serve_log(&d.t).contains("logging out"),
        "graceful shutdown ends with LOGOUT"
    );
    assert_eq!(stored_once(&d.t), expected_ids("move1k", 0..1000));
}

#[test]
fn thousand_messages_in_seen_mode_including_already_read_ones() {
    let stack = mailstack();
    let user = "desk6@desk.test";
    clear(&stack, user, &["INBOX"]);
    append(&stack, user, "INBOX", "seen1k", 0, 980);
    // Read by a person in webmail before the desk saw them: still taken.
    append_flagged(&stack, user, "INBOX", "seen1k", 980, 20, "(\\Seen)");
    let d = imap_desk(
        &stack,
        &[InboxSpec {
            name: "support",
            user,
            tls: "implicit",
            password: "secret",
            ca: None,
            extra: "after = \"seen\"",
        }],
    );
    let mut daemon = d.t.serve();
    wait_for(&d.t, 90, "1,000 messages stored and flagged seen", || {
        stored_count(&d.t) == 1000 && folder_status(&stack, user, "INBOX") == Some((1000, 0))
    });
    assert!(daemon.terminate().success());
    assert_eq!(stored_once(&d.t), expected_ids("seen1k", 0..1000));

    // A restart reads nothing again: the cursor is past every message.
    append(&stack, user, "INBOX", "seen1k", 1000, 5);
    let mut daemon = d.t.serve();
    wait_for(&d.t, 30, "the 5 new messages", || {
        stored_count(&d.t) == 1005
    });
    assert!(daemon.terminate().success());
    assert_eq!(stored_once(&d.t), expected_ids("seen1k", 0..1005));
    assert!(
        !serve_log(&d.t).contains("duplicates=1"),
        "nothing was fetched twice:\n{}",
        serve_log(&d.t)
    );
}

#[test]
fn two_inboxes_in_parallel_over_starttls_and_imaps() {
    let stack = mailstack();
    let (a, b) = ("desk7@desk.test", "desk8@desk.test");
    clear(&stack, a, &["INBOX"]);
    clear(&stack, b, &["INBOX", "Done"]);
    append(&stack, a, "INBOX", "para-a", 0, 300);
    append(&stack, b, "INBOX", "para-b", 0, 300);
    let d = imap_desk(
        &stack,
        &[
            InboxSpec {
                name: "sales",
                user: a,
                tls: "starttls",
                password: "secret",
                ca: None,
                extra: "after = \"delete\"\nqueue = \"sales\"",
            },
            InboxSpec {
                name: "billing",
                user: b,
                tls: "implicit",
                password: "secret",
                ca: None,
                extra: "after = \"move:Done\"\nqueue = \"billing\"",
            },
        ],
    );
    let mut daemon = d.t.serve();
    wait_for(&d.t, 60, "600 messages from two inboxes", || {
        stored_count(&d.t) == 600
            && folder_status(&stack, a, "INBOX") == Some((0, 0))
            && folder_status(&stack, b, "INBOX") == Some((0, 0))
    });
    for name in ["sales", "billing"] {
        let s = inbox_state(&d.t, name);
        assert_eq!(s["processed"], 300, "{s}");
        assert_eq!(s["connected"], true, "{s}");
    }
    let tickets = d.t.tickets_json();
    let in_queue = |q: &str| {
        tickets
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["queue"] == q)
            .map(|t| t["message_count"].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    assert_eq!((in_queue("sales"), in_queue("billing")), (300, 300));
    assert_eq!(folder_status(&stack, b, "Done").map(|s| s.0), Some(300));
    assert!(daemon.terminate().success());
    let mut expected = expected_ids("para-a", 0..300);
    expected.extend(expected_ids("para-b", 0..300));
    assert_eq!(stored_once(&d.t), expected);
}

#[test]
fn idle_stores_smtp_mail_long_before_the_poll() {
    let stack = mailstack();
    let user = "desk11@desk.test";
    clear(&stack, user, &["INBOX"]);
    let d = imap_desk(
        &stack,
        &[InboxSpec {
            name: "support",
            user,
            tls: "implicit",
            password: "secret",
            ca: None,
            extra: "after = \"seen\"\nidle = true",
        }],
    );
    let _daemon = d.t.serve();
    wait_for(&d.t, 30, "the inbox to connect", || {
        inbox_state(&d.t, "support")["last_success"].is_string()
    });
    // poll is 60s: only IDLE can bring these in within the deadline.
    for n in 0..3 {
        let id = format!("idle-{n}-{}@customer.test", std::process::id());
        smtplib_send(
            stack["smtp_port"].as_u64().unwrap(),
            "cust11@customer.test",
            user,
            &format!("Printer {n} is on fire"),
            &id,
            "",
        );
        wait_for(&d.t, 30, "the SMTP message to be stored via IDLE", || {
            stored_count(&d.t) == n + 1
        });
    }
    assert!(serve_log(&d.t).contains("idle=true"), "{}", serve_log(&d.t));
}

#[test]
fn wrong_password_is_reported_and_the_other_inbox_keeps_working() {
    let stack = mailstack();
    let good = "desk10@desk.test";
    clear(&stack, good, &["INBOX"]);
    append(&stack, good, "INBOX", "goodpw", 0, 20);
    let d = imap_desk(
        &stack,
        &[
            InboxSpec {
                name: "broken",
                user: "desk9@desk.test",
                tls: "implicit",
                password: "not-the-password",
                ca: None,
                extra: "",
            },
            InboxSpec {
                name: "working",
                user: good,
                tls: "implicit",
                password: "secret",
                ca: None,
                extra: "after = \"seen\"",
            },
        ],
    );
    let _daemon = d.t.serve();
    wait_for(&d.t, 30, "the good inbox's mail", || {
        stored_count(&d.t) == 20
    });
    wait_for(&d.t, 30, "the failure in status", || {
        inbox_state(&d.t, "broken")["last_error"].is_string()
    });
    let broken = inbox_state(&d.t, "broken");
    assert_eq!(broken["connected"], false, "{broken}");
    let error = broken["last_error"].as_str().unwrap();
    assert!(
        error.contains("authentication failed")
            && error.contains("desk9@desk.test")
            && error.contains("password_file"),
        "{error}"
    );
    assert_eq!(inbox_state(&d.t, "working")["connected"], true);
    let out = d.t.run(&["status"]);
    assert_eq!(out.status.code(), Some(1), "degraded: an inbox is down");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("NOT CONNECTED") && text.contains("authentication failed"),
        "{text}"
    );
    assert!(serve_log(&d.t).contains("authentication failed"));
    // Repeated refusals reach the admin by mail, once for the whole run of
    // failures (the backoff makes a third attempt within seconds).
    let alerts = || -> Vec<Value> {
        let out = d.t.run(&["outbox", "list", "--json"]);
        let list: Value = serde_json::from_slice(&out.stdout).expect("outbox json");
        list.as_array()
            .expect("outbox array")
            .iter()
            .filter(|e| e["kind"] == "alert")
            .cloned()
            .collect()
    };
    wait_for(&d.t, 60, "an alert mail to the admin", || {
        !alerts().is_empty()
    });
    // Still working after the other inbox's failures.
    append(&stack, good, "INBOX", "goodpw", 20, 1);
    wait_for(&d.t, 30, "one more message", || stored_count(&d.t) == 21);
    let sent = alerts();
    assert_eq!(sent.len(), 1, "one alert per run of failures: {sent:?}");
    assert_eq!(
        sent[0]["recipients"],
        serde_json::json!(["admin@desk.test"])
    );
    let subject = sent[0]["subject"].as_str().unwrap_or_default();
    assert!(subject.contains("`broken` cannot log in"), "{subject}");
}

/// `batch_bytes` cuts batches by the sizes the server reports, so a run
/// of large messages never sits in memory as one huge batch; every
/// message is still stored exactly once.
#[test]
fn batches_are_cut_by_bytes() {
    let stack = mailstack();
    let user = "bigmail@desk.test";
    clear(&stack, user, &["INBOX"]);
    append(&stack, user, "INBOX", "bytes", 0, 30);
    let d = imap_desk(
        &stack,
        &[InboxSpec {
            name: "bytes",
            user,
            tls: "implicit",
            password: "secret",
            ca: None,
            // The appended messages are 0.5-3 KB: a few per batch.
            extra: "after = \"seen\"\nbatch_bytes = 4000",
        }],
    );
    let mut daemon = d.t.serve();
    wait_for(&d.t, 60, "30 messages", || stored_count(&d.t) == 30);
    wait_for(&d.t, 30, "all marked seen", || {
        folder_status(&stack, user, "INBOX") == Some((30, 0))
    });
    daemon.terminate();
    let batches = serve_log(&d.t).matches("stored a batch").count();
    assert!(
        batches >= 10,
        "30 messages of 0.5-3 KB under a 4000-byte bound need at least 10 batches, got {batches}"
    );
    assert_eq!(stored_once(&d.t), expected_ids("bytes", 0..30));
}

#[test]
fn a_wrong_ca_is_refused_over_imaps_and_starttls() {
    let stack = mailstack();
    let other_ca = tempfile::tempdir().unwrap();
    let ca = other_ca.path().join("ca.pem");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=not the test CA"])
        .arg("-keyout")
        .arg(other_ca.path().join("ca.key"))
        .arg("-out")
        .arg(&ca)
        .stdout(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = imap_desk(
        &stack,
        &[
            InboxSpec {
                name: "imaps",
                user: "desk9@desk.test",
                tls: "implicit",
                password: "secret",
                ca: Some(&ca),
                extra: "",
            },
            InboxSpec {
                name: "starttls",
                user: "desk9@desk.test",
                tls: "starttls",
                password: "secret",
                ca: Some(&ca),
                extra: "",
            },
        ],
    );
    let _daemon = d.t.serve();
    for name in ["imaps", "starttls"] {
        wait_for(&d.t, 30, "the certificate error in status", || {
            inbox_state(&d.t, name)["last_error"].is_string()
        });
        let s = inbox_state(&d.t, name);
        let e = s["last_error"].as_str().unwrap();
        assert!(
            e.contains("TLS with") && e.contains("certificate") && e.contains("ca_file"),
            "{name}: {e}"
        );
        assert_eq!(s["connected"], false);
    }
}

#[test]
fn uidvalidity_reset_reads_again_without_doubling() {
    let stack = mailstack();
    // desk10's INBOX belongs to the wrong-password test; this one reads a
    // folder of its own.
    let user = "desk10@desk.test";
    clear(&stack, user, &["Reset"]);
    imap_client(&stack, user, &["create", "Reset"]);
    append(&stack, user, "Reset", "reset", 0, 30);
    let d = imap_desk(
        &stack,
        &[InboxSpec {
            name: "support",
            user,
            tls: "implicit",
            password: "secret",
            ca: None,
            extra: "after = \"seen\"\nfolder = \"Reset\"",
        }],
    );
    let mut daemon = d.t.serve();
    wait_for(&d.t, 30, "the first 30", || {
        stored_count(&d.t) == 30 && folder_status(&stack, user, "Reset") == Some((30, 0))
    });
    let before = inbox_state(&d.t, "support")["cursor"].clone();
    assert!(daemon.terminate().success());

    // Meanwhile the folder is deleted and made again (a restore, a
    // migration): new UIDVALIDITY, the same messages plus ten new ones,
    // all unseen. The daemon is stopped for it: recreating a folder while
    // another session has it selected races inside Dovecot itself (that
    // session may go on seeing the old folder, and the recreated one can
    // vanish under an APPEND), which would make this test depend on
    // Dovecot's timing rather than on the desk.
    imap_client(&stack, user, &["recreate", "Reset"]);
    append(&stack, user, "Reset", "reset", 0, 40);
    let mut daemon = d.t.serve();
    wait_for(&d.t, 60, "the 10 new messages and all flagged seen", || {
        stored_count(&d.t) == 40 && folder_status(&stack, user, "Reset") == Some((40, 0))
    });
    let after = inbox_state(&d.t, "support")["cursor"].clone();
    assert_ne!(before, after, "a new UIDVALIDITY epoch");
    assert!(daemon.terminate().success());
    assert_eq!(stored_once(&d.t), expected_ids("reset", 0..40));
    let log = serve_log(&d.t);
    assert!(log.contains("UIDVALIDITY changed"), "{log}");
    assert!(
        log.contains("duplicates=30"),
        "the 30 were recognized: {log}"
    );
}

/// A small pseudo-random generator (no extra crate): kill points differ
/// from run to run, and the seed is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn kill_9_ten_times_during_a_2000_message_intake() {
    let stack = mailstack();
    let user = "desk12@desk.test";
    clear(&stack, user, &["INBOX"]);
    append(&stack, user, "INBOX", "kill9", 0, 2000);
    let d = imap_desk(
        &stack,
        &[InboxSpec {
            name: "support",
            user,
            tls: "implicit",
            password: "secret",
            ca: None,
            extra: "after = \"seen\"\nbatch = 50",
        }],
    );
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(42)
        | 1;
    eprintln!("kill -9 schedule seed: {seed}");
    let mut rng = Rng(seed);
    let mut progress = Vec::new();
    for _ in 0..10 {
        let mut daemon = d.t.serve();
        if common::engine() == "postgres" {
            // The inbox is read under a lease, which the restarted node
            // takes (freeing its killed predecessor's first): the kill
            // is timed from when this node reads.
            let pid = daemon.child.id();
            wait_for(&d.t, 30, "the node to take the inbox's lease", || {
                status(&d.t)["cluster"]["leases"]
                    .as_array()
                    .is_some_and(|l| {
                        l.iter().any(|l| {
                            l["name"] == "inbox:support"
                                && l["holder"]
                                    .as_str()
                                    .is_some_and(|h| h.contains(&format!("/{pid}/")))
                        })
                    })
            });
        }
        std::thread::sleep(Duration::from_millis(50 + rng.next(400)));
        daemon.child.kill().expect("kill -9");
        daemon.child.wait().expect("reap");
        progress.push(stored_once(&d.t).len());
    }
    eprintln!("stored after each kill: {progress:?}");
    assert!(
        progress.first().is_some_and(|n| *n < 2000),
        "the first kill came before the end: {progress:?}"
    );
    let mut daemon = d.t.serve();
    // A bound, not a speed: PostgreSQL's intake is slower here (batches
    // of 50 take 1-4 s in a debug build as the desk grows; ENGINE.md).
    let bound = if common::engine() == "postgres" {
        400
    } else {
        120
    };
    wait_for(&d.t, bound, "all 2,000 stored and seen", || {
        stored_count(&d.t) == 2000 && folder_status(&stack, user, "INBOX") == Some((2000, 0))
    });
    assert!(daemon.terminate().success());
    assert_eq!(stored_once(&d.t), expected_ids("kill9", 0..2000));
}

/// The processes whose parent is `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Kills the stack's Dovecot — the master and every process it started,
/// so each client connection is cut, as a crash or an OOM kill does —
/// and starts it again after `down_for`.
fn restart_dovecot(stack: &Stack, down_for: Duration) {
    let pid: u32 = std::fs::read_to_string(stack.dir.join("run/master.pid"))
        .expect("dovecot master.pid")
        .trim()
        .parse()
        .expect("a pid");
    // Only this stack's own processes, by pid.
    let mut victims = children_of(pid);
    victims.push(pid);
    for p in &victims {
        let _ = Command::new("kill")
            .args(["-KILL", &p.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    // Killed processes linger as zombies for a second on this kind of VM
    // (kill -0 still succeeds), and Dovecot refuses to start while its pid
    // file names a process that exists.
    let gone = |p: &u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .map(|st| {
                st.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true)
    };
    wait_until(20, "dovecot's processes to exit", || {
        victims.iter().all(gone)
    });
    let _ = std::fs::remove_file(stack.dir.join("run/master.pid"));
    let port = stack.port("imaps_port");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port as u16)).is_ok() {
        assert!(Instant::now() < deadline, "dovecot did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(down_for);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(stack.dir.join("log/dovecot-start.log"))
        .unwrap();
    // Its sockets may still look in use for a moment: try a few times.
    let mut started = false;
    for _ in 0..20 {
        let status = Command::new("dovecot")
            .arg("-c")
            .arg(stack.dir.join("dovecot/dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log.try_clone().unwrap())
            .status()
            .expect("dovecot runs");
        if status.success() {
            started = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        started,
        "dovecot did not start again; see {}",
        stack.dir.join("log/dovecot-start.log").display()
    );
    wait_until(20, "dovecot listening again", || {
        std::net::TcpStream::connect(("127.0.0.1", port as u16)).is_ok()
    });
}

#[test]
fn dovecot_restart_mid_run_loses_and_doubles_nothing() {
    let began = Instant::now();
    let stack = Stack::start("imap-restart", 14000);
    let info = &stack.info;
    let user = "desk5@desk.test";
    let d = imap_desk(
        info,
        &[InboxSpec {
            name: "support",
            user,
            tls: "implicit",
            password: "secret",
            ca: None,
            extra: "after = \"move:Processed\"\nbatch = 10",
        }],
    );
    let _daemon = d.t.serve();
    // Mail keeps arriving (a client APPENDing, reconnecting through the
    // outage) while the desk takes it in.
    let appender = imap_client_cmd(
        info,
        user,
        &["append-through-outages", "INBOX", "restart", "0", "1500"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("python3 runs");
    wait_for(&d.t, 60, "mail flowing in", || stored_count(&d.t) >= 100);
    let at_restart = stored_count(&d.t);
    eprintln!("restart test: restarting at {:?}", began.elapsed());
    restart_dovecot(&stack, Duration::from_millis(500));
    eprintln!("restart test: restarted at {:?}", began.elapsed());
    let out = appender.wait_with_output().expect("appender finishes");
    eprintln!("restart test: appender done at {:?}", began.elapsed());
    assert!(
        out.status.success(),
        "appender: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(
        &d.t,
        150,
        "all 1,500 stored and moved after the restart",
        || stored_count(&d.t) == 1500 && folder_status(info, user, "INBOX") == Some((0, 0)),
    );
    assert!(
        at_restart < 1500,
        "the restart came before the intake ended ({at_restart} stored)"
    );
    // At least 1,500: an APPEND cut off by the restart may have landed
    // twice on the server (the desk stores it once).
    eprintln!("restart test: {:?} in total", began.elapsed());
    let moved = folder_status(info, user, "Processed").map(|s| s.0);
    assert!(moved.is_some_and(|n| n >= 1500), "{moved:?}");
    let log = serve_log(&d.t);
    assert!(
        log.matches("IMAP inbox connected").count() >= 2,
        "it reconnected:\n{log}"
    );
    drop(_daemon);
    assert_eq!(stored_once(&d.t), expected_ids("restart", 0..1500));
}

/// A token introspection endpoint (RFC 7662) for Dovecot's oauth2 passdb:
/// `good-token` belongs to the user given, anything else is inactive.
/// Prints its port, then serves until killed.
const INTROSPECTION: &str = r#"
import http.server, json, sys, urllib.parse
user = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        token = urllib.parse.parse_qs(body).get("token", [""])[0]
        answer = {"active": True, "username": user} if token == "good-token" else {"active": False}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

/// Kills the introspection server when the test ends, however it ends.
struct Endpoint(std::process::Child);

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn xoauth2_with_a_token_command_against_dovecot_oauth2() {
    use std::io::BufRead;
    let stack = Stack::start("imap-oauth", 15000);
    let info = &stack.info;
    let user = "desk5@desk.test";

    let mut child = Command::new("python3")
        .arg("-c")
        .arg(INTROSPECTION)
        .arg(user)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().expect("stdout");
    let endpoint = Endpoint(child);
    let mut port = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut port)
        .expect("the endpoint prints its port");
    let port: u16 = port.trim().parse().expect("a port number");

    // Dovecot checks XOAUTH2 tokens at the endpoint (this stack only; the
    // shared stack's config stays as tests/mailstack/start.sh writes it).
    let conf = stack.dir.join("dovecot/dovecot.conf");
    let ext = stack.dir.join("dovecot/oauth2.conf.ext");
    std::fs::write(
        &ext,
        format!(
            "introspection_mode = post\nintrospection_url = http://127.0.0.1:{port}/introspect\n\
             force_introspection = yes\nusername_attribute = username\n\
             active_attribute = active\nactive_value = true\n"
        ),
    )
    .unwrap();
    let text = std::fs::read_to_string(&conf).unwrap();
    let text = text
        .replace(
            "auth_mechanisms = plain login",
            "auth_mechanisms = plain login xoauth2 oauthbearer",
        )
        .replacen(
            "passdb {",
            &format!(
                "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\npassdb {{",
                ext.display()
            ),
            1,
        );
    std::fs::write(&conf, text).unwrap();
    restart_dovecot(&stack, Duration::ZERO);

    clear(info, user, &["INBOX"]);
    append(info, user, "INBOX", "oauth", 0, 5);
    let runs = tempfile::NamedTempFile::new().unwrap();
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "expired-token\n").unwrap();
    let common = format!(
        "kind = \"imap\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"implicit\"\nca_file = \"{}\"\npoll = \"60s\"\n",
        info["imaps_port"],
        info["ca_file"].as_str().unwrap()
    );
    let t = TestDesk::with(Options {
        extra: format!(
            "\n[ack]\nenabled = false\n\n[[inbox]]\nname = \"oauth\"\n{common}username = \"{user}\"\n\
             oauth2_token_command = \"echo run >> {runs}; printf good-token\"\nafter = \"seen\"\n\n\
             [[inbox]]\nname = \"expired\"\n{common}username = \"desk6@desk.test\"\n\
             oauth2_token_file = \"{bad}\"\n",
            runs = runs.path().display(),
            bad = bad.path().display(),
        ),
        ..Options::default()
    });
    let mut daemon = t.serve();
    wait_for(&t, 30, "the 5 messages read with XOAUTH2", || {
        stored_count(&t) == 5 && folder_status(info, user, "INBOX") == Some((5, 0))
    });
    wait_for(&t, 30, "the refused token in status", || {
        inbox_state(&t, "expired")["last_error"].is_string()
    });
    let e = inbox_state(&t, "expired")["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        e.contains("authentication failed") && e.contains("XOAUTH2"),
        "{e}"
    );
    assert!(daemon.terminate().success());
    let ran = std::fs::read_to_string(runs.path()).unwrap();
    assert!(ran.lines().count() >= 1, "the token command ran");
    assert_eq!(stored_once(&t), expected_ids("oauth", 0..5));
    drop(endpoint);
}

/// Without MOVE and UIDPLUS (older servers) `move:` becomes COPY +
/// \Deleted + EXPUNGE, and a plain EXPUNGE is only sent while no one
/// else's message is flagged \Deleted: a person's pending deletion is never
/// carried out by the desk, and that person's message is not taken either.
#[test]
fn without_move_and_uidplus_only_our_messages_go() {
    let stack = Stack::start("imap-oldserver", 16000);
    let info = &stack.info;
    let conf = stack.dir.join("dovecot/dovecot.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    // What an old server advertises after login: no MOVE, no UIDPLUS.
    text.push_str("\nprotocol imap {\n  imap_capability = IMAP4rev1 IDLE\n}\n");
    std::fs::write(&conf, text).unwrap();
    restart_dovecot(&stack, Duration::ZERO);

    let (a, b) = ("desk5@desk.test", "desk6@desk.test");
    append(info, a, "INBOX", "old-a", 0, 20);
    // A person has flagged this one for deletion but not expunged it.
    append_flagged(info, a, "INBOX", "person", 0, 1, "(\\Deleted)");
    append(info, b, "INBOX", "old-b", 0, 20);
    let d = imap_desk(
        info,
        &[
            InboxSpec {
                name: "moving",
                user: a,
                tls: "implicit",
                password: "secret",
                ca: None,
                extra: "after = \"move:Archive\"",
            },
            InboxSpec {
                name: "deleting",
                user: b,
                tls: "implicit",
                password: "secret",
                ca: None,
                extra: "after = \"delete\"",
            },
        ],
    );
    let count = |user: &str, folder: &str, criteria: &str| -> u64 {
        imap_client(info, user, &["count", folder, criteria])
            .trim()
            .parse()
            .unwrap_or(u64::MAX)
    };
    let mut daemon = d.t.serve();
    wait_for(&d.t, 60, "both inboxes handled", || {
        stored_count(&d.t) == 40
            && count(a, "INBOX", "DELETED") == 21
            && folder_status(info, b, "INBOX") == Some((0, 0))
    });
    // Copied once, ours flagged but left in place beside the person's.
    assert_eq!(folder_status(info, a, "Archive").map(|s| s.0), Some(20));
    assert_eq!(folder_status(info, a, "INBOX").map(|s| s.0), Some(21));
    assert!(daemon.terminate().success());
    let mut expected = expected_ids("old-a", 0..20);
    expected.extend(expected_ids("old-b", 0..20));
    assert_eq!(
        stored_once(&d.t),
        expected,
        "the person's deleted message was left alone"
    );
}
