//! `postdesk serve`: the long-running process. It owns the store, watches
//! every inbox, and answers commands on the control socket.
//!
//! Shutdown (SIGTERM or SIGINT) is graceful: sources stop taking new work,
//! the batch in hand is finished, flushed and marked done, the socket file is
//! removed. A kill -9 at any point is also safe, because nothing is marked
//! done at its source before the store has flushed it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::{Config, InboxKind};
use crate::control::{self, ControlError};
use crate::desk::{Desk, DeskError};
use crate::source::maildir::Maildir;

pub mod leasing;
mod serving;
pub use serving::Serving;

/// The Maildir scan moved to [`crate::source::maildir`]; kept under its
/// old name for callers outside the crate.
pub use crate::source::maildir::scan_once as scan_maildir_once;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("cannot open the maildir of inbox `{inbox}` at {path}: {source}\n  hint: check [[inbox]] path and that this user may write there")]
    Maildir {
        inbox: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("outgoing mail: {0}")]
    Transport(#[from] crate::transport::TransportError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::http::BindError),
    #[error("postdesk serve is already running for {state_dir}{pid}\n  hint: `postdesk status` shows it; `systemctl restart postdesk` restarts it")]
    Running { pid: String, state_dir: PathBuf },
    #[error("cannot join the shared store's nodes: {0}")]
    Shared(String),
}

impl DaemonError {
    /// A problem an admin must fix in the configuration, the rules or the
    /// templates: `serve` exits 78 (EX_CONFIG) so that systemd's
    /// `RestartPreventExitStatus=78` stops a restart loop.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            DaemonError::Desk(DeskError::Templates(_) | DeskError::Rules(_) | DeskError::Kb(_))
                | DaemonError::Maildir { .. }
                | DaemonError::Transport(_)
        )
    }
}

