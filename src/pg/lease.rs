//! Leases: which node reads which inbox when several `serve` processes
//! share one database (issue 20).
//!
//! Two nodes reading one IMAP inbox would both fetch a message, both
//! decide it and both acknowledge it: GitLab's mail_room did exactly that
//! until it arbitrated through Redis. So each inbox has a lease row, held
//! by one node at a time for `store.lease_ttl`, renewed well before it
//! runs out, and taken by another node only once it has. Every taking
//! raises the lease's *fence*; a node writes its inbox's position only in
//! a transaction that finds its own fence still there ([`lost`], with the
//! row share-locked, so a takeover cannot commit in between). A node that
//! was paused past its lease (a long GC-like stall, a frozen VM) and wakes
//! up still believing it reads the inbox therefore cannot move the
//! position, and what it took is fetched again by the new holder; the
//! Message-ID index makes that second fetch a no-op.
//!
//! Time is the database's: `expires` is set from the server's `now()`, so
//! nodes with skewed clocks agree on when a lease ran out. A node's own
//! belief about its lease ([`Tenure`]) is measured from when it *sent*
//! the renewal, which is never later than when the server stamped it, so
//! the node stops trusting a lease before the server lets anyone take it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio_postgres::GenericClient;

use super::{decode, PgError};

/// One node's hold on a lease: what it writes under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The lease, e.g. `inbox:support`.
    pub name: String,
    /// The holder's node id.
    pub node: String,
    /// Raised by every taking; a write under an older fence is refused.
    pub fence: i64,
}

/// The lease that guards an inbox of this name.
pub fn inbox_lease(inbox: &str) -> String {
    format!("inbox:{inbox}")
}

/// The holds this node has now, by inbox name: what the store's write
/// checks its fence against ([`lost`]), and what `status` shows. Kept by
/// the daemon's lease loop, read by the engine.
#[derive(Debug, Default)]
pub struct Holds(Mutex<HashMap<String, Hold>>);

impl Holds {
    pub fn set(&self, inbox: &str, hold: Option<Hold>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match hold {
            Some(h) => map.insert(inbox.to_string(), h),
            None => map.remove(inbox),
        };
    }

    /// This node's holds on the named inboxes (those it holds).
    pub fn of<'a>(&self, inboxes: impl IntoIterator<Item = &'a str>) -> Vec<Hold> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        inboxes
            .into_iter()
            .filter_map(|i| map.get(i).cloned())
            .collect()
    }

    /// How many inboxes this node reads now.
    pub fn count(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether this node holds the inbox's lease now.
    pub fn holds(&self, inbox: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.contains_key(inbox)
    }
}

/// A node: one `serve` process. The id is unique per process start, so a
/// restarted daemon never mistakes an old holder for itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub version: String,
}

impl NodeInfo {
    /// This process.
    pub fn here() -> NodeInfo {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let pid = std::process::id();
        let mut nonce = [0u8; 4];
        // Without randomness the pid and the start time still tell two
        // processes on one host apart.
        if getrandom::fill(&mut nonce).is_err() {
            let t = chrono::Utc::now().timestamp_micros().to_be_bytes();
            nonce.copy_from_slice(&t[4..]);
        }
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        NodeInfo {
            id: format!("{host}/{pid}/{nonce}"),
            host,
            pid,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// This process's node, made once: every part of one `serve` (the
/// leases, the outbox sender's claims) speaks as the same node, and a
/// restarted process as a new one.
pub fn this_node() -> &'static NodeInfo {
    static NODE: std::sync::OnceLock<NodeInfo> = std::sync::OnceLock::new();
    NODE.get_or_init(NodeInfo::here)
}

/// A lease as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaseRow {
    pub name: String,
    pub holder: Option<String>,
    pub fence: i64,
    /// Milliseconds until it runs out (negative: ran out that long ago).
    pub expires_in_ms: i64,
}

/// A node as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeRow {
    pub id: String,
    pub host: String,
    pub pid: i32,
    pub version: String,
    /// Milliseconds since the node was last heard from.
    pub seen_ms_ago: i64,
}

