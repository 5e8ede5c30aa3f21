//! The command line's definition, once: clap derives `--help` from it,
//! and `postdesk man` and `postdesk completions` are made from the same.

use super::*;

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
    /// Customers: who wrote, their tickets, ratings and organisation.
    Customers {
        #[command(subcommand)]
        what: CustomersCmd,
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
    /// PostgreSQL: apply the schema's pending migrations to the database
    /// that [store] url_env or url_file names, and say its version. With
    /// `--from sled [DIR] --to postgres`, then copy a sled desk (DIR: its
    /// state_dir; default desk.state_dir) into that database, which must
    /// hold no records yet, and verify every table by rows and checksum.
    /// The copy is one transaction: on any failure nothing is kept.
    ///
    /// Exit status: 0 done, 1 the move failed or did not verify, 69 the
    /// database cannot be reached, 78 the configuration (or the URL) is wrong.
    Migrate {
        /// The engine to move a desk from (`sled`), and the desk's state_dir.
        #[arg(long, num_args = 1..=2, value_names = ["ENGINE", "DIR"])]
        from: Vec<String>,
        /// The engine to move into (`postgres`).
        #[arg(long)]
        to: Option<String>,
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
        /// The report as CSV for spreadsheets: one table, columns section,
        /// item, metric, value (see README, "Reports").
        #[arg(long, conflicts_with = "json")]
        csv: bool,
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
        /// Signatures and mobile footers: cut or keep [default: the
        /// configuration's `mail.signatures` when one is found, else cut].
        #[arg(long, value_name = "cut|keep")]
        signatures: Option<crate::mail::quote::Signatures>,
    },
    /// Whether postdesk would take a mail for automatic, and so never
    /// answer it, and why.
    ///
    /// Automatic mail is a delivery report (bounce), an auto-reply, an
    /// abuse report, a read receipt, a challenge-response request, list or
    /// bulk mail. For a delivery report it also names each failed
    /// recipient with its status and whether the bounce is hard or soft.
    /// Needs no configuration and no store; the desk's own addresses
    /// (loops) and rules are not considered.
    Classify {
        /// A message file; `-` or nothing reads stdin.
        file: Option<PathBuf>,
        /// As JSON: automatic, kind, reason and the report's recipients.
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
        /// Render in this language (de, fr, ...): its templates where it
        /// has them, else the default language's, file by file. Without
        /// it: the ticket's language with --ticket, else the desk's.
        #[arg(long, value_name = "CODE")]
        lang: Option<String>,
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
    pub inbox: Option<String>,
    /// Status for the tickets it creates: history is usually `closed`.
    #[arg(long, default_value = "open", value_parser = parse_status)]
    pub status: Status,
    /// As JSON instead of text (stable field names).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TicketsCmd {
    /// One line per ticket, newest update first: the newest 50 unless
    /// --limit or --all. When there are more, `next: CURSOR` goes to
    /// stderr; `--after CURSOR` lists from there.
    List {
        #[arg(long, value_parser = parse_status)]
        /// Only tickets in this status.
        status: Option<Status>,
        #[arg(long)]
        /// Only tickets in this queue.
        queue: Option<String>,
        /// Only tickets of this requester (address, any case).
        #[arg(long, value_name = "ADDR")]
        requester: Option<String>,
        /// Only tickets assigned to this agent (address, any case).
        #[arg(long, value_name = "ADDR")]
        assignee: Option<String>,
        /// Only tickets whose subject or requester contains TEXT (any case).
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// Only tickets updated since: a duration back from now (24h, 7d)
        /// or a date (2026-11-01, UTC, or RFC 3339).
        #[arg(long, value_name = "DURATION|DATE", value_parser = parse_since)]
        since: Option<Since>,
        /// At most N tickets (default 50).
        #[arg(long, value_name = "N", conflicts_with = "all")]
        limit: Option<usize>,
        /// Every ticket that matches, read a page at a time; with --json,
        /// one JSON object per line as they are read.
        #[arg(long)]
        all: bool,
        /// Go on where an earlier listing stopped (its `next:` cursor).
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
        /// As JSON instead of text (stable field names): an array, or with
        /// --all JSON lines.
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

#[derive(Debug, Subcommand)]
pub enum CustomersCmd {
    /// Customers in address order, with their ticket counts and organisation.
    List {
        /// How many to show (default 50).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this address (the `next:` a previous page printed).
        #[arg(long, value_name = "ADDRESS")]
        after: Option<String>,
        /// Every customer, page after page.
        #[arg(long)]
        all: bool,
        /// As JSON instead of text (stable field names); with --all, one
        /// customer per line.
        #[arg(long)]
        json: bool,
    },
    /// One customer: their tickets (newest first), ratings, organisation and bounces.
    Show {
        /// The customer's address.
        address: String,
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Everything the desk holds about a person (a data-subject access
    /// request), written into a new directory: `messages.mbox` (the mail
    /// they wrote, original bytes, mboxrd), `tickets.json` (every ticket
    /// they asked or were copied on, with each message they could see;
    /// agents' internal notes are left out) and `customer.json` (name,
    /// organisation, ratings, bounce mark).
    Export {
        /// The person's address.
        address: String,
        /// A directory that does not exist yet (or is empty).
        dir: PathBuf,
    },
    /// Erase a person (a right-to-erasure request): the bodies and
    /// attachments of their mail (and of every message in the tickets they
    /// asked, which quote them) and of mail sent to them go; their name,
    /// address and subjects become a pseudonym
    /// (`erased-<hash>@erased.invalid`, the same for the same address) in
    /// tickets, indexes, the outbox, bounce marks and notices; quarantined
    /// mail naming them goes. Counts, times and ratings stay, so reports
    /// do not change. The erasure is recorded (when, by whom, the
    /// pseudonym; never the address).
    ///
    /// Afterwards the whole store is rewritten so that no old copy stays
    /// in its log (on PostgreSQL: VACUUM FULL of the desk's tables): this
    /// takes time (and briefly disk space) in proportion to the whole
    /// store, and a running daemon pauses intake meanwhile.
    /// Backups taken before still hold the person: delete or redo them.
    Erase {
        /// The person's address.
        address: String,
        /// Cancel mail still queued to them (or about their tickets)
        /// instead of refusing.
        #[arg(long)]
        force: bool,
        /// Who asks, for the record (default: the OS user).
        #[arg(long)]
        by: Option<String>,
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// The erasures recorded: when, by whom, the pseudonym.
    Erasures {
        /// As JSON instead of text (stable field names).
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration like 24h, 7d or 30d: {e}"))
}

/// `--since` of `tickets list`: how far back, or from when.
#[derive(Debug, Clone, Copy)]
pub enum Since {
    Back(std::time::Duration),
    At(chrono::DateTime<chrono::Utc>),
}

impl Since {
    pub fn at(self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            Since::At(t) => t,
            Since::Back(d) => chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| now.checked_sub_signed(d))
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC),
        }
    }
}

pub(super) fn parse_since(s: &str) -> Result<Since, String> {
    let t = s.trim();
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(Since::At(d.and_time(chrono::NaiveTime::MIN).and_utc()));
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(Since::At(d.with_timezone(&chrono::Utc)));
    }
    humantime::parse_duration(t).map(Since::Back).map_err(|_| {
        format!("`{s}` is neither a duration like 24h or 7d nor a date like 2026-11-01")
    })
}

pub(super) fn parse_status(s: &str) -> Result<Status, String> {
    Status::parse(s)
        .ok_or_else(|| format!("`{s}` is not one of new, open, pending, resolved, closed"))
}