/// Opens the desk, waiting up to `daemon.lock_wait` for a command that
/// holds the store for a moment (an MTA's `ingest`, a cron `stats`): a
/// start-up must not fail because one happened to run then.
async fn open_waiting(config: Config) -> Result<Desk, DaemonError> {
    let deadline = std::time::Instant::now() + config.daemon.lock_wait;
    loop {
        // On a blocking thread: opening a PostgreSQL store starts (and a
        // failed one drops) the engine's own runtime, which must not
        // happen on this runtime's workers.
        let cfg = config.clone();
        let opened = tokio::task::spawn_blocking(move || Desk::open(cfg))
            .await
            .map_err(|e| DaemonError::Shared(format!("opening the desk panicked: {e}")))?;
        match opened {
            Err(DeskError::Store(crate::store::StoreError::Locked { .. }))
                if std::time::Instant::now() < deadline =>
            {
                // Short: commands poll too, and the daemon should win the store.
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            r => return Ok(r?),
        }
    }
}

/// Runs until SIGTERM/SIGINT.
pub fn run(config: Config) -> Result<(), DaemonError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    let result = runtime.block_on(serve(config));
    // A store task still blocked past the drain deadline must not hold the
    // process: what it had not flushed is fetched again on the next start.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn serve(config: Config) -> Result<(), DaemonError> {
    // Handlers first: a SIGHUP right after READY (systemctl reload) must
    // reload, not kill the process with the default action.
    let mut signals = Signals::install()?;
    // A daemon that answers on the socket is already serving this desk.
    if let Some(mut running) = control::Client::connect(config.state_dir())? {
        let pid = match running.call(crate::api::Request::Ping) {
            Ok(crate::api::Response::Pong { pid }) => format!(" (pid {pid})"),
            _ => String::new(),
        };
        return Err(DaemonError::Running {
            pid,
            state_dir: config.state_dir().to_path_buf(),
        });
    }
    let desk = Arc::new(open_waiting(config).await?);
    let config = desk.config().clone();
    // Every source is ready before the socket opens: a caller that sees the
    // socket may rely on the daemon being fully up. A Maildir that cannot
    // be opened is a configuration error now, not at the first heal.
    for inbox in &config.inboxes {
        if inbox.kind == InboxKind::Maildir {
            let path = inbox.path.clone().unwrap_or_default();
            Maildir::open(&path).map_err(|source| DaemonError::Maildir {
                inbox: inbox.name.clone(),
                path,
                source,
            })?;
        }
    }
    crate::transport::Transport::from_config(&config.outgoing)?;
    let metrics_listener = match config.metrics.listen {
        Some(addr) => Some(crate::metrics::http::bind(addr).await?),
        None => None,
    };
    let listener = control::bind(config.state_dir())?;
    let serving = Serving::new(desk);
    let (rewrite_tx, mut rewrites) = tokio::sync::mpsc::unbounded_channel();
    serving.set_rewriter(rewrite_tx);
    // The socket and the listener outlive any one opening of the store.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut lasting = vec![tokio::spawn(control::serve(
        listener,
        serving.clone(),
        stop_rx.clone(),
    ))];
    if let Some(l) = metrics_listener {
        lasting.push(tokio::spawn(crate::metrics::http::serve(
            l,
            serving.clone(),
            stop_rx.clone(),
        )));
    }
    // A shared store: this node reads an inbox only while it holds the
    // inbox's lease, and the store's writes check that it still does.
    let leases = match config.store.kind {
        crate::config::StoreKind::Postgres => {
            let settings = crate::pg::Settings::from_config(&config.store)
                .map_err(|e| DaemonError::Shared(e.to_string()))?;
            let l = leasing::Leasing::start(&settings, config.store.lease_ttl, config.state_dir())
                .await
                .map_err(|e| DaemonError::Shared(e.to_string()))?;
            tracing::info!(node = %l.node().id, lease_ttl = ?config.store.lease_ttl, "serving a shared store as one of its nodes");
            Some(l)
        }
        crate::config::StoreKind::Sled => None,
    };
    if let Some(l) = &leases {
        lasting.push(tokio::spawn(leasing::heartbeat(l.clone(), stop_rx.clone())));
    }
    let mut ready = false;
    let final_desk = loop {
        let Some(desk) = serving.desk() else {
            break None;
        };
        let work = Work::start(&desk, leases.as_ref());
        if !ready {
            ready = true;
            tracing::info!(
                state_dir = %config.state_dir().display(),
                inboxes = config.inboxes.len(),
                metrics = crate::metrics::get().listening().as_deref().unwrap_or("off"),
                "postdesk serving"
            );
            crate::systemd::ready();
        }
        tokio::select! {
            _ = signals.wait_for_stop(&serving) => break Some((desk, work)),
            Some(reply) = rewrites.recv() => {
                tracing::info!("closing the store to rewrite it after an erasure; intake pauses meanwhile");
                drop(serving.take());
                work.stop(config.daemon.stop_timeout).await;
                if let Err(e) = desk.flush() {
                    tracing::error!(error = %e, "flush before the rewrite failed");
                }
                release(desk).await;
                let dir = config.state_dir().to_path_buf();
                let mut job = tokio::task::spawn_blocking(move || crate::store::Store::rewrite(&dir));
                // The rewrite takes as long as the store is big: the
                // watchdog is fed meanwhile, as the timers would.
                let result = loop {
                    tokio::select! {
                        r = &mut job => break r
                            .map_err(|e| e.to_string())
                            .and_then(|r| r.map_err(|e| e.to_string())),
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {
                            crate::metrics::get().beat();
                            crate::systemd::watchdog();
                        }
                    }
                };
                match &result {
                    Ok(copied) => tracing::info!(records = copied, "the store was rewritten: no old copy of erased records stays in it"),
                    Err(e) => tracing::error!(error = %e, "rewriting the store failed; the old store stays in use"),
                }
                // sled lets go of the rewritten store's lock a moment
                // after closing it: wait for it as at start-up.
                let desk = match open_waiting(config.clone()).await {
                    Ok(desk) => Arc::new(desk),
                    Err(e) => {
                        serving.failed(&e.to_string());
                        let Some(desk) = heal(&config, &serving, &mut signals).await else {
                            let _ = reply.send(result);
                            break None;
                        };
                        desk
                    }
                };
                serving.put(desk);
                let _ = reply.send(result);
            }
            failure = desk.store().fault().failed() => {
                tracing::error!(
                    error = %failure.error,
                    "storage failed: intake paused, nothing taken since the last flush is marked done at its source; closing the store to reopen it"
                );
                serving.failed(&failure.error);
                drop(serving.take());
                work.stop(config.daemon.stop_timeout).await;
                release(desk).await;
                let Some(desk) = heal(&config, &serving, &mut signals).await else {
                    break None;
                };
                let healed = serving.healing().map(|h| h.since.elapsed()).unwrap_or_default();
                serving.put(desk);
                tracing::info!(after = ?healed, "the store takes writes again; intake resumed");
            }
        }
    };
    let deadline = config.daemon.stop_timeout;
    tracing::info!(
        deadline = ?deadline,
        "shutting down: no new work; finishing the batch in hand"
    );
    crate::systemd::stopping();
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(deadline, async {
        if let Some((_, work)) = &final_desk {
            work.stop_now();
        }
        for t in lasting {
            let _ = t.await;
        }
        let Some((desk, work)) = final_desk else {
            return Ok(Ok(()));
        };
        work.join().await;
        tokio::task::spawn_blocking(move || {
            desk.flush()?;
            // What it holds now, for telling damage from a new store
            // on the next start.
            desk.store().write_mark(desk.config().state_dir())
        })
        .await
    })
    .await;
    match drained {
        Ok(Ok(Ok(()))) => tracing::info!("drained: everything taken is stored durably"),
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "final flush failed; unflushed mail is fetched again on the next start")
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "final flush failed; unflushed mail is fetched again on the next start")
        }
        Err(_) => tracing::error!(
            deadline = ?deadline,
            "drain did not finish in time (daemon.stop_timeout); exiting anyway: nothing unflushed was marked done at its source, so it is fetched again on the next start"
        ),
    }
    let _ = std::fs::remove_file(control::socket_path(config.state_dir()));
    tracing::info!("stopped");
    Ok(())
}