fn failed(at: &str, what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> PgError {
    let at = at.to_string();
    move |e| PgError::Query {
        at,
        what: what.to_string(),
        detail: super::detail(&e),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Says this node is alive (and who it is), at start and at each renewal.
pub async fn register(
    client: &impl GenericClient,
    at: &str,
    node: &NodeInfo,
) -> Result<(), PgError> {
    let pid = i32::try_from(node.pid).unwrap_or(i32::MAX);
    client
        .execute(
            "INSERT INTO nodes (id, host, pid, version, started, seen) \
             VALUES ($1, $2, $3, $4, now(), now()) \
             ON CONFLICT (id) DO UPDATE SET seen = now()",
            &[&node.id, &node.host, &pid, &node.version],
        )
        .await
        .map_err(failed(at, "register this node"))?;
    Ok(())
}

/// Takeovers `status` lists: the last few, enough to see a failover and
/// whether it repeats.
const TAKEOVERS_SHOWN: i64 = 5;

/// Takings of one lease kept in `lease_takings` (the newest ones): enough
/// to read back a day of failovers, bounded however often nodes restart.
const TAKINGS_KEPT: i64 = 1000;

/// Takes lease `name` for `node` if nobody holds it or its holder let it
/// run out; `None` while another node holds it. The taking is logged in
/// `lease_takings` with the holding it replaced, all stamped by the
/// server's clock in the same statement (see the V4 migration).
pub async fn take(
    client: &impl GenericClient,
    at: &str,
    name: &str,
    node: &str,
    ttl: Duration,
) -> Result<Option<Hold>, PgError> {
    let row = client
        .query_opt(
            "WITH up AS ( \
               INSERT INTO leases (name, holder, fence, expires, taken) \
               VALUES ($1, $2, 1, now() + $3::bigint * interval '1 millisecond', now()) \
               ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, \
               fence = leases.fence + 1, expires = EXCLUDED.expires, taken = now(), \
               previous_holder = leases.holder, previous_expires = leases.expires \
               WHERE leases.holder IS NULL OR leases.expires <= now() \
               RETURNING fence, previous_holder, previous_expires), \
             logged AS ( \
               INSERT INTO lease_takings \
               (name, fence, holder, taken, previous_holder, previous_expires) \
               SELECT $1, fence, $2, now(), previous_holder, previous_expires FROM up), \
             pruned AS ( \
               DELETE FROM lease_takings WHERE name = $1 \
               AND fence <= (SELECT fence FROM up) - $4::bigint) \
             SELECT fence FROM up",
            &[&name, &node, &millis(ttl), &TAKINGS_KEPT],
        )
        .await
        .map_err(failed(at, "take a lease"))?;
    match row {
        Some(row) => Ok(Some(Hold {
            name: name.to_string(),
            node: node.to_string(),
            fence: row.try_get(0).map_err(failed(at, "read a lease's fence"))?,
        })),
        None => Ok(None),
    }
}

/// How long until lease `name` runs out, by the server's clock (zero if it
/// has or is held by nobody; `None` if it was never taken): a node waiting
/// for the lease tries again right then rather than a whole retry later.
pub async fn expires_in(
    client: &impl GenericClient,
    at: &str,
    name: &str,
) -> Result<Option<Duration>, PgError> {
    let row = client
        .query_opt(
            "SELECT CASE WHEN holder IS NULL THEN 0 ELSE greatest(0, \
             ceil(extract(epoch FROM (expires - now())) * 1000))::bigint END \
             FROM leases WHERE name = $1",
            &[&name],
        )
        .await
        .map_err(failed(at, "read a lease's expiry"))?;
    match row {
        Some(row) => {
            let ms: i64 = row
                .try_get(0)
                .map_err(failed(at, "read a lease's expiry"))?;
            Ok(Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
        }
        None => Ok(None),
    }
}

/// One taking of a lease, as `lease_takings` logged it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Taking {
    pub name: String,
    pub fence: i64,
    pub holder: String,
    pub previous_holder: Option<String>,
    /// Milliseconds from when the previous holding ran out (or was
    /// released) to this taking, by the server's clock; `None` for the
    /// first taking. Negative would mean a lease was taken while held.
    pub delay_ms: Option<i64>,
}

/// The logged takings of lease `name`, oldest first.
pub async fn takings(
    client: &impl GenericClient,
    at: &str,
    name: &str,
) -> Result<Vec<Taking>, PgError> {
    let rows = client
        .query(
            "SELECT name, fence, holder, previous_holder, \
             (extract(epoch FROM (taken - previous_expires)) * 1000)::bigint \
             FROM lease_takings WHERE name = $1 ORDER BY fence",
            &[&name],
        )
        .await
        .map_err(failed(at, "list a lease's takings"))?;
    decode::each(&rows, |(name, fence, holder, previous_holder, delay_ms)| {
        Taking {
            name,
            fence,
            holder,
            previous_holder,
            delay_ms,
        }
    })
    .map_err(failed(at, "read a taking"))
}

/// A lease taken from a holder whose lease had run out (a node that died or
/// was cut off), as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Takeover {
    pub name: String,
    pub holder: String,
    pub previous_holder: String,
    /// Milliseconds from when the previous holding ran out to the taking.
    pub delay_ms: i64,
    /// Milliseconds since the taking, by the server's clock.
    pub ago_ms: i64,
}

/// The `limit` newest takeovers of the last `within`, newest first: an
/// admin sees from any machine that (and how fast) a node's inboxes were
/// taken over. A lease given back (a clean stop, a handover between live
/// nodes) names no previous holder and is not one.
pub async fn takeovers(
    client: &impl GenericClient,
    at: &str,
    within: Duration,
    limit: i64,
) -> Result<Vec<Takeover>, PgError> {
    let rows = client
        .query(
            "SELECT name, holder, previous_holder, \
             (extract(epoch FROM (taken - previous_expires)) * 1000)::bigint, \
             (extract(epoch FROM (now() - taken)) * 1000)::bigint \
             FROM lease_takings WHERE previous_holder IS NOT NULL \
             AND previous_expires IS NOT NULL \
             AND taken > now() - $1::bigint * interval '1 millisecond' \
             ORDER BY taken DESC LIMIT $2",
            &[&millis(within), &limit],
        )
        .await
        .map_err(failed(at, "list the takeovers"))?;
    decode::each(
        &rows,
        |(name, holder, previous_holder, delay_ms, ago_ms)| Takeover {
            name,
            holder,
            previous_holder,
            delay_ms,
            ago_ms,
        },
    )
    .map_err(failed(at, "read a takeover"))
}

/// Extends a held lease by `ttl` from now; `false` when it is no longer
/// this hold's (it ran out and another node took it).
pub async fn renew(
    client: &impl GenericClient,
    at: &str,
    hold: &Hold,
    ttl: Duration,
) -> Result<bool, PgError> {
    let n = client
        .execute(
            "UPDATE leases SET expires = now() + $4::bigint * interval '1 millisecond' \
             WHERE name = $1 AND holder = $2 AND fence = $3",
            &[&hold.name, &hold.node, &hold.fence, &millis(ttl)],
        )
        .await
        .map_err(failed(at, "renew a lease"))?;
    if n == 1 {
        client
            .execute("UPDATE nodes SET seen = now() WHERE id = $1", &[&hold.node])
            .await
            .map_err(failed(at, "say this node is alive"))?;
    }
    Ok(n == 1)
}

/// Gives a lease up at once (a clean stop), so another node need not wait
/// for it to run out. A hold already lost is left alone.
pub async fn release(client: &impl GenericClient, at: &str, hold: &Hold) -> Result<(), PgError> {
    client
        .execute(
            "UPDATE leases SET holder = NULL, expires = now() \
             WHERE name = $1 AND holder = $2 AND fence = $3",
            &[&hold.name, &hold.node, &hold.fence],
        )
        .await
        .map_err(failed(at, "release a lease"))?;
    Ok(())
}

/// Frees at once what node `gone` held, instead of after it runs out: its
/// leases (as if released: the next taker raises the fence) and its
/// claims on outgoing mail (run out now: the next claimer recovers the
/// mail it left in flight); and forgets the node. Only for a node known
/// to be dead: the previous `serve` of the state directory this process
/// now holds (`daemon::leasing`).
pub async fn forget(client: &impl GenericClient, at: &str, gone: &str) -> Result<(), PgError> {
    for sql in [
        "UPDATE leases SET holder = NULL, expires = now() WHERE holder = $1",
        "UPDATE outbox SET claim_until = now() WHERE claimed_by = $1 AND claim_until > now()",
        "DELETE FROM nodes WHERE id = $1",
    ] {
        client
            .execute(sql, &[&gone])
            .await
            .map_err(failed(at, "free what a gone node held"))?;
    }
    Ok(())
}

/// The holds among `holds` that are no longer this node's, checked inside
/// the caller's transaction with the rows share-locked: a takeover waits
/// for that transaction, so a write that finds its fence here commits
/// before any other node can read the inbox. An expired lease nobody took
/// yet is still held: its fence has not moved, so no other node wrote.
pub async fn lost<'h>(
    tx: &impl GenericClient,
    at: &str,
    holds: &'h [Hold],
) -> Result<Vec<&'h Hold>, PgError> {
    if holds.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = holds.iter().map(|h| h.name.as_str()).collect();
    let rows = tx
        .query(
            "SELECT name, holder, fence FROM leases WHERE name = ANY($1) FOR SHARE",
            &[&names],
        )
        .await
        .map_err(failed(at, "check the inbox leases"))?;
    let now: Vec<(String, Option<String>, i64)> =
        decode::each(&rows, |lease| lease).map_err(failed(at, "read a lease"))?;
    Ok(holds
        .iter()
        .filter(|h| {
            !now.iter().any(|(n, holder, f)| {
                *n == h.name && holder.as_deref() == Some(&h.node) && *f == h.fence
            })
        })
        .collect())
}

