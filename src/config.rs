//! `config/postdesk.toml`: what an admin writes, checked before anything runs.
//!
//! The file is read with the `config` crate so that `POSTDESK_SECTION__KEY`
//! environment variables can override single values (containers, systemd
//! drop-ins). Only variables with a double underscore count: single-underscore
//! names such as `POSTDESK_CONFIG` or `POSTDESK_IMAP_PASSWORD` are left alone,
//! because they are ours for other purposes (the config path, secrets named by
//! `password_env`).
//!
//! Every struct denies unknown keys: a misspelled key silently ignored is a
//! setting an admin believes is live and is not. When the `config` crate's
//! error has no position, the file is parsed once more with `toml` alone to
//! point at the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Where the configuration is looked for when neither `--config` nor
/// `POSTDESK_CONFIG` names it, in order: the repository layout (the demo,
/// a checkout), then where packages install it.
pub const DEFAULT_PATHS: [&str; 2] = ["config/postdesk.toml", "/etc/postdesk/postdesk.toml"];

/// The configuration file to read: the one given (by `--config` or
/// `POSTDESK_CONFIG`), else the first of [`DEFAULT_PATHS`] that exists.
pub fn locate(given: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let tried: Vec<PathBuf> = DEFAULT_PATHS.iter().map(PathBuf::from).collect();
    match tried.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(ConfigError::NotFound { tried }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}\n  hint: pass --config FILE or set POSTDESK_CONFIG")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("no configuration file: tried {}\n  hint: pass --config FILE or set POSTDESK_CONFIG; the example is config/postdesk.toml in the source", .tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound { tried: Vec<PathBuf> },
    #[error("{var}: {message}\n  hint: this is an environment override of {path}; fix or unset the variable")]
    Override {
        var: String,
        path: PathBuf,
        message: String,
    },
}