/// The work done with one opening of the store: reading every inbox, the
/// outbox, timers and file watching. Stopped as a whole, either for good
/// or to close a failed store and open it again.
struct Work {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Work {
    /// `leasing` is this node's side of the inbox leases when the store
    /// is shared (PostgreSQL): then each inbox is read only while this
    /// node holds its lease.
    fn start(desk: &Arc<Desk>, leasing: Option<&Arc<leasing::Leasing>>) -> Work {
        let config = desk.config();
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        if let Some(l) = leasing {
            desk.store().set_leases(l.holds());
            l.set_inboxes(config.inboxes.len());
        }
        for inbox in &config.inboxes {
            let source = {
                let (desk, inbox) = (desk.clone(), inbox.clone());
                move |stop: watch::Receiver<bool>| read_inbox(desk.clone(), inbox.clone(), stop)
            };
            tasks.push(match leasing {
                Some(l) => tokio::spawn(leasing::leased(
                    l.clone(),
                    inbox.name.clone(),
                    stop_rx.clone(),
                    source,
                )),
                None => tokio::spawn(source(stop_rx.clone())),
            });
        }
        match crate::transport::Transport::from_config(&config.outgoing) {
            Ok(transport) => tasks.push(tokio::spawn(crate::outbox::run(
                desk.mailer(),
                transport,
                desk.outbox_wake(),
                stop_rx.clone(),
            ))),
            Err(e) => tracing::error!(error = %e, "outgoing mail is off"),
        }
        tasks.push(tokio::spawn(watch_files(desk.clone(), stop_rx.clone())));
        tasks.push(tokio::spawn(run_timers(desk.clone(), stop_rx)));
        Work { stop, tasks }
    }

    /// Tells every task to finish what it has in hand.
    fn stop_now(&self) {
        let _ = self.stop.send(true);
    }

