//! The `postdesk` command line: argument definitions and how each command
//! prints its answer. Commands turn into [`Request`]s to a [`Backend`], so
//! they behave the same with or without a running daemon.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Parser, Subcommand};

use crate::api::{Outcome, Request, Response, TicketView};
use crate::backend::Backend;
use crate::config::{self, Config};
use crate::import;
use crate::source::pipe::PipeError;
use crate::ticket::{Status, Ticket};

mod docs;
mod print;
pub mod safe;
mod set;

use print::{clip, print_marks, print_notified, print_status, print_ticket, print_ticket_list};

/// sysexits.h codes that MTAs understand.
pub use crate::source::pipe::{EX_DATAERR, EX_SOFTWARE, EX_TEMPFAIL};
pub const EX_CONFIG: u8 = 78;

/// What `--version` says: the crate version and the git revision build.rs
/// found, so a bug report names the exact commit (`postdesk 0.1.0 (git 1ebe83f)`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("POSTDESK_GIT_REV"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "postdesk",
    version = VERSION,
    about = "A support desk that runs entirely over email"
)]
pub struct Args {
    /// Configuration file [default: ./config/postdesk.toml, then
    /// /etc/postdesk/postdesk.toml, the first that exists].
    #[arg(long, global = true, env = "POSTDESK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format on stderr: auto (human on a terminal, journald under
    /// systemd, plain otherwise), human, json, journald.
    #[arg(
        long,
        global = true,
        env = "POSTDESK_LOG_FORMAT",
        value_enum,
        default_value = "auto"
    )]
    pub log_format: crate::logging::Format,
    /// Colour in what postdesk writes to a terminal: auto (a terminal,
    /// unless NO_COLOR is set), always, never.
    #[arg(
        long,
        global = true,
        env = "POSTDESK_COLOR",
        value_enum,
        default_value = "auto"
    )]
    pub color: crate::logging::Color,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: watch the inboxes and answer commands on the control socket.
    Serve,
    /// Store messages given as files or on stdin (MTA pipe delivery).
    ///
    /// Exit status: 0 stored (or already stored, or kept in quarantine), 65
    /// not mail at all (the bytes are still quarantined), 75 the store is
    /// unavailable and the MTA should retry.
    Ingest {
        /// Message files; `-` or nothing reads one message from stdin.
        files: Vec<PathBuf>,
        /// The inbox the mail counts as arriving through (decides its queue).
        #[arg(long)]
        inbox: Option<String>,
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Bring an existing mailbox in as history (nothing is answered).
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// List and inspect tickets.
    Tickets {
        #[command(subcommand)]
        what: TicketsCmd,
    },
    /// Mail that could not be stored as a ticket message, with the reason.
    Quarantine {
        #[command(subcommand)]
        what: QuarantineCmd,
    },
    /// Addresses marked by delivery reports: bounced, and held from automatic mail.
    Addresses {
        #[command(subcommand)]
        what: AddressesCmd,
    },
    /// Validate the configuration, templates and article list; errors name the file and line.
    Check {
        /// Also read every record of the store and report what cannot be
        /// read (changes nothing; through the daemon when one runs).
        #[arg(long)]
        store: bool,
        /// As JSON: `ok`, `problems`, `warnings` and what was checked.
        #[arg(long)]
        json: bool,
    },
    /// Outgoing mail: what is queued, sent or failed.
    Outbox {
        #[command(subcommand)]
        what: OutboxCmd,
    },
    /// Templates: render one to see what customers will get.
    Templates {
        #[command(subcommand)]
        what: TemplatesCmd,
    },
    /// Where the daemon, every inbox and the outbox stand.
    Status {
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// The rule file: try it on a message.
    Rules {
        #[command(subcommand)]
        what: RulesCmd,
    },
    /// A consistent copy of the store and the token secret, taken while the
    /// daemon runs (or without one). DIR must be new or empty, and writable
    /// by the daemon (under systemd: inside /var/lib/postdesk).
    Backup {
        /// A new or empty folder for the backup.
        dir: PathBuf,
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Put a backup in place of the store. The daemon must be stopped; an
    /// existing store is only replaced with --force (and moved aside, not deleted).
    Restore {
        /// The backup folder (as `postdesk backup` wrote it).
        dir: PathBuf,
        #[arg(long)]
        /// Replace an existing store (it is moved aside, not deleted).
        force: bool,
    },
    /// The managers' report: response and resolution times, satisfaction,
    /// backlog, first-contact resolution, SLA, peak times, recurring issues.
    ///
    /// Window: tickets created, answered, resolved or rated within --since
    /// of now (all time without it); the backlog is always as of now.
    /// Durations are wall-clock time; medians and p90 are nearest-rank.
    /// First response: creation to the first answer an agent sent.
    /// Resolution: creation to the last resolution, for tickets resolved in
    /// the window and still resolved or closed. CSAT: average survey score
    /// and the share of good ratings (at least 4/5 of the scale).
    /// First-contact resolution: of the tickets resolved in the window that
    /// got an answer, those with exactly one agent answer and never
    /// reopened. SLA attainment: of the tickets resolved in the window whose
    /// SLA class has targets, those with no target missed (the desk's own
    /// verdict, in business hours where the class has a calendar). Peak
    /// times: tickets created per hour of the week in desk.timezone.
    /// Recurring subjects: subjects (case, numbers and punctuation evened
    /// out) on at least 3 tickets. Spam and merged tickets are left out.
    Stats {
        /// How far back: 24h, 7d, 30d (humantime). All time when absent.
        #[arg(long, value_parser = parse_duration)]
        since: Option<std::time::Duration>,
        /// Only tickets now in this queue.
        #[arg(long)]
        queue: Option<String>,
        /// The report as JSON (stable field names; durations in seconds,
        /// shares as fractions rounded to 3 decimals).
        #[arg(long)]
        json: bool,
        /// Also write the report as one self-contained HTML page with charts.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Compute as if it were this time (RFC 3339): reproducible reports.
        #[arg(long, value_name = "TIME", hide = true)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Mail a notice (an outage, a maintenance window) to every customer
    /// with a matching ticket, once each, through the outbox.
    ///
    /// The notice is the template NAME (e.g. templates/notice_outage.hbs,
    /// checked by `postdesk check`), rendered for each customer about their
    /// newest matching ticket (`ticket.*`; `other_tickets` lists the other
    /// matching ones) and sent to them alone as automatic mail. Without
    /// --status, tickets new, open or pending match. Running the same
    /// command again sends only to customers not yet notified.
    Notify {
        /// The template to send.
        #[arg(long, value_name = "NAME")]
        template: String,
        #[arg(long)]
        /// Only customers with a ticket in this category.
        category: Option<String>,
        #[arg(long)]
        /// Only customers with a ticket with this tag.
        tag: Option<String>,
        /// Repeat for several statuses.
        #[arg(long, value_parser = parse_status)]
        status: Vec<Status>,
        #[arg(long)]
        /// Only customers with a ticket in this queue.
        queue: Option<String>,
        /// Send this notice again to the same customers under a new name.
        #[arg(long)]
        campaign: Option<String>,
        /// List who would get it; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// What postdesk keeps of a reply once quotes and signatures are cut.
    ///
    /// Reads a whole message, or a bare body when the input has no header
    /// section. Needs no configuration and no store.
    Strip {
        /// A message file; `-` or nothing reads stdin.
        file: Option<PathBuf>,
        /// Also print what was cut and why, with line numbers.
        #[arg(long)]
        explain: bool,
        /// As JSON: the text kept and every cut with its lines and reason.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script on stdout (bash, zsh, fish, ...).
    ///
    /// The Debian package installs them; by hand, e.g.
    /// `postdesk completions bash > /usr/share/bash-completion/completions/postdesk`.
    Completions {
        /// The shell to write the script for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout: `postdesk man | man -l -`.
    Man {
        /// Write postdesk.1 and a page per command (postdesk-tickets-list.1, ...) into DIR instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// Dry run: which rules match a message, and why; nothing is stored or sent.
    Test {
        /// A message file (`-` for stdin).
        message: PathBuf,
        /// The inbox it counts as arriving through.
        #[arg(long)]
        inbox: Option<String>,
        /// Use the rules the running daemon has loaded, not the file on
        /// disk (the default: what `check` reads and a reload would load).
        #[arg(long)]
        live: bool,
        /// The explanation as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCmd {
    /// Every outgoing mail with its state, attempts and last error.
    List {
        /// Only entries in this state.
        #[arg(long, value_parser = ["queued", "sent", "failed"])]
        state: Option<String>,
        /// Only mail about this ticket (`ACME-42` or `42`).
        #[arg(long)]
        ticket: Option<String>,
        /// As JSON, one array of entries.
        #[arg(long)]
        json: bool,
    },
    /// Send again now: one entry, every failed one, or (--all) every
    /// unsent one.
    Retry {
        /// The entry's id (`outbox list`); without it, every failed entry.
        #[arg(conflicts_with = "all")]
        id: Option<u64>,
        /// Every queued and failed entry, due now: flushes the queue after
        /// an outage instead of waiting for each mail's next attempt.
        #[arg(long)]
        all: bool,
        /// The ids requeued, as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCmd {
    /// Render a template with a real ticket's data, or sample data.
    Preview {
        /// The template's name (`ack`, `status`, `notice_outage`, ...).
        name: String,
        /// Render with this ticket's data instead of sample data.
        #[arg(long)]
        ticket: Option<String>,
        /// Render with the templates the running daemon has loaded, not
        /// the files on disk (the default: what a reload would load).
        #[arg(long)]
        live: bool,
        /// The rendered mail as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every template the desk has, by kind and inbox.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// An mbox file.
    Mbox {
        /// The mbox file.
        file: PathBuf,
        #[command(flatten)]
        opts: ImportOpts,
    },
    /// A Maildir folder (its `cur/` and `new/`).
    Maildir {
        /// The Maildir (the folder holding `cur/` and `new/`).
        dir: PathBuf,
        #[command(flatten)]
        opts: ImportOpts,
    },
}

#[derive(Debug, clap::Args)]
pub struct ImportOpts {
    /// The inbox the mail counts as arriving through.
    #[arg(long)]
    inbox: Option<String>,
    /// Status for the tickets it creates: history is usually `closed`.
    #[arg(long, default_value = "open", value_parser = parse_status)]
    status: Status,
    /// As JSON instead of text (stable field names).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TicketsCmd {
    /// One line per ticket.
    List {
        #[arg(long, value_parser = parse_status)]
        /// Only tickets in this status.
        status: Option<Status>,
        #[arg(long)]
        /// Only tickets in this queue.
        queue: Option<String>,
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// A ticket and its whole thread, in order.
    Show {
        /// `ACME-42` or `42`.
        id: String,
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Change a ticket (an admin's fix): the same commands an agent gives
    /// by mail (`#status pending` is `--status pending`), with the same
    /// effects: timers, status notices to the customer.
    Set {
        /// `ACME-42` or `42`.
        id: String,
        #[command(flatten)]
        flags: set::SetFlags,
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Merge FROM into INTO: one thread, INTO's number.
    Merge {
        /// The ticket that goes (`ACME-7`).
        from: String,
        /// The ticket that stays and gains its thread.
        into: String,
        /// Both tickets afterwards, as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCmd {
    /// Every message kept out of the desk, with the reason.
    List {
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// The entry and its raw bytes (`--raw` writes only the bytes, to save or re-ingest).
    Show {
        /// The entry's id, as `quarantine list` shows it.
        id: String,
        #[arg(long)]
        /// Write only the raw bytes, as they arrived (to save or re-ingest them).
        raw: bool,
        /// With `--raw`: write the bytes even when stdout is a terminal
        /// (they may hold escape sequences the terminal obeys).
        #[arg(long, requires = "raw")]
        force: bool,
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AddressesCmd {
    /// Every marked address: hard and soft bounces, and until when automatic mail is held.
    List {
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Forget an address's mark (it works again): automatic mail may go to it.
    Clear {
        /// The address to clear.
        address: String,
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration like 24h, 7d or 30d: {e}"))
}

fn parse_status(s: &str) -> Result<Status, String> {
    Status::parse(s)
        .ok_or_else(|| format!("`{s}` is not one of new, open, pending, resolved, closed"))
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(args: Args) -> ExitCode {
    let daemon = matches!(args.command, Command::Serve);
    if !daemon {
        // `postdesk tickets list | head` should end quietly, like any Unix
        // tool, not panic on a closed pipe. The daemon keeps Rust's default
        // (ignore SIGPIPE) so a vanished socket client cannot kill it.
        // SAFETY: setting a signal disposition to its default at start-up,
        // before any thread exists, has no preconditions.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    crate::logging::init(args.log_format, args.color, daemon);
    match dispatch(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("postdesk: {}", safe::text(&format!("{e:#}")));
            ExitCode::from(e.downcast_ref::<Exit>().map_or(1, |x| x.code))
        }
    }
}

/// An error that carries its own exit code (configuration errors).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Exit {
    code: u8,
    message: String,
}

/// EX_USAGE (sysexits.h): the command was used wrongly; the message says
/// what would be right.
pub const EX_USAGE: u8 = 64;

/// Refuses a queue the desk does not have, naming the ones it has: a
/// filter on a misspelt queue would print an empty answer and look like
/// "no tickets".
fn known_queue(config: &Config, queue: &str) -> Result<()> {
    let known = config.queue_names();
    if known.iter().any(|q| q == queue) {
        return Ok(());
    }
    Err(Exit {
        code: EX_USAGE,
        message: format!("no queue `{queue}`; the queues are {}", known.join(", ")),
    }
    .into())
}

/// Parses the command line; a usage error exits 64 (EX_USAGE), as
/// sysexits.h has it, and help and the version exit 0.
pub fn parse_args() -> std::result::Result<Args, ExitCode> {
    use clap::Parser as _;
    Args::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(EX_USAGE)
        } else {
            ExitCode::SUCCESS
        }
    })
}

fn load_config(path: &std::path::Path) -> Result<Config> {
    Config::load(path).map_err(|e| {
        Exit {
            code: EX_CONFIG,
            message: e.to_string(),
        }
        .into()
    })
}

fn dispatch(args: Args) -> Result<u8> {
    // Offline tools answer without a configuration file.
    if let Command::Strip {
        file,
        explain,
        json,
    } = &args.command
    {
        return strip(file.as_deref(), *explain, *json);
    }
    match &args.command {
        Command::Completions { shell } => return docs::completions(*shell),
        Command::Man { dir } => return docs::man(dir.as_deref()),
        _ => {}
    }
    let path = config::locate(args.config.as_deref()).map_err(|e| Exit {
        code: EX_CONFIG,
        message: e.to_string(),
    })?;
    let config = load_config(&path)?;
    match args.command {
        Command::Strip {
            file,
            explain,
            json,
        } => strip(file.as_deref(), explain, json),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { dir } => docs::man(dir.as_deref()),
        Command::Serve => match crate::daemon::run(config) {
            Ok(()) => Ok(0),
            Err(e) if e.is_config() => Err(Exit {
                code: EX_CONFIG,
                message: e.to_string(),
            }
            .into()),
            Err(e) => Err(e.into()),
        },
        Command::Check { store, json } => {
            let verified = if store {
                let mut backend = Backend::connect(config.clone())?;
                match call(&mut backend, Request::VerifyStore)? {
                    Response::Verified(v) => Some(v),
                    other => bail!("unexpected answer: {other:?}"),
                }
            } else {
                None
            };
            check(&path, &config, json, verified.as_ref())
        }
        Command::Backup { dir, json } => {
            let dir = std::path::absolute(&dir)
                .with_context(|| format!("cannot resolve {}", dir.display()))?;
            let mut backend = Backend::connect(config)?;
            let m = match call(&mut backend, Request::Backup { dir: dir.clone() })? {
                Response::BackedUp(m) => m,
                other => bail!("unexpected answer: {other:?}"),
            };
            if json {
                println!("{}", safe::json(serde_json::to_string_pretty(&m)?));
            } else {
                println!(
                    "{}: {} tickets, {} messages, {} bytes, sha256 {}{}",
                    dir.display(),
                    m.tickets,
                    m.trees.get("messages").copied().unwrap_or(0),
                    m.bytes,
                    &m.sha256[..16],
                    if m.secret {
                        ", token secret included"
                    } else {
                        ""
                    }
                );
            }
            Ok(0)
        }
        Command::Restore { dir, force } => {
            let state = config.state_dir().to_path_buf();
            if crate::control::Client::connect(&state)?.is_some() {
                return Err(crate::backup::BackupError::DaemonRunning(state).into());
            }
            let m = crate::backup::restore(&state, &dir, force)?;
            println!(
                "restored {} tickets ({} messages) from {} (taken {}) into {}",
                m.tickets,
                m.trees.get("messages").copied().unwrap_or(0),
                dir.display(),
                m.created.format("%Y-%m-%d %H:%M:%S UTC"),
                state.display()
            );
            Ok(0)
        }
        Command::Outbox { what } => {
            let mut backend = Backend::connect(config)?;
            match what {
                OutboxCmd::List {
                    state,
                    ticket,
                    json,
                } => {
                    let mut entries = match call(&mut backend, Request::ListOutbox)? {
                        Response::Outbox(e) => e,
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if let Some(s) = state {
                        entries.retain(|e| e.state.to_string().trim() == s);
                    }
                    if let Some(t) = ticket {
                        // By number, so `42`, `ACME-42` and a reference
                        // from before a prefix change all find it.
                        let number = |r: &str| {
                            let r = r.trim().trim_start_matches('[').trim_end_matches(']');
                            r.rsplit('-').next().and_then(|n| n.parse::<u64>().ok())
                        };
                        let Some(n) = number(&t) else {
                            return Err(Exit {
                                code: EX_USAGE,
                                message: format!("`{t}` is not a ticket reference (ACME-42 or 42)"),
                            }
                            .into());
                        };
                        entries.retain(|e| e.ticket.as_deref().and_then(number) == Some(n));
                    }
                    if json {
                        println!("{}", safe::json(serde_json::to_string_pretty(&entries)?));
                    } else if entries.is_empty() {
                        println!("outbox is empty");
                    } else {
                        // RESENT: sends cut short by a stop of postdesk,
                        // each of which may have reached the recipient.
                        println!(
                            "{:>6}  {:<7} {:>3} {:>6}  {:<12} {:<13} {:<30} LAST ERROR / SUBJECT",
                            "ID", "STATE", "TRY", "RESENT", "TICKET", "KIND", "TO"
                        );
                        for e in entries {
                            println!(
                                "{:>6}  {:<7} {:>3} {:>6}  {:<12} {:<13} {:<30} {}",
                                e.id,
                                e.state,
                                e.attempts,
                                e.unconfirmed,
                                safe::line(e.ticket.as_deref().unwrap_or("-")),
                                e.kind,
                                clip(&e.recipients.join(","), 30),
                                safe::line(e.last_error.as_deref().unwrap_or(&e.subject))
                            );
                        }
                    }
                }
                OutboxCmd::Retry { id, all, json } => {
                    match call(&mut backend, Request::RetryOutbox { id, all })? {
                        Response::Requeued(ids) if json => {
                            println!("{}", serde_json::json!({ "requeued": ids }))
                        }
                        Response::Requeued(ids) if ids.is_empty() => println!("nothing to retry"),
                        Response::Requeued(ids) => println!(
                            "requeued {}",
                            ids.iter()
                                .map(u64::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        other => bail!("unexpected answer: {other:?}"),
                    }
                }
            }
            Ok(0)
        }
        Command::Status { json } => {
            let mut backend = Backend::connect(config)?;
            let remote = backend.is_remote();
            let mut report = match call(&mut backend, Request::Status)? {
                Response::Status(r) => r,
                other => bail!("unexpected answer: {other:?}"),
            };
            // Answered by this process: nothing is reading the inboxes.
            report.daemon = remote;
            if json {
                println!("{}", safe::json(serde_json::to_string_pretty(&report)?));
            } else {
                print_status(&report);
            }
            // Like `systemctl status`: 3 when not running, 1 when degraded.
            Ok(if !report.daemon {
                3
            } else if report.inboxes.iter().any(|i| !i.connected) {
                1
            } else {
                0
            })
        }
        Command::Rules {
            what:
                RulesCmd::Test {
                    message,
                    inbox,
                    live,
                    json,
                },
        } => {
            let raw = if message.as_os_str() == "-" {
                let mut raw = Vec::new();
                std::io::stdin().read_to_end(&mut raw)?;
                raw
            } else {
                std::fs::read(&message)
                    .with_context(|| format!("cannot read {}", message.display()))?
            };
            let rules_file = config.rules.file.clone();
            let mut backend = Backend::connect(config)?;
            let req = Request::ExplainRules { inbox, live, raw };
            let explained = match call(&mut backend, req)? {
                Response::Explained(e) => e,
                other => bail!("unexpected answer: {other:?}"),
            };
            if json {
                println!("{}", safe::json(serde_json::to_string_pretty(&explained)?));
            } else {
                if live {
                    println!("rules: the set the daemon has loaded (--live)");
                } else {
                    println!(
                        "rules: {} (the file on disk)",
                        safe::line(&rules_file.display().to_string())
                    );
                }
                // The explanation quotes the message's headers.
                print!("{}", safe::text(&explained.to_string()));
            }
            Ok(0)
        }
        Command::Templates { what } => {
            let templates_dir = config.templates.dir.clone();
            let mut backend = Backend::connect(config)?;
            match what {
                TemplatesCmd::List { json } => {
                    let templates =
                        crate::templates::Templates::load(&templates_dir).map_err(|e| Exit {
                            code: EX_CONFIG,
                            message: e.to_string(),
                        })?;
                    let names = templates.names();
                    if json {
                        println!("{}", safe::json(serde_json::to_string_pretty(&names)?));
                    } else {
                        for n in &names {
                            let kind = crate::templates::kind_of(n).unwrap_or("notice");
                            println!("{:<24} {kind}", safe::line(n));
                        }
                    }
                }
                TemplatesCmd::Preview {
                    name,
                    ticket,
                    live,
                    json,
                } => {
                    let req = Request::PreviewTemplate { name, ticket, live };
                    let p = match call(&mut backend, req)? {
                        Response::Preview(p) => p,
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if json {
                        println!("{}", safe::json(serde_json::to_string_pretty(&p)?));
                    } else {
                        // Rendered with the ticket's data: the customer's
                        // subject, name and words.
                        println!("Subject: {}", safe::line(&p.subject));
                        for (k, v) in &p.headers {
                            println!("{}: {}", safe::line(k), safe::line(v));
                        }
                        println!();
                        print!("{}", safe::text(&p.text));
                        if let Some(html) = p.html {
                            println!("\n----- HTML alternative -----\n{}", safe::text(&html));
                        }
                    }
                }
            }
            Ok(0)
        }
        Command::Ingest { files, inbox, json } => ingest(config, files, inbox, json),
        Command::Stats {
            since,
            queue,
            json,
            html,
            now,
        } => {
            if let Some(q) = &queue {
                known_queue(&config, q)?;
            }
            let mut backend = Backend::connect(config)?;
            let req = Request::Stats {
                since_secs: since.map(|d| d.as_secs()),
                queue,
                now,
            };
            let stats = match call(&mut backend, req)? {
                Response::Stats(s) => s,
                other => bail!("unexpected answer: {other:?}"),
            };
            if let Some(path) = &html {
                std::fs::write(path, crate::report::html::render(&stats))
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if json {
                println!("{}", safe::json(serde_json::to_string_pretty(&stats)?));
            } else {
                // render() escapes each field from mail (escaping the
                // whole again would double its backslashes).
                print!("{}", crate::report::text::render(&stats));
                if let Some(path) = &html {
                    println!("\nHTML report written to {}", path.display());
                }
            }
            Ok(0)
        }
        Command::Notify {
            template,
            category,
            tag,
            status,
            queue,
            campaign,
            dry_run,
            json,
        } => {
            let mut backend = Backend::connect(config)?;
            let filter = crate::notify::Filter {
                template,
                category,
                tag,
                status,
                queue,
                campaign,
                dry_run,
            };
            let report = match call(&mut backend, Request::Notify(filter))? {
                Response::Notified(r) => r,
                other => bail!("unexpected answer: {other:?}"),
            };
            if json {
                println!("{}", safe::json(serde_json::to_string_pretty(&report)?));
            } else {
                print_notified(&report, backend.is_remote());
            }
            let failed = report
                .recipients
                .iter()
                .any(|r| r.state == crate::notify::RecipientState::Failed);
            Ok(if failed { EX_SOFTWARE } else { 0 })
        }
        Command::Import { what } => {
            let batch = config.intake.batch;
            let mut backend = Backend::connect(config)?;
            let (format, path, opts) = match what {
                ImportWhat::Mbox { file, opts } => (import::Format::Mbox, file, opts),
                ImportWhat::Maildir { dir, opts } => (import::Format::Maildir, dir, opts),
            };
            let summary = import::run(
                &mut backend,
                format,
                &path,
                &import::Options {
                    inbox: opts.inbox.as_deref(),
                    status: opts.status,
                    batch,
                    progress: std::io::stderr().is_terminal(),
                },
            )?;
            if opts.json {
                println!("{}", safe::json(serde_json::to_string_pretty(&summary)?));
            } else {
                println!(
                    "imported {} messages from {} in {:.1}s ({:.0}/s): {} stored in {} new tickets, {} already there, {} quarantined",
                    summary.messages,
                    path.display(),
                    summary.seconds,
                    summary.per_second,
                    summary.stored,
                    summary.new_tickets,
                    summary.duplicates,
                    summary.quarantined
                );
            }
            Ok(0)
        }
        Command::Tickets { what } => {
            if let TicketsCmd::List { queue: Some(q), .. } = &what {
                known_queue(&config, q)?;
            }
            let mut backend = Backend::connect(config)?;
            match what {
                TicketsCmd::List {
                    status,
                    queue,
                    json,
                } => {
                    let tickets = match call(&mut backend, Request::ListTickets { status, queue })?
                    {
                        Response::Tickets(t) => t,
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if json {
                        println!("{}", safe::json(serde_json::to_string_pretty(&tickets)?));
                    } else {
                        print_ticket_list(&tickets);
                    }
                }
                TicketsCmd::Set { id, flags, json } => {
                    if flags.commands.is_empty() {
                        let names: Vec<String> = crate::command::COMMANDS
                            .iter()
                            .filter(|s| s.admin)
                            .map(|s| format!("--{}", s.name))
                            .collect();
                        bail!("nothing to change: give {}", names.join(", "));
                    }
                    match call(
                        &mut backend,
                        Request::SetTicket {
                            reference: id,
                            commands: flags.commands,
                        },
                    )? {
                        Response::Tickets(t) if json => {
                            println!("{}", safe::json(serde_json::to_string_pretty(&t)?))
                        }
                        Response::Tickets(t) => print_ticket_list(&t),
                        other => bail!("unexpected answer: {other:?}"),
                    }
                }
                TicketsCmd::Merge { from, into, json } => {
                    match call(&mut backend, Request::MergeTickets { from, into })? {
                        Response::Tickets(t) if json => {
                            println!("{}", safe::json(serde_json::to_string_pretty(&t)?))
                        }
                        Response::Tickets(t) => print_ticket_list(&t),
                        other => bail!("unexpected answer: {other:?}"),
                    }
                }
                TicketsCmd::Show { id, json } => {
                    let view = match call(&mut backend, Request::ShowTicket { reference: id })? {
                        Response::Ticket(v) => v,
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if json {
                        println!("{}", safe::json(serde_json::to_string_pretty(&view)?));
                    } else {
                        print_ticket(&view);
                    }
                }
            }
            Ok(0)
        }
        Command::Addresses { what } => {
            let mut backend = Backend::connect(config)?;
            match what {
                AddressesCmd::List { json } => {
                    let marks = match call(&mut backend, Request::ListAddresses)? {
                        Response::Addresses(m) => m,
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if json {
                        println!("{}", safe::json(serde_json::to_string_pretty(&marks)?));
                    } else if marks.is_empty() {
                        println!("no marked addresses");
                    } else {
                        print_marks(&marks);
                    }
                }
                AddressesCmd::Clear { address, json } => {
                    let cleared = match call(&mut backend, Request::ClearAddress { address })? {
                        Response::Addresses(m) => m,
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if json {
                        println!("{}", safe::json(serde_json::to_string_pretty(&cleared)?));
                    } else {
                        for m in cleared {
                            println!(
                                "{}: mark cleared; automatic mail may go to it again",
                                safe::line(&m.address)
                            );
                        }
                    }
                }
            }
            Ok(0)
        }
        Command::Quarantine { what } => {
            let mut backend = Backend::connect(config)?;
            match what {
                QuarantineCmd::List { json } => {
                    let entries = match call(&mut backend, Request::ListQuarantine)? {
                        Response::Quarantine(e) => e,
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if json {
                        println!("{}", safe::json(serde_json::to_string_pretty(&entries)?));
                    } else if entries.is_empty() {
                        println!("quarantine is empty");
                    } else {
                        println!("{:<16}  {:<20}  {:>9}  REASON", "ID", "RECEIVED", "BYTES");
                        for e in entries {
                            println!(
                                "{:<16}  {:<20}  {:>9}  {}",
                                safe::line(&e.id),
                                e.received.format("%Y-%m-%d %H:%M:%S"),
                                e.size,
                                safe::line(&e.reason)
                            );
                        }
                    }
                }
                QuarantineCmd::Show {
                    id,
                    raw,
                    force,
                    json,
                } => {
                    // Raw bytes are for a file or a pipe: on a terminal a
                    // customer's escape sequences would be obeyed.
                    if raw && !force && std::io::stdout().is_terminal() {
                        bail!(
                            "not writing raw mail to a terminal: it may hold escape sequences the terminal would obey\n  \
                             hint: redirect it to a file (`postdesk quarantine show {id} --raw > {id}.eml`), \
                             read it without --raw, or add --force"
                        );
                    }
                    let (entry, bytes) = match call(&mut backend, Request::ShowQuarantine { id })? {
                        Response::QuarantineItem { entry, raw } => (entry, raw),
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if raw {
                        std::io::stdout().write_all(&bytes)?;
                    } else if json {
                        println!("{}", safe::json(serde_json::to_string_pretty(&entry)?));
                    } else {
                        println!("id:       {}", safe::line(&entry.id));
                        println!("reason:   {}", safe::line(&entry.reason));
                        println!("origin:   {}", safe::line(&entry.origin));
                        println!("received: {}", entry.received.to_rfc3339());
                        println!(
                            "size:     {} bytes (arrived {} time(s))",
                            entry.size, entry.arrivals
                        );
                        println!();
                        // Line by line as it arrived; CR, controls and
                        // bytes that are not UTF-8 shown escaped.
                        let shown = safe::bytes(&bytes[..bytes.len().min(4096)]);
                        print!("{shown}");
                        if !shown.ends_with('\n') {
                            println!();
                        }
                        if bytes.len() > 4096 {
                            println!("... ({} more bytes; --raw for all)", bytes.len() - 4096);
                        }
                    }
                }
            }
            Ok(0)
        }
    }
}

/// `postdesk strip`: the kept text, then with `--explain` each cut with
/// its lines, the rule that matched and the first line it removed.
fn strip(file: Option<&std::path::Path>, explain: bool, json: bool) -> Result<u8> {
    let mut raw = Vec::new();
    match file {
        Some(f) if f.as_os_str() != "-" => std::fs::File::open(f)
            .and_then(|h| h.take(64 << 20).read_to_end(&mut raw))
            .with_context(|| format!("cannot read {}", f.display()))?,
        _ => std::io::stdin().take(64 << 20).read_to_end(&mut raw)?,
    };
    let (stripped, source) = crate::mail::quote::strip_raw(&raw);
    if json {
        let cuts: Vec<serde_json::Value> = stripped
            .cuts
            .iter()
            .map(|c| {
                serde_json::json!({
                    "first_line": c.first_line,
                    "last_line": c.last_line,
                    "cut": c.is_cut(),
                    "why": c.to_string(),
                    "excerpt": c.excerpt,
                })
            })
            .collect();
        let v = serde_json::json!({ "text": stripped.text, "source": source.to_string(), "cuts": cuts });
        println!("{}", safe::json(serde_json::to_string_pretty(&v)?));
        return Ok(0);
    }
    println!("{}", safe::text(&stripped.text));
    if explain {
        println!("\n--- explain: {source}; line numbers count in that text ---");
        if stripped.cuts.is_empty() {
            println!("nothing was cut");
        }
        for cut in &stripped.cuts {
            println!("{}", safe::text(&cut.to_string()));
            if !cut.excerpt.is_empty() {
                println!("    | {}", safe::line(&cut.excerpt));
            }
        }
    }
    Ok(0)
}

/// `postdesk check`: everything an admin edits, each problem with its file
/// and line.
fn check(
    path: &std::path::Path,
    config: &Config,
    json: bool,
    store: Option<&crate::store::Verified>,
) -> Result<u8> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let templates = match crate::templates::Templates::load(&config.templates.dir) {
        Ok(t) => {
            if let Err(e) = t.check() {
                problems.push(e.to_string());
            }
            Some(t)
        }
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    if let Some(t) = &templates {
        if let Err(e) = crate::rules::RuleSet::load(
            &config.rules.file,
            &crate::rules::Known::from_config(config, t.names()),
        ) {
            problems.push(e.to_string());
        }
        for inbox in t.inboxes() {
            if !config.inboxes.iter().any(|i| i.name == inbox) {
                warnings.push(format!(
                    "{}/{inbox}/ overrides templates for an inbox no [[inbox]] is named",
                    config.templates.dir.display()
                ));
            }
        }
    }
    if let Some(kb) = &config.kb.file {
        if let Err(e) = crate::kb::Kb::load(kb) {
            problems.push(e.to_string());
        }
    }
    if let Err(e) = crate::transport::Plan::from_config(&config.outgoing) {
        problems.push(format!("{}: {e}", path.display()));
    }
    for inbox in config
        .inboxes
        .iter()
        .filter(|i| i.kind == crate::config::InboxKind::Imap)
    {
        match crate::source::imap::Settings::from_inbox(inbox, config.intake.batch) {
            Ok(s) => {
                let (errors, found) = crate::source::imap::check_settings(&s);
                problems.extend(
                    errors
                        .into_iter()
                        .map(|e| format!("{}: {e}", path.display())),
                );
                warnings.extend(found);
            }
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    // Like ssh with a private key: a secret others can read is no secret.
    let secrets = config
        .inboxes
        .iter()
        .filter_map(|i| {
            i.password_file
                .as_ref()
                .map(|f| (format!("inbox `{}`", i.name), f))
        })
        .chain(
            config
                .outgoing
                .password_file
                .as_ref()
                .map(|f| ("[outgoing]".to_string(), f)),
        );
    for (whose, file) in secrets {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(file) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o007 != 0 {
                warnings.push(format!(
                    "the password_file of {whose}, {}, can be read by other users (mode {mode:03o}); `chmod 600 {}` (or 640 with the service's group)",
                    file.display(),
                    file.display()
                ));
            }
        }
    }
    if json {
        let v = serde_json::json!({
            "config": path.display().to_string(),
            "ok": problems.is_empty(),
            "problems": problems,
            "warnings": warnings,
            "inboxes": config.inboxes.len(),
            "agents": config.agents.len(),
            "queues": config.queue_names(),
            "templates": templates.as_ref().map_or(0, |t| t.names().len()),
            "rules": config.rules.file.display().to_string(),
            "state_dir": config.state_dir().display().to_string(),
            "store": store,
        });
        println!("{}", safe::json(serde_json::to_string_pretty(&v)?));
        return Ok(match (problems.is_empty(), store) {
            (false, _) => EX_CONFIG,
            (true, Some(s)) if !s.problems.is_empty() => 1,
            _ => 0,
        });
    }
    for w in &warnings {
        eprintln!("postdesk: warning: {w}");
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("postdesk: {p}");
        }
        return Ok(EX_CONFIG);
    }
    println!(
        "{}: ok ({} inbox(es), {} agent(s), {} queue(s), {} template(s), rules in {}, state in {})",
        path.display(),
        config.inboxes.len(),
        config.agents.len(),
        config.queues.len(),
        templates.map_or(0, |t| t.names().len()),
        config.rules.file.display(),
        config.state_dir().display()
    );
    if let Some(v) = store {
        let read: Vec<String> = v.read.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!("store: read {}", read.join(", "));
        for p in &v.problems {
            eprintln!("postdesk: store: {}", safe::line(p));
        }
        if !v.problems.is_empty() {
            eprintln!("  hint: `postdesk restore BACKUP_DIR` puts a backup in its place (see README, \"Backup and restore\")");
            return Ok(1);
        }
        println!("store: no damage found");
    }
    Ok(0)
}

/// Sends a request; an error answer becomes an error with its message.
fn call(backend: &mut Backend, req: Request) -> Result<Response> {
    match backend.call(req)? {
        Response::Error { message, .. } => Err(anyhow!(message)),
        r => Ok(r),
    }
}

fn ingest(config: Config, files: Vec<PathBuf>, inbox: Option<String>, json: bool) -> Result<u8> {
    let stored = crate::source::pipe::run(config, files, inbox, |file, outcome| {
        if json {
            match serde_json::to_string(outcome) {
                Ok(line) => println!("{}", safe::json(line)),
                Err(e) => eprintln!("postdesk: {}: {e}", file.display()),
            }
            return;
        }
        match outcome {
            Outcome::Stored {
                ticket,
                created,
                thread,
            } => println!(
                "{}: stored in {}{} ({})",
                file.display(),
                safe::line(ticket),
                if *created { " (new)" } else { "" },
                safe::line(&thread.to_string())
            ),
            Outcome::Duplicate { ticket } => {
                println!("{}: already stored in {ticket}", file.display())
            }
            Outcome::Quarantined { id, reason, .. } => eprintln!(
                "postdesk: {}: quarantined as {id}: {}\n  hint: `postdesk quarantine show {id}`",
                file.display(),
                safe::line(reason)
            ),
        }
    });
    match stored {
        Ok(code) => Ok(code),
        // Not a delivery but an admin's command: the usual error, exit 1.
        Err(PipeError::File { path, source }) => {
            Err(anyhow::Error::new(source).context(format!("cannot read {}", path.display())))
        }
        Err(e) => {
            // May quote a server's or the daemon's answer.
            eprintln!("postdesk: {}", safe::text(&e.to_string()));
            if let PipeError::Connect(c) = &e {
                if !c.is_temporary() {
                    eprintln!("postdesk: the mail stays with the MTA until this is fixed");
                }
            }
            Ok(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and every argument explains itself in `--help` (and
    /// so in the man page and completions, made from the same definition).
    #[test]
    fn every_argument_has_a_help_line() {
        use clap::CommandFactory;
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if matches!(id, "help" | "version") || a.is_hide_set() {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() && sub.get_long_about().is_none() {
                    missing.push(format!("{path} {} (the command)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Args::command(), "postdesk", &mut missing);
        assert!(missing.is_empty(), "no help line:\n{}", missing.join("\n"));
    }
}