/// The whole configuration, as the daemon and every command see it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub desk: Desk,
    #[serde(default, rename = "inbox")]
    pub inboxes: Vec<Inbox>,
    #[serde(default)]
    pub outgoing: Outgoing,
    #[serde(default, rename = "agent")]
    pub agents: Vec<Agent>,
    #[serde(default, rename = "queue")]
    pub queues: Vec<Queue>,
    /// Customers' organisations: by default each address's domain is its
    /// organisation; an entry groups several domains under one name.
    #[serde(default, rename = "organization")]
    pub organizations: Vec<Organization>,
    #[serde(default)]
    pub followup: Followup,
    #[serde(default)]
    pub survey: Survey,
    #[serde(default)]
    pub sla: BTreeMap<String, Sla>,
    #[serde(default)]
    pub calendar: BTreeMap<String, crate::calendar::CalendarConfig>,
    #[serde(default)]
    pub status_notices: StatusNotices,
    #[serde(default)]
    pub rules: RulesRef,
    #[serde(default)]
    pub templates: TemplatesRef,
    #[serde(default)]
    pub intake: Intake,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub mail: MailConfig,
    #[serde(default)]
    pub ack: AckConfig,
    #[serde(default)]
    pub agent_mail: AgentMail,
    #[serde(default)]
    pub kb: KbRef,
    #[serde(default)]
    pub guard: Guard,
    #[serde(default)]
    pub metrics: Metrics,
    #[serde(default)]
    pub daemon: Daemon,
    /// The file this was read from; relative paths inside resolve against the
    /// working directory, not against this file (see DESIGN.md).
    #[serde(skip)]
    pub source: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desk {
    pub name: String,
    pub address: String,
    #[serde(default = "default_prefix")]
    pub ticket_prefix: String,
    #[serde(default = "yes")]
    pub plus_addressing: bool,
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    #[serde(default)]
    pub admin: Option<String>,
    /// Other addresses that are the desk itself (aliases, old addresses): mail
    /// to them is ours, mail from them is never a customer.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The desk's time zone (IANA name): acknowledgements say "by Tuesday
    /// morning" in the desk's week, not UTC's.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Category and priority a ticket gets when no rule says otherwise.
    #[serde(default = "default_category")]
    pub default_category: String,
    #[serde(default = "default_priority")]
    pub default_priority: String,
    /// The language of mail when nothing says another (ISO 639-1, `en`):
    /// the top-level templates are written in it, and a customer's
    /// language without a template of its own falls back to it.
    #[serde(default = "default_language")]
    pub language: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InboxKind {
    Maildir,
    Imap,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbox {
    pub name: String,
    pub kind: InboxKind,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: Option<String>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub oauth2_token_command: Option<String>,
    #[serde(default)]
    pub folder: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default = "default_queue")]
    pub queue: String,
    /// How often a Maildir is scanned (IMAP uses it as the fallback poll).
    #[serde(default = "default_poll", deserialize_with = "de_duration")]
    pub poll: Duration,
    // --- IMAP only (src/source/imap.rs) ---
    /// A file holding an OAuth2 access token for XOAUTH2, re-read on every
    /// connect so a token helper can refresh it in place.
    #[serde(default)]
    pub oauth2_token_file: Option<PathBuf>,
    /// Wait with IDLE between checks. Unset: on when the server advertises
    /// it; `false` polls every `poll` instead.
    #[serde(default)]
    pub idle: Option<bool>,
    /// Also take messages a person has already read (\Seen): a message read
    /// in a webmail before the desk saw it is still a customer's request.
    #[serde(default = "yes")]
    pub process_seen: bool,
    /// `tls = "none"` is refused except to a loopback address unless this
    /// says otherwise: passwords and customer mail in clear text on a
    /// network are a mistake worth an explicit switch.
    #[serde(default)]
    pub allow_plain: bool,
    /// Messages fetched, stored and flushed together; default
    /// `intake.batch`. Nothing is marked done on the server before its flush.
    #[serde(default)]
    pub batch: Option<usize>,
    /// Bytes of mail fetched in one batch at most (a single larger message
    /// is fetched alone): the intake pipeline holds a few batches at once,
    /// so this bounds its memory when mail carries big attachments.
    #[serde(default)]
    pub batch_bytes: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutgoingKind {
    #[default]
    File,
    Smtp,
    Sendmail,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outgoing {
    #[serde(default)]
    pub kind: OutgoingKind,
    #[serde(default = "default_spool")]
    pub spool: PathBuf,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: Option<String>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub sendmail: Option<PathBuf>,
    /// Plain SMTP (no TLS) is refused except to a loopback address unless
    /// this says otherwise: credentials and customer mail in clear text on
    /// a network are a mistake worth an explicit switch.
    #[serde(default)]
    pub allow_plain: bool,
    /// How long a mail is retried before it is marked failed.
    #[serde(default = "two_days", deserialize_with = "de_duration")]
    pub max_age: Duration,
    /// The first retry's wait; each later one doubles it, up to
    /// `retry_max`.
    #[serde(default = "thirty_seconds", deserialize_with = "de_duration")]
    pub retry_base: Duration,
    /// The longest wait between two attempts of a mail (each wait is
    /// jittered below it). Probes of a relay that is down wait at most
    /// 10 s whatever this says, so the queue drains soon after it returns.
    #[serde(default = "five_minutes", deserialize_with = "de_duration")]
    pub retry_max: Duration,
}

impl Default for Outgoing {
    fn default() -> Self {
        Outgoing {
            kind: OutgoingKind::File,
            spool: default_spool(),
            host: None,
            port: None,
            tls: None,
            ca_file: None,
            username: None,
            password_env: None,
            password_file: None,
            sendmail: None,
            allow_plain: false,
            max_age: two_days(),
            retry_base: thirty_seconds(),
            retry_max: five_minutes(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub name: String,
    /// Per-queue follow-up times; `[followup]` when unset.
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub remind_after: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub autoclose_after: Option<Duration>,
    #[serde(default)]
    pub escalate_to: Option<String>,
    /// Who hears of new tickets and customer replies: `queue` (the
    /// assignee, or every agent of the queue while unassigned), `assignee`
    /// (only an assignee; nobody while unassigned), `none`.
    #[serde(default = "default_notify")]
    pub notify: String,
    /// Agents of this queue besides those whose `queues` name it.
    #[serde(default)]
    pub agents: Vec<String>,
}

/// How agents' mail is trusted and relayed, and what customers' late
/// replies do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentMail {
    /// Also require an `Authentication-Results` header from a trusted
    /// server with dkim=pass or spf=pass before mail counts as an agent's.
    #[serde(default)]
    pub require_authentication: bool,
    /// The authserv-ids (first word of Authentication-Results) to trust.
    #[serde(default)]
    pub trusted_servers: Vec<String>,
    /// The From display name of relayed answers; `{agent}` and `{desk}`
    /// are replaced. The address is always the desk's.
    #[serde(default = "default_display")]
    pub display_name: String,
    /// Relayed answers go to the requester and, with this on, in Cc to the
    /// ticket's other participants.
    #[serde(default = "yes")]
    pub cc_participants: bool,
    /// A customer reply to a resolved ticket within this time reopens it.
    #[serde(default = "fourteen_days", deserialize_with = "de_duration")]
    pub reopen_window: Duration,
    /// After the window, or on a closed ticket: `reopen`, `new` (a new
    /// ticket that names the old one) or `reject` (kept on the old ticket,
    /// and the customer told to write anew).
    #[serde(default = "default_after_window")]
    pub after_window: String,
    /// A customer's reply to a resolved or closed ticket that only says
    /// thanks ("thanks, that fixed it") reopens it, as any reply would.
    /// Off by default: it is stored and flagged, and nobody is paged.
    #[serde(default)]
    pub reopen_on_thanks: bool,
    /// An agent's answer written before something newer happened on the
    /// ticket (another agent's answer, a customer's mail) is held, not
    /// sent; the agent may release it with `#send` for this long.
    #[serde(default = "one_day", deserialize_with = "de_duration")]
    pub hold_expires: Duration,
    /// When a mail with commands gets a transcript back: `on-error` (only
    /// when a command failed) or `always`.
    #[serde(default = "default_transcript")]
    pub transcript: String,
}

impl Default for AgentMail {
    fn default() -> Self {
        AgentMail {
            require_authentication: false,
            trusted_servers: Vec::new(),
            display_name: default_display(),
            cc_participants: true,
            reopen_window: fourteen_days(),
            after_window: default_after_window(),
            reopen_on_thanks: false,
            hold_expires: one_day(),
            transcript: default_transcript(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Followup {
    #[serde(default = "three_days", deserialize_with = "de_duration")]
    pub remind_after: Duration,
    #[serde(default = "seven_days", deserialize_with = "de_duration")]
    pub autoclose_after: Duration,
}

impl Default for Followup {
    fn default() -> Self {
        Followup {
            remind_after: three_days(),
            autoclose_after: seven_days(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Survey {
    /// Off: no satisfaction surveys.
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "one_hour", deserialize_with = "de_duration")]
    pub delay: Duration,
    /// `1-5` (or any `1-N`, N up to 10), or words best first:
    /// `good/okay/bad`.
    #[serde(default = "default_scale")]
    pub scale: String,
    /// Survey tickets the desk closed for silence too.
    #[serde(default)]
    pub after_autoclose: bool,
    /// A survey answer whose comment asks for help reopens the ticket.
    #[serde(default = "yes")]
    pub reopen_on_help: bool,
    /// Scores at or below this (on a 1-N scale; the last word of a word
    /// scale) tell the queue's lead.
    #[serde(default = "default_low_score")]
    pub low_score: u32,
}

impl Default for Survey {
    fn default() -> Self {
        Survey {
            enabled: true,
            delay: one_hour(),
            scale: default_scale(),
            after_autoclose: false,
            reopen_on_help: true,
            low_score: default_low_score(),
        }
    }
}

impl Survey {
    /// The labels of the scale, best last for numbers (`1`..`N`), as
    /// written for words. Scores are 1-based positions, worst = 1.
    pub fn labels(&self) -> Vec<String> {
        if let Some((a, b)) = self.scale.split_once('-') {
            if let (Ok(1), Ok(n)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
                return (1..=n.min(10)).map(|i| i.to_string()).collect();
            }
        }
        let mut words: Vec<String> = self
            .scale
            .split('/')
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty())
            .collect();
        words.reverse();
        words
    }
}

/// Which status changes customers are told of (template `status`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusNotices {
    #[serde(default = "yes")]
    pub resolved: bool,
    /// "On hold": waiting on the customer.
    #[serde(default)]
    pub pending: bool,
    #[serde(default = "yes")]
    pub escalated: bool,
    #[serde(default)]
    pub closed: bool,
}

impl Default for StatusNotices {
    fn default() -> Self {
        StatusNotices {
            resolved: true,
            pending: false,
            escalated: true,
            closed: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub first_response: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub next_response: Option<Duration>,
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub resolution: Option<Duration>,
    /// A `[calendar.NAME]` whose open hours the targets count; wall-clock
    /// time when unset.
    #[serde(default)]
    pub calendar: Option<String>,
    /// Share of a target after which the assignee is warned.
    #[serde(default = "default_warn_at")]
    pub warn_at: f64,
    /// At a breach, raise the ticket's priority one step.
    #[serde(default)]
    pub raise_priority: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesRef {
    #[serde(default = "default_rules_file")]
    pub file: PathBuf,
}

impl Default for RulesRef {
    fn default() -> Self {
        RulesRef {
            file: default_rules_file(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesRef {
    #[serde(default = "default_templates_dir")]
    pub dir: PathBuf,
}

impl Default for TemplatesRef {
    fn default() -> Self {
        TemplatesRef {
            dir: default_templates_dir(),
        }
    }
}

/// Acknowledgements of new tickets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckConfig {
    /// Off means no acknowledgement unless a rule names a template.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The template used when no rule names one.
    #[serde(default = "default_ack_template")]
    pub template: String,
}

impl Default for AckConfig {
    fn default() -> Self {
        AckConfig {
            enabled: true,
            template: default_ack_template(),
        }
    }
}

/// Self-service articles suggested in acknowledgements.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KbRef {
    /// A TOML file of `[[article]]` entries; none when unset.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

/// Loop, flood and bounce guards (`[guard]`): how much automatic mail the
/// desk sends one address, how many tickets one sender opens, and how long
/// a hard-bounced address is spared.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guard {
    /// Automatic mail (acknowledgements, notices, surveys) to one address:
    /// every `COUNT/DURATION` window must have room, or the mail is
    /// recorded on the ticket and not sent. Agents' notifications and
    /// relayed answers are never capped.
    #[serde(default = "default_auto_mail_limits")]
    pub auto_mail_limits: Vec<crate::caps::Limit>,
    /// New tickets one sender may open per window; past it their mail
    /// joins their newest ticket, flagged, and nobody is notified.
    #[serde(default = "default_new_ticket_limit")]
    pub new_tickets_per_sender: crate::caps::Limit,
    /// After a hard bounce, no automatic mail goes to that address for
    /// this long (`postdesk addresses clear` ends it sooner).
    #[serde(default = "seven_days", deserialize_with = "de_duration")]
    pub hard_bounce_suppress: Duration,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            auto_mail_limits: default_auto_mail_limits(),
            new_tickets_per_sender: default_new_ticket_limit(),
            hard_bounce_suppress: seven_days(),
        }
    }
}

fn default_auto_mail_limits() -> Vec<crate::caps::Limit> {
    vec![
        crate::caps::Limit {
            count: 5,
            within: Duration::from_secs(600),
        },
        crate::caps::Limit {
            count: 20,
            within: Duration::from_secs(86_400),
        },
    ]
}

fn default_new_ticket_limit() -> crate::caps::Limit {
    crate::caps::Limit {
        count: 20,
        within: Duration::from_secs(3600),
    }
}

/// The opt-in Prometheus listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Where `/metrics` and `/healthz` answer; off when unset. Port 0 picks
    /// a free port (the bound address is logged and shown by `status`).
    #[serde(default)]
    pub listen: Option<std::net::SocketAddr>,
    /// Metrics name inboxes, queues and volumes: a listener off loopback is
    /// refused unless this says the admin means it (and firewalls it).
    #[serde(default)]
    pub allow_remote: bool,
}

/// How `serve` behaves as a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Daemon {
    /// The longest a SIGTERM drain may take before the daemon exits anyway
    /// (what is not flushed by then is fetched again on the next start,
    /// never lost). Keep it below systemd's TimeoutStopSec.
    #[serde(default = "default_stop_timeout", deserialize_with = "de_duration")]
    pub stop_timeout: Duration,
    /// How long `serve` waits at start for a command that opened the
    /// store itself (an MTA's `ingest`, a cron `stats`) to let go of it.
    #[serde(default = "default_lock_wait", deserialize_with = "de_duration")]
    pub lock_wait: Duration,
    /// How long the storage may keep failing (a full disk) while the
    /// daemon reopens the store by itself, before it stops feeding the
    /// systemd watchdog so that systemd restarts it.
    #[serde(default = "default_stuck_after", deserialize_with = "de_duration")]
    pub stuck_after: Duration,
}

impl Default for Daemon {
    fn default() -> Self {
        Daemon {
            stop_timeout: default_stop_timeout(),
            lock_wait: default_lock_wait(),
            stuck_after: default_stuck_after(),
        }
    }
}

fn default_stuck_after() -> Duration {
    Duration::from_secs(120)
}

fn default_lock_wait() -> Duration {
    Duration::from_secs(10)
}

fn default_stop_timeout() -> Duration {
    Duration::from_secs(20)
}

/// How the desk reads the mail it receives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// Signatures and mobile footers ("Sent from my iPhone") in replies:
    /// `cut` (the default) or `keep`. Quotes are cut either way.
    #[serde(default)]
    pub signatures: crate::mail::quote::Signatures,
}

/// How intake batches its durability work, and how much of a message it
/// is willing to read (see [`crate::mail::limits`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intake {
    /// Largest message accepted whole; larger ones are quarantined.
    #[serde(default = "default_max_size")]
    pub max_message_bytes: usize,
    /// Largest header section: over it at the top the message is
    /// quarantined, in a MIME part the part and what follows are cut.
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: usize,
    /// Longest header line read; longer ones are shortened.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// Deepest MIME nesting read (the message itself is level 1).
    #[serde(default = "default_max_mime_depth")]
    pub max_mime_depth: usize,
    /// Most MIME parts read.
    #[serde(default = "default_max_mime_parts")]
    pub max_mime_parts: usize,
    /// Most To and Cc addresses kept (they become ticket participants).
    #[serde(default = "default_max_recipients")]
    pub max_recipients: usize,
    /// How many source messages are stored before one flush marks them all
    /// done. Larger batches mean fewer fsyncs; nothing is marked done before
    /// its flush either way.
    #[serde(default = "default_batch")]
    pub batch: usize,
}

impl Default for Intake {
    fn default() -> Self {
        Intake {
            max_message_bytes: default_max_size(),
            max_header_bytes: default_max_header_bytes(),
            max_line_bytes: default_max_line_bytes(),
            max_mime_depth: default_max_mime_depth(),
            max_mime_parts: default_max_mime_parts(),
            max_recipients: default_max_recipients(),
            batch: default_batch(),
        }
    }
}

impl Intake {
    /// The limits the parser works within.
    pub fn limits(&self) -> crate::mail::Limits {
        crate::mail::Limits {
            message_bytes: self.max_message_bytes,
            header_bytes: self.max_header_bytes,
            line_bytes: self.max_line_bytes,
            depth: self.max_mime_depth,
            parts: self.max_mime_parts,
            recipients: self.max_recipients,
        }
    }
}

fn default_max_header_bytes() -> usize {
    crate::mail::Limits::default().header_bytes
}
fn default_max_line_bytes() -> usize {
    crate::mail::Limits::default().line_bytes
}
fn default_max_mime_depth() -> usize {
    crate::mail::Limits::default().depth
}
fn default_max_mime_parts() -> usize {
    crate::mail::Limits::default().parts
}
fn default_max_recipients() -> usize {
    crate::mail::Limits::default().recipients
}

fn yes() -> bool {
    true
}
fn default_prefix() -> String {
    "TICKET".into()
}
fn default_state_dir() -> PathBuf {
    PathBuf::from("var")
}
fn default_timezone() -> String {
    "UTC".into()
}
fn default_language() -> String {
    "en".into()
}
fn default_ack_template() -> String {
    "ack".into()
}
fn default_low_score() -> u32 {
    2
}
fn default_warn_at() -> f64 {
    0.8
}
fn default_notify() -> String {
    "queue".into()
}
fn default_display() -> String {
    "{agent} at {desk}".into()
}
fn fourteen_days() -> Duration {
    Duration::from_secs(14 * 86_400)
}
fn one_day() -> Duration {
    Duration::from_secs(86_400)
}
fn default_transcript() -> String {
    "on-error".into()
}
fn default_after_window() -> String {
    "new".into()
}
fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}
fn five_minutes() -> Duration {
    Duration::from_secs(300)
}
fn two_days() -> Duration {
    Duration::from_secs(2 * 86_400)
}
fn default_category() -> String {
    "general".into()
}
fn default_priority() -> String {
    "normal".into()
}
fn default_queue() -> String {
    "general".into()
}
fn default_poll() -> Duration {
    Duration::from_millis(500)
}
fn default_spool() -> PathBuf {
    PathBuf::from("var/outgoing")
}
fn three_days() -> Duration {
    Duration::from_secs(3 * 86_400)
}
fn seven_days() -> Duration {
    Duration::from_secs(7 * 86_400)
}
fn one_hour() -> Duration {
    Duration::from_secs(3600)
}
fn default_scale() -> String {
    "1-5".into()
}
fn default_rules_file() -> PathBuf {
    PathBuf::from("config/rules.toml")
}
fn default_templates_dir() -> PathBuf {
    PathBuf::from("templates")
}
fn default_max_size() -> usize {
    50 * 1024 * 1024
}
fn default_batch() -> usize {
    256
}

/// An organisation that writes from several domains.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub name: String,
    pub domains: Vec<String>,
}

/// Which storage engine holds the desk, and how it uses memory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// sled (embedded, in `desk.state_dir`, the default) or PostgreSQL
    /// (shared by several daemons; see [`crate::pg`]).
    #[serde(default)]
    pub kind: StoreKind,
    /// The storage engine's page cache. Its own default is 1 GiB, which a
    /// long-running desk fills and keeps; 64 MiB holds the hot tickets
    /// and indexes of a large desk (reads past it go to the page cache of
    /// the kernel, not to disk, on a machine with memory to spare).
    #[serde(default = "default_store_cache", deserialize_with = "de_bytes")]
    pub cache: u64,
    /// The environment variable holding the PostgreSQL URL. The URL holds
    /// the password, so it is never written in this file (like
    /// `password_env`).
    #[serde(default)]
    pub url_env: Option<String>,
    /// A file holding the PostgreSQL URL; refused when other users can
    /// read it.
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// Connections to PostgreSQL kept open, at most.
    #[serde(default = "default_pool")]
    pub pool: usize,
    /// TLS to PostgreSQL: `disable`, `prefer` (TLS when the server offers
    /// it, as libpq does) or `require`. Whenever TLS is used the server's
    /// certificate is verified (against `ca_file`, else the web's roots):
    /// rustls has no unverified mode, and a TLS that accepts any
    /// certificate protects against nothing but a passive listener.
    #[serde(default)]
    pub tls: PgTls,
    /// PEM file of the CA that signed the PostgreSQL server's certificate
    /// (a private CA, as most database servers have).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// With several `serve` nodes on one database: how long a node holds
    /// an inbox's lease without renewing it, so how long an inbox goes
    /// unread after its node dies. Renewed at a third of it.
    #[serde(default = "fifteen_seconds", deserialize_with = "de_duration")]
    pub lease_ttl: std::time::Duration,
}

fn fifteen_seconds() -> std::time::Duration {
    std::time::Duration::from_secs(15)
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: StoreKind::default(),
            cache: default_store_cache(),
            url_env: None,
            url_file: None,
            pool: default_pool(),
            tls: PgTls::default(),
            ca_file: None,
            lease_ttl: fifteen_seconds(),
        }
    }
}

impl StoreConfig {
    /// Whether a PostgreSQL database is named (for `postdesk migrate`,
    /// which may fill one before `kind` says postgres).
    pub fn has_postgres(&self) -> bool {
        self.url_env.is_some() || self.url_file.is_some()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Sled,
    Postgres,
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreKind::Sled => "sled",
            StoreKind::Postgres => "postgres",
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PgTls {
    Disable,
    #[default]
    Prefer,
    Require,
}

fn default_pool() -> usize {
    8
}

fn default_store_cache() -> u64 {
    64 * 1024 * 1024
}

/// A size such as `64MiB`, `512KiB`, `1GiB`, `10MB` or a plain number of
/// bytes.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write it like 64MiB, 512KiB or 1GiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}`; write it like 64MiB, 512KiB or 1GiB"
            ))
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

fn de_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Number(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Number(n) => Ok(n),
        Size::Text(t) => parse_bytes(&t).map_err(serde::de::Error::custom),
    }
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration ({e}); write it like 90s, 4h or 3d"
        ))
    })
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

