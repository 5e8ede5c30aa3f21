//! How many customers arrive angry: the share of tickets whose first
//! message read negative, per week. Pure, from tickets, for the report
//! (`postdesk stats`) to show as a trend.
//!
//! Counted like the report counts created tickets: spam and tickets merged
//! into another are left out, and so are tickets with no sentiment kept
//! (imported history, tickets from before it was kept), which would
//! otherwise read as calm weeks.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::mail::sentiment::Sentiment;
use crate::ticket::Ticket;

/// At most this many weeks are listed (about 20 years), so a stray date
/// cannot make the list unbounded.
const MAX_WEEKS: usize = 1040;

/// One week of first messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekMood {
    /// The Monday that starts the week, in the desk's time zone.
    pub week: NaiveDate,
    /// Tickets created that week whose first message has a sentiment.
    pub tickets: usize,
    pub negative: usize,
    pub neutral: usize,
    pub positive: usize,
    /// `negative / tickets`, rounded to three decimals; `None` for a week
    /// without such tickets (no data is not a calm week).
    pub negative_share: Option<f64>,
}

/// Every week from the one holding `since` (or the first such ticket) to
/// the one holding `now`, empty weeks included, oldest first. Tickets
/// created before `since` or after `now` are left out.
pub fn negative_share_by_week<Tz: TimeZone>(
    tickets: &[Ticket],
    tz: &Tz,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<WeekMood> {
    let monday = |t: DateTime<Utc>| {
        let d = tz.from_utc_datetime(&t.naive_utc()).date_naive();
        d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
    };
    let counted: Vec<(NaiveDate, Sentiment)> = tickets
        .iter()
        .filter(|t| !t.spam && t.merged_into.is_none())
        .filter(|t| since.is_none_or(|s| t.created >= s) && t.created <= now)
        .filter_map(|t| t.sentiment.map(|s| (monday(t.created), s)))
        .collect();
    let last = monday(now);
    let first = match since {
        Some(s) => monday(s),
        None => match counted.iter().map(|(w, _)| *w).min() {
            Some(w) => w,
            None => return Vec::new(),
        },
    };
    let mut weeks = Vec::new();
    let mut week = first.max(last - Duration::weeks(MAX_WEEKS as i64 - 1));
    while week <= last {
        weeks.push(WeekMood {
            week,
            tickets: 0,
            negative: 0,
            neutral: 0,
            positive: 0,
            negative_share: None,
        });
        week += Duration::weeks(1);
    }
    for (week, s) in counted {
        let Some(w) = weeks.iter_mut().find(|w| w.week == week) else {
            continue;
        };
        w.tickets += 1;
        match s {
            Sentiment::Negative => w.negative += 1,
            Sentiment::Neutral => w.neutral += 1,
            Sentiment::Positive => w.positive += 1,
        }
    }
    for w in &mut weeks {
        if w.tickets > 0 {
            let share = w.negative as f64 / w.tickets as f64;
            w.negative_share = Some((share * 1000.0).round() / 1000.0);
        }
    }
    weeks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::Person;
    use crate::ticket::{Priority, Status};

    fn ticket(n: u64, created: &str, sentiment: Option<Sentiment>) -> Ticket {
        let created: DateTime<Utc> = created.parse().unwrap();
        let mut t: Ticket = serde_json::from_value(serde_json::json!({
            "number": n,
            "reference": format!("ACME-{n}"),
            "subject": "s",
            "status": Status::New,
            "priority": Priority::Normal,
            "category": "general",
            "queue": "general",
            "requester": Person { name: None, email: "c@x.test".into() },
            "participants": [],
            "inbox": "main",
            "created": created,
            "updated": created,
            "message_count": 1,
        }))
        .unwrap();
        t.sentiment = sentiment;
        t
    }

    #[test]
    fn weekly_share_of_negative_first_messages() {
        use Sentiment::*;
        let tickets = vec![
            // Week of Monday 2026-11-02.
            ticket(1, "2026-11-02T09:00:00Z", Some(Negative)),
            ticket(2, "2026-11-04T09:00:00Z", Some(Neutral)),
            ticket(3, "2026-11-08T23:00:00Z", Some(Positive)),
            ticket(4, "2026-11-05T09:00:00Z", None),
            // Week of 2026-11-16 (the one between is empty).
            ticket(5, "2026-11-16T09:00:00Z", Some(Negative)),
        ];
        let mut spam = ticket(6, "2026-11-16T10:00:00Z", Some(Positive));
        spam.spam = true;
        let mut all = tickets.clone();
        all.push(spam);
        let now: DateTime<Utc> = "2026-11-18T12:00:00Z".parse().unwrap();
        let weeks = negative_share_by_week(&all, &chrono_tz::UTC, None, now);
        let shares: Vec<(String, usize, Option<f64>)> = weeks
            .iter()
            .map(|w| (w.week.to_string(), w.tickets, w.negative_share))
            .collect();
        assert_eq!(
            shares,
            [
                ("2026-11-02".to_string(), 3, Some(0.333)),
                ("2026-11-09".to_string(), 0, None),
                ("2026-11-16".to_string(), 1, Some(1.0)),
            ]
        );
        // In Berlin, Sunday 23:00 UTC is already Monday: a week later.
        let weeks = negative_share_by_week(&tickets, &chrono_tz::Europe::Berlin, None, now);
        assert_eq!(weeks[0].tickets, 2);
        assert_eq!(weeks[1].tickets, 1);
        assert_eq!(weeks[1].positive, 1);
        // A window leaves earlier tickets out.
        let since: DateTime<Utc> = "2026-11-10T00:00:00Z".parse().unwrap();
        let weeks = negative_share_by_week(&tickets, &chrono_tz::UTC, Some(since), now);
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[1].negative, 1);
        assert!(negative_share_by_week(&[], &chrono_tz::UTC, None, now).is_empty());
    }
}