/// Every lease, for `status`.
pub async fn leases(client: &impl GenericClient, at: &str) -> Result<Vec<LeaseRow>, PgError> {
    let rows = client
        .query(
            "SELECT name, holder, fence, \
             (extract(epoch FROM (expires - now())) * 1000)::bigint \
             FROM leases ORDER BY name",
            &[],
        )
        .await
        .map_err(failed(at, "list the leases"))?;
    decode::each(&rows, |(name, holder, fence, expires_in_ms)| LeaseRow {
        name,
        holder,
        fence,
        expires_in_ms,
    })
    .map_err(failed(at, "read a lease"))
}

/// Whether lease `name` was given back (released, or freed after its
/// holder's restart) or was never taken: free for whichever node should
/// read it. A lease that ran out while still naming its holder (the
/// holder died) is not: it is taken over at once, by any node.
pub async fn given_back(
    client: &impl GenericClient,
    at: &str,
    name: &str,
) -> Result<bool, PgError> {
    let row = client
        .query_opt("SELECT holder FROM leases WHERE name = $1", &[&name])
        .await
        .map_err(failed(at, "read a lease"))?;
    Ok(match row {
        None => true,
        Some(r) => r
            .try_get::<_, Option<String>>(0)
            .map_err(failed(at, "read a lease"))?
            .is_none(),
    })
}