impl Config {
    /// Reads, overlays the environment, and validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_with_env(path, &text, std::env::vars())
    }

    /// The same as [`Config::load`] with the file's text and the environment
    /// given, so tests need neither a file nor a mutated process environment.
    pub fn from_toml_with_env(
        path: &Path,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        // First a strict pass with positions: most mistakes are found here with
        // a line and column an editor can jump to.
        if let Err(e) = toml::from_str::<Config>(text) {
            return Err(syntax_error(path, text, &e));
        }
        let overrides: config::Map<String, String> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix("POSTDESK_")?;
                rest.contains("__").then(|| (k.clone(), v))
            })
            .collect();
        let built =
            with_overrides(text, overrides.clone()).map_err(|e| invalid(path, e.to_string()))?;
        let mut cfg: Config = match built.try_deserialize() {
            Ok(c) => c,
            Err(e) => return Err(override_error(path, text, &overrides, e)),
        };
        cfg.source = path.to_path_buf();
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
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

    /// The sled store lives here, with the control socket and the secret.
    pub fn state_dir(&self) -> &Path {
        &self.desk.state_dir
    }

    /// Every address that is the desk itself, lowercased.
    /// The organisation an address belongs to: the `[[organization]]`
    /// listing its domain (or a parent domain), else the domain itself.
    pub fn organization_of(&self, email: &str) -> String {
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.trim().to_ascii_lowercase())
            .unwrap_or_default();
        self.organizations
            .iter()
            .find(|o| {
                o.domains.iter().any(|d| {
                    let d = d.trim().to_ascii_lowercase();
                    domain == d || domain.ends_with(&format!(".{d}"))
                })
            })
            .map(|o| o.name.clone())
            .unwrap_or(domain)
    }

    pub fn own_addresses(&self) -> Vec<String> {
        std::iter::once(&self.desk.address)
            .chain(self.desk.aliases.iter())
            .map(|a| a.trim().to_ascii_lowercase())
            .collect()
    }

    pub fn timezone(&self) -> chrono_tz::Tz {
        self.desk.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// The configured agent with this address.
    pub fn agent(&self, email: &str) -> Option<&Agent> {
        self.agents
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email.trim()))
    }

    /// The agents of a queue, in config order.
    pub fn queue_agents(&self, queue: &str) -> Vec<&Agent> {
        let extra: Vec<&String> = self
            .queues
            .iter()
            .filter(|q| q.name == queue)
            .flat_map(|q| q.agents.iter())
            .collect();
        self.agents
            .iter()
            .filter(|a| {
                a.queues.iter().any(|q| q == queue)
                    || extra.iter().any(|e| e.eq_ignore_ascii_case(&a.email))
            })
            .collect()
    }

    /// The queue that mail arriving through `inbox` lands in.
    /// Every queue the desk knows of: `[[queue]]` tables, the inboxes'
    /// queues and the agents' queues, sorted.
    pub fn queue_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .queues
            .iter()
            .map(|q| q.name.clone())
            .chain(self.inboxes.iter().map(|i| i.queue.clone()))
            .chain(self.agents.iter().flat_map(|a| a.queues.iter().cloned()))
            .chain(std::iter::once(default_queue()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn queue_for_inbox(&self, inbox: &str) -> String {
        self.inboxes
            .iter()
            .find(|i| i.name == inbox)
            .map(|i| i.queue.clone())
            .unwrap_or_else(default_queue)
    }
}

fn invalid(path: &Path, message: String) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    }
}