    async fn join(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Stops and waits, at most `deadline`: what a task had not flushed is
    /// not marked done at its source, so abandoning it loses nothing.
    async fn stop(self, deadline: Duration) {
        self.stop_now();
        let aborts: Vec<_> = self.tasks.iter().map(|t| t.abort_handle()).collect();
        if tokio::time::timeout(deadline, self.join()).await.is_err() {
            tracing::warn!("tasks did not stop in time; abandoning them");
            for a in aborts {
                a.abort();
            }
        }
    }
}

/// Reads one inbox until `stop`.
async fn read_inbox(desk: Arc<Desk>, inbox: crate::config::Inbox, stop: watch::Receiver<bool>) {
    match inbox.kind {
        InboxKind::Maildir => {
            let path = inbox.path.clone().unwrap_or_default();
            match Maildir::open(&path) {
                Ok(md) => {
                    crate::source::maildir::watch(desk, md, inbox.name.clone(), inbox.poll, stop)
                        .await
                }
                // Checked at start; gone since (unmounted?): said, and
                // retried at the next opening.
                Err(e) => {
                    tracing::error!(inbox = %inbox.name, path = %path.display(), error = %e, "cannot open the maildir")
                }
            }
        }
        // Each IMAP inbox connects on its own (and keeps retrying): a
        // server that is down must not keep the daemon or the other
        // inboxes from starting.
        InboxKind::Imap => crate::source::imap::run(desk, inbox, stop).await,
    }
}

/// Waits until nothing else holds the desk (a control request or a scrape
/// finishing), so that dropping it closes the store and its lock.
async fn release(desk: Arc<Desk>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while Arc::strong_count(&desk) > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = tokio::task::spawn_blocking(move || drop(desk)).await;
}

/// The longest wait between two attempts to reopen a failed store: once
/// space is back, intake resumes within this.
const HEAL_WAIT_MAX: Duration = Duration::from_secs(5);

/// Reopens the store until it takes a write, with backoff. The watchdog
/// is fed meanwhile until `daemon.stuck_after`; past it systemd restarts
/// the daemon (which may help where reopening did not, and is at least
/// visible). `None` when a stop signal came first.
async fn heal(config: &Config, serving: &Serving, signals: &mut Signals) -> Option<Arc<Desk>> {
    let mut wait = Duration::from_millis(500);
    let mut said_stuck = false;
    loop {
        let stuck_for = serving
            .healing()
            .map(|h| h.since.elapsed())
            .unwrap_or_default();
        if let Some(why) = serving.stuck() {
            crate::systemd::stuck(&why);
        }
        if stuck_for < config.daemon.stuck_after {
            crate::metrics::get().beat();
            crate::systemd::watchdog();
        } else if !said_stuck {
            said_stuck = true;
            tracing::error!(
                stuck_after = ?config.daemon.stuck_after,
                "the store still fails; no longer feeding the watchdog, so systemd restarts postdesk"
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = signals.wait_for_stop(serving) => return None,
        }
        let cfg = config.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let desk = Desk::open(cfg)?;
            desk.store().probe()?;
            Ok::<_, DeskError>(desk)
        })
        .await;
        match opened {
            Ok(Ok(desk)) => return Some(Arc::new(desk)),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "the store does not take writes yet");
                serving.failed(&e.to_string());
            }
            Err(e) => serving.failed(&e.to_string()),
        }
        wait = (wait * 2).min(HEAL_WAIT_MAX);
    }
}

struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals, DaemonError> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate()).map_err(DaemonError::Signals)?,
            int: signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?,
            hup: signal(SignalKind::hangup()).map_err(DaemonError::Signals)?,
        })
    }

    /// Waits for SIGTERM or SIGINT; SIGHUP meanwhile reloads.
    async fn wait_for_stop(&mut self, serving: &Serving) {
        loop {
            tokio::select! {
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
                _ = self.hup.recv() => {
                    crate::systemd::reloading();
                    match serving.desk() {
                        Some(desk) => reload(&desk, "SIGHUP").await,
                        // Reopening reads the rules and templates anew.
                        None => tracing::info!("SIGHUP while the store is being reopened: the files are read when it opens"),
                    }
                    crate::systemd::ready();
                }
            }
        }
    }
}

/// Reloads what can change under a running daemon: the rule file and the
/// templates, swapped in only when both are good. The config file is read
/// and validated too, so a bad edit is reported now rather than at the
/// next restart; sections that only a restart applies are named.
async fn reload(desk: &Arc<Desk>, why: &str) {
    let d = desk.clone();
    let config_check = tokio::task::spawn_blocking(move || {
        let path = d.config().source.clone();
        Config::load(&path).map(|new| restart_needed(d.config(), &new))
    })
    .await;
    match config_check {
        Ok(Err(e)) => {
            crate::metrics::get().reload(false);
            tracing::error!(%why, "reload refused, the running configuration, rules and templates stay live:\n{e}");
            return;
        }
        Ok(Ok(changed)) if !changed.is_empty() => tracing::warn!(
            %why,
            sections = %changed.join(", "),
            "the config file changed in sections that apply at the next restart (systemctl restart postdesk); rules that refer to new names there are refused until then"
        ),
        _ => {}
    }
    let d = desk.clone();
    match tokio::task::spawn_blocking(move || d.reload()).await {
        Ok(Ok((templates, rules))) => {
            crate::metrics::get().reload(true);
            tracing::info!(%why, templates, rules, "reloaded rules and templates")
        }
        Ok(Err(e)) => {
            crate::metrics::get().reload(false);
            tracing::error!(
                %why,
                "reload refused, the previous rules and templates stay live:\n{e}"
            )
        }
        Err(e) => tracing::error!(%why, error = %e, "reload failed"),
    }
}

