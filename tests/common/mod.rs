//! Shared helpers for integration tests: a desk in a temp dir, the binary,
//! and message builders. Each test binary includes this with `mod common;`
//! and uses what it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use postdesk::config::Config;

pub struct TestDesk {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
}

impl TestDesk {
    /// A desk whose state, inbox and spool live in a fresh temp dir.
    pub fn new() -> TestDesk {
        Self::with_inbox_path(None)
    }

    /// Like [`TestDesk::new`] but reading the Maildir at `inbox`.
    pub fn with_inbox_path(inbox: Option<&Path>) -> TestDesk {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let inbox = inbox
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.join("inbox"));
        let config_path = root.join("postdesk.toml");
        let text = format!(
            r#"
[desk]
name = "Test Desk"
address = "support@desk.test"
ticket_prefix = "ACME"
state_dir = "{state}"
admin = "admin@desk.test"

[[inbox]]
name = "main"
kind = "maildir"
path = "{inbox}"
queue = "general"
poll = "100ms"

[outgoing]
kind = "file"
spool = "{spool}"

[intake]
batch = 200
"#,
            state = root.join("state").display(),
            inbox = inbox.display(),
            spool = root.join("outgoing").display(),
        );
        std::fs::write(&config_path, text).expect("write config");
        TestDesk { dir, config_path }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn inbox(&self) -> PathBuf {
        self.dir.path().join("inbox")
    }

    pub fn config(&self) -> Config {
        Config::load(&self.config_path).expect("test config loads")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
        c.arg("--config").arg(&self.config_path);
        c.env_remove("POSTDESK_CONFIG");
        c
    }

    /// Runs `postdesk ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run postdesk")
    }

    /// Runs `postdesk ingest` with the message on stdin, as an MTA does.
    pub fn pipe(&self, raw: &[u8]) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd()
            .arg("ingest")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ingest");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(raw)
            .expect("write stdin");
        child.wait_with_output().expect("ingest finishes")
    }

    /// Starts `postdesk serve` and waits for its control socket.
    pub fn serve(&self) -> Daemon {
        let log = std::fs::File::create(self.dir.path().join("serve.log")).expect("log file");
        let child = self
            .cmd()
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn serve");
        let socket = self.state_dir().join("control.sock");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "serve did not open its control socket; log:\n{}",
                std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon { child }
    }

    pub fn tickets_json(&self) -> serde_json::Value {
        let out = self.run(&["tickets", "list", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("tickets list --json is JSON")
    }
}

/// A running daemon, stopped with SIGTERM when dropped.
pub struct Daemon {
    pub child: Child,
}

impl Daemon {
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("serve exits")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// A plain customer message.
pub fn mail(
    from: &str,
    subject: &str,
    message_id: &str,
    extra_headers: &str,
    body: &str,
) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: support@desk.test\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra_headers}\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Waits until `check` holds, polling; panics with `what` after `secs`.
pub fn wait_until(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where the real mail stack's description lives. Tests that need the stack
/// fail (never skip) without it, saying how to start it.
pub fn mailstack() -> serde_json::Value {
    let path = std::env::var("POSTDESK_MAILSTACK").unwrap_or_else(|_| {
        panic!(
            "this test needs the real mail stack (Dovecot + Postfix on 127.0.0.1).\n\
             Run the whole suite with `tests/run.sh`, or start the stack with \
             `tests/mailstack/start.sh` and set POSTDESK_MAILSTACK=/tmp/pdstack/stack.json"
        )
    });
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the mail stack description {path}: {e}; start it with tests/mailstack/start.sh"));
    serde_json::from_str(&text).expect("stack.json is JSON")
}

/// Delivers into a Maildir the way MTAs do: write to tmp/, rename into new/.
pub fn deliver(maildir: &Path, name: &str, raw: &[u8]) {
    let tmp = maildir.join("tmp").join(name);
    std::fs::write(&tmp, raw).expect("write tmp");
    std::fs::rename(&tmp, maildir.join("new").join(name)).expect("rename into new");
}