/// The file's text with `POSTDESK_SECTION__KEY` overrides laid over it.
fn with_overrides(
    text: &str,
    overrides: config::Map<String, String>,
) -> Result<config::Config, config::ConfigError> {
    config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .add_source(
            config::Environment::with_prefix("POSTDESK")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(Some(overrides)),
        )
        .build()
}

/// The file alone parsed (the strict pass), so an error after the
/// environment was overlaid comes from an override: find the variable,
/// so the admin is pointed at it and not at a file that is fine.
fn override_error(
    path: &Path,
    text: &str,
    overrides: &config::Map<String, String>,
    e: config::ConfigError,
) -> ConfigError {
    for (var, value) in overrides {
        let one: config::Map<String, String> =
            std::iter::once((var.clone(), value.clone())).collect();
        let alone = with_overrides(text, one).and_then(|c| c.try_deserialize::<Config>());
        if let Err(e) = alone {
            return ConfigError::Override {
                var: var.clone(),
                path: path.to_path_buf(),
                message: e.to_string(),
            };
        }
    }
    invalid(path, format!("{e} (after applying POSTDESK_* overrides)"))
}

fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message: e.message().trim().to_string(),
    }
}

/// 1-based line and column of a byte offset, as editors count them.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {

    #[test]
    fn sizes_read_as_admins_write_them() {
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_bytes("1gib"), Ok(1 << 30));
        assert_eq!(parse_bytes("10MB"), Ok(10_000_000));
        assert_eq!(parse_bytes("4_096"), Ok(4096));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5 parsecs").unwrap_err().contains("parsecs"));
        assert!(parse_bytes("99999999999999GiB").is_err());
    }

    use super::*;

    const MINIMAL: &str = r#"
