//! Business-hours calendars: how much *open* time lies between two instants,
//! and when a given amount of open time will have passed.
//!
//! SLA targets are promises in working time ("4 business hours"), but timers
//! fire at instants. This module is the one place that translates between
//! the two, so the due times in the store, the warnings at 80 % and the ETA
//! in the acknowledgement all agree. It is pure: no clock, no I/O.
//!
//! # Configuration
//!
//! ```toml
//! [calendar.office]
//! timezone = "Europe/Berlin"                  # IANA name, default "UTC"
//! weekdays = ["mon", "tue", "wed", "thu", "fri"] # default mon-fri
//! hours    = "08:00-12:00,13:00-17:00"        # default "09:00-17:00"
//! holidays = ["2026-04-03", "12-25", "01-01"] # default none
//! ```
//!
//! * `weekdays`: `mon` … `sun` (full English names work too), any case.
//! * `hours`: one or more `HH:MM-HH:MM` ranges, comma separated, in any
//!   order; `24:00` may end a range. A range cannot cross midnight (split it
//!   and both halves apply to every open weekday) and ranges may touch but not
//!   overlap, so open time is never counted twice.
//! * `holidays`: `YYYY-MM-DD` for one date or `MM-DD` for that date every
//!   year (`02-29` then only applies in leap years). Dates are calendar
//!   dates *in the calendar's time zone*, because that is where the office
//!   is closed.
//!
//! # API
//!
//! * [`CalendarConfig`]: the `[calendar.NAME]` table as written.
//! * [`Calendar::from_config`]: validates and compiles it; every
//!   [`CalendarError`] names the calendar and the offending value.
//! * [`Calendar::always`] / [`Calendar::always_in`]: 24/7 wall-clock time
//!   (the SLA classes without a calendar), so callers need no special case.
//! * [`Calendar::add`]: the instant when an amount of open time has passed.
//! * [`Calendar::elapsed`]: open time between two instants.
//! * [`Calendar::is_open`], [`Calendar::next_open`].
//! * [`Calendar::describe`]: the due time in words for an acknowledgement.
//!
//! # Decisions
//!
//! **Local wall-clock boundaries, real elapsed time.** Opening and closing
//! times are read on the local wall clock of each date, and the open time
//! between them is *real* elapsed time. `09:00-17:00` in Europe/Berlin is
//! therefore 8 hours on both DST Sundays (the change happens at night), while
//! a range that spans the change counts what really passes: `00:00-24:00` is
//! 23 hours on the last Sunday of March and 25 hours on the last Sunday of
//! October. An SLA is a promise about how long a customer waits, and the
//! customer waits real time.
//!
//! **A boundary is the first instant the wall clock shows that time (or
//! later).** A time skipped by a spring-forward (02:30 in Berlin) opens or
//! closes at the jump (03:00 CEST); a time repeated by a fall-back opens or
//! closes at its first occurrence. That rule is monotonic, so the open
//! intervals of consecutive days never overlap.
//!
//! **Bounded search.** Arithmetic steps whole open intervals, day by day. A
//! search gives up (`None`) after [`HORIZON_DAYS`] without any open time, and
//! no computation looks further than [`MAX_DAYS`] ahead, so a calendar that
//! is (nearly) never open cannot make the daemon spin.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Deserialize;

/// The longest stretch without any open time a search crosses before it
/// concludes that the calendar is closed for good (three years: longer than
/// any real shutdown, short enough to answer at once).
pub const HORIZON_DAYS: u32 = 3 * 366;

/// The furthest any computation looks ahead (a century of days), so that even
/// an absurd duration finishes in milliseconds.
pub const MAX_DAYS: u32 = 100 * 366;

const MINUTES_PER_DAY: u32 = 24 * 60;

