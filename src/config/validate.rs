//! The checks a configuration passes before anything runs: what serde's
//! types cannot say (addresses, names that must match, unsafe limits).

use super::load::invalid;
use super::{Config, ConfigError, InboxKind, StoreKind};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(invalid(&self.source, m));
        if !self.desk.address.contains('@') {
            return bad(format!(
                "desk.address `{}` is not an email address",
                self.desk.address
            ));
        }
        let prefix = &self.desk.ticket_prefix;
        if prefix.is_empty()
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return bad(format!(
                "desk.ticket_prefix `{prefix}` must be letters and digits only (it appears in [{prefix}-42] tags and in addresses)"
            ));
        }
        if self.desk.timezone.parse::<chrono_tz::Tz>().is_err() {
            return bad(format!(
                "desk.timezone `{}` is not an IANA time zone name (like Europe/Berlin or UTC)",
                self.desk.timezone
            ));
        }
        if crate::language::normalize(&self.desk.language).as_deref()
            != Some(self.desk.language.as_str())
            || self.desk.language.len() != 2
        {
            return bad(format!(
                "desk.language `{}` is not a two-letter language code (like en, de, fr)",
                self.desk.language
            ));
        }
        if crate::ticket::Priority::parse(&self.desk.default_priority).is_none() {
            return bad(format!(
                "desk.default_priority `{}` is not one of low, normal, high, urgent",
                self.desk.default_priority
            ));
        }
        let mut names = std::collections::HashSet::new();
        for inbox in &self.inboxes {
            if !names.insert(inbox.name.as_str()) {
                return bad(format!("two [[inbox]] entries are named `{}`", inbox.name));
            }
            match inbox.kind {
                InboxKind::Maildir if inbox.path.is_none() => {
                    return bad(format!(
                        "inbox `{}` is a maildir but has no `path`",
                        inbox.name
                    ))
                }
                InboxKind::Imap if inbox.host.is_none() || inbox.username.is_none() => {
                    return bad(format!(
                        "inbox `{}` is imap and needs `host` and `username`",
                        inbox.name
                    ))
                }
                _ => {}
            }
        }
        for q in &self.queues {
            if !matches!(q.notify.as_str(), "queue" | "assignee" | "none") {
                return bad(format!(
                    "queue `{}`: notify = `{}` is not one of queue, assignee, none",
                    q.name, q.notify
                ));
            }
        }
        let st = &self.store;
        if st.url_env.is_some() && st.url_file.is_some() {
            return bad("[store] has both url_env and url_file; keep one".into());
        }
        if st.lease_ttl < std::time::Duration::from_secs(3) {
            return bad(format!(
                "[store] lease_ttl = {} is too short: a node renews its leases every third of it, and a busy database or network must not cost it its inboxes (at least 3s; 15s is the default)",
                humantime::format_duration(st.lease_ttl)
            ));
        }
        if st.kind == StoreKind::Postgres && !st.has_postgres() {
            return bad("[store] kind = \"postgres\" needs url_env or url_file naming where the database URL is (never the URL itself: it holds the password)".into());
        }
        if !(1..=1000).contains(&st.pool) {
            return bad(format!("[store] pool = {} is not in 1..=1000", st.pool));
        }
        if !matches!(
            self.agent_mail.after_window.as_str(),
            "reopen" | "new" | "reject"
        ) {
            return bad(format!(
                "agent_mail.after_window = `{}` is not one of reopen, new, reject",
                self.agent_mail.after_window
            ));
        }
        if !matches!(self.agent_mail.transcript.as_str(), "on-error" | "always") {
            return bad(format!(
                "agent_mail.transcript = `{}` is not one of on-error, always",
                self.agent_mail.transcript
            ));
        }
        if self.agent_mail.require_authentication && self.agent_mail.trusted_servers.is_empty() {
            return bad("agent_mail.require_authentication needs trusted_servers (the authserv-ids of your own mail servers)".into());
        }
        for (name, c) in &self.calendar {
            if let Err(e) = crate::calendar::Calendar::from_config(name, c) {
                return bad(e.to_string());
            }
        }
        for (name, sla) in &self.sla {
            if let Some(c) = &sla.calendar {
                if !self.calendar.contains_key(c) {
                    return bad(format!(
                        "sla.{name}.calendar = `{c}`: no [calendar.{c}] is defined"
                    ));
                }
            }
            if !(0.0..=1.0).contains(&sla.warn_at) {
                return bad(format!("sla.{name}.warn_at must be between 0 and 1"));
            }
        }
        if self.survey.labels().len() < 2 {
            return bad(format!(
                "survey.scale `{}` needs at least two steps: write 1-5 or good/okay/bad",
                self.survey.scale
            ));
        }
        if self.guard.new_tickets_per_sender.count == 0 {
            return bad(
                "guard.new_tickets_per_sender must allow at least one ticket (like \"20/1h\")"
                    .into(),
            );
        }
        if self.intake.batch == 0 {
            return bad("intake.batch must be at least 1".into());
        }
        if let Some(addr) = self.metrics.listen {
            if !addr.ip().is_loopback() && !self.metrics.allow_remote {
                return bad(format!(
                    "metrics.listen = `{addr}` is not a loopback address: the metrics name inboxes and queues; set metrics.allow_remote = true if you mean it (and firewall the port)"
                ));
            }
        }
        for (key, value, min) in [
            ("max_message_bytes", self.intake.max_message_bytes, 1024),
            ("max_header_bytes", self.intake.max_header_bytes, 1024),
            ("max_line_bytes", self.intake.max_line_bytes, 78),
            ("max_mime_depth", self.intake.max_mime_depth, 1),
            ("max_mime_parts", self.intake.max_mime_parts, 1),
            ("max_recipients", self.intake.max_recipients, 1),
        ] {
            if value < min {
                return bad(format!(
                    "intake.{key} = {value} is too small to read ordinary mail: use at least {min}"
                ));
            }
        }
        if self.intake.max_mime_depth > 1000 {
            return bad(format!(
                "intake.max_mime_depth = {} is unsafe: deeply nested messages overflow the parser's stack; use at most 1000",
                self.intake.max_mime_depth
            ));
        }
        Ok(())
    }
}
