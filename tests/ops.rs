//! Running postdesk as a service: systemd notifications, graceful shutdown
//! under load, SIGHUP with a bad template, the metrics endpoint, backup and
//! restore while serving, log formats. No mail stack needed (Maildir and
//! pipe intake, file spool out); the secrets-in-logs test is in
//! tests/ops_secrets.rs because it talks to the real IMAP server.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{deliver, mail, wait_until, Options, TestDesk};

fn log(t: &TestDesk) -> String {
    std::fs::read_to_string(t.dir.path().join("serve.log")).unwrap_or_default()
}

fn ticket_count(t: &TestDesk) -> usize {
    t.tickets_json().as_array().map_or(0, |a| a.len())
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

fn kill(pid: u32, sig: &str) {
    Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
}

#[test]
fn notify_socket_gets_ready_status_watchdog_and_stopping() {
    let t = TestDesk::new();
    let sock_path = t.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let logf = std::fs::File::create(t.dir.path().join("serve.log")).unwrap();
    let mut child = t
        .cmd()
        .arg("serve")
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "2000000")
        .stdin(Stdio::null())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf)
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut recv_until = |want: &str, got: &mut Vec<String>| {
        for _ in 0..50 {
            if got.iter().any(|m: &String| m.contains(want)) {
                return;
            }
            let n = sock
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("no {want} ({e}); got {got:?}\n{}", log(&t)));
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        panic!("no {want} among {got:?}");
    };
    recv_until("READY=1", &mut got);
    recv_until("STATUS=1/1 inboxes connected, 0 mail queued", &mut got);
    recv_until("WATCHDOG=1", &mut got);
    // READY comes only once the control socket answers.
    assert!(std::os::unix::net::UnixStream::connect(t.state_dir().join("control.sock")).is_ok());
    kill(child.id(), "-HUP");
    recv_until("RELOADING=1", &mut got);
    kill(child.id(), "-TERM");
    recv_until("STOPPING=1", &mut got);
    assert!(child.wait().unwrap().success());
}

#[test]
fn graceful_shutdown_under_load_loses_nothing() {
    let t = TestDesk::new();
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(t.inbox().join(sub)).unwrap();
    }
    let n = 400;
    for i in 0..n {
        deliver(
            &t.inbox(),
            &format!("m{i}.eml"),
            &mail(
                &format!("c{i}@customer.test"),
                &format!("Load {i}"),
                &format!("load{i}@c"),
                "",
                "please help",
            ),
        );
    }
    let mut daemon = t.serve();
    // Pipe deliveries race the shutdown too: each must end stored (exit 0)
    // or handed back to the MTA (75), never lost.
    let pipes: Vec<_> = (0..8)
        .map(|i| {
            let raw = mail(
                "p@customer.test",
                &format!("Pipe {i}"),
                &format!("pipe{i}@c"),
                "",
                "hi",
            );
            let cmd = t.cmd();
            std::thread::spawn(move || {
                let mut cmd = cmd;
                let mut child = cmd
                    .arg("ingest")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                use std::io::Write;
                child.stdin.take().unwrap().write_all(&raw).unwrap();
                (i, child.wait().unwrap().code())
            })
        })
        .collect();
    // Stop while the backlog is being taken.
    wait_until(30, "intake to start", || {
        count_files(&t.inbox().join("cur")) > 0
    });
    let status = daemon.terminate();
    assert!(status.success(), "serve exit {status:?}\n{}", log(&t));
    let mut handed_back = Vec::new();
    for p in pipes {
        let (i, code) = p.join().unwrap();
        match code {
            Some(0) => {}
            Some(75) => handed_back.push(i),
            other => panic!("pipe {i} exited {other:?}: neither stored nor handed back"),
        }
    }
    assert!(
        log(&t).contains("drained: everything taken is stored durably"),
        "{}",
        log(&t)
    );
    // Everything marked done at the source is in the store now.
    let done = count_files(&t.inbox().join("cur"));
    let stored: HashSet<String> = t
        .tickets_json()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["subject"].as_str().unwrap().to_string())
        .collect();
    let stored_load = stored.iter().filter(|s| s.starts_with("Load ")).count();
    assert!(
        stored_load >= done,
        "{done} marked done, only {stored_load} stored"
    );
    // What the MTA still holds, it delivers again; the rest is read on the
    // next start. Then every message is there exactly once.
    for i in handed_back {
        let out = t.pipe(&mail(
            "p@customer.test",
            &format!("Pipe {i}"),
            &format!("pipe{i}@c"),
            "",
            "hi",
        ));
        assert!(out.status.success());
    }
    let _daemon = t.serve();
    wait_until(60, "the backlog to be taken", || {
        count_files(&t.inbox().join("new")) == 0
    });
    let tickets = t.tickets_json();
    let subjects: Vec<&str> = tickets
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects.len(), n + 8, "every message once");
    let unique: HashSet<&&str> = subjects.iter().collect();
    assert_eq!(unique.len(), n + 8, "no doubles");
}