/// The config sections that differ between the running and the edited
/// file. Compared by their debug form: secrets are never in the config
/// itself (only the names of variables and files holding them), and the
/// comparison is never logged, only the section names.
fn restart_needed(running: &Config, edited: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    macro_rules! cmp {
        ($($field:ident => $name:literal),* $(,)?) => {
            $(if format!("{:?}", running.$field) != format!("{:?}", edited.$field) {
                changed.push($name);
            })*
        };
    }
    cmp!(
        desk => "[desk]",
        inboxes => "[[inbox]]",
        outgoing => "[outgoing]",
        agents => "[[agent]]",
        queues => "[[queue]]",
        followup => "[followup]",
        survey => "[survey]",
        sla => "[sla]",
        calendar => "[calendar]",
        status_notices => "[status_notices]",
        rules => "[rules]",
        templates => "[templates]",
        intake => "[intake]",
        store => "[store]",
        ack => "[ack]",
        agent_mail => "[agent_mail]",
        kb => "[kb]",
        metrics => "[metrics]",
        daemon => "[daemon]",
    );
    changed
}

/// Fires due timers (follow-ups, surveys, SLA) every second. Timers that
/// came due while the daemon was down fire on the first round.
///
/// The loop is also the daemon's heartbeat: each round feeds the systemd
/// watchdog (when asked for) and refreshes the STATUS line, so a wedged
/// store or runtime shows as a missed watchdog, and systemd restarts us.
async fn run_timers(desk: Arc<Desk>, mut stop: watch::Receiver<bool>) {
    let mut status = crate::systemd::Status::default();
    let mut marked = std::time::Instant::now();
    loop {
        if marked.elapsed() >= MARK_EVERY {
            marked = std::time::Instant::now();
            let d = desk.clone();
            let dir = desk.config().state_dir().to_path_buf();
            if let Ok(Err(e)) =
                tokio::task::spawn_blocking(move || d.store().checkpoint_mark(&dir)).await
            {
                tracing::debug!(error = %e, "cannot update store.mark");
            }
        }
        crate::metrics::get().beat();
        crate::systemd::watchdog();
        if crate::systemd::Status::wanted() {
            let d = desk.clone();
            if let Ok(line) =
                tokio::task::spawn_blocking(move || crate::systemd::status_line(&d)).await
            {
                status.update(line);
            }
        }
        let d = desk.clone();
        match tokio::task::spawn_blocking(move || d.run_timers(chrono::Utc::now())).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "timers failed; will retry"),
            Err(e) => tracing::error!(error = %e, "timer task failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {},
            _ = stop.changed() => return,
        }
    }
}

/// How often `store.mark` is brought up to date while serving, so that
/// damage to what was written since the last clean stop is noticed too.
const MARK_EVERY: Duration = Duration::from_secs(60);

/// How often the rule file, templates and knowledge base are looked at for
/// edits.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Reloads when the rule file, a template or the knowledge base changes on
/// disk, once the change has settled (an editor's save is often several
/// writes).
async fn watch_files(desk: Arc<Desk>, mut stop: watch::Receiver<bool>) {
    let config = desk.config().clone();
    let mut watched = vec![config.rules.file.clone(), config.templates.dir.clone()];
    watched.extend(config.kb.file.clone());
    let stamp = move || newest_mtime(&watched);
    let mut seen = tokio::task::spawn_blocking(stamp.clone())
        .await
        .ok()
        .flatten();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(WATCH_EVERY) => {},
            _ = stop.changed() => return,
        }
        let now = tokio::task::spawn_blocking(stamp.clone())
            .await
            .ok()
            .flatten();
        if now == seen {
            continue;
        }
        // Debounce: wait until nothing changed for a moment.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let settled = tokio::task::spawn_blocking(stamp.clone())
            .await
            .ok()
            .flatten();
        if settled != now {
            continue;
        }
        seen = settled;
        reload(&desk, "file changed").await;
    }
}

/// The newest modification time (and the number of files, so a deleted
/// template counts as a change) under the given files and directories.
fn newest_mtime(paths: &[PathBuf]) -> Option<(std::time::SystemTime, usize)> {
    fn walk(p: &std::path::Path, acc: &mut (std::time::SystemTime, usize), depth: usize) {
        let Ok(meta) = std::fs::metadata(p) else {
            return;
        };
        if let Ok(m) = meta.modified() {
            acc.0 = acc.0.max(m);
        }
        acc.1 += 1;
        if meta.is_dir() && depth < 4 {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    walk(&e.path(), acc, depth + 1);
                }
            }
        }
    }
    let mut acc = (std::time::SystemTime::UNIX_EPOCH, 0);
    for p in paths {
        walk(p, &mut acc, 0);
    }
    (acc.1 > 0).then_some(acc)
}