/// A `[calendar.NAME]` table as written in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// IANA time zone the hours and holidays are read in.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Open weekdays, `mon` … `sun`.
    #[serde(default = "default_weekdays")]
    pub weekdays: Vec<String>,
    /// Open hours on an open day: `"09:00-17:00"` or several ranges,
    /// `"08:00-12:00,13:00-17:00"`.
    #[serde(default = "default_hours")]
    pub hours: String,
    /// Closed dates: `"2026-12-25"` once, or `"12-25"` every year.
    #[serde(default)]
    pub holidays: Vec<String>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        CalendarConfig {
            timezone: default_timezone(),
            weekdays: default_weekdays(),
            hours: default_hours(),
            holidays: Vec::new(),
        }
    }
}

fn default_timezone() -> String {
    "UTC".into()
}

fn default_weekdays() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn default_hours() -> String {
    "09:00-17:00".into()
}

/// Why a `[calendar.NAME]` table cannot be used. Each variant names the
/// calendar and the value, so `postdesk check` points at the exact line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "calendar `{calendar}`: unknown weekday `{value}` (use mon, tue, wed, thu, fri, sat, sun)"
    )]
    UnknownWeekday { calendar: String, value: String },
    #[error("calendar `{calendar}`: hours `{value}` is not a time range (write HH:MM-HH:MM, several separated by commas, like 08:00-12:00,13:00-17:00)")]
    BadTimeRange { calendar: String, value: String },
    #[error("calendar `{calendar}`: hours `{value}` ends before it starts (a range cannot cross midnight; end a day with 24:00)")]
    EndBeforeStart { calendar: String, value: String },
    #[error("calendar `{calendar}`: hours `{first}` and `{second}` overlap")]
    Overlap {
        calendar: String,
        first: String,
        second: String,
    },
    #[error("calendar `{calendar}`: timezone `{value}` is not an IANA time zone name (like Europe/Berlin or UTC)")]
    UnknownTimeZone { calendar: String, value: String },
    #[error("calendar `{calendar}`: holiday `{value}` is not a date (write 2026-12-25 for one day, or 12-25 for every year)")]
    BadDate { calendar: String, value: String },
    #[error("calendar `{calendar}`: no open time at all ({reason})")]
    NoOpenTime {
        calendar: String,
        reason: &'static str,
    },
}

/// A compiled calendar. Cheap to clone (shared rules), `Send + Sync`.
#[derive(Clone)]
pub struct Calendar {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    /// 24/7: open time is wall-clock time. The zone only shapes the wording
    /// of [`Calendar::describe`].
    Always(Tz),
    Business(Arc<Rules>),
}

/// The validated form of a [`CalendarConfig`].
#[derive(Debug)]
struct Rules {
    name: String,
    tz: Tz,
    /// Indexed by `Weekday::num_days_from_monday`.
    weekdays: [bool; 7],
    /// Minutes of the day, `[start, end)`, sorted, non-overlapping,
    /// `end <= 1440`.
    ranges: Vec<(u32, u32)>,
    dated: BTreeSet<NaiveDate>,
    /// `(month, day)` closed every year.
    yearly: BTreeSet<(u32, u32)>,
}

impl fmt::Debug for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Always(tz) => write!(f, "Calendar::always({tz})"),
            Kind::Business(r) => f.debug_tuple("Calendar").field(r).finish(),
        }
    }
}