/// How many nodes were heard from within `within`: the nodes the inboxes
/// are shared among.
pub async fn live_nodes(
    client: &impl GenericClient,
    at: &str,
    within: Duration,
) -> Result<usize, PgError> {
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM nodes WHERE seen >= now() - $1::bigint * interval '1 millisecond'",
            &[&millis(within)],
        )
        .await
        .map_err(failed(at, "count the nodes"))?
        .try_get(0)
        .map_err(failed(at, "count the nodes"))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// The most inboxes one of `nodes` live nodes should read: an even share,
/// rounded up, so that every inbox has a reader and none reads more than
/// one beyond another.
pub fn fair_share(inboxes: usize, nodes: usize) -> usize {
    inboxes.div_ceil(nodes.max(1)).max(1)
}

/// Every node heard from within `within`, for `status`; older ones are
/// forgotten (their leases stay, held by nobody, until taken).
pub async fn nodes(
    client: &impl GenericClient,
    at: &str,
    within: Duration,
) -> Result<Vec<NodeRow>, PgError> {
    client
        .execute(
            "DELETE FROM nodes WHERE seen < now() - $1::bigint * interval '1 millisecond'",
            &[&millis(within)],
        )
        .await
        .map_err(failed(at, "forget old nodes"))?;
    let rows = client
        .query(
            "SELECT id, host, pid, version, \
             (extract(epoch FROM (now() - seen)) * 1000)::bigint \
             FROM nodes ORDER BY started, id",
            &[],
        )
        .await
        .map_err(failed(at, "list the nodes"))?;
    decode::each(&rows, |(id, host, pid, version, seen_ms_ago)| NodeRow {
        id,
        host,
        pid,
        version,
        seen_ms_ago,
    })
    .map_err(failed(at, "read a node"))
}

