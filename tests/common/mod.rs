//! Shared helpers for integration tests: a desk in a temp dir, the binary,
//! and message builders. Each test binary includes this with `mod common;`
//! and uses what it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use postdesk::config::Config;

pub mod moved;
pub mod nodes;

pub struct TestDesk {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    /// The test cluster's database this desk keeps its records in, when
    /// the suite runs on PostgreSQL ([`engine`]); dropped with the desk.
    pub database: Option<String>,
}

/// The store engine the suite runs on: `POSTDESK_TEST_STORE=postgres`
/// puts every test desk that does not choose its own `[store]` into a
/// database of its own on the test cluster (tests/run.sh runs the suite
/// once on each engine); unset or `sled`, the embedded default.
pub fn engine() -> &'static str {
    match std::env::var("POSTDESK_TEST_STORE").as_deref() {
        Ok("postgres") => "postgres",
        Ok("sled") | Err(_) => "sled",
        Ok(other) => panic!("POSTDESK_TEST_STORE={other}: expected sled or postgres"),
    }
}

/// A database for one test desk on the test cluster, migrated, with its
/// URL in a file only the owner reads; returns the database's name and
/// the `[store]` table naming it.
fn desk_database(root: &Path) -> (String, String) {
    let tag = root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("desk")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let name = format!("desk_{tag}");
    let url = fresh_database(&name);
    let keys = store_keys(&root.join("database.url"), &url);
    let store = format!("\n[store]\nkind = \"postgres\"\n{keys}pool = 4\n");
    (format!("pdt_{name}"), store)
}

/// Writes `url` into `url_file`, which only the owner may read (the URL
/// holds the password), and returns the `[store]` keys that name the
/// database by it and trust the test cluster's CA.
pub fn store_keys(url_file: &Path, url: &str) -> String {
    store_keys_on(&test_pg(), url_file, url)
}

/// [`store_keys`] for a database of the cluster `pg` describes (a
/// private one, started by the test), trusting that cluster's CA.
pub fn store_keys_on(pg: &serde_json::Value, url_file: &Path, url: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(url_file, url).expect("write the database URL");
    std::fs::set_permissions(url_file, std::fs::Permissions::from_mode(0o600))
        .expect("chmod the database URL");
    format!(
        "url_file = \"{}\"\nca_file = \"{}\"\n",
        url_file.display(),
        pg["ca_file"].as_str().expect("ca_file")
    )
}

/// The `[store]` table of the config at `path`, as TOML text.
fn text_store(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read config");
    let table: toml::Table = toml::from_str(&text).expect("config is TOML");
    toml::to_string(&table["store"]).expect("[store] as TOML")
}

/// Gives the database that the `[store]` keys name its schema, as
/// `postdesk migrate` does.
pub fn migrate_database(keys: &str) {
    let config: postdesk::config::StoreConfig = toml::from_str(keys).expect("[store]");
    let settings = postdesk::pg::Settings::from_config(&config).expect("settings");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let pool = settings.pool().expect("pool");
        let mut client = settings.connection(&pool).await.expect("connect");
        postdesk::pg::schema::apply(&mut client, &settings.describe())
            .await
            .expect("migrate");
    });
}

/// `Options::extra` (appended) for a desk that tests what only sled has:
/// its lock file, its files under the state directory, its layout
/// version, the mail dictionaries, the offline rewrite. Such a desk keeps
/// sled on either pass of the suite (tests/run.sh), where
/// `POSTDESK_TEST_STORE=postgres` would give it a database.
pub const SLED_ONLY: &str = "\n[store]\nkind = \"sled\"\n";

/// How a test desk differs from the default one.
#[derive(Debug, Clone)]
pub struct Options {
    pub address: String,
    /// The Maildir it reads; default: `inbox` in its temp dir.
    pub inbox: Option<PathBuf>,
    /// Send through SMTP on 127.0.0.1 at this port; default: a file spool.
    pub smtp_port: Option<u64>,
    /// Extra TOML appended to the config.
    pub extra: String,
    /// The rule file's text; default: no rules.
    pub rules: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            address: "support@desk.test".into(),
            inbox: None,
            smtp_port: None,
            extra: String::new(),
            rules: String::new(),
        }
    }
}

impl TestDesk {
    /// A desk whose state, inbox and spool live in a fresh temp dir.
    pub fn new() -> TestDesk {
        Self::with(Options::default())
    }

