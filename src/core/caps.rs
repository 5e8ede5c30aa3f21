//! Windowed caps: how much automatic mail one address may get, and how many
//! tickets one sender may open, in a stretch of time.
//!
//! Detection (see [`crate::guard`]) stops the loops it recognizes; caps stop
//! the ones it does not: an autoresponder that sends no `Auto-Submitted`, a
//! script mailing the desk in a loop, a mail bomb. They are the last line,
//! so they are blunt on purpose: count, compare, refuse. The counts live in
//! the store; this module only decides, from the times it is given.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// At most `count` events within any stretch of `within`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: u32,
    pub within: Duration,
}

impl Limit {
    /// Reads `COUNT/DURATION`, e.g. `5/10m` or `20/1d`.
    pub fn parse(text: &str) -> Result<Limit, String> {
        let hint = "write it as COUNT/DURATION, like 5/10m or 20/1d";
        let (count, within) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a limit; {hint}"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: `{}` is not a whole number; {hint}", count.trim()))?;
        let within = humantime::parse_duration(within.trim()).map_err(|e| {
            format!(
                "`{text}`: `{}` is not a duration ({e}); {hint}",
                within.trim()
            )
        })?;
        if within.is_zero() {
            return Err(format!(
                "`{text}`: the duration must be longer than 0; {hint}"
            ));
        }
        Ok(Limit { count, within })
    }

    /// The time before `now` that this limit looks back to.
    fn since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(self.within)
            .unwrap_or_else(|_| chrono::Duration::days(3650))
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} in {}",
            self.count,
            humantime::format_duration(self.within)
        )
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Limit, D::Error> {
        let text = String::deserialize(d)?;
        Limit::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Whether one more event may happen at `now`, given the times of earlier
/// ones (any order). `Err` names the limit that is full.
pub fn check(earlier: &[DateTime<Utc>], limits: &[Limit], now: DateTime<Utc>) -> Result<(), Limit> {
    for limit in limits {
        let since = limit.since(now);
        let within = earlier.iter().filter(|t| **t > since && **t <= now).count();
        if within >= limit.count as usize {
            return Err(*limit);
        }
    }
    Ok(())
}

/// The times worth keeping after recording one more at `now`: only what a
/// limit can still see, and no more of it than the largest count needs.
pub fn record(
    mut earlier: Vec<DateTime<Utc>>,
    limits: &[Limit],
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    earlier.push(now);
    let longest = limits.iter().map(|l| l.since(now)).min();
    let keep = limits.iter().map(|l| l.count as usize).max().unwrap_or(0);
    match longest {
        Some(since) => earlier.retain(|t| *t > since),
        None => earlier.clear(),
    }
    earlier.sort();
    let excess = earlier.len().saturating_sub(keep);
    earlier.drain(..excess);
    earlier
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn limits_parse_and_explain_mistakes() {
        assert_eq!(
            Limit::parse("5/10m").unwrap(),
            Limit {
                count: 5,
                within: Duration::from_secs(600)
            }
        );
        assert_eq!(Limit::parse(" 20 / 1d ").unwrap().count, 20);
        for bad in ["5", "x/10m", "5/soon", "5/0s"] {
            let e = Limit::parse(bad).unwrap_err();
            assert!(e.contains("COUNT/DURATION"), "{e}");
        }
        assert_eq!(Limit::parse("5/10m").unwrap().to_string(), "5 in 10m");
    }

    #[test]
    fn every_window_must_have_room() {
        let limits = [
            Limit::parse("2/10m").unwrap(),
            Limit::parse("3/1d").unwrap(),
        ];
        assert!(check(&[], &limits, at(0)).is_ok());
        assert!(check(&[at(0)], &limits, at(1)).is_ok());
        assert_eq!(
            check(&[at(0), at(1)], &limits, at(2)).unwrap_err(),
            limits[0]
        );
        // Ten minutes later the short window has room again, the day not.
        assert!(check(&[at(0), at(1)], &limits, at(700)).is_ok());
        assert_eq!(
            check(&[at(0), at(1), at(700)], &limits, at(1400)).unwrap_err(),
            limits[1]
        );
        assert!(check(&[at(0), at(1), at(700)], &limits, at(86_402)).is_ok());
        // No limits: nothing is capped.
        assert!(check(&[at(0); 100], &[], at(1)).is_ok());
    }

    #[test]
    fn recorded_history_stays_small() {
        let limits = [
            Limit::parse("2/10m").unwrap(),
            Limit::parse("3/1h").unwrap(),
        ];
        let mut h = Vec::new();
        for i in 0..50 {
            h = record(h, &limits, at(i));
        }
        assert_eq!(h, vec![at(47), at(48), at(49)]);
        let h = record(h, &limits, at(10_000));
        assert_eq!(h, vec![at(10_000)]);
    }
}
