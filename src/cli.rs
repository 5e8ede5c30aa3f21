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
    /// Configuration file.
    #[arg(long, global = true, env = "POSTDESK_CONFIG", default_value = config::DEFAULT_PATH)]
    pub config: PathBuf,
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
    Check,
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
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Put a backup in place of the store. The daemon must be stopped; an
    /// existing store is only replaced with --force (and moved aside, not deleted).
    Restore {
        dir: PathBuf,
        #[arg(long)]
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
        category: Option<String>,
        #[arg(long)]
        tag: Option<String>,
        /// Repeat for several statuses.
        #[arg(long, value_parser = parse_status)]
        status: Vec<Status>,
        #[arg(long)]
        queue: Option<String>,
        /// Send this notice again to the same customers under a new name.
        #[arg(long)]
        campaign: Option<String>,
        /// List who would get it; send nothing.
        #[arg(long)]
        dry_run: bool,
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
    },
    /// Print a shell completion script on stdout (bash, zsh, fish, ...).
    ///
    /// The Debian package installs them; by hand, e.g.
    /// `postdesk completions bash > /usr/share/bash-completion/completions/postdesk`.
    Completions {
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
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCmd {
    /// Every outgoing mail with its state, attempts and last error.
    List {
        /// Only entries in this state: queued, sent, failed.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Send again now: one entry, or every failed one.
    Retry { id: Option<u64> },
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCmd {
    /// Render a template with a real ticket's data, or sample data.
    Preview {
        name: String,
        #[arg(long)]
        ticket: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// An mbox file.
    Mbox {
        file: PathBuf,
        #[command(flatten)]
        opts: ImportOpts,
    },
    /// A Maildir folder (its `cur/` and `new/`).
    Maildir {
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
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TicketsCmd {
    /// One line per ticket.
    List {
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
        #[arg(long)]
        queue: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A ticket and its whole thread, in order.
    Show {
        /// `ACME-42` or `42`.
        id: String,
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
        #[arg(long)]
        json: bool,
    },
    /// Merge FROM into INTO: one thread, INTO's number.
    Merge { from: String, into: String },
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCmd {
    List {
        #[arg(long)]
        json: bool,
    },
    /// The entry and its raw bytes (`--raw` writes only the bytes, to save or re-ingest).
    Show {
        id: String,
        #[arg(long)]
        raw: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AddressesCmd {
    /// Every marked address: hard and soft bounces, and until when automatic mail is held.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Forget an address's mark (it works again): automatic mail may go to it.
    Clear {
        address: String,
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
    crate::logging::init(args.log_format, daemon);
    match dispatch(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("postdesk: {e:#}");
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
    if let Command::Strip { file, explain } = &args.command {
        return strip(file.as_deref(), *explain);
    }
    match &args.command {
        Command::Completions { shell } => return docs::completions(*shell),
        Command::Man { dir } => return docs::man(dir.as_deref()),
        _ => {}
    }
    let config = load_config(&args.config)?;
    match args.command {
        Command::Strip { file, explain } => strip(file.as_deref(), explain),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { dir } => docs::man(dir.as_deref()),
        Command::Serve => {
            crate::daemon::run(config)?;
            Ok(0)
        }
        Command::Check => check(&args.config, &config),
        Command::Backup { dir, json } => {
            let dir = std::path::absolute(&dir)
                .with_context(|| format!("cannot resolve {}", dir.display()))?;
            let mut backend = Backend::connect(config)?;
            let m = match call(&mut backend, Request::Backup { dir: dir.clone() })? {
                Response::BackedUp(m) => m,
                other => bail!("unexpected answer: {other:?}"),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&m)?);
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
                OutboxCmd::List { state, json } => {
                    let mut entries = match call(&mut backend, Request::ListOutbox)? {
                        Response::Outbox(e) => e,
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if let Some(s) = state {
                        entries.retain(|e| e.state.to_string().trim() == s);
                    }
                    if json {
                        println!("{}", serde_json::to_string_pretty(&entries)?);
                    } else if entries.is_empty() {
                        println!("outbox is empty");
                    } else {
                        println!(
                            "{:>6}  {:<7} {:>3}  {:<12} {:<13} {:<30} LAST ERROR / SUBJECT",
                            "ID", "STATE", "TRY", "TICKET", "KIND", "TO"
                        );
                        for e in entries {
                            println!(
                                "{:>6}  {:<7} {:>3}  {:<12} {:<13} {:<30} {}",
                                e.id,
                                e.state,
                                e.attempts,
                                e.ticket.as_deref().unwrap_or("-"),
                                e.kind,
                                clip(&e.recipients.join(","), 30),
                                e.last_error.as_deref().unwrap_or(&e.subject)
                            );
                        }
                    }
                }
                OutboxCmd::Retry { id } => match call(&mut backend, Request::RetryOutbox { id })? {
                    Response::Requeued(ids) if ids.is_empty() => println!("nothing to retry"),
                    Response::Requeued(ids) => println!(
                        "requeued {}",
                        ids.iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    other => bail!("unexpected answer: {other:?}"),
                },
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
                println!("{}", serde_json::to_string_pretty(&report)?);
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
            let mut backend = Backend::connect(config)?;
            let explained = match call(&mut backend, Request::ExplainRules { inbox, raw })? {
                Response::Explained(e) => e,
                other => bail!("unexpected answer: {other:?}"),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&explained)?);
            } else {
                print!("{explained}");
            }
            Ok(0)
        }
        Command::Templates { what } => {
            let mut backend = Backend::connect(config)?;
            match what {
                TemplatesCmd::Preview { name, ticket, json } => {
                    let p = match call(&mut backend, Request::PreviewTemplate { name, ticket })? {
                        Response::Preview(p) => p,
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if json {
                        println!("{}", serde_json::to_string_pretty(&p)?);
                    } else {
                        println!("Subject: {}", p.subject);
                        for (k, v) in &p.headers {
                            println!("{k}: {v}");
                        }
                        println!();
                        print!("{}", p.text);
                        if let Some(html) = p.html {
                            println!("\n----- HTML alternative -----\n{html}");
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
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
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
                println!("{}", serde_json::to_string_pretty(&report)?);
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
                println!("{}", serde_json::to_string_pretty(&summary)?);
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
                        println!("{}", serde_json::to_string_pretty(&tickets)?);
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
                            println!("{}", serde_json::to_string_pretty(&t)?)
                        }
                        Response::Tickets(t) => print_ticket_list(&t),
                        other => bail!("unexpected answer: {other:?}"),
                    }
                }
                TicketsCmd::Merge { from, into } => {
                    match call(&mut backend, Request::MergeTickets { from, into })? {
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
                        println!("{}", serde_json::to_string_pretty(&view)?);
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
                        println!("{}", serde_json::to_string_pretty(&marks)?);
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
                        println!("{}", serde_json::to_string_pretty(&cleared)?);
                    } else {
                        for m in cleared {
                            println!(
                                "{}: mark cleared; automatic mail may go to it again",
                                m.address
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
                        println!("{}", serde_json::to_string_pretty(&entries)?);
                    } else if entries.is_empty() {
                        println!("quarantine is empty");
                    } else {
                        println!("{:<16}  {:<20}  {:>9}  REASON", "ID", "RECEIVED", "BYTES");
                        for e in entries {
                            println!(
                                "{:<16}  {:<20}  {:>9}  {}",
                                e.id,
                                e.received.format("%Y-%m-%d %H:%M:%S"),
                                e.size,
                                e.reason
                            );
                        }
                    }
                }
                QuarantineCmd::Show { id, raw, json } => {
                    let (entry, bytes) = match call(&mut backend, Request::ShowQuarantine { id })? {
                        Response::QuarantineItem { entry, raw } => (entry, raw),
                        other => bail!("unexpected answer: {other:?}"),
                    };
                    if raw {
                        std::io::stdout().write_all(&bytes)?;
                    } else if json {
                        println!("{}", serde_json::to_string_pretty(&entry)?);
                    } else {
                        println!("id:       {}", entry.id);
                        println!("reason:   {}", entry.reason);
                        println!("origin:   {}", entry.origin);
                        println!("received: {}", entry.received.to_rfc3339());
                        println!(
                            "size:     {} bytes (arrived {} time(s))",
                            entry.size, entry.arrivals
                        );
                        println!();
                        let shown = &bytes[..bytes.len().min(4096)];
                        println!("{}", String::from_utf8_lossy(shown).escape_debug());
                        if bytes.len() > shown.len() {
                            println!(
                                "... ({} more bytes; --raw for all)",
                                bytes.len() - shown.len()
                            );
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
fn strip(file: Option<&std::path::Path>, explain: bool) -> Result<u8> {
    let mut raw = Vec::new();
    match file {
        Some(f) if f.as_os_str() != "-" => std::fs::File::open(f)
            .and_then(|h| h.take(64 << 20).read_to_end(&mut raw))
            .with_context(|| format!("cannot read {}", f.display()))?,
        _ => std::io::stdin().take(64 << 20).read_to_end(&mut raw)?,
    };
    let (stripped, source) = crate::mail::quote::strip_raw(&raw);
    println!("{}", stripped.text);
    if explain {
        println!("\n--- explain: {source}; line numbers count in that text ---");
        if stripped.cuts.is_empty() {
            println!("nothing was cut");
        }
        for cut in &stripped.cuts {
            println!("{cut}");
            if !cut.excerpt.is_empty() {
                println!("    | {}", cut.excerpt);
            }
        }
    }
    Ok(0)
}

/// `postdesk check`: everything an admin edits, each problem with its file
/// and line.
fn check(path: &std::path::Path, config: &Config) -> Result<u8> {
    let mut problems = Vec::new();
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
                eprintln!(
                    "postdesk: warning: {}/{inbox}/ overrides templates for an inbox no [[inbox]] is named",
                    config.templates.dir.display()
                );
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
                let (errors, warnings) = crate::source::imap::check_settings(&s);
                problems.extend(
                    errors
                        .into_iter()
                        .map(|e| format!("{}: {e}", path.display())),
                );
                for w in warnings {
                    eprintln!("postdesk: warning: {w}");
                }
            }
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
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
                Ok(line) => println!("{line}"),
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
                "{}: stored in {ticket}{} ({thread})",
                file.display(),
                if *created { " (new)" } else { "" }
            ),
            Outcome::Duplicate { ticket } => {
                println!("{}: already stored in {ticket}", file.display())
            }
            Outcome::Quarantined { id, reason, .. } => eprintln!(
                "postdesk: {}: quarantined as {id}: {reason}\n  hint: `postdesk quarantine show {id}`",
                file.display()
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
            eprintln!("postdesk: {e}");
            if let PipeError::Connect(c) = &e {
                if !c.is_temporary() {
                    eprintln!("postdesk: the mail stays with the MTA until this is fixed");
                }
            }
            Ok(e.exit_code())
        }
    }
}