/// Every node heard from in the last day, every lease and the day's last
/// takeovers, read from the database on a runtime of its own: what
/// `postdesk status` shows on a shared store, from any machine, with or
/// without a daemon on it.
pub fn cluster(
    settings: &super::Settings,
    ttl: Duration,
) -> Result<crate::status::Cluster, PgError> {
    let at = settings.describe();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PgError::Other {
            at: at.clone(),
            message: format!("cannot start the PostgreSQL client: {e}"),
        })?;
    rt.block_on(async {
        let pool = settings.clone().with_pool(1).pool()?;
        let client = settings.connection(&pool).await?;
        let day = Duration::from_secs(24 * 3600);
        Ok(crate::status::Cluster {
            nodes: nodes(&**client, &at, day).await?,
            leases: leases(&**client, &at).await?,
            takeovers: takeovers(&**client, &at, day, TAKEOVERS_SHOWN).await?,
            lease_ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
        })
    })
}

/// What a node believes about its own lease, on its own monotonic clock:
/// renew at a third of the TTL, and stop trusting the lease a fifth of the
/// TTL before the server could let another node take it. Pure: the caller
/// says when it sent each renewal that succeeded.
#[derive(Debug, Clone, Copy)]
pub struct Tenure {
    ttl: Duration,
    /// When the last successful taking or renewal was sent.
    sent: Option<Instant>,
}

/// What to do about a lease now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Held and fresh: check again at this instant.
    Wait(Instant),
    /// Held, but renew now.
    Renew,
    /// Not to be trusted any more: stop reading the inbox before another
    /// node may take it.
    Stop,
}

impl Tenure {
    pub fn new(ttl: Duration) -> Tenure {
        Tenure { ttl, sent: None }
    }

    /// A taking or renewal sent at `sent` succeeded.
    pub fn renewed(&mut self, sent: Instant) {
        self.sent = Some(sent);
    }

    /// The lease was lost or released.
    pub fn ended(&mut self) {
        self.sent = None;
    }

    pub fn held(&self, now: Instant) -> bool {
        self.sent.is_some_and(|s| now < s + self.trusted())
    }

    fn trusted(&self) -> Duration {
        self.ttl - self.ttl / 5
    }

    pub fn next(&self, now: Instant) -> Next {
        let Some(sent) = self.sent else {
            return Next::Stop;
        };
        if now >= sent + self.trusted() {
            Next::Stop
        } else if now >= sent + self.ttl / 3 {
            Next::Renew
        } else {
            Next::Wait(sent + self.ttl / 3)
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn inboxes_are_shared_evenly_and_each_has_a_reader() {
        assert_eq!(fair_share(2, 1), 2);
        assert_eq!(fair_share(2, 2), 1);
        assert_eq!(fair_share(3, 2), 2);
        assert_eq!(fair_share(1, 3), 1);
        assert_eq!(fair_share(5, 0), 5);
        assert_eq!(fair_share(0, 2), 1);
    }

    use super::*;

    #[test]
    fn a_tenure_renews_at_a_third_and_stops_before_the_server_lets_go() {
        let ttl = Duration::from_secs(15);
        let t0 = Instant::now();
        let mut t = Tenure::new(ttl);
        assert_eq!(t.next(t0), Next::Stop, "nothing held yet");
        assert!(!t.held(t0));
        t.renewed(t0);
        assert_eq!(t.next(t0), Next::Wait(t0 + Duration::from_secs(5)));
        assert_eq!(t.next(t0 + Duration::from_secs(5)), Next::Renew);
        // Renewals failing: still held until 12 s after the last one sent.
        assert_eq!(t.next(t0 + Duration::from_secs(11)), Next::Renew);
        assert!(t.held(t0 + Duration::from_millis(11_999)));
        assert_eq!(t.next(t0 + Duration::from_secs(12)), Next::Stop);
        assert!(!t.held(t0 + Duration::from_secs(12)));
        t.renewed(t0 + Duration::from_secs(10));
        assert!(t.held(t0 + Duration::from_secs(21)));
        t.ended();
        assert!(!t.held(t0 + Duration::from_secs(10)));
    }

    #[test]
    fn node_ids_differ_between_processes_and_starts() {
        let (a, b) = (NodeInfo::here(), NodeInfo::here());
        assert_ne!(a.id, b.id, "the nonce tells two starts apart");
        assert!(a.id.contains(&format!("/{}/", std::process::id())));
        assert_eq!(inbox_lease("support"), "inbox:support");
    }
}
