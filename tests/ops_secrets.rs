//! No password or token reaches a log line, at any level and in any
//! format, while the daemon logs in to the real IMAP server with a
//! password and with an OAuth2 token and sends over SMTP with AUTH.
//! Needs the mail stack (tests/run.sh starts it).

mod common;

use std::process::Stdio;

use common::{deliver, mail, mailstack, wait_until, Options, TestDesk};

const IMAP_PASSWORD: &str = "Wr0ng-imap-Pa55-7f3k";
const SMTP_PASSWORD: &str = "Wr0ng-smtp-Pa55-q9x2";
/// What the token command prints; the command's own text does not contain
/// it (shell arithmetic makes the digits), so error messages that quote the
/// command cannot contain it either.
const TOKEN: &str = "tok-42-zq";

#[test]
fn no_secret_in_any_log_line() {
    let stack = mailstack();
    let imap = stack["imap_port"].as_u64().unwrap();
    let submission = stack["submission_port"].as_u64().unwrap();
    let ca = stack["ca_file"].as_str().unwrap();
    let t = TestDesk::with(Options {
        extra: format!(
            r#"
[[inbox]]
name = "pw"
kind = "imap"
host = "127.0.0.1"
port = {imap}
tls = "none"
username = "cust11@customer.test"
password_env = "PD_OPS_IMAP_PW"
poll = "5s"

[[inbox]]
name = "oauth"
kind = "imap"
host = "127.0.0.1"
port = {imap}
tls = "none"
username = "cust12@customer.test"
oauth2_token_command = "printf 'tok-%s-zq' $((6*7))"
poll = "5s"
"#
        ),
        ..Options::default()
    });
    let spool_block = format!(
        "kind = \"file\"\nspool = \"{}\"\n",
        t.dir.path().join("outgoing").display()
    );
    let text = std::fs::read_to_string(&t.config_path).unwrap().replace(
        &spool_block,
        &format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {submission}\ntls = \"starttls\"\nca_file = \"{ca}\"\nusername = \"cust11@customer.test\"\npassword_env = \"PD_OPS_SMTP_PW\"\nretry_base = \"1s\"\n"
        ),
    );
    assert!(
        text.contains("PD_OPS_SMTP_PW"),
        "the outgoing block was replaced"
    );
    std::fs::write(&t.config_path, text).unwrap();
    std::fs::create_dir_all(t.inbox().join("new")).unwrap();
    std::fs::create_dir_all(t.inbox().join("tmp")).unwrap();
    std::fs::create_dir_all(t.inbox().join("cur")).unwrap();

    for format in ["human", "json", "journald"] {
        let log_path = t.dir.path().join(format!("serve-{format}.log"));
        let mut child = t
            .cmd()
            .args(["--log-format", format, "serve"])
            .env("POSTDESK_LOG", "trace")
            .env("PD_OPS_IMAP_PW", IMAP_PASSWORD)
            .env("PD_OPS_SMTP_PW", SMTP_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap();
        let read = || std::fs::read_to_string(&log_path).unwrap_or_default();
        deliver(
            &t.inbox(),
            &format!("{format}.eml"),
            &mail(
                "carol@customer.test",
                &format!("Secrets {format}"),
                &format!("sec-{format}@c"),
                "",
                "hi",
            ),
        );
        // Both logins and the SMTP AUTH have been tried and refused.
        wait_until(60, "the refusals to be logged", || {
            let l = read();
            // A refused SMTP AUTH takes the relay for down: the outbox logs
            // that once, with the server's answer.
            l.matches("authentication failed").count() >= 2
                && (l.contains("send failed") || l.contains("transport down"))
        });
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().unwrap();
        let log = read();
        for secret in [IMAP_PASSWORD, SMTP_PASSWORD, TOKEN] {
            assert!(
                !log.contains(secret),
                "{format} log contains {secret}:\n{log}"
            );
        }
        // Nor their base64 forms (AUTH PLAIN / XOAUTH2 payloads).
        assert!(
            !log.contains("AUTHENTICATE XOAUTH2 "),
            "{format}: wire trace in the log"
        );
        assert!(
            !log.contains("LOGIN \"cust11"),
            "{format}: wire trace in the log"
        );
    }
}
