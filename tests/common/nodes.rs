//! Several `serve` nodes of one desk on one PostgreSQL database, for the
//! tests of nodes sharing inboxes and taking them over
//! (tests/postgres_nodes.rs, tests/postgres_ha.rs). Each node runs the
//! desk's configuration with a state directory of its own (its control
//! socket, its `node` file), as a second machine would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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
}

impl Node {
    pub fn start(config: PathBuf, log: PathBuf) -> Node {
        let child = spawn(&config, &log);
        Node { config, log, child }
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
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM; the node must stop cleanly.
    pub fn stop(&mut self) {
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

/// The last 40 lines of a log, for a failure's message.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
