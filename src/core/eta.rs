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

/// When the first answer is due, as a person would say it, before it is
/// put into words: what [`describe_in`] words in the customer's language.
/// Language-free so the calendar's business-hours estimate and the plain
/// one share the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase {
    /// "within 30 minutes" (rounded up to a quarter hour).
    Minutes(u64),
    /// "within 4 hours".
    Hours(u64),
    /// "within 4 business hours" (open time of a calendar).
    BusinessHours(u64),
    /// "by tomorrow morning".
    Tomorrow(DayPart),
    /// "by Tuesday afternoon".
    Weekday(chrono::Weekday, DayPart),
    /// "by 3 December": day of month, month 1..=12.
    Date(u32, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayPart {
    Morning,
    Afternoon,
    Evening,
}

impl DayPart {
    /// Before noon morning, until five afternoon, then evening.
    pub fn of_hour(hour: u32) -> DayPart {
        match hour {
            0..=11 => DayPart::Morning,
            12..=16 => DayPart::Afternoon,
            _ => DayPart::Evening,
        }
    }
}

/// The languages [`words`] can say an estimate in. Mail in another
/// language gets no estimate (`eta` is null) rather than an English
/// phrase inside a sentence of its own language.
pub const LANGUAGES: [&str; 3] = ["en", "de", "fr"];

/// The due time of `wait` from `now` in the desk's time zone `tz`.
pub fn phrase(now: DateTime<Utc>, wait: Duration, tz: Tz) -> Phrase {
    let mins = wait.as_secs().div_ceil(60);
    if mins <= 90 {
        return Phrase::Minutes(round_minutes(mins));
    }
    let hours = wait.as_secs().div_ceil(3600);
    let due = now + chrono::Duration::seconds(wait.as_secs().min(i64::MAX as u64) as i64);
    let (now_local, due_local) = (now.with_timezone(&tz), due.with_timezone(&tz));
    let days = (due_local.date_naive() - now_local.date_naive()).num_days();
    if days == 0 || hours <= 8 {
        return Phrase::Hours(hours);
    }
    let part = DayPart::of_hour(due_local.hour());
    match days {
        1 => Phrase::Tomorrow(part),
        2..=6 => Phrase::Weekday(due_local.weekday(), part),
        _ => Phrase::Date(due_local.day(), due_local.month()),
    }
}

/// "within 30 minutes", "within 4 hours", "by tomorrow morning",
/// "by Tuesday afternoon", "by 3 March": the due time as a person would say
/// it, in English, in the desk's time zone.
pub fn describe(now: DateTime<Utc>, wait: Duration, tz: Tz) -> String {
    words(phrase(now, wait, tz), "en").unwrap_or_default()
}

/// [`describe`] in language `lang` (ISO 639-1); `None` for a language
/// without wording (see [`LANGUAGES`]).
pub fn describe_in(now: DateTime<Utc>, wait: Duration, tz: Tz, lang: &str) -> Option<String> {
    words(phrase(now, wait, tz), lang)
}

/// A phrase in words that complete "We aim to answer …" / "Wir antworten
/// Ihnen voraussichtlich …" / "Nous vous répondrons …".
pub fn words(p: Phrase, lang: &str) -> Option<String> {
    use DayPart::*;
    Some(match lang {
        "en" => match p {
            Phrase::Minutes(m) => format!("within {m} minutes"),
            Phrase::Hours(h) => format!("within {h} hours"),
            Phrase::BusinessHours(1) => "within 1 business hour".to_string(),
            Phrase::BusinessHours(h) => format!("within {h} business hours"),
            Phrase::Tomorrow(part) => format!("by tomorrow {}", part_en(part)),
            Phrase::Weekday(w, part) => format!("by {} {}", weekday(w), part_en(part)),
            Phrase::Date(d, m) => format!("by {d} {}", month(m)),
        },
        "de" => {
            let part = |p: DayPart| match p {
                Morning => "Vormittag",
                Afternoon => "Nachmittag",
                Evening => "Abend",
            };
            match p {
                Phrase::Minutes(m) => format!("innerhalb von {m} Minuten"),
                Phrase::Hours(h) => format!("innerhalb von {h} Stunden"),
                Phrase::BusinessHours(1) => "innerhalb einer Geschäftsstunde".to_string(),
                Phrase::BusinessHours(h) => format!("innerhalb von {h} Geschäftsstunden"),
                Phrase::Tomorrow(p) => format!("bis morgen {}", part(p)),
                // One word in German: "Dienstagnachmittag".
                Phrase::Weekday(w, p) => {
                    format!("bis {}{}", weekday_de(w), part(p).to_lowercase())
                }
                Phrase::Date(d, m) => format!("bis zum {d}. {}", month_de(m)),
            }
        }
        "fr" => {
            let part = |p: DayPart| match p {
                Morning => "matin",
                Afternoon => "après-midi",
                Evening => "soir",
            };
            match p {
                Phrase::Minutes(m) => format!("dans les {m} minutes"),
                Phrase::Hours(h) => format!("dans les {h} heures"),
                Phrase::BusinessHours(1) => "dans l'heure ouvrée".to_string(),
                Phrase::BusinessHours(h) => format!("dans les {h} heures ouvrées"),
                Phrase::Tomorrow(p) => format!("d'ici demain {}", part(p)),
                Phrase::Weekday(w, p) => format!("d'ici {} {}", weekday_fr(w), part(p)),
                Phrase::Date(1, m) => format!("d'ici le 1er {}", month_fr(m)),
                Phrase::Date(d, m) => format!("d'ici le {d} {}", month_fr(m)),
            }
        }
        _ => return None,
    })
}

fn part_en(p: DayPart) -> &'static str {
    match p {
        DayPart::Morning => "morning",
        DayPart::Afternoon => "afternoon",
        DayPart::Evening => "evening",
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

/// A moment as mail in language `lang` writes it, in UTC:
/// `Tue 10 Nov 2026, 14:05 UTC`, `Dienstag, 10. November 2026, 14:05 UTC`,
/// `mardi 10 novembre 2026, 14:05 UTC`. A language without words gets
/// the English form (see [`crate::templates::format_time`]).
pub fn moment(t: DateTime<Utc>, lang: &str) -> String {
    let clock = t.format("%H:%M UTC");
    match lang {
        "de" => format!(
            "{}, {}. {} {}, {clock}",
            weekday_de(t.weekday()),
            t.day(),
            month_de(t.month()),
            t.year()
        ),
        "fr" => format!(
            "{} {}{} {} {}, {clock}",
            weekday_fr(t.weekday()),
            t.day(),
            if t.day() == 1 { "er" } else { "" },
            month_fr(t.month()),
            t.year()
        ),
        _ => t.format("%a %-d %b %Y, %H:%M UTC").to_string(),
    }
}

fn weekday_de(w: chrono::Weekday) -> &'static str {
    use chrono::Weekday::*;
    match w {
        Mon => "Montag",
        Tue => "Dienstag",
        Wed => "Mittwoch",
        Thu => "Donnerstag",
        Fri => "Freitag",
        Sat => "Samstag",
        Sun => "Sonntag",
    }
}

fn weekday_fr(w: chrono::Weekday) -> &'static str {
    use chrono::Weekday::*;
    match w {
        Mon => "lundi",
        Tue => "mardi",
        Wed => "mercredi",
        Thu => "jeudi",
        Fri => "vendredi",
        Sat => "samedi",
        Sun => "dimanche",
    }
}

