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

use serde::Deserialize;

mod load;
mod store;
mod validate;
mod values;

pub use load::{line_col, locate, ConfigError, DEFAULT_PATHS};
pub use store::{PgTls, StoreConfig, StoreKind};
pub use values::parse_bytes;
use values::{de_duration, de_opt_duration};

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

impl Config {
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