[desk]
name = "Acme Support"
address = "support@example.com"
ticket_prefix = "ACME"
"#;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_toml_with_env(
            Path::new("test.toml"),
            text,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let cfg = load(MINIMAL, &[]).unwrap();
        assert_eq!(cfg.desk.state_dir, PathBuf::from("var"));
        assert_eq!(cfg.outgoing.kind, OutgoingKind::File);
        assert_eq!(cfg.followup.remind_after, Duration::from_secs(3 * 86400));
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let text = format!("{MINIMAL}\n[outgoing]\nspol = \"x\"\n");
        let err = load(&text, &[]).unwrap_err().to_string();
        assert!(err.contains("spol"), "{err}");
        assert!(err.contains("test.toml:8:"), "{err}");
    }

    #[test]
    fn env_overrides_need_double_underscore() {
        let cfg = load(
            MINIMAL,
            &[
                ("POSTDESK_DESK__NAME", "Other Desk"),
                ("POSTDESK_CONFIG", "ignored.toml"),
                ("POSTDESK_IMAP_PASSWORD", "hunter2"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.desk.name, "Other Desk");
    }

    #[test]
    fn bad_duration_says_how_to_write_one() {
        let text = format!("{MINIMAL}\n[followup]\nremind_after = \"soon\"\n");
        let err = load(&text, &[]).unwrap_err().to_string();
        assert!(err.contains("90s, 4h or 3d"), "{err}");
    }

    #[test]
    fn intake_limits_have_defaults_and_sane_bounds() {
        let cfg = load(MINIMAL, &[]).unwrap();
        assert_eq!(cfg.intake.limits(), crate::mail::Limits::default());
        let text = format!("{MINIMAL}\n[intake]\nmax_mime_depth = 5000\n");
        let err = load(&text, &[]).unwrap_err().to_string();
        assert!(
            err.contains("max_mime_depth") && err.contains("at most 1000"),
            "{err}"
        );
        let text = format!("{MINIMAL}\n[intake]\nmax_line_bytes = 10\n");
        let err = load(&text, &[]).unwrap_err().to_string();
        assert!(err.contains("max_line_bytes"), "{err}");
    }

    #[test]
    fn maildir_inbox_needs_a_path() {
        let text = format!("{MINIMAL}\n[[inbox]]\nname = \"main\"\nkind = \"maildir\"\n");
        let err = load(&text, &[]).unwrap_err().to_string();
        assert!(err.contains("has no `path`"), "{err}");
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
