//! Which automatic mail is held back: the caps per recipient and the
//! holds on hard-bounced addresses (the guards of `[guard]`).

use super::*;

/// A recipient of automatic mail the caps and bounce holds apply to: a
/// customer, not an agent, the admin or the desk.
pub(super) fn capped_recipient(n: &Notice, email: &str, config: &Config, own: &[String]) -> bool {
    n.auto != Auto::No
        && n.agent.is_none()
        && n.plain.is_none()
        && config.agent(email).is_none()
        && !config
            .desk
            .admin
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(email))
        && !is_own(own, email)
}

/// What the caps know of one recipient: the times automatic mail went to
/// it lately, and its bounce mark.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    pub times: Vec<DateTime<Utc>>,
    pub mark: Option<crate::bounce::Mark>,
}

/// The recipients whose history [`limit`] needs.
pub fn capped_recipients(notices: &[Notice], config: &Config, own: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in notices {
        for p in n.to.iter().chain(n.cc.iter()) {
            let e = p.email.to_ascii_lowercase();
            if capped_recipient(n, &e, config, own) && !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

/// Holds back automatic mail to customers that is over a cap or goes to a
/// hard-bounced address. `sent` has what [`capped_recipients`] asked for
/// and is updated with what goes out; returns why each held mail was held.
pub fn limit(
    notices: &mut Vec<Notice>,
    sent: &mut std::collections::HashMap<String, Sent>,
    config: &Config,
    own: &[String],
    now: DateTime<Utc>,
) -> Vec<String> {
    let limits = &config.guard.auto_mail_limits;
    let mut held = Vec::new();
    notices.retain_mut(|n| {
        let mut keep = |p: &Person, n: &Notice| -> bool {
            let e = p.email.to_ascii_lowercase();
            if !capped_recipient(n, &e, config, own) {
                return true;
            }
            let s = sent.entry(e.clone()).or_default();
            if let Some(m) = s.mark.as_ref().filter(|m| m.suppressed(now)) {
                held.push(format!(
                    "not sent: {} to {e}: the address hard-bounced ({}); held until {}",
                    n.template,
                    m.status.as_deref().unwrap_or("no status"),
                    m.suppressed_until
                        .map(|u| u.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_default()
                ));
                return false;
            }
            match crate::caps::check(&s.times, limits, now) {
                Ok(()) => {
                    s.times = crate::caps::record(std::mem::take(&mut s.times), limits, now);
                    true
                }
                Err(l) => {
                    held.push(format!(
                        "not sent: {} to {e}: over the limit of automatic mail to one address ({l})",
                        n.template
                    ));
                    false
                }
            }
        };
        let snapshot = n.clone();
        n.to.retain(|p| keep(p, &snapshot));
        n.cc.retain(|p| keep(p, &snapshot));
        !n.to.is_empty()
    });
    held
}
