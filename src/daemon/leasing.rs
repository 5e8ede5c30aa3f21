//! Reading an inbox only while this node holds its lease (several `serve`
//! processes on one PostgreSQL database; the lease itself is
//! [`crate::pg::lease`]).
//!
//! Each inbox's source runs under [`leased`]: wait for the lease, start
//! the source with a stop signal of its own, renew the lease at a third of
//! its TTL, and stop the source as soon as the lease can no longer be
//! trusted ([`lease::Tenure`]) or was taken, then wait for the lease
//! again. The source stops the way it stops at shutdown: it finishes and
//! flushes the batch in hand. A write that a stalled node makes after
//! losing its lease is refused by the fence check in the store's
//! transaction, so a late stop costs a refetch, never a double.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::pg::lease::{self, Hold, Holds, Next, NodeInfo, Tenure};
use crate::pg::{PgError, Settings};

/// This node's side of the leases: who it is, where the database is, and
/// what it holds.
pub struct Leasing {
    settings: Settings,
    pool: deadpool_postgres::Pool,
    node: NodeInfo,
    ttl: Duration,
    holds: Arc<Holds>,
    /// How many inboxes the desk reads under leases (every node of a desk
    /// has the same config), to share them among the live nodes.
    inboxes: AtomicUsize,
    /// Set while one of this node's inboxes is being handed over to a
    /// node with fewer: one at a time, so a node gives up one inbox too
    /// many at most for a moment, never all of them.
    yielding: AtomicBool,
    /// The live nodes as last counted, shared by every inbox of this node
    /// (see [`Leasing::live_nodes`]).
    counted: tokio::sync::Mutex<Option<Counted>>,
    /// The state directory's `node` file, locked while this node lives.
    _succession: std::fs::File,
}

/// The file in a node's state directory naming the node that serves
/// from it.
const NODE_FILE: &str = "node";

