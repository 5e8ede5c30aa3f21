//! A full disk under a running daemon, as it happens: the state directory
//! sits on a small file system (a tmpfs mounted for the test, so it needs
//! root, as CI has), which fills while mail keeps coming by Maildir and by
//! the MTA's pipe. The daemon must say it is stuck (`/healthz` 503,
//! `status`), take nothing it cannot store, and resume by itself, in the
//! same process, once space is freed: every message stored once, every
//! customer acknowledged once.
//!
//! Sled only, on either pass of the suite ([`common::SLED_ONLY`]): the
//! disk that fills is the one under sled's state directory. A PostgreSQL
//! desk's full disk is the database server's (it refuses writes; the
//! desk then meets an unreachable or failing store: tests/postgres.rs).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{deliver, mail, wait_until, Daemon, Options, TestDesk};

/// `serve` under a stand-in for systemd's notify socket, which records
/// when each watchdog ping arrived.
fn serve_notified(t: &TestDesk) -> (Daemon, std::sync::mpsc::Receiver<(Instant, String)>) {
    let sock_path = t.dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).expect("notify socket");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if tx.send((Instant::now(), msg)).is_err() {
                return;
            }
        }
    });
    let log = std::fs::File::create(t.dir.path().join("serve.log")).expect("log");
    let child = t
        .cmd()
        .arg("serve")
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "30000000")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("spawn serve");
    let socket = t.state_dir().join("control.sock");
    wait_until(20, "the control socket", || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    });
    (Daemon { child }, rx)
}

/// When the watchdog pings received so far arrived.
fn pings(rx: &std::sync::mpsc::Receiver<(Instant, String)>, into: &mut Vec<(Instant, String)>) {
    while let Ok((at, msg)) = rx.try_recv() {
        into.push((at, msg));
    }
}

/// A tmpfs mounted over `dir` for the test's life.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("mount point");
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            o.status.success(),
            "this test mounts a small tmpfs to fill it, which needs root (CI runs as root; \
             run `sudo -E cargo test --test full_disk`): {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the file system says it is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).expect("create filler");
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