impl Calendar {
    /// Validates `c` and compiles it for arithmetic. `name` is the table's
    /// name, quoted in every error.
    pub fn from_config(name: &str, c: &CalendarConfig) -> Result<Calendar, CalendarError> {
        let calendar = || name.to_string();
        let tz: Tz = c
            .timezone
            .trim()
            .parse()
            .map_err(|_| CalendarError::UnknownTimeZone {
                calendar: calendar(),
                value: c.timezone.clone(),
            })?;

        let mut weekdays = [false; 7];
        for w in &c.weekdays {
            let day = parse_weekday(w).ok_or_else(|| CalendarError::UnknownWeekday {
                calendar: calendar(),
                value: w.clone(),
            })?;
            if let Some(slot) = weekdays.get_mut(day.num_days_from_monday() as usize) {
                *slot = true;
            }
        }

        let ranges = parse_hours(name, &c.hours)?;

        let mut dated = BTreeSet::new();
        let mut yearly = BTreeSet::new();
        for h in &c.holidays {
            match parse_holiday(h) {
                Some(Holiday::Dated(d)) => {
                    dated.insert(d);
                }
                Some(Holiday::Yearly(m, d)) => {
                    yearly.insert((m, d));
                }
                None => {
                    return Err(CalendarError::BadDate {
                        calendar: calendar(),
                        value: h.clone(),
                    })
                }
            }
        }

        let no_open = |reason| CalendarError::NoOpenTime {
            calendar: calendar(),
            reason,
        };
        if !weekdays.iter().any(|&w| w) {
            return Err(no_open("weekdays is empty"));
        }
        if ranges.is_empty() {
            return Err(no_open("hours is empty"));
        }
        // Every month-day falls on every weekday over the years, so only a
        // holiday list naming all 366 of them closes the calendar for good.
        if yearly.len() >= 366 {
            return Err(no_open("the yearly holidays cover every day of the year"));
        }

        Ok(Calendar {
            kind: Kind::Business(Arc::new(Rules {
                name: name.to_string(),
                tz,
                weekdays,
                ranges,
                dated,
                yearly,
            })),
        })
    }

    /// Always open, in wall-clock time: `add` is plain addition. For SLA
    /// classes without a calendar, so callers need no special case.
    pub fn always() -> Calendar {
        Calendar::always_in(chrono_tz::UTC)
    }

    /// Like [`Calendar::always`], but [`Calendar::describe`] speaks of days
    /// ("by tomorrow morning") in `tz`, the desk's zone.
    pub fn always_in(tz: Tz) -> Calendar {
        Calendar {
            kind: Kind::Always(tz),
        }
    }

    /// The `[calendar.NAME]` this was compiled from (`"always"` for 24/7).
    pub fn name(&self) -> &str {
        match &self.kind {
            Kind::Always(_) => "always",
            Kind::Business(r) => &r.name,
        }
    }

    /// The zone the calendar's hours, holidays and wording are read in.
    pub fn timezone(&self) -> Tz {
        match &self.kind {
            Kind::Always(tz) => *tz,
            Kind::Business(r) => r.tz,
        }
    }

    /// The instant when `business` worth of open time has passed after
    /// `start`. Counting begins at `start` if open, else at the next opening;
    /// a zero duration is therefore `start` or the next opening. Running out
    /// exactly at a closing gives the closing instant (17:00, not the next
    /// morning).
    ///
    /// `None` when the calendar has no open time within [`HORIZON_DAYS`], or
    /// the answer lies beyond [`MAX_DAYS`] (or beyond chrono's range).
    pub fn add(&self, start: DateTime<Utc>, business: Duration) -> Option<DateTime<Utc>> {
        let business = TimeDelta::from_std(business).ok()?;
        let rules = match &self.kind {
            Kind::Always(_) => return start.checked_add_signed(business),
            Kind::Business(r) => r,
        };
        let mut remaining = business;
        for (open, close) in rules.intervals_after(start) {
            let from = open.max(start);
            let available = close - from;
            if remaining <= available {
                return from.checked_add_signed(remaining);
            }
            remaining -= available;
        }
        None
    }