/// Takes over `state_dir` for node `me`: locks its [`NODE_FILE`] (held
/// until this process ends, so no other `serve` of the directory runs
/// meanwhile), reads which node served from it before, and writes `me`.
/// That node is gone: it held the lock while it lived.
fn succeed(
    state_dir: &Path,
    me: &str,
    at: &str,
) -> Result<(std::fs::File, Option<String>), PgError> {
    use std::io::{Read, Seek, Write};
    let path = state_dir.join(NODE_FILE);
    let fail = |e: std::io::Error| PgError::Other {
        at: at.to_string(),
        message: format!("{}: {e}", path.display()),
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(fail)?;
    file.try_lock().map_err(|_| PgError::Other {
        at: at.to_string(),
        message: format!(
            "another postdesk serve holds {}: one node per state directory",
            path.display()
        ),
    })?;
    let mut before = String::new();
    file.read_to_string(&mut before).map_err(fail)?;
    file.set_len(0).map_err(fail)?;
    file.rewind().map_err(fail)?;
    file.write_all(me.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    let before = before.trim();
    let gone = (!before.is_empty() && before != me).then(|| before.to_string());
    Ok((file, gone))
}

impl Leasing {
    /// Connects (a pool of two: the leases' traffic is a few small
    /// statements a second) and registers this node. What the node that
    /// served from `state_dir` before held (it is gone: killed, or
    /// stopped) is freed at once, so a restarted node reads its inboxes
    /// and recovers its mail without waiting for the leases and claims to
    /// run out.
    pub async fn start(
        settings: &Settings,
        ttl: Duration,
        state_dir: &Path,
    ) -> Result<Arc<Leasing>, PgError> {
        let s = settings.clone().with_pool(2);
        let at = s.describe();
        let pool = s.pool()?;
        let node = lease::this_node().clone();
        let (succession, gone) = succeed(state_dir, &node.id, &at)?;
        let client = s.connection(&pool).await?;
        lease::register(&**client, &at, &node).await?;
        if let Some(gone) = gone {
            lease::forget(&**client, &at, &gone).await?;
            tracing::info!(node = %gone, "freed the leases and claims of this state directory's previous node");
        }
        drop(client);
        Ok(Arc::new(Leasing {
            settings: s,
            pool,
            node,
            ttl,
            holds: Arc::new(Holds::default()),
            inboxes: AtomicUsize::new(0),
            yielding: AtomicBool::new(false),
            counted: tokio::sync::Mutex::new(None),
            _succession: succession,
        }))
    }

    pub fn node(&self) -> &NodeInfo {
        &self.node
    }

    pub fn holds(&self) -> Arc<Holds> {
        self.holds.clone()
    }

    /// Says how many inboxes the desk reads under leases.
    pub fn set_inboxes(&self, n: usize) {
        self.inboxes.store(n, Ordering::Relaxed);
    }

    /// The most inboxes this node should read now
    /// ([`lease::fair_share`] among the nodes heard from within the time
    /// after which a silent node counts as dead); `None` when the nodes
    /// cannot be counted, and then nothing is handed over or held back.
    async fn share(&self) -> Option<usize> {
        let nodes = self.live_nodes().await?;
        Some(lease::fair_share(
            self.inboxes.load(Ordering::Relaxed),
            nodes,
        ))
    }

    /// How many nodes were heard from within the time after which a silent
    /// node counts as dead. Counted once per renewal period (a third of
    /// the TTL, the node's tick): the inboxes renewing within it reuse the
    /// number, so a node reading many inboxes asks the database once a
    /// tick, not once per inbox. An inbox alone renews a little over a
    /// tick after the last count, so it still counts afresh each time.
    /// `None` when the nodes cannot be counted; that is not kept, so the
    /// next caller tries again.
    async fn live_nodes(&self) -> Option<usize> {
        // Held across the count, so inboxes renewing together wait for
        // one count instead of each sending their own.
        let mut counted = self.counted.lock().await;
        let tick = self.ttl / 3;
        if let Some(nodes) = counted.and_then(|c| c.within(Instant::now(), tick)) {
            return Some(nodes);
        }
        let c = self.settings.connection(&self.pool).await.ok()?;
        let within = Duration::from_millis(u64::try_from(self.settings.silent_ms()).unwrap_or(0));
        let nodes = lease::live_nodes(&**c, &self.settings.describe(), within)
            .await
            .ok()?;
        *counted = Some(Counted {
            at: Instant::now(),
            nodes,
        });
        Some(nodes)
    }

    /// Whether this node reads more than its share, and so should hand
    /// one inbox over; `true` for one caller at a time, until
    /// [`Leasing::yielded`].
    async fn should_yield(&self) -> bool {
        match self.share().await {
            Some(share) if self.holds.count() > share => self
                .yielding
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok(),
            _ => false,
        }
    }

    fn yielded(&self) {
        self.yielding.store(false, Ordering::Release);
    }

    /// Whether to let inbox lease `name` wait for a node with fewer: it
    /// was given back (a handover, or never taken) and this node already
    /// reads its share. A lease whose holder died is taken over at once.
    async fn hold_back(&self, name: &str) -> bool {
        match self.share().await {
            Some(share) if self.holds.count() >= share => {
                match self.settings.connection(&self.pool).await {
                    Ok(c) => lease::given_back(&**c, &self.settings.describe(), name)
                        .await
                        .unwrap_or(false),
                    Err(_) => false,
                }
            }
            _ => false,
        }
    }

    async fn take(&self, name: &str) -> Result<Option<Hold>, PgError> {
        let c = self.settings.connection(&self.pool).await?;
        let at = self.settings.describe();
        // The node row may have been forgotten while this node was cut
        // off (`status` prunes silent nodes): say it is alive first.
        lease::register(&**c, &at, &self.node).await?;
        lease::take(&**c, &at, name, &self.node.id, self.ttl).await
    }

    /// How long to wait before trying to take `name` again after it was
    /// found held: until the server says it runs out (plus a few
    /// milliseconds), at most `retry`; `retry` when that cannot be read.
    async fn wait_for(&self, name: &str, retry: Duration) -> Duration {
        let left = match self.settings.connection(&self.pool).await {
            Ok(c) => lease::expires_in(&**c, &self.settings.describe(), name).await,
            Err(e) => Err(e),
        };
        match left {
            Ok(Some(left)) => (left + Duration::from_millis(5)).min(retry),
            Ok(None) | Err(_) => retry,
        }
    }

    async fn renew(&self, hold: &Hold) -> Result<bool, PgError> {
        let c = self.settings.connection(&self.pool).await?;
        lease::renew(&**c, &self.settings.describe(), hold, self.ttl).await
    }

    async fn release(&self, hold: &Hold) {
        let at = self.settings.describe();
        let released = match self.settings.connection(&self.pool).await {
            Ok(c) => lease::release(&**c, &at, hold).await,
            Err(e) => Err(e),
        };
        if let Err(e) = released {
            // It runs out by itself within the TTL.
            tracing::warn!(lease = %hold.name, error = %e, "cannot release the lease; it runs out by itself");
        }
    }
}

/// A count of the live nodes, and when it was made.
#[derive(Debug, Clone, Copy)]
struct Counted {
    at: Instant,
    nodes: usize,
}

impl Counted {
    /// The count, if it was made less than `tick` before `now`.
    fn within(self, now: Instant, tick: Duration) -> Option<usize> {
        (now.saturating_duration_since(self.at) < tick).then_some(self.nodes)
    }
}

/// Says this node is alive every third of the lease TTL until `stop`:
/// a node that reads no inbox must not look dead to the others, which
/// take over the outgoing mail a silent node had claimed.
pub async fn heartbeat(leasing: Arc<Leasing>, mut stop: watch::Receiver<bool>) {
    loop {
        if sleep_or_stop(&mut stop, leasing.ttl / 3).await {
            return;
        }
        let at = leasing.settings.describe();
        let said = match leasing.settings.connection(&leasing.pool).await {
            Ok(c) => lease::register(&**c, &at, &leasing.node).await,
            Err(e) => Err(e),
        };
        if let Err(e) = said {
            tracing::warn!(error = %e, "cannot tell the database this node is alive");
        }
    }
}

/// Why a node stopped reading an inbox it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// The daemon is stopping.
    Stopping,
    /// The source ended by itself (e.g. its settings are unusable).
    SourceEnded,
    /// A renewal found the lease taken by another node.
    Lost,
    /// Renewals failed until the lease could no longer be trusted.
    Stale,
    /// This node read more than its share of the inboxes, and handed this
    /// one over to a node with fewer.
    Handover,
}

impl Why {
    /// Whether the lease is still this node's to give back: only when it
    /// stopped of its own accord. A lost or stale lease may be another
    /// node's by now (and `release` leaves such a hold alone anyway).
    fn releases(self) -> bool {
        matches!(self, Why::Stopping | Why::SourceEnded | Why::Handover)
    }

    fn say(self) -> &'static str {
        match self {
            Why::Stopping => "stopping",
            Why::SourceEnded => "the source ended",
            Why::Lost => "another node took the lease",
            Why::Stale => "the lease could not be renewed in time",
            Why::Handover => "handed over to a node that reads fewer inboxes",
        }
    }
}

