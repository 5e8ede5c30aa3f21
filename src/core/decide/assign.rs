//! Who a rule's `assign` gives a ticket to. The policy is here; the shell
//! only reads the queue's round-robin position and the agents' open
//! tickets for it.

use super::*;
use crate::rules::Assign;

/// Open tickets per agent (lowercased address).
pub type Load = HashMap<String, usize>;

/// What a round-robin or least-open assignment needs from the store.
#[derive(Debug, Clone, Default)]
pub struct AssignEvidence {
    /// The target queue's round-robin position.
    pub round_robin: u64,
    /// Open tickets per agent, for least-open.
    pub open_load: Load,
}

/// The counter that keeps a queue's round-robin position.
pub fn counter_name(queue: &str) -> String {
    format!("round-robin/{queue}")
}

/// The queue a message's ticket ends in: a rule's, else the ticket's
/// (for a reply) or the inbox's (for a new ticket). The shell reads the
/// round-robin position of this queue.
pub fn target_queue(
    rules: &Classification,
    existing: Option<&Ticket>,
    inbox_queue: &str,
) -> String {
    rules.queue.clone().unwrap_or_else(|| {
        existing
            .map_or(inbox_queue, |t| t.queue.as_str())
            .to_string()
    })
}

/// The agent a rule's `assign` names, and the counters that move. Round-
/// robin takes the queue's agents in config order; least-open the agent of
/// the queue with the fewest open tickets (the first in config order on a
/// tie).
pub fn pick(
    assign: Option<&Assign>,
    queue: &str,
    evidence: &AssignEvidence,
    config: &Config,
) -> (Option<String>, Vec<(String, u64)>) {
    let agents: Vec<&str> = config
        .agents
        .iter()
        .filter(|a| a.queues.iter().any(|q| q == queue))
        .map(|a| a.email.as_str())
        .collect();
    match assign {
        None => (None, Vec::new()),
        Some(Assign::Agent(a)) => (Some(a.clone()), Vec::new()),
        Some(_) if agents.is_empty() => (None, Vec::new()),
        Some(Assign::RoundRobin) => {
            let n = evidence.round_robin;
            let pick = agents[(n % agents.len() as u64) as usize].to_string();
            (Some(pick), vec![(counter_name(queue), n + 1)])
        }
        Some(Assign::LeastOpen) => {
            let pick = agents
                .iter()
                .min_by_key(|a| {
                    evidence
                        .open_load
                        .get(&a.to_ascii_lowercase())
                        .copied()
                        .unwrap_or(0)
                })
                .map(|a| a.to_string());
            (pick, Vec::new())
        }
    }
}