#[test]
fn sighup_with_a_bad_template_keeps_the_old_one() {
    let t = TestDesk::new();
    let templates = t.dir.path().join("templates");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
        &templates,
    );
    let config = std::fs::read_to_string(&t.config_path).unwrap().replace(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("templates")
            .display()
            .to_string(),
        &templates.display().to_string(),
    );
    std::fs::write(&t.config_path, config).unwrap();
    let ack = templates.join("ack.hbs");
    let original = std::fs::read_to_string(&ack).unwrap();
    std::fs::write(
        &ack,
        original.replacen("Hello", "Hello-from-the-first-set", 1),
    )
    .unwrap();
    let daemon = t.serve();
    let send = |i: u32| {
        deliver(
            &t.inbox(),
            &format!("h{i}.eml"),
            &mail(
                "carol@customer.test",
                &format!("Question {i}"),
                &format!("q{i}@c"),
                "",
                "hi",
            ),
        );
        wait_until(20, "the acknowledgement", || {
            spool_texts(&t)
                .iter()
                .any(|m| m.contains(&format!("Question {i}")))
        });
        spool_texts(&t)
            .into_iter()
            .find(|m| m.contains(&format!("Question {i}")))
            .unwrap()
    };
    assert!(send(1).contains("Hello-from-the-first-set"));

    // A broken edit (an unclosed block); the file watcher may see it first,
    // SIGHUP must refuse it just the same.
    std::fs::write(
        &ack,
        original.replacen("Hello", "{{#if customer.name}}Broken", 1),
    )
    .unwrap();
    let refusals = log(&t).matches("reload refused").count();
    kill(daemon.child.id(), "-HUP");
    wait_until(20, "the refusal", || {
        log(&t).matches("reload refused").count() > refusals
    });
    assert!(
        log(&t).contains("ack.hbs"),
        "the error names the file:\n{}",
        log(&t)
    );
    let second = send(2);
    assert!(
        second.contains("Hello-from-the-first-set"),
        "the old template stays live:\n{second}"
    );

    // Fixed: the next SIGHUP takes it.
    std::fs::write(
        &ack,
        original.replacen("Hello", "Hello-from-the-second-set", 1),
    )
    .unwrap();
    kill(daemon.child.id(), "-HUP");
    wait_until(20, "the reload", || {
        log(&t).contains("reloaded rules and templates")
            && log(&t).rfind("reloaded rules and templates") > log(&t).rfind("reload refused")
    });
    assert!(send(3).contains("Hello-from-the-second-set"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The text of every mail in the outgoing spool.
fn spool_texts(t: &TestDesk) -> Vec<String> {
    std::fs::read_dir(t.dir.path().join("outgoing"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read(e.path()).ok())
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .replace("=\r\n", "")
                        .replace("=\n", "")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One sample of a strict parse of the Prometheus/OpenMetrics text format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses exposition text strictly: every line is a comment of a known
/// kind, or `name{label="value",...} number`; names and label names are
/// valid; label values are properly escaped; each sample belongs to a
/// family declared by `# TYPE`; the text ends with `# EOF`.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    let mut eof = false;
    for line in text.lines() {
        assert!(!eof, "text after # EOF: {line}");
        if line == "# EOF" {
            eof = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap();
            let name = parts.next().expect("comment names a family");
            assert!(name_ok(name), "bad family name {name}");
            match kind {
                "TYPE" => {
                    let ty = parts.next().expect("TYPE has a type");
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "summary",
                            "info",
                            "unknown",
                            "stateset",
                            "gaugehistogram"
                        ]
                        .contains(&ty),
                        "unknown type {ty}"
                    );
                    families.insert(name.to_string(), ty.to_string());
                }
                "HELP" | "UNIT" => {}
                other => panic!("unknown comment {other}: {line}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.strip_suffix('}').expect("labels close")),
            None => (series, ""),
        };
        assert!(name_ok(name), "bad metric name {name}");
        let family = ["_total", "_bucket", "_sum", "_count", "_info", "_created"]
            .iter()
            .find_map(|suf| name.strip_suffix(suf).filter(|f| families.contains_key(*f)))
            .unwrap_or(name);
        assert!(families.contains_key(family), "sample {name} has no # TYPE");
        let mut map = BTreeMap::new();
        let mut rest = labels;
        while !rest.is_empty() {
            let (k, after) = rest.split_once("=\"").expect("label=\"value\"");
            assert!(name_ok(k), "bad label name {k}");
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                let (i, c) = chars.next().expect("label value closes");
                match c {
                    '\\' => match chars.next().expect("escape").1 {
                        'n' => value.push('\n'),
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        e => panic!("bad escape \\{e}"),
                    },
                    '"' => break i,
                    c => value.push(c),
                }
            };
            map.insert(k.to_string(), value);
            rest = after[end + 1..]
                .strip_prefix(',')
                .unwrap_or(&after[end + 1..]);
        }
        samples.push(Sample {
            name: name.to_string(),
            labels: map,
            value,
        });
    }
    assert!(eof, "no # EOF at the end");
    samples
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

fn curl(url: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10", url])
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").expect("a head and a body");
    (head.to_string(), body.to_string())
}

#[test]
fn metrics_endpoint_answers_in_prometheus_text() {
    let t = TestDesk::with(Options {
        extra: "[metrics]\nlisten = \"127.0.0.1:0\"\n".into(),
        ..Options::default()
    });
    let _daemon = t.serve();
    let status = t.run(&["status", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let url = report["metrics"]
        .as_str()
        .expect("status names the metrics URL")
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/metrics"),
        "{url}"
    );
    // The socket opens before the "serving" line is logged (a shared
    // store takes its leases in between): wait for the line.
    wait_until(20, "the log names the address too", || {
        log(&t).contains(&url)
    });

    for i in 0..3 {
        deliver(
            &t.inbox(),
            &format!("m{i}.eml"),
            &mail(
                "dan@customer.test",
                &format!("Metric {i}"),
                &format!("met{i}@c"),
                "",
                "hi",
            ),
        );
    }
    // A reply (threads by In-Reply-To), a duplicate, and junk for quarantine.
    deliver(
        &t.inbox(),
        "r.eml",
        &mail(
            "dan@customer.test",
            "Re: Metric 0",
            "met-r@c",
            "In-Reply-To: <met0@c>\r\n",
            "more",
        ),
    );
    wait_until(20, "four stored", || {
        ticket_count(&t) == 3 && count_files(&t.inbox().join("new")) == 0
    });
    assert!(t
        .pipe(&mail("dan@customer.test", "Metric 0", "met0@c", "", "hi"))
        .status
        .success());
    t.pipe(b"\x00\x01 not mail at all");

    wait_until(20, "the ack mail to be sent", || {
        let (_, body) = curl(&url);
        body.contains("postdesk_outbox_attempts_total{result=\"sent\"} 3")
    });
    let (head, body) = curl(&url);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    let s = parse_prometheus(&body);
    let got = |name: &str, labels: &[(&str, &str)]| value(&s, name, labels);
    assert_eq!(
        got(
            "postdesk_messages_received_total",
            &[("inbox", "main"), ("result", "new")]
        ),
        Some(3.0)
    );
    assert_eq!(
        got(
            "postdesk_messages_received_total",
            &[("inbox", "main"), ("result", "reply")]
        ),
        Some(1.0)
    );
    assert_eq!(
        got(
            "postdesk_messages_received_total",
            &[("inbox", "pipe"), ("result", "duplicate")]
        ),
        Some(1.0)
    );
    assert_eq!(
        got(
            "postdesk_messages_received_total",
            &[("inbox", "pipe"), ("result", "quarantined")]
        ),
        Some(1.0)
    );
    assert_eq!(got("postdesk_intake_seconds_count", &[]), Some(6.0));
    assert_eq!(
        got("postdesk_intake_seconds_bucket", &[("le", "+Inf")]),
        Some(6.0)
    );
    assert_eq!(
        got(
            "postdesk_tickets",
            &[
                ("status", "new"),
                ("queue", "general"),
                ("priority", "normal")
            ]
        )
        .unwrap_or(0.0)
            + got(
                "postdesk_tickets",
                &[
                    ("status", "open"),
                    ("queue", "general"),
                    ("priority", "normal")
                ]
            )
            .unwrap_or(0.0),
        3.0
    );
    assert_eq!(got("postdesk_outbox_queued", &[]), Some(0.0));
    assert_eq!(got("postdesk_quarantined", &[]), Some(1.0));
    assert_eq!(
        got(
            "postdesk_inbox_connected",
            &[("inbox", "main"), ("kind", "maildir")]
        ),
        Some(1.0)
    );
    assert!(got("postdesk_build_info", &[]).is_some());

    let (head, body) = curl(&url.replace("/metrics", "/healthz"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        body.starts_with("ok\n") && body.contains("inboxes connected 1/1"),
        "{body}"
    );
    let (head, _) = curl(&url.replace("/metrics", "/nope"));
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

#[test]
fn metrics_refuse_a_remote_listener_unless_allowed() {
    let t = TestDesk::with(Options {
        extra: "[metrics]\nlisten = \"0.0.0.0:0\"\n".into(),
        ..Options::default()
    });
    let out = t.run(&["check"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("allow_remote"));
}

#[test]
fn backup_while_serving_restores_tickets_messages_and_tokens() {
    // One sender opens all 120 tickets: load, not a flood, so the guards'
    // new-ticket cap is lifted (every ticket then has one message).
    let t = TestDesk::with(common::Options {
        extra: "[guard]\nnew_tickets_per_sender = \"1000/1h\"\n".into(),
        ..common::Options::default()
    });
    let daemon = t.serve();
    for i in 0..40 {
        deliver(
            &t.inbox(),
            &format!("b{i}.eml"),
            &mail(
                "erin@customer.test",
                &format!("Backup {i}"),
                &format!("bk{i}@c"),
                "",
                "hi",
            ),
        );
    }
    wait_until(30, "some stored", || ticket_count(&t) >= 5);
    // More arrive while the backup is taken.
    let more = {
        let inbox = t.inbox();
        std::thread::spawn(move || {
            for i in 40..120 {
                deliver(
                    &inbox,
                    &format!("b{i}.eml"),
                    &mail(
                        "erin@customer.test",
                        &format!("Backup {i}"),
                        &format!("bk{i}@c"),
                        "",
                        "hi",
                    ),
                );
            }
        })
    };
    let dir = t.dir.path().join("backup1");
    let out = t.run(&["backup", dir.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    more.join().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let backed_up = manifest["tickets"].as_u64().unwrap() as usize;
    assert!(backed_up >= 5);
    assert_eq!(manifest["secret"], true);
    // Taken consistently: every ticket in it has its message.
    assert_eq!(
        manifest["trees"]["messages"].as_u64().unwrap() as usize,
        backed_up
    );
    // A second backup into the same directory is refused.
    assert!(!t.run(&["backup", dir.to_str().unwrap()]).status.success());

    // A ticket and its acknowledgement (with the reply token) in the backup.
    let first = t.run(&["tickets", "show", "ACME-1", "--json"]);
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    wait_until(20, "the first ack", || !spool_texts(&t).is_empty());
    let ack = spool_texts(&t)
        .into_iter()
        .find(|m| m.contains("[ACME-1]"))
        .expect("ack of ACME-1");
    let reply_to = ack
        .lines()
        .find_map(|l| l.strip_prefix("Reply-To: "))
        .expect("Reply-To")
        .trim();
    let reply_to = match reply_to.split_once('<') {
        Some((_, rest)) => rest.trim_end_matches('>').to_string(),
        None => reply_to.to_string(),
    };
    assert!(reply_to.starts_with("support+"), "{reply_to}");
    drop(daemon);

    // Restore into a fresh desk.
    let fresh = TestDesk::new();
    let out = fresh.run(&["restore", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ticket_count(&fresh), backed_up);
    let again = fresh.run(&["tickets", "show", "ACME-1", "--json"]);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["messages"], first["messages"]);
    assert_eq!(again["ticket"]["subject"], first["ticket"]["subject"]);
    // Replies to mail sent before the backup still thread by their token.
    let reply = format!(
        "From: erin@customer.test\r\nTo: {reply_to}\r\nSubject: a new subject without a tag\r\nMessage-ID: <after-restore@c>\r\n\r\nstill broken\r\n"
    );
    let out = fresh.pipe(reply.as_bytes());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("stored in ACME-1") && said.contains("token"),
        "{said}"
    );

    // Restoring over a store needs --force, and keeps the old one aside.
    let out = fresh.run(&["restore", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let out = fresh.run(&["restore", dir.to_str().unwrap(), "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_dir(fresh.state_dir())
        .unwrap()
        .flatten()
        .any(|e| e
            .file_name()
            .to_string_lossy()
            .starts_with("before-restore-")));
    // A damaged backup is refused before anything is touched.
    let mut bytes = std::fs::read(dir.join("store.pdx")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(dir.join("store.pdx"), bytes).unwrap();
    let out = fresh.run(&["restore", dir.to_str().unwrap(), "--force"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checksum"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn log_formats_json_and_journald() {
    let t = TestDesk::new();
    let json = t
        .cmd()
        .args(["--log-format", "json", "check"])
        .env("POSTDESK_LOG", "debug")
        .output()
        .unwrap();
    assert!(json.status.success());
    let journald_dir = t.dir.path().join("j");
    let logf = std::fs::File::create(&journald_dir).unwrap();
    let mut child = t
        .cmd()
        .args(["--log-format", "journald", "serve"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(logf)
        .spawn()
        .unwrap();
    wait_until(20, "serving", || {
        std::fs::read_to_string(&journald_dir)
            .unwrap_or_default()
            .contains("postdesk serving")
    });
    kill(child.id(), "-TERM");
    child.wait().unwrap();
    let text = std::fs::read_to_string(&journald_dir).unwrap();
    for line in text.lines() {
        assert!(
            line.len() > 3 && line.starts_with('<') && line.as_bytes()[2] == b'>',
            "every journald line has a priority: {line:?}"
        );
    }
    assert!(text.contains("<6>postdesk serving"), "{text}");

    let mut child = t
        .cmd()
        .args(["--log-format", "json", "serve"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&journald_dir).unwrap())
        .spawn()
        .unwrap();
    wait_until(20, "serving", || {
        std::fs::read_to_string(&journald_dir)
            .unwrap_or_default()
            .contains("postdesk serving")
    });
    kill(child.id(), "-TERM");
    child.wait().unwrap();
    for line in std::fs::read_to_string(&journald_dir).unwrap().lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{line}"
        );
    }
}
