//! Several `serve` nodes of one desk on one PostgreSQL database, for the
//! tests of nodes sharing inboxes and taking them over
//! (tests/postgres_nodes.rs, tests/postgres_ha.rs). Each node runs the
//! desk's configuration with a state directory of its own (its control
//! socket, its `node` file), as a second machine would.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::TestDesk;

/// A second node of the same desk: the same configuration but its own
/// state directory (its control socket).
pub fn node_config(t: &TestDesk, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(&t.config_path).expect("config");
    let state = t.state_dir();
    let own = t.dir.path().join(name);
    let path = t.dir.path().join(format!("{name}.toml"));
    std::fs::write(
        &path,
        text.replace(
            &format!("state_dir = \"{}\"", state.display()),
            &format!("state_dir = \"{}\"", own.display()),
        ),
    )
    .expect("write node config");
    path
}

/// The pid in a node id (`host/pid/nonce`).
pub fn pid_of(node: &str) -> Option<u32> {
    node.split('/').nth(1)?.parse().ok()
}

/// One `serve` node, restartable; its log is appended to across starts.
/// Killed when dropped, so a failed test leaves no daemon behind.
pub struct Node {
    config: PathBuf,
    pub log: PathBuf,
    child: Child,
    /// How many times this node was started: its log says "postdesk
    /// serving" once per start that came up.
    starts: usize,
}

impl Node {
    pub fn start(config: PathBuf, log: PathBuf) -> Node {
        let child = spawn(&config, &log);
        Node {
            config,
            log,
            child,
            starts: 1,
        }
    }

    /// Node `name` of desk `t`, started: its configuration
    /// (`node-NAME.toml`, state directory `node-NAME`) and its log
    /// (`NAME.log`) in the desk's directory.
    pub fn of(t: &TestDesk, name: &str) -> Node {
        Node::start(
            node_config(t, &format!("node-{name}")),
            t.dir.path().join(format!("{name}.log")),
        )
    }