    /// Like [`TestDesk::new`] but reading the Maildir at `inbox`.
    pub fn with_inbox_path(inbox: Option<&Path>) -> TestDesk {
        Self::with(Options {
            inbox: inbox.map(Path::to_path_buf),
            ..Options::default()
        })
    }

    pub fn with(o: Options) -> TestDesk {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let inbox = o.inbox.clone().unwrap_or_else(|| root.join("inbox"));
        let config_path = root.join("postdesk.toml");
        let outgoing = match o.smtp_port {
            Some(port) => format!(
                "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nretry_base = \"1s\"\n"
            ),
            None => format!("kind = \"file\"\nspool = \"{}\"\n", root.join("outgoing").display()),
        };
        let text = format!(
            r#"
[desk]
name = "Test Desk"
address = "{address}"
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
{outgoing}
[templates]
dir = "{templates}"

[rules]
file = "{rules}"

[sla.normal]
first_response = "4h"

[intake]
batch = 200
{extra}
"#,
            address = o.address,
            state = root.join("state").display(),
            inbox = inbox.display(),
            templates = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("templates")
                .display(),
            rules = root.join("rules.toml").display(),
            extra = o.extra,
        );
        let (database, text) = if engine() == "postgres" && !o.extra.contains("[store]") {
            let (db, store) = desk_database(root);
            (Some(db), text + &store)
        } else {
            (None, text)
        };
        std::fs::write(&config_path, text).expect("write config");
        std::fs::write(root.join("rules.toml"), &o.rules).expect("write rules");
        let desk = TestDesk {
            dir,
            config_path,
            database,
        };
        if desk.database.is_some() {
            // As `postdesk migrate` does, but without the desk's config:
            // some tests give a desk one the binary refuses.
            migrate_database(&text_store(&desk.config_path));
        }
        desk
    }

    /// The desk's token signer, as the desk itself has it: the secret in
    /// the state directory, or on PostgreSQL the one in the database.
    pub fn signer(&self) -> postdesk::token::Signer {
        match &self.database {
            None => postdesk::token::Signer::load_or_create(&self.state_dir()).expect("secret"),
            Some(db) => {
                // The desk makes it at its first opening.
                let _ = self.run(&["status"]);
                let out = psql(
                    &test_pg(),
                    db,
                    "SELECT convert_from(value, 'UTF8') FROM meta WHERE key = 'token_secret'::bytea",
                );
                let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
                postdesk::token::Signer::from_secret(&text, "the test database")
                    .expect("the database holds the token secret")
            }
        }
    }

    pub fn rules_path(&self) -> PathBuf {
        self.dir.path().join("rules.toml")
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
        self.pipe_with(raw, &[])
    }

    /// [`TestDesk::pipe`] with environment variables set (`[store]
    /// url_env`, say).
    pub fn pipe_with(&self, raw: &[u8], env: &[(&str, &str)]) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd()
            .arg("ingest")
            .envs(env.iter().copied())
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

