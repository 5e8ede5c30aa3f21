//! The numbers an admin watches, in Prometheus form.
//!
//! Events (a message stored, a send attempt, a reload) are counted where they
//! happen, with one atomic add: the counters are process-wide so that the
//! sources, the outbox and the control socket need no handle threaded
//! through them. State (tickets by status, the outbox queue, which inbox is
//! connected) is read from the store and the sources when a scraper asks,
//! so it can never drift from what `postdesk status` says. The HTTP side is
//! in [`http`]; it is opt-in (`[metrics] listen`).

pub mod http;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::api::Outcome;
use crate::desk::Desk;
use crate::report::Summary;
use crate::ticket::{Priority, SlaKind, Status};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    inbox: String,
    /// new, reply, duplicate, quarantined
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TicketLabels {
    status: String,
    queue: String,
    priority: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SlaLabels {
    kind: String,
    queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InboxLabels {
    inbox: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

pub struct Metrics {
    registry: Registry,
    messages: Family<MessageLabels, Counter>,
    intake_seconds: Histogram,
    outbox_attempts: Family<ResultLabel, Counter>,
    reloads: Family<ResultLabel, Counter>,
    outbox_queued: Gauge,
    quarantined: Gauge,
    tickets: Family<TicketLabels, Gauge>,
    sla_breached: Family<SlaLabels, Gauge>,
    inbox_connected: Family<InboxLabels, Gauge>,
    inbox_last_success: Family<InboxLabels, Gauge>,
    /// Counting tickets reads every one of them: a busy scraper (or two)
    /// should not make the desk do that more than every few seconds.
    tickets_counted: Mutex<Option<Instant>>,
    /// Where the listener answers, once bound (for `postdesk status`).
    listening: OnceLock<std::net::SocketAddr>,
    /// The daemon's heartbeat: its timer loop beats every second. A beat
    /// that stops means the daemon is wedged (`/healthz` says 503, and the
    /// systemd watchdog is no longer fed).
    heartbeat: Mutex<Option<Instant>>,
}

/// How long a ticket count is reused between scrapes.
const RECOUNT_EVERY: Duration = Duration::from_secs(5);

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The process's metrics, created on first use.
pub fn get() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("postdesk");
        let messages = Family::<MessageLabels, Counter>::default();
        registry.register(
            "messages_received",
            "Inbound messages taken from a source, by inbox and what became of them (new ticket, reply, duplicate, quarantined)",
            messages.clone(),
        );
        // 1 ms .. about 33 s.
        let intake_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "intake_seconds",
            "Time from a source handing over a message until the store holds it durably",
            intake_seconds.clone(),
        );
        let outbox_attempts = Family::<ResultLabel, Counter>::default();
        registry.register(
            "outbox_attempts",
            "Send attempts of outgoing mail: sent, retry (temporary failure, tried again later), failed (given up)",
            outbox_attempts.clone(),
        );
        let reloads = Family::<ResultLabel, Counter>::default();
        registry.register(
            "reloads",
            "Reloads of rules, templates and config (SIGHUP or a file change): ok or refused",
            reloads.clone(),
        );
        let outbox_queued = Gauge::default();
        registry.register(
            "outbox_queued",
            "Outgoing mail waiting to be sent (including retries)",
            outbox_queued.clone(),
        );
        let quarantined = Gauge::default();
        registry.register(
            "quarantined",
            "Messages kept in quarantine (see `postdesk quarantine list`)",
            quarantined.clone(),
        );
        let tickets = Family::<TicketLabels, Gauge>::default();
        registry.register(
            "tickets",
            "Tickets by status, queue and priority",
            tickets.clone(),
        );
        let sla_breached = Family::<SlaLabels, Gauge>::default();
        registry.register(
            "sla_breached",
            "Unresolved tickets past an SLA target, by target kind and queue",
            sla_breached.clone(),
        );
        let inbox_connected = Family::<InboxLabels, Gauge>::default();
        registry.register(
            "inbox_connected",
            "1 while the inbox is connected and being read, 0 when its last attempt failed",
            inbox_connected.clone(),
        );
        let inbox_last_success = Family::<InboxLabels, Gauge>::default();
        registry.register(
            "inbox_last_success_timestamp_seconds",
            "When the inbox was last read without error (Unix time)",
            inbox_last_success.clone(),
        );
        registry.register(
            "build",
            "The running postdesk",
            Info::new(VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        Metrics {
            registry,
            messages,
            intake_seconds,
            outbox_attempts,
            reloads,
            outbox_queued,
            quarantined,
            tickets,
            sla_breached,
            inbox_connected,
            inbox_last_success,
            tickets_counted: Mutex::new(None),
            listening: OnceLock::new(),
            heartbeat: Mutex::new(None),
        }
    }

    /// One message handed over by `inbox`; `since` is when the source took
    /// it, observed once the store holds it durably.
    pub fn message(&self, inbox: &str, outcome: &Outcome, since: Instant) {
        let result = match outcome {
            Outcome::Stored { created: true, .. } => "new",
            Outcome::Stored { .. } => "reply",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Quarantined { .. } => "quarantined",
        };
        self.messages
            .get_or_create(&MessageLabels {
                inbox: inbox.to_string(),
                result,
            })
            .inc();
        self.intake_seconds.observe(since.elapsed().as_secs_f64());
    }

    /// The address the metrics listener answers on, if it runs.
    pub fn listening(&self) -> Option<String> {
        self.listening.get().map(|a| format!("http://{a}/metrics"))
    }

    pub(crate) fn set_listening(&self, addr: std::net::SocketAddr) {
        let _ = self.listening.set(addr);
    }

    /// The timer loop is alive.
    pub fn beat(&self) {
        *self.heartbeat.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// How long ago the timer loop last beat.
    pub fn since_beat(&self) -> Option<Duration> {
        self.heartbeat
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|at| at.elapsed())
    }

    /// One send attempt: `sent`, `retry` or `failed`.
    pub fn outbox_attempt(&self, result: &'static str) {
        self.outbox_attempts
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    /// One reload: `ok` or `refused`.
    pub fn reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "refused" };
        self.reloads.get_or_create(&ResultLabel { result }).inc();
    }

    /// The text a scraper gets (OpenMetrics text, which Prometheus reads).
    /// Reads the store: call it off the async threads.
    /// The exposition text; without a desk (the store is being reopened)
    /// the store's gauges keep their last values.
    pub fn render(&self, desk: Option<&Desk>) -> String {
        if let Some(desk) = desk {
            self.refresh(desk);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    fn refresh(&self, desk: &Desk) {
        let store = desk.store();
        self.outbox_queued.set(store.outbox_len() as i64);
        self.quarantined.set(store.quarantine_len() as i64);
        self.inbox_connected.clear();
        self.inbox_last_success.clear();
        for s in desk.sources().snapshot() {
            let labels = InboxLabels {
                inbox: s.name.clone(),
                kind: s.kind.clone(),
            };
            self.inbox_connected
                .get_or_create(&labels)
                .set(i64::from(s.connected));
            if let Some(t) = s.last_success {
                self.inbox_last_success
                    .get_or_create(&labels)
                    .set(t.timestamp());
            }
        }
        let mut counted = self
            .tickets_counted
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if counted.is_some_and(|at| at.elapsed() < RECOUNT_EVERY) {
            return;
        }
        // From the report summaries, one small record per ticket (issue 18).
        let mut gauges = TicketGauges::default();
        if let Err(e) = store.for_each_summary(|t| gauges.add(t)) {
            tracing::warn!(error = %e, "metrics: cannot count tickets");
            return;
        }
        let (by_state, breached) = gauges.labelled();
        self.tickets.clear();
        for (labels, n) in by_state {
            self.tickets.get_or_create(&labels).set(n);
        }
        self.sla_breached.clear();
        for (labels, n) in breached {
            self.sla_breached.get_or_create(&labels).set(n);
        }
        *counted = Some(Instant::now());
    }
}

const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Urgent,
];
const KINDS: [SlaKind; 3] = [
    SlaKind::FirstResponse,
    SlaKind::NextResponse,
    SlaKind::Resolution,
];

/// The ticket gauges, counted from report summaries: per queue, tickets
/// per status and priority (merged ones left out), and open tickets per
/// breached SLA kind. Counted in arrays so a ticket allocates nothing;
/// labels are made once per group.
#[derive(Default)]
struct TicketGauges {
    queues: HashMap<String, ([[i64; 4]; 5], [i64; 3])>,
}

impl TicketGauges {
    fn add(&mut self, t: &Summary<'_>) {
        if t.merged {
            return;
        }
        let q = match self.queues.get_mut(t.queue.as_ref()) {
            Some(q) => q,
            None => self.queues.entry(t.queue.to_string()).or_default(),
        };
        let status = Status::ALL.iter().position(|s| *s == t.status);
        let priority = PRIORITIES.iter().position(|p| *p == t.priority);
        if let (Some(s), Some(p)) = (status, priority) {
            q.0[s][p] += 1;
        }
        if t.finished() {
            return;
        }
        for kind in &t.due_breached {
            if let Some(k) = KINDS.iter().position(|x| x == kind) {
                q.1[k] += 1;
            }
        }
    }

    fn labelled(self) -> (HashMap<TicketLabels, i64>, HashMap<SlaLabels, i64>) {
        let mut by_state = HashMap::new();
        let mut breached = HashMap::new();
        for (queue, (states, late)) in self.queues {
            for (s, row) in Status::ALL.iter().zip(states) {
                for (p, n) in PRIORITIES.iter().zip(row).filter(|(_, n)| *n > 0) {
                    by_state.insert(
                        TicketLabels {
                            status: s.as_str().to_string(),
                            queue: queue.clone(),
                            priority: p.as_str().to_string(),
                        },
                        n,
                    );
                }
            }
            for (k, n) in KINDS.iter().zip(late).filter(|(_, n)| *n > 0) {
                breached.insert(
                    SlaLabels {
                        kind: k.as_str().to_string(),
                        queue: queue.clone(),
                    },
                    n,
                );
            }
        }
        (by_state, breached)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::{SlaDue, Ticket};

    fn ticket(n: u64, status: &str, priority: &str, queue: &str) -> Ticket {
        let at = chrono::DateTime::from_timestamp(1_764_000_000 + n as i64, 0).unwrap();
        serde_json::from_value(serde_json::json!({
            "number": n, "reference": format!("B-{n}"), "subject": "Help",
            "status": status, "priority": priority, "category": "general", "queue": queue,
            "requester": {"email": "c@customer.test"}, "participants": [], "inbox": "main",
            "created": at, "updated": at, "message_count": 1,
        }))
        .unwrap()
    }

    /// The gauges as they were counted from full tickets before summaries.
    fn from_tickets(tickets: &[Ticket]) -> (HashMap<TicketLabels, i64>, HashMap<SlaLabels, i64>) {
        let mut by_state: HashMap<TicketLabels, i64> = HashMap::new();
        let mut breached: HashMap<SlaLabels, i64> = HashMap::new();
        for t in tickets.iter().filter(|t| t.merged_into.is_none()) {
            *by_state
                .entry(TicketLabels {
                    status: t.status.as_str().to_string(),
                    queue: t.queue.clone(),
                    priority: t.priority.as_str().to_string(),
                })
                .or_default() += 1;
            if matches!(t.status, Status::Resolved | Status::Closed) {
                continue;
            }
            for s in t.sla_due.iter().filter(|s| s.breached) {
                *breached
                    .entry(SlaLabels {
                        kind: s.kind.as_str().to_string(),
                        queue: t.queue.clone(),
                    })
                    .or_default() += 1;
            }
        }
        (by_state, breached)
    }

    #[test]
    fn ticket_gauges_from_summaries_equal_those_from_tickets() {
        let statuses = ["new", "open", "pending", "resolved", "closed"];
        let priorities = ["low", "normal", "high", "urgent"];
        let queues = ["general", "billing", "vip"];
        let tickets: Vec<Ticket> = (0..300u64)
            .map(|n| {
                let mut t = ticket(
                    n,
                    statuses[(n * 7 % 5) as usize],
                    priorities[(n * 3 % 4) as usize],
                    queues[(n % 3) as usize],
                );
                if n.is_multiple_of(11) {
                    t.merged_into = Some(1);
                }
                for (i, kind) in KINDS.iter().enumerate() {
                    if (n + i as u64).is_multiple_of(4) {
                        t.sla_due.push(SlaDue {
                            kind: *kind,
                            started: t.created,
                            warn_at: t.created,
                            due: t.created,
                            warned: true,
                            breached: n % 3 != 1,
                        });
                    }
                }
                t
            })
            .collect();
        let mut gauges = TicketGauges::default();
        for t in &tickets {
            gauges.add(&Summary::of(t));
        }
        let (by_state, breached) = gauges.labelled();
        let expected = from_tickets(&tickets);
        assert!(!expected.1.is_empty());
        assert_eq!((by_state, breached), expected);
    }
}