    /// Nodes `a` and `b` of desk `t` ([`Node::of`]), started together.
    pub fn pair(t: &TestDesk) -> [Node; 2] {
        ["a", "b"].map(|name| Node::of(t, name))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill9(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid().to_string()])
            .status();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.child = spawn(&self.config, &self.log);
        self.starts += 1;
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM once the node is serving (as systemd stops a unit it saw
    /// come up); the node must stop cleanly. A SIGTERM in the first
    /// moments after exec, before the process has a handler, ends it by
    /// the signal's default action, which says nothing about the daemon's
    /// own shutdown.
    pub fn stop(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while self.alive()
            && serving_lines(&self.log) < self.starts
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        assert!(
            status.success(),
            "a node did not stop cleanly: {status}\n{}",
            tail(&self.log)
        );
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn spawn(config: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log");
    Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env_remove("POSTDESK_CONFIG")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("spawn serve")
}

/// How many times a node's log says it came up.
fn serving_lines(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("postdesk serving")
        .count()
}

/// The last 40 lines of a log, for a failure's message.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// One Dovecot user's INBOX of the shared mail stack
/// (POSTDESK_MAILSTACK), read by the nodes as an IMAP inbox: mail is put
/// straight into its Maildir (as the stack's LDA would), and the test
/// asks the server what is left unread.
pub struct ImapInbox<'s> {
    pub stack: &'s Value,
    /// The Dovecot user, `name@domain`.
    pub user: &'static str,
}

/// The python imaplib client the checks use: `clear` empties the INBOX,
/// `status` prints its MESSAGES and UNSEEN.
const IMAP_CLIENT: &str = r#"
import imaplib, ssl, sys
cmd, port, ca, user = sys.argv[1:5]
m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ssl.create_default_context(cafile=ca), timeout=30)
m.login(user, "secret")
if cmd == "clear":
    typ, data = m.select("INBOX")
    if int(data[0]) > 0:
        m.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        m.expunge()
    m.close()
elif cmd == "status":
    typ, data = m.status("INBOX", "(MESSAGES UNSEEN)")
    print(data[0].decode())
m.logout()
"#;

impl ImapInbox<'_> {
    fn client(&self, cmd: &str) -> String {
        let out = Command::new("python3")
            .arg("-c")
            .arg(IMAP_CLIENT)
            .arg(cmd)
            .arg(self.stack["imaps_port"].to_string())
            .arg(self.stack["ca_file"].as_str().expect("ca_file"))
            .arg(self.user)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "imaplib {cmd} {}: {}",
            self.user,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Logs in (which also makes the Maildir) and deletes every message:
    /// the test starts from an empty INBOX even on a stack a run used.
    pub fn clear(&self) {
        self.client("clear");
    }

    /// (messages, unseen) in the INBOX.
    pub fn status(&self) -> (u64, u64) {
        let line = self.client("status");
        let num = |key: &str| -> u64 {
            let rest = &line[line.find(key).expect("status item") + key.len()..];
            rest.trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a number")
        };
        (num("MESSAGES"), num("UNSEEN"))
    }

    /// The `[[inbox]]` table reading this INBOX as inbox `name`, with the
    /// password in `password_file`.
    pub fn inbox_toml(&self, name: &str, password_file: &Path, poll: &str) -> String {
        format!(
            "\n[[inbox]]\nname = \"{name}\"\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {}\n\
             tls = \"implicit\"\nca_file = \"{}\"\nusername = \"{}\"\n\
             password_file = \"{}\"\nafter = \"seen\"\npoll = \"{poll}\"\n",
            self.stack["imaps_port"],
            self.stack["ca_file"].as_str().expect("ca_file"),
            self.user,
            password_file.display()
        )
    }

    /// Delivers customer mails `range` of `tag` ([`customer_mail`])
    /// straight into the user's Maildir, as its LDA would (tmp/, then a
    /// rename into new/), owned by the mail user.
    pub fn deliver(&self, tag: &str, range: std::ops::Range<usize>) {
        let root = Path::new(self.stack["maildir_root"].as_str().expect("maildir_root"));
        let (local, domain) = self.user.split_once('@').expect("user@domain");
        let maildir = root.join(domain).join(local).join("Maildir");
        let (uid, gid) = (
            self.stack["mail_uid"].as_u64().expect("mail_uid") as u32,
            self.stack["mail_gid"].as_u64().expect("mail_gid") as u32,
        );
        for i in range {
            let name = format!("1780000000.{tag}{i}.postdesk-test");
            let tmp = maildir.join("tmp").join(&name);
            std::fs::write(&tmp, customer_mail(self.user, tag, i)).expect("write tmp");
            std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)).expect("chown");
            std::fs::rename(&tmp, maildir.join("new").join(&name)).expect("rename into new");
        }
    }
}

/// Customer `tag{i}@customer.test`'s mail to `to`: a sender and a
/// Message-ID of its own, so that each mail is a ticket of its own.
pub fn customer_mail(to: &str, tag: &str, i: usize) -> Vec<u8> {
    format!(
        "From: Customer {i} <{tag}{i}@customer.test>\r\nTo: {to}\r\n\
         Subject: Case {tag} {i}\r\nMessage-ID: <{tag}-{i}@customer.test>\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello, my order {i} has not arrived.\r\n"
    )
    .into_bytes()
}

/// How many tickets the desk lists; 0 while it cannot be asked.
pub fn ticket_count(t: &TestDesk) -> usize {
    let out = t.run(&["tickets", "list", "--all", "--json"]);
    if !out.status.success() {
        return 0;
    }
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Checks the tickets through the CLI: `want` tickets, one message each,
/// each from a requester of its own (every mail in exactly one ticket
/// message). Returns the requesters.
pub fn one_ticket_per_mail(t: &TestDesk, want: usize) -> HashSet<String> {
    let tickets = t.tickets_json();
    let tickets = tickets.as_array().expect("tickets");
    let mut requesters = HashSet::new();
    for ticket in tickets {
        assert_eq!(
            ticket["message_count"].as_u64(),
            Some(1),
            "a message stored twice: {ticket}"
        );
        let who = ticket["requester"]["email"]
            .as_str()
            .or_else(|| ticket["requester"].as_str())
            .unwrap_or_default()
            .to_string();
        assert!(requesters.insert(who.clone()), "two tickets for {who}");
    }
    assert_eq!(tickets.len(), want, "one ticket per message");
    requesters
}
