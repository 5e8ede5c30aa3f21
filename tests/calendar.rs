//! Business-hours calendars through their public API: weekends, holidays,
//! split hours, DST weeks, zones far from UTC, the bounded horizon, every
//! validation error, the config table, and the acknowledgement wording.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use postdesk::calendar::{Calendar, CalendarConfig, CalendarError};

const H: u64 = 3600;

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * H)
}

fn mins(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A local wall-clock time ("2026-03-30 10:00") in `tz`, as UTC. Panics on
/// skipped or repeated times: tests name unambiguous ones.
fn local(tz: &str, s: &str) -> DateTime<Utc> {
    let tz: Tz = tz.parse().unwrap();
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    tz.from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn config(tz: &str, weekdays: &[&str], hours: &str, holidays: &[&str]) -> CalendarConfig {
    CalendarConfig {
        timezone: tz.into(),
        weekdays: weekdays.iter().map(|s| s.to_string()).collect(),
        hours: hours.into(),
        holidays: holidays.iter().map(|s| s.to_string()).collect(),
    }
}

fn cal(tz: &str, weekdays: &[&str], hours: &str, holidays: &[&str]) -> Calendar {
    Calendar::from_config("test", &config(tz, weekdays, hours, holidays)).unwrap()
}

const WORK: &[&str] = &["mon", "tue", "wed", "thu", "fri"];
const ALL: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn office() -> Calendar {
    cal("UTC", WORK, "09:00-17:00", &[])
}

// --- weekends, holidays, whole days ---------------------------------------

#[test]
fn friday_afternoon_plus_two_hours_is_monday_morning() {
    // Friday 20 Nov 2026.
    let c = office();
    assert_eq!(
        c.add(at("2026-11-20T16:00:00Z"), hours(2)),
        Some(at("2026-11-23T10:00:00Z"))
    );
    assert_eq!(
        c.elapsed(at("2026-11-20T16:00:00Z"), at("2026-11-23T10:00:00Z")),
        hours(2)
    );
}

#[test]
fn a_holiday_monday_pushes_to_tuesday() {
    for holiday in ["2026-11-23", "11-23"] {
        let c = cal("UTC", WORK, "09:00-17:00", &[holiday]);
        assert_eq!(
            c.add(at("2026-11-20T16:00:00Z"), hours(2)),
            Some(at("2026-11-24T10:00:00Z")),
            "{holiday}"
        );
        assert!(!c.is_open(at("2026-11-23T12:00:00Z")));
    }
    // A dated holiday is one day only; the yearly one comes back.
    let once = cal("UTC", WORK, "09:00-17:00", &["2026-11-23"]);
    let yearly = cal("UTC", WORK, "09:00-17:00", &["11-23"]);
    // 23 Nov 2027 is a Tuesday.
    assert!(once.is_open(at("2027-11-23T12:00:00Z")));
    assert!(!yearly.is_open(at("2027-11-23T12:00:00Z")));
}

#[test]
fn a_weekend_start_counts_from_monday_nine() {
    let c = office();
    let saturday = at("2026-11-21T11:00:00Z");
    assert!(!c.is_open(saturday));
    assert_eq!(c.next_open(saturday), Some(at("2026-11-23T09:00:00Z")));
    assert_eq!(
        c.add(saturday, Duration::ZERO),
        Some(at("2026-11-23T09:00:00Z"))
    );
    assert_eq!(c.add(saturday, hours(1)), Some(at("2026-11-23T10:00:00Z")));
    assert_eq!(
        c.elapsed(saturday, at("2026-11-23T09:00:00Z")),
        Duration::ZERO
    );
}

#[test]
fn zero_duration_is_start_when_open() {
    let c = office();
    let open = at("2026-11-23T10:17:33Z");
    assert!(c.is_open(open));
    assert_eq!(c.add(open, Duration::ZERO), Some(open));
    assert_eq!(c.next_open(open), Some(open));
    // Opening inclusive, closing exclusive.
    assert!(c.is_open(at("2026-11-23T09:00:00Z")));
    assert!(!c.is_open(at("2026-11-23T17:00:00Z")));
    assert_eq!(
        c.next_open(at("2026-11-23T17:00:00Z")),
        Some(at("2026-11-24T09:00:00Z"))
    );
}

#[test]
fn eight_hours_on_a_nine_to_five_day_span_exactly_one_day() {
    let c = office();
    // Starting at the opening, the work ends at that day's closing.
    assert_eq!(
        c.add(at("2026-11-23T09:00:00Z"), hours(8)),
        Some(at("2026-11-23T17:00:00Z"))
    );
    // From midday it ends at midday of the next business day.
    assert_eq!(
        c.add(at("2026-11-23T12:00:00Z"), hours(8)),
        Some(at("2026-11-24T12:00:00Z"))
    );
    assert_eq!(
        c.add(at("2026-11-20T12:00:00Z"), hours(8)),
        Some(at("2026-11-23T12:00:00Z"))
    );
    // A whole calendar week holds five of them.
    assert_eq!(
        c.elapsed(at("2026-11-23T00:00:00Z"), at("2026-11-30T00:00:00Z")),
        hours(40)
    );
}

#[test]
fn split_hours_skip_the_lunch_break() {
    let c = cal("UTC", WORK, "13:00-17:00, 08:00-12:00", &[]);
    assert_eq!(
        c.add(at("2026-11-23T11:00:00Z"), hours(2)),
        Some(at("2026-11-23T14:00:00Z"))
    );
    assert_eq!(
        c.add(at("2026-11-23T12:30:00Z"), mins(30)),
        Some(at("2026-11-23T13:30:00Z"))
    );
    assert!(!c.is_open(at("2026-11-23T12:00:00Z")));
    assert!(!c.is_open(at("2026-11-23T12:59:59Z")));
    assert!(c.is_open(at("2026-11-23T13:00:00Z")));
    assert_eq!(
        c.next_open(at("2026-11-23T12:10:00Z")),
        Some(at("2026-11-23T13:00:00Z"))
    );
    assert_eq!(
        c.elapsed(at("2026-11-23T00:00:00Z"), at("2026-11-24T00:00:00Z")),
        hours(8)
    );
    // Running out exactly at the lunch closing ends at 12:00.
    assert_eq!(
        c.add(at("2026-11-23T08:00:00Z"), hours(4)),
        Some(at("2026-11-23T12:00:00Z"))
    );
    // Touching ranges behave like one.
    let touching = cal("UTC", WORK, "08:00-12:00,12:00-16:00", &[]);
    assert_eq!(
        touching.add(at("2026-11-23T11:00:00Z"), hours(2)),
        Some(at("2026-11-23T13:00:00Z"))
    );
    assert!(touching.is_open(at("2026-11-23T12:00:00Z")));
}

#[test]
fn holidays_across_the_year_end() {
    // Los Angeles, closed on Christmas and New Year's Day every year.
    let tz = "America/Los_Angeles";
    let c = cal(tz, WORK, "09:00-17:00", &["12-25", "01-01"]);
    // Wed 30 Dec 16:00: 1 h that day, 8 h on Thursday, Friday 1 Jan is a
    // holiday, the last hour on Monday 4 Jan.
    assert_eq!(
        c.add(local(tz, "2026-12-30 16:00"), hours(10)),
        Some(local(tz, "2027-01-04 10:00"))
    );
    // Thu 24 Dec 16:00 + 2 h: Christmas Friday closed, Monday 28 10:00.
    assert_eq!(
        c.add(local(tz, "2026-12-24 16:00"), hours(2)),
        Some(local(tz, "2026-12-28 10:00"))
    );
    // The holiday is the local date: 25 Dec 20:00 UTC is noon in LA.
    assert!(!c.is_open(at("2026-12-25T20:00:00Z")));
    // 24 Dec 23:00 UTC is Thursday 15:00 there: open.
    assert!(c.is_open(at("2026-12-24T23:00:00Z")));
}

// --- time zones -----------------------------------------------------------

#[test]
fn auckland_is_open_on_a_utc_sunday() {
    // NZDT is UTC+13 in November.
    let tz = "Pacific/Auckland";
    let c = cal(tz, WORK, "09:00-17:00", &[]);
    // Sunday 22 Nov 20:00 UTC is Monday 09:00 in Auckland.
    let now = at("2026-11-22T20:00:00Z");
    assert_eq!(now.weekday(), chrono::Weekday::Sun);
    assert!(c.is_open(now));
    assert_eq!(c.add(now, hours(4)), Some(at("2026-11-23T00:00:00Z")));
    // Friday 20 Nov 04:00 UTC is Friday 17:00 there: closed until the
    // Monday opening, which UTC still calls Sunday.
    assert!(!c.is_open(at("2026-11-20T04:00:00Z")));
    assert_eq!(
        c.next_open(at("2026-11-20T04:00:00Z")),
        Some(at("2026-11-22T20:00:00Z"))
    );
    // Friday 16:00 local + 2 h = Monday 10:00 local.
    assert_eq!(
        c.add(local(tz, "2026-11-20 16:00"), hours(2)),
        Some(local(tz, "2026-11-23 10:00"))
    );
    // A holiday is the Auckland date, not the UTC one.
    let holiday = cal(tz, WORK, "09:00-17:00", &["2026-11-23"]);
    assert!(!holiday.is_open(now));
    assert_eq!(holiday.next_open(now), Some(local(tz, "2026-11-24 09:00")));
}

#[test]
fn los_angeles_friday_evening_is_utc_saturday() {
    let tz = "America/Los_Angeles";
    let c = cal(tz, WORK, "09:00-17:00", &[]);
    // Friday 16:00 PST = Saturday 00:00 UTC.
    let start = at("2026-11-21T00:00:00Z");
    assert!(c.is_open(start));
    assert_eq!(c.add(start, hours(2)), Some(at("2026-11-23T18:00:00Z")));
}

// --- DST ------------------------------------------------------------------

const BERLIN: &str = "Europe/Berlin";

#[test]
fn berlin_spring_forward_week() {
    // Clocks jump 02:00 CET -> 03:00 CEST on Sunday 29 March 2026.
    let c = cal(BERLIN, WORK, "09:00-17:00", &[]);
    // Friday 16:00 CET (15:00Z) + 2 h = Monday 10:00 CEST (08:00Z).
    assert_eq!(
        c.add(at("2026-03-27T15:00:00Z"), hours(2)),
        Some(at("2026-03-30T08:00:00Z"))
    );
    // The first day after the change is still 8 open hours.
    assert_eq!(
        c.add(local(BERLIN, "2026-03-30 09:00"), hours(8)),
        Some(local(BERLIN, "2026-03-30 17:00"))
    );
    assert_eq!(
        c.elapsed(
            local(BERLIN, "2026-03-23 00:00"),
            local(BERLIN, "2026-04-06 00:00")
        ),
        hours(80)
    );

    // Open every hour of every day: the change day has 23 real hours.
    let round = cal(BERLIN, ALL, "00:00-24:00", &[]);
    assert_eq!(
        round.elapsed(
            local(BERLIN, "2026-03-29 00:00"),
            local(BERLIN, "2026-03-30 00:00")
        ),
        hours(23)
    );
    assert_eq!(
        round.add(local(BERLIN, "2026-03-28 12:00"), hours(24)),
        Some(local(BERLIN, "2026-03-29 13:00"))
    );

    // A range spanning the change counts real time: 01:00-05:00 is 3 h.
    let night = cal(BERLIN, &["sun"], "01:00-05:00", &[]);
    assert_eq!(
        night.elapsed(at("2026-03-28T12:00:00Z"), at("2026-03-29T12:00:00Z")),
        hours(3)
    );
    assert_eq!(
        night.add(local(BERLIN, "2026-03-29 01:00"), hours(2)),
        Some(local(BERLIN, "2026-03-29 04:00"))
    );

    // An opening in the skipped hour opens at the jump (03:00 CEST).
    let skipped = cal(BERLIN, &["sun"], "02:30-04:00", &[]);
    assert_eq!(
        skipped.next_open(at("2026-03-28T12:00:00Z")),
        Some(at("2026-03-29T01:00:00Z"))
    );
    assert_eq!(
        skipped.elapsed(at("2026-03-28T12:00:00Z"), at("2026-03-29T12:00:00Z")),
        hours(1)
    );
    // A range wholly inside the skipped hour does not exist that day.
    let gone = cal(BERLIN, &["sun"], "02:15-02:45", &[]);
    assert_eq!(
        gone.next_open(at("2026-03-28T12:00:00Z")),
        Some(local(BERLIN, "2026-04-05 02:15"))
    );
}

#[test]
fn berlin_fall_back_week() {
    // Clocks go back 03:00 CEST -> 02:00 CET on Sunday 25 October 2026.
    let c = cal(BERLIN, WORK, "09:00-17:00", &[]);
    // Friday 16:00 CEST (14:00Z) + 2 h = Monday 10:00 CET (09:00Z).
    assert_eq!(
        c.add(at("2026-10-23T14:00:00Z"), hours(2)),
        Some(at("2026-10-26T09:00:00Z"))
    );
    assert_eq!(
        c.add(local(BERLIN, "2026-10-26 09:00"), hours(8)),
        Some(local(BERLIN, "2026-10-26 17:00"))
    );
    assert_eq!(
        c.elapsed(
            local(BERLIN, "2026-10-19 00:00"),
            local(BERLIN, "2026-11-02 00:00")
        ),
        hours(80)
    );

    let round = cal(BERLIN, ALL, "00:00-24:00", &[]);
    assert_eq!(
        round.elapsed(
            local(BERLIN, "2026-10-25 00:00"),
            local(BERLIN, "2026-10-26 00:00")
        ),
        hours(25)
    );

    // 01:00 CEST to 05:00 CET: the repeated hour is worked twice, 5 h.
    let night = cal(BERLIN, &["sun"], "01:00-05:00", &[]);
    assert_eq!(
        night.elapsed(at("2026-10-24T12:00:00Z"), at("2026-10-25T12:00:00Z")),
        hours(5)
    );
    // A boundary in the repeated hour is its first occurrence (CEST):
    // 02:30 CEST = 00:30Z to 04:00 CET = 03:00Z.
    let repeated = cal(BERLIN, &["sun"], "02:30-04:00", &[]);
    assert_eq!(
        repeated.next_open(at("2026-10-24T12:00:00Z")),
        Some(at("2026-10-25T00:30:00Z"))
    );
    assert_eq!(
        repeated.elapsed(at("2026-10-24T12:00:00Z"), at("2026-10-25T12:00:00Z")),
        Duration::from_secs(5 * H / 2)
    );
}

// --- properties on deterministic samples ----------------------------------

/// xorshift64*: deterministic samples without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn sample_calendars() -> Vec<Calendar> {
    vec![
        office(),
        cal(
            BERLIN,
            WORK,
            "08:00-12:00,13:00-17:00",
            &["12-24", "12-25", "12-26", "2026-04-03", "2027-03-26"],
        ),
        cal("Pacific/Auckland", WORK, "09:00-17:30", &["01-01"]),
        cal("America/Los_Angeles", ALL, "06:00-22:00", &["07-04"]),
        cal(BERLIN, ALL, "00:00-24:00", &[]),
        cal(BERLIN, &["sat", "sun"], "01:00-05:00,23:00-24:00", &[]),
        cal("Asia/Kolkata", &["mon", "wed"], "09:30-13:15", &[]),
    ]
}

/// 2026-01-01 .. 2028-01-01, to the second.
fn sample_instant(rng: &mut Rng) -> DateTime<Utc> {
    let from = at("2026-01-01T00:00:00Z").timestamp();
    let span = 2 * 365 * 24 * H;
    DateTime::from_timestamp(from + rng.below(span) as i64, 0).unwrap()
}

#[test]
fn elapsed_inverts_add() {
    for (i, c) in sample_calendars().iter().enumerate() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ i as u64);
        for _ in 0..300 {
            let start = sample_instant(&mut rng);
            let work = Duration::from_secs(rng.below(120 * H));
            let due = c.add(start, work).unwrap();
            assert!(due >= start);
            assert_eq!(c.elapsed(start, due), work, "{c:?} from {start} + {work:?}");
            if !work.is_zero() {
                // Work ends inside open time, never in a closure.
                assert!(c.is_open(due - chrono::Duration::seconds(1)), "{c:?} {due}");
            }
            // Counting starts at the next opening.
            let opening = c.next_open(start).unwrap();
            assert!(c.is_open(opening));
            assert_eq!(c.elapsed(start, opening), Duration::ZERO);
            assert_eq!(c.add(opening, work), Some(due));
        }
    }
}

