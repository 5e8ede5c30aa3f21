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

mod args;
mod check;
mod classify;
pub use args::*;
use check::{check, strip};
use classify::classify;
mod docs;
mod migrate;
mod print;
mod privacy;
pub mod safe;
mod set;

use print::{
    clip, print_customer, print_customers, print_marks, print_notified, print_status, print_ticket,
    print_ticket_header, print_ticket_list, print_ticket_row,
};

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
        signatures,
    } = &args.command
    {
        // The policy of the configuration in use, when there is one that
        // loads: the command must agree with what intake does.
        let signatures = signatures.unwrap_or_else(|| {
            config::locate(args.config.as_deref())
                .ok()
                .and_then(|p| Config::load(&p).ok())
                .map(|c| c.mail.signatures)
                .unwrap_or_default()
        });
        return strip(file.as_deref(), *explain, *json, signatures);
    }
    if let Command::Classify { file, json } = &args.command {
        return classify(file.as_deref(), *json);
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
            signatures,
        } => strip(
            file.as_deref(),
            explain,
            json,
            signatures.unwrap_or_default(),
        ),
        Command::Classify { file, json } => classify(file.as_deref(), json),
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
        Command::Migrate { from, to, json } => {
            migrate::migrate(&config, &from, to.as_deref(), json)
        }
        Command::Restore { dir, force } => {
            let state = config.state_dir().to_path_buf();
            if crate::control::Client::connect(&state)?.is_some() {
                return Err(crate::backup::BackupError::DaemonRunning(state).into());
            }
            let m = match config.store.kind {
                config::StoreKind::Sled => crate::backup::restore(&state, &dir, force)?,
                // Into the database: a shared store is restored once,
                // for every node.
                config::StoreKind::Postgres => {
                    let store = crate::store::Store::open_config(&config)?;
                    crate::backup::restore_database(&store, &state, &dir, force)?
                }
            };
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
            let shared = (config.store.kind == config::StoreKind::Postgres)
                .then(|| (config.store.clone(), config.store.lease_ttl));
            let on_sled = config.store.kind == config::StoreKind::Sled;
            let mut backend = Backend::connect(config)?;
            let remote = backend.is_remote();
            let mut report = match call(&mut backend, Request::Status)? {
                Response::Status(r) => r,
                other => bail!("unexpected answer: {other:?}"),
            };
            // Answered by this process: nothing here reads the inboxes.
            report.daemon = remote;
            // A shared store: the nodes serving it, wherever they run.
            if let Some((store, ttl)) = shared {
                let settings = crate::pg::Settings::from_config(&store)?;
                let cluster = crate::pg::lease::cluster(&settings, ttl)?;
                report.daemon = remote || cluster.live_nodes().next().is_some();
                report.cluster = Some(cluster);
            }
            if json {
                println!("{}", safe::json(serde_json::to_string_pretty(&report)?));
            } else {
                print_status(&report, on_sled);
            }
            // Like `systemctl status`: 3 when not running, 1 when degraded
            // or stuck.
            Ok(if !report.daemon {
                3
            } else if report.stuck.is_some() || report.inboxes.iter().any(|i| !i.connected) {
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
            let language = config.desk.language.clone();
            let mut backend = Backend::connect(config)?;
            match what {
                TemplatesCmd::List { json } => {
                    let templates =
                        crate::templates::Templates::load_for(&templates_dir, &language).map_err(
                            |e| Exit {
                                code: EX_CONFIG,
                                message: e.to_string(),
                            },
                        )?;
                    let names = templates.names();
                    if json {
                        println!("{}", safe::json(serde_json::to_string_pretty(&names)?));
                    } else {
                        for n in &names {
                            let kind = crate::templates::kind_of(n).unwrap_or("notice");
                            let langs = templates.translations(n).join(", ");
                            println!("{:<24} {kind:<14} {}", safe::line(n), safe::line(&langs));
                        }
                        let languages = templates.languages();
                        println!(
                            "\nlanguages: {} (default){}",
                            safe::line(&languages[0]),
                            languages[1..]
                                .iter()
                                .map(|l| format!(", {}", safe::line(l)))
                                .collect::<String>()
                        );
                    }
                }
                TemplatesCmd::Preview {
                    name,
                    ticket,
                    live,
                    lang,
                    json,
                } => {
                    let req = Request::PreviewTemplate {
                        name,
                        ticket,
                        live,
                        lang,
                    };
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
            csv,
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
            } else if csv {
                // A file for spreadsheets, not the terminal: cells are
                // escaped for CSV and against formulas (see report::csv).
                print!("{}", crate::report::csv::render(&stats));
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
                    requester,
                    assignee,
                    search,
                    since,
                    limit,
                    all,
                    after,
                    json,
                } => {
                    let query = crate::store::TicketQuery {
                        status,
                        queue,
                        requester,
                        assignee,
                        search,
                        since: since.map(|s| s.at(chrono::Utc::now())),
                    };
                    let want = if all {
                        None
                    } else {
                        Some(limit.unwrap_or(DEFAULT_LIST))
                    };
                    list_tickets(&mut backend, query, after, want, json)?;
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
        Command::Customers { what } => customers(Backend::connect(config)?, what),
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
mod tests;

/// Tickets `tickets list` shows without --limit or --all.
const DEFAULT_LIST: usize = 50;

/// Lists tickets a page at a time, printing each page as it comes: up to
/// `want` of them, or all with `None`. Text and `--all --json` (JSON lines)
/// print as they read; `--json` alone prints one array. Where more remain,
/// `next: CURSOR` goes to stderr for a script's `--after`.
fn list_tickets(
    backend: &mut Backend,
    query: crate::store::TicketQuery,
    mut after: Option<String>,
    want: Option<usize>,
    json: bool,
) -> Result<()> {
    let mut shown = 0usize;
    let mut array = Vec::new();
    let mut out = std::io::stdout().lock();
    loop {
        let limit = want.map_or(crate::store::listing::MAX_PAGE, |w| w - shown);
        if limit == 0 {
            break;
        }
        let req = Request::ListTickets {
            query: query.clone(),
            after: after.clone(),
            limit,
        };
        let (tickets, next) = match call(backend, req)? {
            Response::TicketPage { tickets, next } => (tickets, next),
            other => bail!("unexpected answer: {other:?}"),
        };
        for t in tickets {
            match (json, want) {
                (true, None) => writeln!(out, "{}", safe::json(serde_json::to_string(&t)?))?,
                (true, Some(_)) => array.push(t),
                (false, _) => {
                    if shown == 0 {
                        print_ticket_header();
                    }
                    print_ticket_row(&t);
                }
            }
            shown += 1;
        }
        out.flush()?;
        after = next;
        if after.is_none() {
            break;
        }
    }
    if json && want.is_some() {
        writeln!(out, "{}", safe::json(serde_json::to_string_pretty(&array)?))?;
    } else if !json && shown == 0 {
        writeln!(out, "no tickets")?;
    }
    if let Some(c) = after {
        eprintln!("next: {c}");
    }
    Ok(())
}

/// `customers list` and `customers show`.
fn customers(mut backend: Backend, what: CustomersCmd) -> Result<u8> {
    match what {
        CustomersCmd::Export { address, dir } => return privacy::export(backend, &address, &dir),
        CustomersCmd::Erase {
            address,
            force,
            by,
            json,
        } => return privacy::erase(backend, &address, force, by, json),
        CustomersCmd::Erasures { json } => return privacy::erasures(backend, json),
        CustomersCmd::Show { address, json } => {
            let view = match call(&mut backend, Request::ShowCustomer { address })? {
                Response::Customer(v) => v,
                other => bail!("unexpected answer: {other:?}"),
            };
            if json {
                println!("{}", safe::json(serde_json::to_string_pretty(&view)?));
            } else {
                print_customer(&view);
            }
        }
        CustomersCmd::List {
            limit,
            mut after,
            all,
            json,
        } => {
            let mut shown = 0usize;
            loop {
                let want = if all {
                    crate::desk::CUSTOMERS_PAGE
                } else {
                    (limit - shown).min(crate::desk::CUSTOMERS_PAGE)
                };
                let (page, next) = match call(
                    &mut backend,
                    Request::ListCustomers {
                        after: after.clone(),
                        limit: want,
                    },
                )? {
                    Response::Customers { customers, next } => (customers, next),
                    other => bail!("unexpected answer: {other:?}"),
                };
                if json && all {
                    for c in &page {
                        println!("{}", safe::json(serde_json::to_string(c)?));
                    }
                } else if json {
                    println!("{}", safe::json(serde_json::to_string_pretty(&page)?));
                } else {
                    if shown == 0 && page.is_empty() {
                        println!("no customers");
                    }
                    print_customers(&page, shown == 0);
                }
                shown += page.len();
                match next {
                    Some(n) if all || shown < limit => after = Some(n),
                    Some(n) => {
                        eprintln!("next: {}", safe::line(&n));
                        break;
                    }
                    None => break,
                }
            }
        }
    }
    Ok(0)
}