    /// Open time between `from` and `to`; zero if `to <= from`. The inverse
    /// of [`Calendar::add`]: `elapsed(s, add(s, d)) == d`. Counts at most
    /// [`MAX_DAYS`] ahead.
    pub fn elapsed(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::ZERO;
        }
        let rules = match &self.kind {
            Kind::Always(_) => return (to - from).to_std().unwrap_or_default(),
            Kind::Business(r) => r,
        };
        let mut total = TimeDelta::zero();
        for (open, close) in rules.intervals_after(from) {
            if open >= to {
                break;
            }
            total += close.min(to) - open.max(from);
        }
        total.to_std().unwrap_or_default()
    }

    /// Whether `t` lies in open time (openings inclusive, closings
    /// exclusive).
    pub fn is_open(&self, t: DateTime<Utc>) -> bool {
        let rules = match &self.kind {
            Kind::Always(_) => return true,
            Kind::Business(r) => r,
        };
        rules.contains(t)
    }

    /// `t` if open, else the next opening; `None` if there is none within
    /// [`HORIZON_DAYS`].
    pub fn next_open(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.add(t, Duration::ZERO)
    }

    /// The due time of `business` open time from `now`, as an
    /// acknowledgement says it: "within 4 business hours" when it falls on
    /// the same local day, otherwise "by tomorrow afternoon", "by Tuesday
    /// morning", "by 3 December" in the calendar's zone. When the work runs
    /// without a closure in between and takes at most 90 minutes, the plain
    /// "within 30 minutes" of [`crate::eta::describe`] is both true and
    /// friendlier.
    ///
    /// A due time exactly at 12:00 or 17:00 (a closing) is still "morning" /
    /// "afternoon": it is done by then. 24/7 calendars use the wall-clock
    /// wording of [`crate::eta::describe`] unchanged, as does a calendar with
    /// no open time ahead (the promise then cannot be kept in business time,
    /// so the plain wait is the honest one).
    pub fn describe(&self, now: DateTime<Utc>, business: Duration) -> String {
        crate::eta::words(self.phrase(now, business), "en").unwrap_or_default()
    }

    /// [`Calendar::describe`] in language `lang`; `None` for a language
    /// without wording (see [`crate::eta::LANGUAGES`]).
    pub fn describe_in(
        &self,
        now: DateTime<Utc>,
        business: Duration,
        lang: &str,
    ) -> Option<String> {
        crate::eta::words(self.phrase(now, business), lang)
    }

    /// The phrase [`Calendar::describe`] words.
    pub fn phrase(&self, now: DateTime<Utc>, business: Duration) -> crate::eta::Phrase {
        use crate::eta::{DayPart, Phrase};
        let tz = self.timezone();
        let due = match (&self.kind, self.add(now, business)) {
            (Kind::Business(_), Some(due)) => due,
            _ => return crate::eta::phrase(now, business, tz),
        };
        let now_local = now.with_timezone(&tz);
        // "By" the due time: the last second before it decides day and part
        // of day, so a 17:00 closing is "afternoon" and 24:00 is not tomorrow.
        let by = due
            .checked_sub_signed(TimeDelta::seconds(1))
            .unwrap_or(due)
            .max(now)
            .with_timezone(&tz);
        let days = (by.date_naive() - now_local.date_naive()).num_days();
        if days <= 0 {
            let continuous = TimeDelta::from_std(business).is_ok_and(|b| due - now == b);
            if continuous && business.as_secs().div_ceil(60) <= 90 {
                return crate::eta::phrase(now, business, tz);
            }
            return Phrase::BusinessHours(business.as_secs().div_ceil(3600).max(1));
        }
        let part = DayPart::of_hour(by.hour());
        match days {
            1 => Phrase::Tomorrow(part),
            2..=6 => Phrase::Weekday(by.weekday(), part),
            _ => Phrase::Date(by.day(), by.month()),
        }
    }
}

impl Rules {
    /// Whether the office opens at all on local date `d`.
    fn open_on(&self, d: NaiveDate) -> bool {
        self.weekdays
            .get(d.weekday().num_days_from_monday() as usize)
            .copied()
            .unwrap_or(false)
            && !self.dated.contains(&d)
            && !self.yearly.contains(&(d.month(), d.day()))
    }

