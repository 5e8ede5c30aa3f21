//! An `[[inbox]] kind = "imap"` entry, checked and turned into the typed
//! choices the IMAP source acts on. Every mistake is found here, before a
//! connection is made, and named with the key an admin has to change.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Inbox, InboxKind};

/// `poll` is the Maildir's scan interval too, with a default (500 ms) meant
/// for a local directory. Polling a remote server (or re-issuing IDLE) that
/// often is rude and gets accounts throttled, so IMAP never goes below this.
pub const MIN_POLL: Duration = Duration::from_secs(5);

/// Servers drop an IDLE after 30 minutes of silence (RFC 2177); renewing it
/// before that keeps the connection alive.
pub const MAX_IDLE: Duration = Duration::from_secs(25 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// TLS from the first byte (imaps, 993).
    Implicit,
    /// Plain greeting, then `STARTTLS` before anything else (143).
    StartTls,
    /// No TLS: loopback only unless `allow_plain`.
    None,
}

/// How the desk proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// LOGIN with a password from `password_env` / `password_file`.
    Password {
        env: Option<String>,
        file: Option<PathBuf>,
    },
    /// XOAUTH2 with the stdout of a command, run on each connect.
    TokenCommand(String),
    /// XOAUTH2 with the contents of a file, re-read on each connect.
    TokenFile(PathBuf),
}

/// What happens on the server to a message once it is durably stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    Seen,
    Move(String),
    Delete,
}

impl After {
    /// Whether handled messages leave the folder; then every message still
    /// in it is either new or waiting for this step.
    pub fn removes(&self) -> bool {
        !matches!(self, After::Seen)
    }
}

/// A batch's bytes by default: 256 ordinary messages are a few MB, and
/// the pipeline's few batches in flight stay around a hundred MB even when
/// every message is large.
pub const DEFAULT_BATCH_BYTES: usize = 32 << 20;

#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub ca_file: Option<PathBuf>,
    pub username: String,
    pub auth: Auth,
    pub folder: String,
    pub after: After,
    /// `None`: IDLE when the server offers it.
    pub idle: Option<bool>,
    pub process_seen: bool,
    pub batch: usize,
    /// Bytes of mail in one batch at most (see [`crate::config::Inbox`]).
    pub batch_bytes: usize,
    pub poll: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inbox `{inbox}`: {message}")]
pub struct SettingsError {
    pub inbox: String,
    pub message: String,
}

impl Settings {
    /// Checks an `[[inbox]]` entry; `default_batch` is `intake.batch`.
    pub fn from_inbox(inbox: &Inbox, default_batch: usize) -> Result<Settings, SettingsError> {
        let bad = |message: String| SettingsError {
            inbox: inbox.name.clone(),
            message,
        };
        if inbox.kind != InboxKind::Imap {
            return Err(bad("is not kind = \"imap\"".into()));
        }
        let host = inbox
            .host
            .clone()
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| bad("needs `host`".into()))?;
        let username = inbox
            .username
            .clone()
            .ok_or_else(|| bad("needs `username`".into()))?;
        let tls = match inbox.tls.as_deref().unwrap_or("implicit") {
            "implicit" => Tls::Implicit,
            "starttls" => Tls::StartTls,
            "none" => Tls::None,
            other => {
                return Err(bad(format!(
                    "tls = \"{other}\" is not one of implicit, starttls, none"
                )))
            }
        };
        if tls == Tls::None && !inbox.allow_plain && !is_loopback(&host) {
            return Err(bad(format!(
                "tls = \"none\" sends the password and customer mail in clear text to {host}; \
                 that is only allowed to a loopback address unless allow_plain = true"
            )));
        }
        let port = inbox.port.unwrap_or(match tls {
            Tls::Implicit => 993,
            Tls::StartTls | Tls::None => 143,
        });
        let sources = [
            inbox.password_env.is_some(),
            inbox.password_file.is_some(),
            inbox.oauth2_token_command.is_some(),
            inbox.oauth2_token_file.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if sources != 1 {
            return Err(bad(format!(
                "needs exactly one of password_env, password_file, oauth2_token_command, \
                 oauth2_token_file (found {sources})"
            )));
        }
        let auth = if let Some(cmd) = &inbox.oauth2_token_command {
            Auth::TokenCommand(cmd.clone())
        } else if let Some(file) = &inbox.oauth2_token_file {
            Auth::TokenFile(file.clone())
        } else {
            Auth::Password {
                env: inbox.password_env.clone(),
                file: inbox.password_file.clone(),
            }
        };
        let after = parse_after(inbox.after.as_deref().unwrap_or("seen")).map_err(bad)?;
        let folder = inbox.folder.clone().unwrap_or_else(|| "INBOX".into());
        if let After::Move(target) = &after {
            if target == &folder {
                return Err(bad(format!(
                    "after = \"move:{target}\" moves mail into the folder it is read from"
                )));
            }
        }
        let batch = inbox.batch.unwrap_or(default_batch);
        if batch == 0 {
            return Err(bad("batch must be at least 1".into()));
        }
        let batch_bytes = inbox.batch_bytes.unwrap_or(DEFAULT_BATCH_BYTES);
        if batch_bytes == 0 {
            return Err(bad("batch_bytes must be at least 1".into()));
        }
        Ok(Settings {
            name: inbox.name.clone(),
            host,
            port,
            tls,
            ca_file: inbox.ca_file.clone(),
            username,
            auth,
            folder,
            after,
            idle: inbox.idle,
            process_seen: inbox.process_seen,
            batch,
            batch_bytes,
            poll: inbox.poll.max(MIN_POLL),
        })
    }