    /// Makes the desk store its intake in batches of `n` (test desks take
    /// 200), so that a few messages cross batches.
    pub fn in_batches_of(&self, n: usize) {
        let config = std::fs::read_to_string(&self.config_path).expect("read the config");
        let changed = config.replace(
            "[intake]\nbatch = 200\n",
            &format!("[intake]\nbatch = {n}\n"),
        );
        assert_ne!(config, changed, "the test desk's config names its batch");
        std::fs::write(&self.config_path, changed).expect("write the config");
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

    /// Every ticket, in number order (`tickets list --all --json` writes
    /// JSON lines, newest update first).
    pub fn tickets_json(&self) -> serde_json::Value {
        let out = self.run(&["tickets", "list", "--all", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut tickets: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("tickets list --all --json is JSON lines"))
            .collect();
        tickets.sort_by_key(|t| t["number"].as_u64());
        serde_json::Value::Array(tickets)
    }
}

impl Drop for TestDesk {
    fn drop(&mut self) {
        if let Some(db) = &self.database {
            // Best effort: the next run drops it anyway (fresh_database).
            let _ = psql(
                &test_pg(),
                "postdesk",
                &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
            );
        }
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

/// Every mail the outbox worker wrote to the desk's file spool, parsed.
pub fn spool(t: &TestDesk) -> Vec<postdesk::mail::Inbound> {
    let dir = t.dir.path().join("outgoing");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if e.path().extension().is_some_and(|x| x == "eml") {
            if let Ok(raw) = std::fs::read(e.path()) {
                out.extend(postdesk::mail::parse(&raw).ok());
            }
        }
    }
    out
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

/// The test PostgreSQL cluster's description (tests/pg/start.sh writes it).
/// Tests that need it fail (never skip) without it, saying how to start it.
pub fn test_pg() -> serde_json::Value {
    let path = std::env::var("POSTDESK_TEST_PG").unwrap_or_else(|_| {
        panic!(
            "this test needs the test PostgreSQL (a throw-away cluster on 127.0.0.1).\n\
             Run the whole suite with `tests/run.sh`, or start one with \
             `tests/pg/install.sh && tests/pg/start.sh /tmp/pdpg 25432` and set \
             POSTDESK_TEST_PG=/tmp/pdpg/pg.json"
        )
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read the test PostgreSQL description {path}: {e}; start it with tests/pg/start.sh")
    });
    serde_json::from_str(&text).expect("pg.json is JSON")
}

/// A database of its own for one test, on the test cluster: tests run in
/// parallel and each migrates and fills its database. Dropped first if a
/// previous run left it. Returns its URL.
pub fn fresh_database(name: &str) -> String {
    fresh_database_on(&test_pg(), name)
}

/// [`fresh_database`] on the cluster `pg` describes (a private one,
/// started by the test).
pub fn fresh_database_on(pg: &serde_json::Value, name: &str) -> String {
    let db = format!("pdt_{name}");
    for sql in [
        format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        format!("CREATE DATABASE {db}"),
    ] {
        let out = psql(pg, "postdesk", &sql);
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    format!(
        "postgres://{}:{}@{}:{}/{db}",
        pg["user"].as_str().expect("user"),
        pg["password"].as_str().expect("password"),
        pg["host"].as_str().expect("host"),
        pg["port"]
    )
}

/// Every live row of database `db` of the test cluster, as `pg_dump
/// --data-only` writes it, with each bytea value (`\\x` and hex digits)
/// also decoded: what a scan for a person's bytes must look through on
/// PostgreSQL, where the desk's records are rows, not files.
/// Packed mail (`messages.packed`, schema V6) is also unpacked: a scan
/// must see the text compression hides.
pub fn dump_database(db: &str) -> Vec<u8> {
    let out = pg_tool(&test_pg(), "pg_dump", db)
        .args(["--data-only", "--no-owner"])
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "pg_dump {db}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = out.stdout;
    let mut decoded = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].windows(3).position(|w| w == b"\\\\x") {
        let start = i + at + 3;
        let end = text[start..]
            .iter()
            .position(|b| !b.is_ascii_hexdigit())
            .map_or(text.len(), |n| start + n);
        for pair in text[start..end].chunks_exact(2) {
            let hex = std::str::from_utf8(pair).expect("hex digits");
            decoded.push(u8::from_str_radix(hex, 16).expect("a hex byte"));
        }
        decoded.push(b'\n');
        i = end;
    }
    let codec = mail_codec(db);
    let packed = psql(
        &test_pg(),
        db,
        "SELECT encode(raw, 'hex') FROM messages WHERE packed",
    );
    assert!(
        packed.status.success(),
        "read packed mail of {db}: {}",
        String::from_utf8_lossy(&packed.stderr)
    );
    for line in String::from_utf8_lossy(&packed.stdout).lines() {
        let mail =
            postdesk::pg::mail::unpack(&codec, unhex(line.trim()), true).expect("packed mail");
        decoded.extend_from_slice(&mail);
        decoded.push(b'\n');
    }
    [text, decoded].concat()
}

/// The mail dictionaries of database `db` (schema V8) as a codec that
/// reads every packed row, read with psql as an admin would.
pub fn mail_codec(db: &str) -> postdesk::store::codec::Codec {
    let out = psql(
        &test_pg(),
        db,
        "SELECT id || ' ' || current || ' ' || encode(dict, 'hex') FROM mail_dicts",
    );
    assert!(
        out.status.success(),
        "read mail dictionaries of {db}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut dicts, mut current) = (Vec::new(), None);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = line.split(' ');
        let (Some(id), Some(cur), Some(hex)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let id: u32 = id.parse().expect("a dictionary id");
        if cur == "t" || cur == "true" {
            current = Some(id);
        }
        dicts.push((id, unhex(hex)));
    }
    postdesk::store::codec::Codec::new(&dicts, current)
}

/// Bytes from hex digits (as psql's `encode(…, 'hex')` writes them).
pub fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("a hex byte"))
        .collect()
}

/// Runs one SQL statement with psql in database `db` of the test cluster;
/// unaligned, tuples only: the output is the values, `|` between columns.
pub fn psql(pg: &serde_json::Value, db: &str, sql: &str) -> Output {
    pg_tool(pg, "psql", db)
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("run psql")
}

/// The files on disk of database `db`'s tables, their indexes and their
/// TOAST (every fork and segment): where the old versions of rows stay
/// until VACUUM. A CHECKPOINT first writes out what only shared buffers
/// held. The cluster's data directory is `data` beside pg.json
/// (tests/pg/start.sh); the test must be able to read it (root, or the
/// cluster's own user).
/// Each with what it belongs to.
pub fn table_files(db: &str) -> Vec<(String, std::path::PathBuf)> {
    let pg = test_pg();
    let path = std::env::var("POSTDESK_TEST_PG").expect("POSTDESK_TEST_PG");
    let data = Path::new(&path)
        .parent()
        .expect("pg.json's directory")
        .join("data");
    let out = psql(&pg, db, "CHECKPOINT");
    assert!(
        out.status.success(),
        "CHECKPOINT (tests/pg/start.sh grants pg_checkpoint): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = psql(
        &pg,
        db,
        "SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i') \
         UNION ALL SELECT c.relname || ' (TOAST)', pg_relation_filepath(c.reltoastrelid) \
         FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.reltoastrelid <> 0 \
         UNION ALL SELECT c.relname || ' (TOAST index)', pg_relation_filepath(i.indexrelid) \
         FROM pg_class c JOIN pg_index i ON i.indrelid = c.reltoastrelid \
         WHERE c.relnamespace = 'public'::regnamespace",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((relation, rel)) = line.trim().split_once('|') else {
            continue;
        };
        let base = data.join(rel);
        let dir = base.parent().expect("a relation file's directory");
        let name = base
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        for e in std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .flatten()
        {
            let f = e.file_name().to_string_lossy().into_owned();
            let fork = f
                .strip_prefix(&name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '_']));
            if fork {
                files.push((relation.to_string(), e.path()));
            }
        }
    }
    assert!(
        !files.is_empty(),
        "no table files for {db} under {}",
        data.display()
    );
    files
}

/// PostgreSQL's client `tool` (psql, pg_dump) of the test cluster, on
/// database `db`, as the cluster's user.
fn pg_tool(pg: &serde_json::Value, tool: &str, db: &str) -> Command {
    let mut cmd = Command::new(Path::new(pg["bin"].as_str().expect("bin")).join(tool));
    cmd.arg("-h")
        .arg(pg["host"].as_str().expect("host"))
        .arg("-p")
        .arg(pg["port"].to_string())
        .arg("-U")
        .arg(pg["user"].as_str().expect("user"))
        .arg("-d")
        .arg(db)
        .env("PGPASSWORD", pg["password"].as_str().expect("password"))
        .stdin(Stdio::null());
    cmd
}

/// Delivers into a Maildir the way MTAs do: write to tmp/, rename into new/.
pub fn deliver(maildir: &Path, name: &str, raw: &[u8]) {
    let tmp = maildir.join("tmp").join(name);
    std::fs::write(&tmp, raw).expect("write tmp");
    std::fs::rename(&tmp, maildir.join("new").join(name)).expect("rename into new");
}

/// A private mail stack (its own Dovecot and Postfix on its own ports), for
/// tests that stop and start its parts. Stopped when dropped.
pub struct Stack {
    pub dir: PathBuf,
    pub info: serde_json::Value,
}

impl Stack {
    pub fn start(name: &str, port_base: u16) -> Stack {
        // Fails loudly when the stack's packages are missing: the message
        // of start.sh says what to install, and tests/run.sh installs them.
        mailstack();
        // tests/run.sh runs the PostgreSQL pass beside the sled one: its
        // private stacks get ports and directories of their own.
        let offset: u16 = std::env::var("POSTDESK_STACK_PORT_OFFSET")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let port_base = port_base + offset;
        let dir = match offset {
            0 => PathBuf::from(format!("/tmp/pd-{name}")),
            _ => PathBuf::from(format!("/tmp/pd-{name}-{offset}")),
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mailstack/start.sh");
        let out = Command::new(script)
            .arg(&dir)
            .arg(port_base.to_string())
            .output()
            .expect("run tests/mailstack/start.sh");
        assert!(
            out.status.success(),
            "tests/mailstack/start.sh {} {port_base} failed:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let info = serde_json::from_str(
            &std::fs::read_to_string(dir.join("stack.json")).expect("stack.json"),
        )
        .expect("stack.json is JSON");
        Stack { dir, info }
    }

    pub fn port(&self, name: &str) -> u64 {
        self.info[name].as_u64().expect("port in stack.json")
    }

    pub fn postfix(&self, action: &str) {
        let status = Command::new("postfix")
            .arg("-c")
            .arg(self.dir.join("postfix/etc"))
            .arg(action)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run postfix");
        assert!(status.success(), "postfix {action} failed");
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mailstack/stop.sh");
        let _ = Command::new(script)
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Reads a mailbox over IMAPS with python's imaplib, as a customer's client
/// would; waits for at least `min` messages. Returns the raw messages.
/// Deletes every message in `user`'s INBOX: tests that read a mailbox
/// start from an empty one, even on a stack that earlier runs left mail in.
/// Only for mailboxes a single test uses.
pub fn empty_mailbox(stack: &serde_json::Value, user: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/imap_fetch.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(stack["host"].as_str().unwrap_or("127.0.0.1"))
        .arg(stack["imaps_port"].to_string())
        .arg(stack["ca_file"].as_str().expect("ca_file"))
        .arg(user)
        .arg(stack["password"].as_str().unwrap_or("secret"))
        .arg("-")
        .arg("--empty")
        .output()
        .expect("python3 runs imap_fetch.py");
    assert!(
        out.status.success(),
        "cannot empty {user}'s INBOX: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn imap_fetch(
    stack: &serde_json::Value,
    user: &str,
    min: usize,
    wait_secs: u64,
) -> Vec<Vec<u8>> {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/imap_fetch.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(stack["host"].as_str().unwrap_or("127.0.0.1"))
        .arg(stack["imaps_port"].to_string())
        .arg(stack["ca_file"].as_str().expect("ca_file"))
        .arg(user)
        .arg(stack["password"].as_str().unwrap_or("secret"))
        .arg(out_dir.path())
        .args(["--min", &min.to_string(), "--wait", &wait_secs.to_string()])
        .output()
        .expect("python3 runs imap_fetch.py");
    assert!(
        out.status.success(),
        "{user} did not receive {min} message(s) in {wait_secs}s: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(out_dir.path())
        .expect("read out dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort_by_key(|p| {
        p.file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    });
    files
        .iter()
        .map(|f| std::fs::read(f).expect("read eml"))
        .collect()
}

/// Sends a customer's mail with python's smtplib to the stack's SMTP port.
/// `extra` is python code run on the EmailMessage `m` before sending.
pub fn smtplib_send(port: u64, from: &str, to: &str, subject: &str, message_id: &str, extra: &str) {
    // Values travel as arguments, never as code, so any subject is safe.
    let script = format!(
        r#"
import smtplib, sys
from email.message import EmailMessage
port, frm, to, subject, mid = sys.argv[1:6]
m = EmailMessage()
m["From"] = "Carol Customer <" + frm + ">"
m["To"] = to
m["Subject"] = subject
m["Message-ID"] = "<" + mid + ">"
{extra}
m.set_content("Hello, the printer on floor 3 is broken again.\n\nCarol")
with smtplib.SMTP("127.0.0.1", int(port), timeout=20) as s:
    s.send_message(m)
"#
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args([&port.to_string(), from, to, subject, message_id])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "smtplib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sends with swaks, a real SMTP client, adding the given header lines.
pub fn swaks_send(port: u64, from: &str, to: &str, headers: &[String], body: &str) {
    let mut cmd = Command::new("swaks");
    cmd.args([
        "--server",
        &format!("127.0.0.1:{port}"),
        "--from",
        from,
        "--to",
        to,
    ])
    .args(["--body", body, "--silent", "2"]);
    for h in headers {
        cmd.args(["--add-header", h]);
    }
    let out = cmd
        .output()
        .expect("swaks runs (tests/mailstack/install.sh installs it)");
    assert!(
        out.status.success(),
        "swaks failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