    /// The open intervals that end after `t`, in order.
    fn intervals_after(&self, t: DateTime<Utc>) -> Intervals<'_> {
        let local = t.with_timezone(&self.tz).date_naive();
        // The previous local date too: with a fall-back around midnight its
        // last interval can still be running.
        let day = local.pred_opt().unwrap_or(local);
        Intervals {
            rules: self,
            after: t,
            day,
            day_open: self.open_on(day),
            range: 0,
            idle_days: 0,
            days: 0,
        }
    }

    /// Whether an open interval holds `t`. Only the intervals of t's own
    /// local date and its neighbours can, so this never searches ahead.
    fn contains(&self, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&self.tz).date_naive();
        let lo = local.pred_opt().unwrap_or(local);
        let hi = local.succ_opt().unwrap_or(local);
        let mut day = lo;
        for _ in 0..3 {
            if self.open_on(day) {
                for &(s, e) in &self.ranges {
                    if let (Some(open), Some(close)) = (self.instant(day, s), self.instant(day, e))
                    {
                        if open <= t && t < close {
                            return true;
                        }
                    }
                }
            }
            if day >= hi {
                break;
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        false
    }

    /// The first instant at which the local wall clock on `day` shows
    /// `minute` (minutes since midnight, 1440 = next midnight) or later.
    fn instant(&self, day: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
        let naive = day
            .and_time(NaiveTime::MIN)
            .checked_add_signed(TimeDelta::minutes(i64::from(minute)))?;
        match self.tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
            LocalResult::None => self.after_gap(naive),
        }
    }

    /// `naive` was skipped by a forward jump of the clock: find the jump,
    /// the first instant whose local time is `naive` or later, by bisection
    /// (offsets stay within ±26 h, so a ±27 h window holds it).
    fn after_gap(&self, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
        let clock = |secs: i64| {
            DateTime::from_timestamp(secs, 0).map(|u| u.with_timezone(&self.tz).naive_local())
        };
        let window = 27 * 3600;
        let target = naive.and_utc().timestamp();
        let (mut lo, mut hi) = (target - window, target + window);
        if clock(lo)? >= naive || clock(hi)? < naive {
            return None;
        }
        // 2^18 > 54 h in seconds: bisection ends well within 64 rounds.
        for _ in 0..64 {
            if hi - lo <= 1 {
                break;
            }
            let mid = lo + (hi - lo) / 2;
            if clock(mid)? >= naive {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        DateTime::from_timestamp(hi, 0)
    }
}

/// The open intervals `[open, close)` ending after `after`, day by day,
/// bounded by [`HORIZON_DAYS`] of idleness and [`MAX_DAYS`] overall.
struct Intervals<'a> {
    rules: &'a Rules,
    after: DateTime<Utc>,
    day: NaiveDate,
    day_open: bool,
    /// Next index into `rules.ranges` for `day`.
    range: usize,
    idle_days: u32,
    days: u32,
}

impl Iterator for Intervals<'_> {
    type Item = (DateTime<Utc>, DateTime<Utc>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.day_open {
                while let Some(&(s, e)) = self.rules.ranges.get(self.range) {
                    self.range += 1;
                    let (Some(open), Some(close)) = (
                        self.rules.instant(self.day, s),
                        self.rules.instant(self.day, e),
                    ) else {
                        continue;
                    };
                    // Empty when the whole range fell into a skipped hour.
                    if close > self.after && open < close {
                        self.idle_days = 0;
                        return Some((open, close));
                    }
                }
            }
            self.idle_days += 1;
            self.days += 1;
            if self.idle_days > HORIZON_DAYS || self.days > MAX_DAYS {
                return None;
            }
            self.day = self.day.succ_opt()?;
            self.day_open = self.rules.open_on(self.day);
            self.range = 0;
        }
    }
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.trim().to_ascii_lowercase();
    let all = [
        ("mon", "monday", Weekday::Mon),
        ("tue", "tuesday", Weekday::Tue),
        ("wed", "wednesday", Weekday::Wed),
        ("thu", "thursday", Weekday::Thu),
        ("fri", "friday", Weekday::Fri),
        ("sat", "saturday", Weekday::Sat),
        ("sun", "sunday", Weekday::Sun),
    ];
    all.iter()
        .find(|(short, long, _)| s == *short || s == *long)
        .map(|&(_, _, w)| w)
}