fn healthz(port: u16) -> (String, String) {
    let o = Command::new("curl")
        .args(["-s", "-m", "5", "-w", "\n%{http_code}"])
        .arg(format!("http://127.0.0.1:{port}/healthz"))
        .output()
        .expect("curl (apt-get install curl)");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    (code.to_string(), body.to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn customer(i: usize) -> Vec<u8> {
    mail(
        &format!("c{i}@customer.test"),
        &format!("Question {i}"),
        &format!("q{i}@customer.test"),
        "",
        &format!("Hello, this is question {i}."),
    )
}

/// Acknowledgements in the spool, by customer.
fn acks(t: &TestDesk) -> std::collections::BTreeMap<String, usize> {
    let mut by = std::collections::BTreeMap::new();
    let dir = t.dir.path().join("outgoing");
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(raw) = std::fs::read(e.path()) else {
            continue;
        };
        let Ok(m) = postdesk::mail::parse(&raw) else {
            continue;
        };
        for to in &m.to {
            *by.entry(to.email.clone()).or_insert(0) += 1;
        }
    }
    by
}

#[test]
fn a_full_disk_pauses_intake_and_it_resumes_by_itself_when_space_returns() {
    let port = free_port();
    let t = TestDesk::with(Options {
        extra: format!(
            "[metrics]\nlisten = \"127.0.0.1:{port}\"\n[daemon]\nstuck_after = \"1s\"\n{}",
            common::SLED_ONLY
        ),
        ..Options::default()
    });
    let _fs = Tmpfs::mount(&t.state_dir(), "12m");
    let (mut daemon, notified) = serve_notified(&t);
    let mut watchdog = Vec::new();
    let pid = daemon.child.id();
    for i in 1..=3 {
        deliver(&t.inbox(), &format!("m{i}"), &customer(i));
    }
    wait_until(30, "three tickets", || {
        t.tickets_json().as_array().is_some_and(|a| a.len() == 3)
    });

    // The disk fills; mail keeps coming. The store may still have room in
    // what it allocated before: what it takes then is stored durably (exit
    // 0); the first write it cannot make is refused to the MTA (75).
    let filler = t.state_dir().join("filler");
    fill(&filler);
    let mut next = 4;
    let refused = loop {
        assert!(
            next < 200,
            "200 mails piped into a full disk and none refused"
        );
        let piped = t.pipe(&customer(next));
        match piped.status.code() {
            Some(0) => next += 1,
            Some(75) => break next,
            other => panic!(
                "the MTA must be told to try again later (75), got {other:?}: {}",
                String::from_utf8_lossy(&piped.stderr)
            ),
        }
    };
    let maildir = [refused + 1, refused + 2];
    for i in maildir {
        deliver(&t.inbox(), &format!("m{i}"), &customer(i));
    }
    wait_until(30, "/healthz to say stuck", || {
        let (code, body) = healthz(port);
        code == "503" && body.contains("stuck: storage")
    });
    let status = t.run(&["status"]);
    let said = String::from_utf8_lossy(&status.stdout).into_owned();
    assert_eq!(status.status.code(), Some(1), "{said}");
    assert!(said.contains("STUCK") && said.contains("storage"), "{said}");
    // Nothing it could not store was taken from the Maildir.
    std::thread::sleep(Duration::from_secs(2));
    let waiting = std::fs::read_dir(t.inbox().join("new"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(waiting, 2, "the two mails wait in new/");
    // Stuck past `daemon.stuck_after`: the watchdog is no longer fed, so
    // systemd would restart the service.
    std::thread::sleep(Duration::from_secs(3));
    pings(&notified, &mut watchdog);
    let quiet_since = Instant::now() - Duration::from_millis(2500);
    let fed: Vec<&Instant> = watchdog
        .iter()
        .filter(|(_, m)| m.contains("WATCHDOG=1"))
        .map(|(at, _)| at)
        .collect();
    assert!(
        !fed.is_empty() && fed.iter().all(|at| **at < quiet_since),
        "watchdog pings must stop once stuck past stuck_after; {} pings, last {:?} ago",
        fed.len(),
        fed.last().map(|at| at.elapsed())
    );
    assert!(
        watchdog
            .iter()
            .any(|(_, m)| m.contains("STATUS=stuck: storage")),
        "systemctl status says why: {watchdog:?}"
    );

    // Space comes back: the same process resumes.
    std::fs::remove_file(&filler).expect("free the space");
    let freed = Instant::now();
    wait_until(60, "the Maildir to be read again", || {
        std::fs::read_dir(t.inbox().join("new"))
            .map(|d| d.count())
            .unwrap_or(1)
            == 0
    });
    let resumed = freed.elapsed();
    let piped = t.pipe(&customer(refused));
    assert!(
        piped.status.success(),
        "the MTA's retry is taken: {}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert!(
        daemon.child.try_wait().ok().flatten().is_none(),
        "the daemon healed without a restart"
    );
    assert_eq!(daemon.child.id(), pid);
    let tickets = t.tickets_json();
    let subjects: Vec<&str> = tickets
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["subject"].as_str())
        .collect();
    let total = refused + 2;
    assert_eq!(
        subjects.len(),
        total,
        "each message stored once: {subjects:?}"
    );
    wait_until(30, "an acknowledgement to each customer", || {
        acks(&t).len() == total
    });
    std::thread::sleep(Duration::from_secs(1));
    for (who, n) in acks(&t) {
        assert_eq!(n, 1, "{who} acknowledged {n} times");
    }
    let (code, body) = healthz(port);
    assert_eq!(code, "200", "{body}");
    let before = watchdog.len();
    wait_until(10, "the watchdog fed again", || {
        pings(&notified, &mut watchdog);
        watchdog[before..]
            .iter()
            .any(|(_, m)| m.contains("WATCHDOG=1"))
    });
    assert!(daemon.terminate().success());
    let log = std::fs::read_to_string(t.dir.path().join("serve.log")).unwrap_or_default();
    let outage_lines = log
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .count();
    eprintln!(
        "full disk: intake resumed {:.1}s after space was freed; {outage_lines} warning/error log lines",
        resumed.as_secs_f64()
    );
}