/// Runs the source that `start` makes, for inbox `inbox`, only while this
/// node holds the inbox's lease, until `stop`.
pub async fn leased<F, Fut>(
    leasing: Arc<Leasing>,
    inbox: String,
    mut stop: watch::Receiver<bool>,
    start: F,
) where
    F: Fn(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let name = lease::inbox_lease(&inbox);
    let mut tenure = Tenure::new(leasing.ttl);
    // Waiting nodes try a little more often than the holder renews, so a
    // lease that ran out is taken within about a third of the TTL.
    let retry = leasing.ttl / 3;
    let mut said_waiting = false;
    // A node that already reads its share lets an inbox given back wait
    // once, for two retries, so that a node reading fewer takes it; then
    // it takes it itself, so every inbox has a reader whatever the others
    // do. An inbox whose reader died is taken over at once.
    let mut held_back = false;
    while !*stop.borrow() {
        if !held_back && leasing.hold_back(&name).await {
            held_back = true;
            if sleep_or_stop(&mut stop, retry * 2).await {
                break;
            }
            continue;
        }
        held_back = false;
        let sent = Instant::now();
        let hold = match leasing.take(&name).await {
            Ok(Some(h)) => h,
            Ok(None) => {
                if !said_waiting {
                    tracing::info!(inbox = %inbox, "another node reads this inbox; waiting for its lease");
                    said_waiting = true;
                }
                // Right when it runs out, so a dead holder's inbox is
                // taken over within its TTL and a round trip, not a whole
                // retry later.
                let wait = leasing.wait_for(&name, retry).await;
                if sleep_or_stop(&mut stop, wait).await {
                    break;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(inbox = %inbox, error = %e, "cannot take the inbox's lease; trying again");
                if sleep_or_stop(&mut stop, retry).await {
                    break;
                }
                continue;
            }
        };
        said_waiting = false;
        tenure.renewed(sent);
        tracing::info!(inbox = %inbox, fence = hold.fence, node = %leasing.node.id, "took the inbox's lease");
        leasing.holds.set(&inbox, Some(hold.clone()));
        let (source_stop, source_rx) = watch::channel(false);
        let mut source = tokio::spawn(start(source_rx));
        let why = loop {
            let wait = match tenure.next(Instant::now()) {
                Next::Wait(until) => until.saturating_duration_since(Instant::now()),
                Next::Renew => {
                    if leasing.should_yield().await {
                        break Why::Handover;
                    }
                    let sent = Instant::now();
                    match leasing.renew(&hold).await {
                        Ok(true) => tenure.renewed(sent),
                        Ok(false) => break Why::Lost,
                        Err(e) => {
                            tracing::warn!(inbox = %inbox, error = %e, "cannot renew the inbox's lease");
                        }
                    }
                    // Retry a failed renewal soon; `Stop` ends it in time.
                    (leasing.ttl / 15).max(Duration::from_millis(100))
                }
                Next::Stop => break Why::Stale,
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => break Why::Stopping,
                _ = &mut source => break Why::SourceEnded,
            }
        };
        let _ = source_stop.send(true);
        if !source.is_finished() {
            let _ = (&mut source).await;
        }
        leasing.holds.set(&inbox, None);
        tenure.ended();
        if why.releases() {
            leasing.release(&hold).await;
            if why == Why::Handover {
                tracing::info!(inbox = %inbox, "handed the inbox over to a node that reads fewer");
                leasing.yielded();
            }
        } else {
            tracing::warn!(inbox = %inbox, why = why.say(), "stopped reading the inbox");
        }
        if why == Why::Stopping {
            break;
        }
        // A source that ended by itself, or a lease lost, is not retaken
        // in a tight loop.
        if sleep_or_stop(&mut stop, retry).await {
            break;
        }
    }
}

/// Sleeps `d`; `true` when told to stop meanwhile.
async fn sleep_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        changed = stop.changed() => changed.is_err() || *stop.borrow(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Counted, Why};
    use std::time::{Duration, Instant};

    #[test]
    fn a_count_of_the_nodes_is_reused_within_one_tick_only() {
        let at = Instant::now();
        let tick = Duration::from_secs(10);
        let counted = Counted { at, nodes: 3 };
        assert_eq!(counted.within(at, tick), Some(3));
        assert_eq!(counted.within(at + tick / 2, tick), Some(3));
        assert_eq!(counted.within(at + tick, tick), None);
        assert_eq!(counted.within(at + tick * 2, tick), None);
    }

    #[test]
    fn only_a_lease_given_up_of_its_own_accord_is_released() {
        assert!(Why::Stopping.releases());
        assert!(Why::SourceEnded.releases());
        // Lost or stale: maybe another node's by now.
        assert!(!Why::Lost.releases());
        assert!(!Why::Stale.releases());
        assert_ne!(Why::Lost.say(), Why::Stale.say());
    }
}