/// `"08:00-12:00,13:00-17:00"` → sorted minute ranges. An empty (or
/// all-blank) string gives no ranges; the caller reports that.
fn parse_hours(calendar: &str, hours: &str) -> Result<Vec<(u32, u32)>, CalendarError> {
    if hours.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut ranges: Vec<(u32, u32, &str)> = Vec::new();
    for piece in hours.split(',') {
        let piece = piece.trim();
        let bad = || CalendarError::BadTimeRange {
            calendar: calendar.to_string(),
            value: piece.to_string(),
        };
        let (a, b) = piece.split_once('-').ok_or_else(bad)?;
        let start = parse_time(a).ok_or_else(bad)?;
        let end = parse_time(b).ok_or_else(bad)?;
        if start >= MINUTES_PER_DAY {
            return Err(bad());
        }
        if end <= start {
            return Err(CalendarError::EndBeforeStart {
                calendar: calendar.to_string(),
                value: piece.to_string(),
            });
        }
        ranges.push((start, end, piece));
    }
    ranges.sort();
    for pair in ranges.windows(2) {
        if let [(_, end, first), (start, _, second)] = pair {
            if start < end {
                return Err(CalendarError::Overlap {
                    calendar: calendar.to_string(),
                    first: first.to_string(),
                    second: second.to_string(),
                });
            }
        }
    }
    Ok(ranges.into_iter().map(|(s, e, _)| (s, e)).collect())
}