fn month_de(m: u32) -> &'static str {
    [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ]
    .get(m.saturating_sub(1) as usize)
    .copied()
    .unwrap_or("")
}

fn month_fr(m: u32) -> &'static str {
    [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
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
    fn english_words() {
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

    #[test]
    fn moments_per_language() {
        let t = at("2026-11-10T14:05:00Z");
        assert_eq!(moment(t, "en"), "Tue 10 Nov 2026, 14:05 UTC");
        assert_eq!(moment(t, "de"), "Dienstag, 10. November 2026, 14:05 UTC");
        assert_eq!(moment(t, "fr"), "mardi 10 novembre 2026, 14:05 UTC");
        assert_eq!(
            moment(at("2026-12-01T08:00:00Z"), "fr"),
            "mardi 1er décembre 2026, 08:00 UTC"
        );
        assert_eq!(moment(t, "es"), "Tue 10 Nov 2026, 14:05 UTC");
    }

    #[test]
    fn words_per_language() {
        let now = at("2026-11-22T10:00:00Z");
        let tz: Tz = "UTC".parse().unwrap();
        let say = |secs: u64, lang: &str| describe_in(now, Duration::from_secs(secs), tz, lang);
        assert_eq!(
            say(20 * 60, "de").as_deref(),
            Some("innerhalb von 30 Minuten")
        );
        assert_eq!(say(4 * H, "de").as_deref(), Some("innerhalb von 4 Stunden"));
        assert_eq!(say(24 * H, "de").as_deref(), Some("bis morgen Vormittag"));
        assert_eq!(
            say(2 * 24 * H + 4 * H, "de").as_deref(),
            Some("bis Dienstagnachmittag")
        );
        assert_eq!(
            say(10 * 24 * H, "de").as_deref(),
            Some("bis zum 2. Dezember")
        );
        assert_eq!(say(4 * H, "fr").as_deref(), Some("dans les 4 heures"));
        assert_eq!(say(24 * H, "fr").as_deref(), Some("d'ici demain matin"));
        assert_eq!(
            say(2 * 24 * H + 4 * H, "fr").as_deref(),
            Some("d'ici mardi après-midi")
        );
        assert_eq!(
            say(10 * 24 * H, "fr").as_deref(),
            Some("d'ici le 2 décembre")
        );
        assert_eq!(
            words(Phrase::Date(1, 3), "fr").as_deref(),
            Some("d'ici le 1er mars")
        );
        assert_eq!(say(4 * H, "en").as_deref(), Some("within 4 hours"));
        assert_eq!(say(4 * H, "es"), None, "no wording: no estimate");
        assert_eq!(
            words(Phrase::BusinessHours(1), "de").as_deref(),
            Some("innerhalb einer Geschäftsstunde")
        );
        for lang in LANGUAGES {
            assert!(words(Phrase::Hours(3), lang).is_some(), "{lang}");
        }
    }
}
