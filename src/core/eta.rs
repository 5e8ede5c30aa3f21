//! An honest estimate of the first answer, in words a customer reads.
//!
//! Honest means: the desk's promise (the SLA first-response target for the
//! ticket's priority), unless the desk's recent record says it takes longer;
//! then the record. A desk that promises one hour and answers in six loses
//! more trust than one that says six.

use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

/// Samples needed before the recent median is believed.
pub const MIN_SAMPLES: usize = 5;

/// How long until the first answer: the SLA target, or the recent median
/// when that is longer and rests on enough samples.
pub fn expected_wait(sla_target: Option<Duration>, recent: &[Duration]) -> Option<Duration> {
    let median = median(recent);
    match (sla_target, median) {
        (Some(t), Some(m)) => Some(t.max(m)),
        (Some(t), None) => Some(t),
        (None, m) => m,
    }
}

/// The median of the samples, or `None` with fewer than [`MIN_SAMPLES`].
pub fn median(samples: &[Duration]) -> Option<Duration> {
    if samples.len() < MIN_SAMPLES {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort();
    let mid = s.len() / 2;
    Some(if s.len().is_multiple_of(2) {
        (s[mid - 1] + s[mid]) / 2
    } else {
        s[mid]
    })
}

/// "within 30 minutes", "within 4 hours", "by tomorrow morning",
/// "by Tuesday afternoon", "by 3 March": the due time as a person would say
/// it, in the desk's time zone.
pub fn describe(now: DateTime<Utc>, wait: Duration, tz: Tz) -> String {
    let mins = wait.as_secs().div_ceil(60);
    if mins <= 90 {
        return format!("within {} minutes", round_minutes(mins));
    }
    let hours = wait.as_secs().div_ceil(3600);
    let due = now + chrono::Duration::seconds(wait.as_secs().min(i64::MAX as u64) as i64);
    let (now_local, due_local) = (now.with_timezone(&tz), due.with_timezone(&tz));
    let days = (due_local.date_naive() - now_local.date_naive()).num_days();
    if days == 0 || hours <= 8 {
        return format!("within {hours} hours");
    }
    let part = match due_local.hour() {
        0..=11 => "morning",
        12..=16 => "afternoon",
        _ => "evening",
    };
    match days {
        1 => format!("by tomorrow {part}"),
        2..=6 => format!("by {} {part}", weekday(due_local.weekday())),
        _ => format!("by {} {}", due_local.day(), month(due_local.month())),
    }
}

fn round_minutes(m: u64) -> u64 {
    match m {
        0..=15 => 15,
        16..=30 => 30,
        31..=45 => 45,
        46..=60 => 60,
        _ => m.div_ceil(15) * 15,
    }
}

/// English weekday name, shared with the calendar's wording.
pub(crate) fn weekday(w: chrono::Weekday) -> &'static str {
    match w {
        chrono::Weekday::Mon => "Monday",
        chrono::Weekday::Tue => "Tuesday",
        chrono::Weekday::Wed => "Wednesday",
        chrono::Weekday::Thu => "Thursday",
        chrono::Weekday::Fri => "Friday",
        chrono::Weekday::Sat => "Saturday",
        chrono::Weekday::Sun => "Sunday",
    }
}

/// English month name; empty for a number outside 1..=12.
pub(crate) fn month(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    .get(m.saturating_sub(1) as usize)
    .copied()
    .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const H: u64 = 3600;

    #[test]
    fn slower_record_beats_the_promise() {
        let one_h = Duration::from_secs(H);
        let six_h = Duration::from_secs(6 * H);
        assert_eq!(expected_wait(Some(one_h), &[six_h; 5]), Some(six_h));
        assert_eq!(expected_wait(Some(six_h), &[one_h; 5]), Some(six_h));
        // Too few samples: the promise stands.
        assert_eq!(expected_wait(Some(one_h), &[six_h; 4]), Some(one_h));
        assert_eq!(expected_wait(None, &[]), None);
    }

    #[test]
    fn median_of_even_and_odd() {
        let d = |h| Duration::from_secs(h * H);
        assert_eq!(median(&[d(1), d(2), d(3), d(4), d(5)]), Some(d(3)));
        assert_eq!(
            median(&[d(1), d(2), d(3), d(4), d(5), d(7)]),
            Some(Duration::from_secs(7 * H / 2))
        );
    }

    #[test]
    fn words() {
        // Sunday 22 Nov 2026, 10:00 UTC.
        let now = at("2026-11-22T10:00:00Z");
        let tz: Tz = "UTC".parse().unwrap();
        assert_eq!(
            describe(now, Duration::from_secs(20 * 60), tz),
            "within 30 minutes"
        );
        assert_eq!(
            describe(now, Duration::from_secs(H), tz),
            "within 60 minutes"
        );
        assert_eq!(
            describe(now, Duration::from_secs(4 * H), tz),
            "within 4 hours"
        );
        assert_eq!(
            describe(now, Duration::from_secs(24 * H), tz),
            "by tomorrow morning"
        );
        assert_eq!(
            describe(now, Duration::from_secs(2 * 24 * H + 4 * H), tz),
            "by Tuesday afternoon"
        );
        assert_eq!(
            describe(now, Duration::from_secs(10 * 24 * H), tz),
            "by 2 December"
        );
        // The desk's zone decides the day: 23:00 UTC is already tomorrow in Berlin.
        let late = at("2026-11-22T20:00:00Z");
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            describe(late, Duration::from_secs(9 * H), berlin),
            "by tomorrow morning"
        );
    }
}