/// `"9:00"`, `"09:30"`, `"24:00"` → minutes since midnight.
fn parse_time(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let digits = |x: &str, max_len| {
        (!x.is_empty() && x.len() <= max_len && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse::<u32>().ok())
            .flatten()
    };
    let (h, m) = (digits(h, 2)?, digits(m, 2)?);
    match (h, m) {
        (24, 0) => Some(MINUTES_PER_DAY),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

enum Holiday {
    Dated(NaiveDate),
    Yearly(u32, u32),
}

/// `"2026-12-25"` or `"12-25"` (every year; validated against a leap year so
/// `02-29` is accepted).
fn parse_holiday(s: &str) -> Option<Holiday> {
    let parts: Vec<&str> = s.trim().split('-').collect();
    let num = |x: &str, len: usize| {
        (x.len() == len && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse::<u32>().ok())
            .flatten()
    };
    match parts.as_slice() {
        [y, m, d] => {
            let year = i32::try_from(num(y, 4)?).ok()?;
            NaiveDate::from_ymd_opt(year, num(m, 2)?, num(d, 2)?).map(Holiday::Dated)
        }
        [m, d] => {
            let (m, d) = (num(m, 2)?, num(d, 2)?);
            NaiveDate::from_ymd_opt(2000, m, d).map(|_| Holiday::Yearly(m, d))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(tz: &str, hours: &str) -> Arc<Rules> {
        let c = CalendarConfig {
            timezone: tz.into(),
            weekdays: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            hours: hours.into(),
            holidays: Vec::new(),
        };
        match Calendar::from_config("t", &c).unwrap().kind {
            Kind::Business(r) => r,
            Kind::Always(_) => unreachable!(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("09:00"), Some(540));
        assert_eq!(parse_time(" 9:05 "), Some(545));
        assert_eq!(parse_time("00:00"), Some(0));
        assert_eq!(parse_time("24:00"), Some(1440));
        for bad in [
            "24:01", "9", "09:0x", "-1:00", "+9:00", "009:00", "09:000", ":", "",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn hours_sorted_and_checked() {
        assert_eq!(
            parse_hours("c", "13:00-17:00,08:00-12:00").unwrap(),
            vec![(480, 720), (780, 1020)]
        );
        assert_eq!(parse_hours("c", "00:00-24:00").unwrap(), vec![(0, 1440)]);
        assert_eq!(parse_hours("c", "").unwrap(), vec![]);
        assert!(matches!(
            parse_hours("c", "08:00-12:00,08:00-09:00"),
            Err(CalendarError::Overlap { .. })
        ));
        assert!(matches!(
            parse_hours("c", "08:00-12:00-13:00"),
            Err(CalendarError::BadTimeRange { .. })
        ));
    }

    #[test]
    fn holidays() {
        assert!(
            matches!(parse_holiday("2026-12-25"), Some(Holiday::Dated(d)) if d == date("2026-12-25"))
        );
        assert!(matches!(
            parse_holiday("02-29"),
            Some(Holiday::Yearly(2, 29))
        ));
        for bad in [
            "2027-02-29",
            "02-30",
            "2026-12-5",
            "26-12-25",
            "12-25-2026",
            "",
            "xmas",
        ] {
            assert!(parse_holiday(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn boundaries_in_skipped_and_repeated_hours() {
        let berlin = rules("Europe/Berlin", "09:00-17:00");
        // Skipped: 02:30 on 29 March 2026 is the jump, 01:00Z.
        assert_eq!(
            berlin.instant(date("2026-03-29"), 150),
            Some(at("2026-03-29T01:00:00Z"))
        );
        // Repeated: 02:30 on 25 October 2026 is the first one, CEST.
        assert_eq!(
            berlin.instant(date("2026-10-25"), 150),
            Some(at("2026-10-25T00:30:00Z"))
        );
        // 24:00 is the next midnight.
        assert_eq!(
            berlin.instant(date("2026-10-25"), 1440),
            Some(at("2026-10-25T23:00:00Z"))
        );
    }

    #[test]
    fn a_skipped_day_has_no_open_time() {
        // Samoa skipped 30 December 2011 (-10 -> +14).
        let apia = rules("Pacific/Apia", "09:00-17:00");
        let open: Vec<_> = apia
            .intervals_after(at("2011-12-29T04:00:00Z"))
            .take(3)
            .collect();
        let local_days: Vec<_> = open
            .iter()
            .map(|(o, _)| o.with_timezone(&apia.tz).date_naive())
            .collect();
        assert_eq!(
            local_days,
            [date("2011-12-29"), date("2011-12-31"), date("2012-01-01")]
        );
        assert_eq!(
            open,
            vec![
                (at("2011-12-29T19:00:00Z"), at("2011-12-30T03:00:00Z")),
                (at("2011-12-30T19:00:00Z"), at("2011-12-31T03:00:00Z")),
                (at("2011-12-31T19:00:00Z"), at("2012-01-01T03:00:00Z")),
            ]
        );
    }

    /// Openings and closings stay in order and never overlap, whatever the
    /// zone does around midnight (São Paulo skipped midnight, Havana
    /// repeated it, Apia skipped a day).
    #[test]
    fn intervals_are_ordered_in_odd_zones() {
        for (tz, from) in [
            ("America/Sao_Paulo", "2018-01-01T00:00:00Z"),
            ("America/Havana", "2015-01-01T00:00:00Z"),
            ("Pacific/Apia", "2011-01-01T00:00:00Z"),
            ("Australia/Lord_Howe", "2026-01-01T00:00:00Z"),
        ] {
            for hours in [
                "00:00-24:00",
                "00:00-01:00,01:00-02:00,23:00-24:00",
                "00:30-23:30",
            ] {
                let r = rules(tz, hours);
                let mut last = DateTime::<Utc>::MIN_UTC;
                for (open, close) in r.intervals_after(at(from)).take(3 * 366 * 3) {
                    assert!(
                        last <= open && open < close,
                        "{tz} {hours}: {last} {open} {close}"
                    );
                    last = close;
                }
            }
        }
        // São Paulo, 4 November 2018: midnight did not exist; the day opened
        // at 01:00 (03:00Z).
        let sp = rules("America/Sao_Paulo", "00:00-24:00");
        assert_eq!(
            sp.instant(date("2018-11-04"), 0),
            Some(at("2018-11-04T03:00:00Z"))
        );
    }
}
