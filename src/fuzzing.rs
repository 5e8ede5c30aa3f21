//! The whole intake path as one function of bytes, for `cargo fuzz` (see
//! `fuzz/`) and for the hostile-corpus test that runs the same path on
//! stable.
//!
//! [`Harness`] is a real [`Desk`] (sled store, the repository's templates,
//! a small rule file, a file spool that nothing ever sends from) in its own
//! temporary directory: parse → limits → guard → thread → rules → decide →
//! stage, then a flush now and then and the read paths an admin would use
//! on the result (`tickets show`, `rules test`). No network, no daemon.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::api::{Outcome, Request, Response};
use crate::config::Config;
use crate::decide::Mode;
use crate::desk::Desk;

/// Messages staged between flushes: enough to exercise threading against
/// staged (unwritten) state, few enough to keep each run fast.
const FLUSH_EVERY: usize = 16;

/// Rules that touch every condition kind, so fuzzed input reaches the
/// rule engine's matching code and not only its parser.
const RULES: &str = r#"
[[rule]]
name = "urgent"
when.subject = '(?i)\b(down|outage)\b'
set.priority = "urgent"

[[rule]]
name = "attachments"
when.any = [ { attachment = '(?i)\.(exe|zip)$' }, { header.x-mailer = '(?i)bulk' } ]
set.tags = ["suspicious"]

[[rule]]
name = "billing"
when.text = '(?i)invoice|refund'
when.not = { from = '@example\.com$' }
set.category = "billing"
"#;

/// A desk in a temporary directory, removed on drop.
pub struct Harness {
    desk: Desk,
    dir: PathBuf,
    count: usize,
}

impl Harness {
    /// Creates the desk. `templates` is the directory of templates to load
    /// (the repository's `templates/`).
    pub fn new(templates: &std::path::Path) -> anyhow::Result<Harness> {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "postdesk-fuzz-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let config_path = dir.join("postdesk.toml");
        std::fs::write(dir.join("rules.toml"), RULES)?;
        std::fs::write(
            &config_path,
            format!(
                r#"
[desk]
name = "Fuzz Desk"
address = "support@desk.test"
ticket_prefix = "FUZZ"
state_dir = "{state}"
admin = "admin@desk.test"

[[inbox]]
name = "main"
kind = "maildir"
path = "{dir}/inbox"
queue = "general"

[outgoing]
kind = "file"
spool = "{dir}/outgoing"

[[agent]]
email = "alice@desk.test"
name = "Alice"
queues = ["general"]

[templates]
dir = "{templates}"

[rules]
file = "{dir}/rules.toml"
"#,
                state = dir.join("state").display(),
                dir = dir.display(),
                templates = templates.display(),
            ),
        )?;
        let config = Config::load(&config_path)?;
        let desk = Desk::open(config)?;
        Ok(Harness {
            desk,
            dir,
            count: 0,
        })
    }

    /// Runs `raw` through intake and the read paths. Returns what became of
    /// it; an `Err` is the store failing, which input must never cause.
    pub fn ingest(&mut self, raw: &[u8]) -> Result<Outcome, crate::store::StoreError> {
        let outcome = self.desk.ingest(raw, None, "fuzz", Mode::Live)?;
        self.count += 1;
        if self.count.is_multiple_of(FLUSH_EVERY) {
            self.desk.flush()?;
        }
        if let Outcome::Stored { ticket, .. } = &outcome {
            let shown = self.desk.handle(Request::ShowTicket {
                reference: ticket.clone(),
            });
            if let Response::Error { message, .. } = shown {
                tracing::error!(%message, "a stored ticket cannot be shown");
            }
        }
        let _ = self.desk.handle(Request::ExplainRules {
            inbox: None,
            live: true,
            raw: raw.to_vec(),
        });
        Ok(outcome)
    }

    /// Makes everything durable.
    pub fn flush(&self) -> Result<(), crate::store::StoreError> {
        self.desk.flush()
    }

    /// The desk itself, for checks after a run.
    pub fn desk(&self) -> &Desk {
        &self.desk
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