    /// The name under which the cursor is kept in the store.
    pub fn cursor_key(&self) -> String {
        format!("imap:{}", self.name)
    }

    /// How long one IDLE lasts before it is renewed and the folder checked
    /// anyway: `poll` is the safety net for IDLE connections that die
    /// without a word.
    pub fn idle_period(&self) -> Duration {
        self.poll.min(MAX_IDLE)
    }
}

fn parse_after(text: &str) -> Result<After, String> {
    match text {
        "seen" => Ok(After::Seen),
        "delete" => Ok(After::Delete),
        _ => match text.strip_prefix("move:") {
            Some(folder) if !folder.trim().is_empty() => Ok(After::Move(folder.to_string())),
            _ => Err(format!(
                "after = \"{text}\" is not one of seen, move:FOLDER, delete"
            )),
        },
    }
}

/// Loopback by name or address: the only place plain IMAP is allowed by
/// default.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbox(extra: &str) -> Inbox {
        let text = format!(
            "name = \"support\"\nkind = \"imap\"\nhost = \"imap.example.com\"\nusername = \"u\"\n{extra}"
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn defaults_are_implicit_tls_seen_and_the_intake_batch() {
        let s = Settings::from_inbox(&inbox("password_env = \"P\""), 64).unwrap();
        assert_eq!(s.tls, Tls::Implicit);
        assert_eq!(s.port, 993);
        assert_eq!(s.after, After::Seen);
        assert_eq!(s.folder, "INBOX");
        assert_eq!(s.batch, 64);
        assert!(s.process_seen);
        assert_eq!(s.idle, None);
        assert_eq!(s.poll, MIN_POLL, "the maildir default is raised");
        assert_eq!(s.cursor_key(), "imap:support");
    }

    #[test]
    fn after_forms() {
        let s = Settings::from_inbox(&inbox("password_env = \"P\"\nafter = \"move:Done/Old\""), 1)
            .unwrap();
        assert_eq!(s.after, After::Move("Done/Old".into()));
        assert!(s.after.removes());
        let err = Settings::from_inbox(&inbox("password_env = \"P\"\nafter = \"archive\""), 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("seen, move:FOLDER, delete"), "{err}");
        let err = Settings::from_inbox(&inbox("password_env = \"P\"\nafter = \"move:INBOX\""), 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("into the folder it is read from"), "{err}");
    }

    #[test]
    fn plain_is_refused_off_loopback() {
        let err = Settings::from_inbox(&inbox("password_env = \"P\"\ntls = \"none\""), 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("allow_plain"), "{err}");
        let s = Settings::from_inbox(
            &inbox("password_env = \"P\"\ntls = \"none\"\nallow_plain = true"),
            1,
        )
        .unwrap();
        assert_eq!((s.tls, s.port), (Tls::None, 143));
        assert!(is_loopback("127.0.0.1") && is_loopback("::1") && is_loopback("LocalHost"));
        assert!(!is_loopback("10.0.0.1"));
    }

    #[test]
    fn exactly_one_secret() {
        let err = Settings::from_inbox(&inbox(""), 1).unwrap_err().to_string();
        assert!(err.contains("exactly one of"), "{err}");
        let err = Settings::from_inbox(
            &inbox("password_env = \"P\"\noauth2_token_command = \"x\""),
            1,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("found 2"), "{err}");
        let s = Settings::from_inbox(&inbox("oauth2_token_command = \"get-token\""), 1).unwrap();
        assert_eq!(s.auth, Auth::TokenCommand("get-token".into()));
    }

    #[test]
    fn idle_period_is_poll_capped() {
        let s = Settings::from_inbox(&inbox("password_env = \"P\"\npoll = \"2h\""), 1).unwrap();
        assert_eq!(s.idle_period(), MAX_IDLE);
        let s = Settings::from_inbox(&inbox("password_env = \"P\"\npoll = \"60s\""), 1).unwrap();
        assert_eq!(s.idle_period(), Duration::from_secs(60));
    }
}