#[test]
fn add_inverts_elapsed_and_elapsed_adds_up() {
    for (i, c) in sample_calendars().iter().enumerate() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ ((i as u64) << 7));
        for _ in 0..200 {
            let mut t = [
                sample_instant(&mut rng),
                sample_instant(&mut rng),
                sample_instant(&mut rng),
            ];
            t.sort();
            let [a, b, d] = t;
            let whole = c.elapsed(a, d);
            assert_eq!(
                whole,
                c.elapsed(a, b) + c.elapsed(b, d),
                "{c:?} {a} {b} {d}"
            );
            assert_eq!(c.elapsed(d, a), Duration::ZERO);
            let back = c.add(a, whole).unwrap();
            assert!(back <= d, "{c:?} {a} {d}");
            assert_eq!(c.elapsed(back, d), Duration::ZERO);
        }
    }
}

/// An independent oracle: minute by minute, read the local wall clock and
/// ask whether that weekday, date and time is open. It agrees with the
/// calendar whenever no opening or closing falls into a skipped or
/// repeated hour, which holds for these calendars.
#[test]
fn elapsed_matches_a_minute_by_minute_oracle_across_dst() {
    /// Zone, open weekdays, open minute ranges, first and last date.
    type Case<'a> = (&'a str, &'a [&'a str], &'a [(u32, u32)], &'a str, &'a str);
    let cases: &[Case] = &[
        // Berlin, both changes, split hours.
        (
            BERLIN,
            WORK,
            &[(480, 720), (780, 1020)],
            "2026-03-20",
            "2026-04-02",
        ),
        (
            BERLIN,
            WORK,
            &[(480, 720), (780, 1020)],
            "2026-10-18",
            "2026-10-30",
        ),
        // Berlin, open around the clock at night.
        (
            BERLIN,
            ALL,
            &[(60, 300), (1320, 1440)],
            "2026-03-26",
            "2026-04-01",
        ),
        (
            BERLIN,
            ALL,
            &[(60, 300), (1320, 1440)],
            "2026-10-22",
            "2026-10-28",
        ),
        // Auckland: DST ends 5 April, starts 27 September 2026.
        (
            "Pacific/Auckland",
            ALL,
            &[(0, 1440)],
            "2026-04-02",
            "2026-04-08",
        ),
        (
            "Pacific/Auckland",
            WORK,
            &[(540, 1020)],
            "2026-09-24",
            "2026-10-01",
        ),
        // Los Angeles: 8 March and 1 November 2026.
        (
            "America/Los_Angeles",
            ALL,
            &[(60, 180), (240, 1440)],
            "2026-03-06",
            "2026-03-11",
        ),
        (
            "America/Los_Angeles",
            ALL,
            &[(0, 60), (180, 1440)],
            "2026-10-30",
            "2026-11-04",
        ),
    ];
    let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    for &(tz_name, days, ranges, from, to) in cases {
        let hours: Vec<String> = ranges
            .iter()
            .map(|(s, e)| format!("{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60))
            .collect();
        let c = cal(tz_name, days, &hours.join(","), &[]);
        let tz: Tz = tz_name.parse().unwrap();
        let start = NaiveDate::parse_from_str(from, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        let end = NaiveDate::parse_from_str(to, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        let mut open_minutes = 0u64;
        let mut t = start;
        while t < end {
            let l = t.with_timezone(&tz);
            let minute = l.hour() * 60 + l.minute();
            let day_open = days.contains(&names[l.weekday().num_days_from_monday() as usize]);
            let open = day_open && ranges.iter().any(|&(s, e)| s <= minute && minute < e);
            assert_eq!(c.is_open(t), open, "{tz_name} at {t} ({l})");
            open_minutes += u64::from(open);
            t += chrono::Duration::minutes(1);
        }
        assert_eq!(
            c.elapsed(start, end),
            mins(open_minutes),
            "{tz_name} {from}..{to}"
        );
    }
}

// --- the bounded horizon --------------------------------------------------

#[test]
fn a_calendar_open_once_in_decades_gives_up_quickly() {
    // Open only on 29 February, and only when that is a Monday (2044).
    let mut closed: Vec<String> = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    while d.year() == 2000 {
        if (d.month(), d.day()) != (2, 29) {
            closed.push(d.format("%m-%d").to_string());
        }
        d = d.succ_opt().unwrap();
    }
    let closed: Vec<&str> = closed.iter().map(|s| s.as_str()).collect();
    let c = cal("UTC", &["mon"], "09:00-17:00", &closed);
    let now = at("2026-11-23T10:00:00Z");
    let started = std::time::Instant::now();
    assert!(!c.is_open(now));
    assert_eq!(c.next_open(now), None);
    assert_eq!(c.add(now, hours(1)), None);
    assert_eq!(c.elapsed(now, at("2030-01-01T00:00:00Z")), Duration::ZERO);
    // No business promise can be made: the wording falls back to the wait.
    assert_eq!(c.describe(now, hours(4)), "within 4 hours");
    // Yet it is open in 2044 for whoever asks close enough.
    assert_eq!(
        c.next_open(at("2043-06-01T00:00:00Z")),
        Some(at("2044-02-29T09:00:00Z"))
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn absurd_durations_end_in_none_not_a_hang() {
    let c = office();
    let now = at("2026-11-23T10:00:00Z");
    assert_eq!(c.add(now, Duration::MAX), None);
    // A million business hours is ~480 years of working days: beyond the
    // search limit.
    assert_eq!(c.add(now, hours(1_000_000)), None);
    assert_eq!(Calendar::always().add(now, Duration::MAX), None);
    // Within reach: a year of working days.
    assert!(c.add(now, hours(8 * 261)).is_some());
}

// --- validation -----------------------------------------------------------

fn error(c: CalendarConfig) -> CalendarError {
    Calendar::from_config("office", &c).unwrap_err()
}

#[test]
fn every_validation_error_names_the_calendar_and_the_value() {
    let base = CalendarConfig::default;
    let cases: Vec<(CalendarConfig, &str)> = vec![
        (
            CalendarConfig {
                weekdays: vec!["mon".into(), "funday".into()],
                ..base()
            },
            "calendar `office`: unknown weekday `funday` (use mon, tue, wed, thu, fri, sat, sun)",
        ),
        (
            CalendarConfig {
                hours: "9-17".into(),
                ..base()
            },
            "calendar `office`: hours `9-17` is not a time range (write HH:MM-HH:MM, several separated by commas, like 08:00-12:00,13:00-17:00)",
        ),
        (
            CalendarConfig {
                hours: "09:00-12:00,".into(),
                ..base()
            },
            "calendar `office`: hours `` is not a time range",
        ),
        (
            CalendarConfig {
                hours: "09:00-25:00".into(),
                ..base()
            },
            "hours `09:00-25:00` is not a time range",
        ),
        (
            CalendarConfig {
                hours: "24:00-24:00".into(),
                ..base()
            },
            "hours `24:00-24:00` is not a time range",
        ),
        (
            CalendarConfig {
                hours: "09:60-17:00".into(),
                ..base()
            },
            "hours `09:60-17:00` is not a time range",
        ),
        (
            CalendarConfig {
                hours: "17:00-09:00".into(),
                ..base()
            },
            "calendar `office`: hours `17:00-09:00` ends before it starts (a range cannot cross midnight; end a day with 24:00)",
        ),
        (
            CalendarConfig {
                hours: "09:00-09:00".into(),
                ..base()
            },
            "hours `09:00-09:00` ends before it starts",
        ),
        (
            CalendarConfig {
                hours: "08:00-12:00,11:00-13:00".into(),
                ..base()
            },
            "calendar `office`: hours `08:00-12:00` and `11:00-13:00` overlap",
        ),
        (
            CalendarConfig {
                timezone: "Mars/Olympus".into(),
                ..base()
            },
            "calendar `office`: timezone `Mars/Olympus` is not an IANA time zone name (like Europe/Berlin or UTC)",
        ),
        (
            CalendarConfig {
                holidays: vec!["12-25".into(), "2026-02-30".into()],
                ..base()
            },
            "calendar `office`: holiday `2026-02-30` is not a date (write 2026-12-25 for one day, or 12-25 for every year)",
        ),
        (
            CalendarConfig {
                holidays: vec!["12/25".into()],
                ..base()
            },
            "holiday `12/25` is not a date",
        ),
        (
            CalendarConfig {
                holidays: vec!["13-01".into()],
                ..base()
            },
            "holiday `13-01` is not a date",
        ),
        (
            CalendarConfig {
                holidays: vec!["2026-12-25-1".into()],
                ..base()
            },
            "holiday `2026-12-25-1` is not a date",
        ),
        (
            CalendarConfig {
                weekdays: vec![],
                ..base()
            },
            "calendar `office`: no open time at all (weekdays is empty)",
        ),
        (
            CalendarConfig {
                hours: "  ".into(),
                ..base()
            },
            "calendar `office`: no open time at all (hours is empty)",
        ),
    ];
    for (c, message) in cases {
        let e = error(c.clone()).to_string();
        assert!(e.contains(message), "{c:?}:\n  got  {e}\n  want {message}");
    }
}

#[test]
fn every_day_a_holiday_is_no_open_time() {
    let mut all = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    while d.year() == 2000 {
        all.push(d.format("%m-%d").to_string());
        d = d.succ_opt().unwrap();
    }
    let e = error(CalendarConfig {
        holidays: all,
        ..CalendarConfig::default()
    });
    assert!(matches!(e, CalendarError::NoOpenTime { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "calendar `office`: no open time at all (the yearly holidays cover every day of the year)"
    );
}

#[test]
fn lenient_where_it_is_unambiguous() {
    let c = Calendar::from_config(
        "office",
        &config(
            " UTC ",
            &["Monday", "TUE", " wed "],
            " 9:00 - 12:30 ,13:00-24:00",
            &["02-29"],
        ),
    )
    .unwrap();
    assert!(c.is_open(at("2026-11-23T09:00:00Z")));
    assert!(c.is_open(at("2026-11-24T23:59:00Z")));
    assert!(!c.is_open(at("2026-11-26T10:00:00Z")));
    // 29 Feb 2028 is a Tuesday: closed; 1 Mar 2028 (Wednesday) open.
    assert!(!c.is_open(at("2028-02-29T10:00:00Z")));
    assert!(c.is_open(at("2028-03-01T10:00:00Z")));
    assert_eq!(c.name(), "office");
    assert_eq!(c.timezone(), chrono_tz::UTC);
}

// --- the config table -----------------------------------------------------

#[test]
fn the_table_has_defaults_and_rejects_unknown_keys() {
    let c: CalendarConfig = toml::from_str("").unwrap();
    assert_eq!(c.timezone, "UTC");
    assert_eq!(c.weekdays, ["mon", "tue", "wed", "thu", "fri"]);
    assert_eq!(c.hours, "09:00-17:00");
    assert!(c.holidays.is_empty());
    let c: CalendarConfig = toml::from_str(
        r#"
        timezone = "Europe/Berlin"
        weekdays = ["mon", "tue"]
        hours = "08:00-12:00,13:00-17:00"
        holidays = ["2026-12-24", "12-25"]
        "#,
    )
    .unwrap();
    let compiled = Calendar::from_config("berlin", &c).unwrap();
    assert_eq!(compiled.timezone(), chrono_tz::Europe::Berlin);
    let e = toml::from_str::<CalendarConfig>("timezone = \"UTC\"\nhoilday = []").unwrap_err();
    assert!(e.to_string().contains("hoilday"), "{e}");
}

#[test]
fn calendars_are_shareable_between_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Calendar>();
    let c = office();
    let handle = std::thread::spawn(move || c.add(at("2026-11-20T16:00:00Z"), hours(2)));
    assert_eq!(handle.join().unwrap(), Some(at("2026-11-23T10:00:00Z")));
}

// --- always ---------------------------------------------------------------

#[test]
fn always_is_plain_addition() {
    let c = Calendar::always();
    let mut rng = Rng(42);
    for _ in 0..100 {
        let start = sample_instant(&mut rng);
        let d = Duration::from_secs(rng.below(400 * H));
        let due = start + chrono::Duration::from_std(d).unwrap();
        assert_eq!(c.add(start, d), Some(due));
        assert_eq!(c.elapsed(start, due), d);
        assert_eq!(c.elapsed(due, start), Duration::ZERO);
        assert!(c.is_open(start));
        assert_eq!(c.next_open(start), Some(start));
    }
    assert_eq!(c.name(), "always");
}

// --- describe -------------------------------------------------------------

#[test]
fn describe_on_the_same_business_day() {
    let c = office();
    let monday = |t: &str| at(&format!("2026-11-23T{t}:00Z"));
    assert_eq!(
        c.describe(monday("09:00"), hours(4)),
        "within 4 business hours"
    );
    assert_eq!(
        c.describe(monday("10:00"), hours(7)),
        "within 7 business hours"
    );
    // Short and uninterrupted: the plain wait is true and friendlier.
    assert_eq!(c.describe(monday("10:00"), mins(30)), "within 30 minutes");
    assert_eq!(c.describe(monday("16:00"), hours(1)), "within 60 minutes");
    // Before the opening, the count is in business time.
    assert_eq!(
        c.describe(monday("07:00"), hours(2)),
        "within 2 business hours"
    );
    assert_eq!(
        c.describe(monday("07:00"), mins(30)),
        "within 1 business hour"
    );
    // Across lunch.
    let lunch = cal("UTC", WORK, "08:00-12:00,13:00-17:00", &[]);
    assert_eq!(
        lunch.describe(monday("11:30"), hours(1)),
        "within 1 business hour"
    );
}

#[test]
fn describe_later_days() {
    let c = office();
    let friday = at("2026-11-20T16:00:00Z");
    let monday = at("2026-11-23T16:00:00Z");
    assert_eq!(c.describe(friday, hours(2)), "by Monday morning");
    assert_eq!(c.describe(friday, hours(10)), "by Tuesday morning");
    // Due at the 17:00 closing: done by Monday afternoon, not evening.
    assert_eq!(c.describe(friday, hours(9)), "by Monday afternoon");
    assert_eq!(c.describe(monday, hours(2)), "by tomorrow morning");
    assert_eq!(c.describe(monday, hours(5)), "by tomorrow afternoon");
    // Saturday: Monday 13:00.
    assert_eq!(
        c.describe(at("2026-11-21T10:00:00Z"), hours(4)),
        "by Monday afternoon"
    );
    // 9 business days from Monday 09:00: Thursday 3 December 17:00.
    assert_eq!(
        c.describe(at("2026-11-23T09:00:00Z"), hours(72)),
        "by 3 December"
    );
    let late = cal("UTC", WORK, "09:00-20:00", &[]);
    assert_eq!(
        late.describe(at("2026-11-23T19:00:00Z"), hours(10)),
        "by tomorrow evening"
    );
}

#[test]
fn describe_speaks_the_calendars_zone() {
    // Friday 16:00 in Auckland (03:00Z) + 2 h: Monday 10:00 there, still
    // Sunday in UTC.
    let auckland = cal("Pacific/Auckland", WORK, "09:00-17:00", &[]);
    let now = at("2026-11-20T03:00:00Z");
    assert_eq!(
        auckland.add(now, hours(2)),
        Some(at("2026-11-22T21:00:00Z"))
    );
    assert_eq!(auckland.describe(now, hours(2)), "by Monday morning");
    // Sunday 23:30 UTC is already Monday 00:30 in Berlin: due 11:00 the
    // same local day.
    let berlin = cal(BERLIN, WORK, "09:00-17:00", &[]);
    assert_eq!(
        berlin.describe(at("2026-11-22T23:30:00Z"), hours(2)),
        "within 2 business hours"
    );
}

#[test]
fn always_keeps_the_wall_clock_wording() {
    let now = at("2026-11-22T10:00:00Z");
    let c = Calendar::always();
    assert_eq!(c.describe(now, mins(20)), "within 30 minutes");
    assert_eq!(c.describe(now, hours(4)), "within 4 hours");
    assert_eq!(c.describe(now, hours(24)), "by tomorrow morning");
    for wait in [mins(5), hours(3), hours(30), hours(300)] {
        assert_eq!(
            c.describe(now, wait),
            postdesk::eta::describe(now, wait, chrono_tz::UTC)
        );
    }
    // In the desk's zone, days are Berlin days.
    let berlin = Calendar::always_in(chrono_tz::Europe::Berlin);
    assert_eq!(
        berlin.describe(at("2026-11-22T20:00:00Z"), hours(9)),
        "by tomorrow morning"
    );
}
