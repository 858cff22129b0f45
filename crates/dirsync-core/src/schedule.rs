//! Sync schedules: when an integration's scheduled rules run.
//!
//! An integration has one sync interval: never (manual only), every N minutes or hours (an
//! [`Interval`]), or every day, every week on one weekday, or every month on one day of the
//! month, at a wall-clock [`TimeOfDay`] in an IANA time zone. Only rules with a scheduled trigger run on the interval (see
//! [`crate::rule::due_rules`]).
//!
//! ```
//! use chrono::{TimeZone, Utc, Weekday};
//! use dirsync_core::{Schedule, TimeOfDay};
//!
//! let schedule = Schedule::weekly(Weekday::Mon, TimeOfDay::parse("02:00", "Europe/Berlin")?);
//! assert_eq!(schedule.to_string(), "weekly on Monday at 02:00 Europe/Berlin");
//! // Wednesday 3 June 2026 → Monday 8 June 2026, 02:00 CEST = 00:00 UTC.
//! let after = Utc.with_ymd_and_hms(2026, 6, 3, 12, 0, 0).single();
//! let next = Utc.with_ymd_and_hms(2026, 6, 8, 0, 0, 0).single();
//! assert_eq!(after.and_then(|after| schedule.next_after(after)), next);
//! # Ok::<(), dirsync_core::Error>(())
//! ```

use std::fmt;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::{GapInfo, Tz};
use serde::{Deserialize, Serialize};

use crate::error::clip;
use crate::{Error, Interval};

/// A wall-clock time of day, to the minute, in an IANA time zone: when a scheduled sync starts.
///
/// The [`Default`] is 00:00 UTC (midnight, UTC).
///
/// Serialized as `{"at":"02:00","zone":"Europe/Berlin"}`; deserializing validates like
/// [`TimeOfDay::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "TimeOfDayRepr", into = "TimeOfDayRepr")]
pub struct TimeOfDay {
    /// Minute precision: seconds and fractions are always zero.
    time: NaiveTime,
    zone: Tz,
}

impl TimeOfDay {
    /// `hour:minute` (24-hour clock) in `zone`.
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] if `hour` is not in `0..=23` or `minute` not in `0..=59`.
    pub fn new(hour: u32, minute: u32, zone: Tz) -> Result<Self, Error> {
        if hour > 23 {
            return Err(Error::InvalidSchedule {
                reason: format!("hour {hour} is not in 0..=23"),
            });
        }
        if minute > 59 {
            return Err(Error::InvalidSchedule {
                reason: format!("minute {minute} is not in 0..=59"),
            });
        }
        let time =
            NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(|| Error::InvalidSchedule {
                reason: format!("{hour:02}:{minute:02} is not a time of day"),
            })?;
        Ok(Self { time, zone })
    }

    /// `hour:minute` (24-hour clock) in UTC.
    ///
    /// # Errors
    /// As [`TimeOfDay::new`].
    pub fn utc(hour: u32, minute: u32) -> Result<Self, Error> {
        Self::new(hour, minute, Tz::UTC)
    }

    /// Parses a 24-hour `HH:MM` time (`"02:00"`, `"23:59"`; a one-digit hour such as `"2:00"` is
    /// accepted too, seconds are not) and an IANA zone name (`"Europe/Berlin"`, `"UTC"`; spelled
    /// exactly as in the tz database, case included).
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] naming the bad input: a malformed time, an hour above 23 or
    /// minute above 59, or an unknown zone name.
    pub fn parse(hhmm: &str, zone_name: &str) -> Result<Self, Error> {
        let (hour, minute) = parse_hhmm(hhmm)?;
        let zone = parse_zone(zone_name)?;
        Self::new(hour, minute, zone).map_err(|e| match e {
            Error::InvalidSchedule { reason } => Error::InvalidSchedule {
                reason: format!("time of day \"{}\": {reason}", clip(hhmm)),
            },
            other => other,
        })
    }

    /// The wall-clock time (seconds always zero).
    pub fn time(&self) -> NaiveTime {
        self.time
    }

    /// The time zone the wall-clock time is read in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The instant this time of day falls on at local `date`, with the DST rules documented on
    /// [`Schedule::next_after`]. `None` only at the limits of chrono's range.
    fn instant_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        let local = date.and_time(self.time);
        let utc = match self.zone.offset_from_local_datetime(&local) {
            LocalResult::Single(offset) => local.checked_sub_offset(offset.fix()),
            LocalResult::Ambiguous(a, b) => {
                let a = local.checked_sub_offset(a.fix());
                let b = local.checked_sub_offset(b.fix());
                match (a, b) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            LocalResult::None => in_gap(&local, self.zone),
        };
        utc.map(|naive| naive.and_utc())
    }

    /// The time as `HH:MM` (what [`TimeOfDay::parse`] reads), without the zone.
    pub fn hh_mm(&self) -> String {
        format!("{:02}:{:02}", self.time.hour(), self.time.minute())
    }
}

/// A local time that does not exist (it is inside a spring-forward gap): read it with the UTC
/// offset in force just before the gap, which lands it after the gap, shifted forward by the
/// gap's length (02:30 in a 02:00→03:00 gap → 03:30 new time).
fn in_gap(local: &NaiveDateTime, zone: Tz) -> Option<NaiveDateTime> {
    let gap = GapInfo::new(local, &zone)?;
    match gap.begin {
        Some((_, before)) => local.checked_sub_offset(before.fix()),
        // No known offset before the gap (cannot happen with real tz data): the first instant
        // after the gap.
        None => gap.end.map(|end| end.naive_utc()),
    }
}

impl Default for TimeOfDay {
    /// 00:00 UTC.
    fn default() -> Self {
        Self {
            time: NaiveTime::MIN,
            zone: Tz::UTC,
        }
    }
}

impl fmt::Display for TimeOfDay {
    /// `02:00 Europe/Berlin`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.hh_mm(), self.zone.name())
    }
}

fn parse_hhmm(hhmm: &str) -> Result<(u32, u32), Error> {
    let malformed = || Error::InvalidSchedule {
        reason: format!(
            "time of day \"{}\" is not HH:MM on a 24-hour clock (e.g. 02:00)",
            clip(hhmm)
        ),
    };
    let (h, m) = hhmm.split_once(':').ok_or_else(malformed)?;
    let digits =
        |s: &str, lens: &[usize]| lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, &[1, 2]) || !digits(m, &[2]) {
        return Err(malformed());
    }
    let hour = h.parse::<u32>().map_err(|_| malformed())?;
    let minute = m.parse::<u32>().map_err(|_| malformed())?;
    Ok((hour, minute))
}

fn parse_zone(name: &str) -> Result<Tz, Error> {
    name.parse::<Tz>().map_err(|_| Error::InvalidSchedule {
        reason: format!(
            "unknown time zone \"{}\" (expected an IANA name such as Europe/Berlin or UTC)",
            clip(name)
        ),
    })
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeOfDayRepr {
    at: String,
    zone: String,
}

impl TryFrom<TimeOfDayRepr> for TimeOfDay {
    type Error = Error;
    fn try_from(repr: TimeOfDayRepr) -> Result<Self, Error> {
        Self::parse(&repr.at, &repr.zone)
    }
}

impl From<TimeOfDay> for TimeOfDayRepr {
    fn from(at: TimeOfDay) -> Self {
        Self {
            at: at.hh_mm(),
            zone: at.zone.name().to_owned(),
        }
    }
}

/// A day of the month, `1..=31`, for monthly schedules.
///
/// A day beyond a month's length runs on that month's last day: day 31 runs on 30 April, and
/// days 29, 30 and 31 run on 28 February (29 February in a leap year). It still runs only once
/// that month.
///
/// Serialized as a plain number; deserializing refuses `0` and anything above `31`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct DayOfMonth(u8);

impl DayOfMonth {
    /// The first of the month.
    pub const FIRST: Self = Self(1);

    /// Validates a day of the month.
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] if `day` is not in `1..=31`.
    pub fn new(day: u8) -> Result<Self, Error> {
        if (1..=31).contains(&day) {
            Ok(Self(day))
        } else {
            Err(Error::InvalidSchedule {
                reason: format!("day of month {day} is not in 1..=31"),
            })
        }
    }

    /// The day, `1..=31`.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The date this day falls on in `year`-`month`, clamped to the month's last day.
    fn in_month(self, year: i32, month: u32) -> Option<NaiveDate> {
        let mut day = u32::from(self.0);
        loop {
            if let Some(date) = NaiveDate::from_ymd_opt(year, month, day) {
                return Some(date);
            }
            if day <= 28 {
                return None;
            }
            day -= 1;
        }
    }
}

impl TryFrom<u8> for DayOfMonth {
    type Error = Error;
    fn try_from(day: u8) -> Result<Self, Error> {
        Self::new(day)
    }
}

impl From<DayOfMonth> for u8 {
    fn from(day: DayOfMonth) -> Self {
        day.0
    }
}

impl fmt::Display for DayOfMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An integration's sync interval: when its scheduled rules run.
///
/// Displayed for humans as `manual`, `every 15 minutes`, `daily at 02:00 UTC`,
/// `weekly on Monday at 02:00 Europe/Berlin` or `monthly on day 1 at 02:00 UTC`.
///
/// Serialized as a flat, tagged object:
///
/// ```json
/// {"kind":"manual"}
/// {"kind":"every","minutes":15}
/// {"kind":"daily","at":"02:00","zone":"UTC"}
/// {"kind":"weekly","day":"Mon","at":"02:00","zone":"Europe/Berlin"}
/// {"kind":"monthly","day":1,"at":"02:00","zone":"UTC"}
/// ```
///
/// Deserializing validates every field (day of month, time, zone) and refuses unknown fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ScheduleRepr", into = "ScheduleRepr")]
#[non_exhaustive]
pub enum Schedule {
    /// Never runs on its own: only manual runs.
    Manual,
    /// Every so many minutes, on a grid that starts at the Unix epoch (UTC): every 15 minutes
    /// runs at :00, :15, :30 and :45, whatever the time zone.
    Every {
        /// How often.
        interval: Interval,
    },
    /// Every day at a time of day.
    Daily {
        /// When in the day.
        at: TimeOfDay,
    },
    /// Every week on one weekday at a time of day.
    Weekly {
        /// Which weekday (in the schedule's time zone).
        day: Weekday,
        /// When in the day.
        at: TimeOfDay,
    },
    /// Every month on one day at a time of day.
    Monthly {
        /// Which day; a day beyond the month's length runs on its last day.
        day: DayOfMonth,
        /// When in the day.
        at: TimeOfDay,
    },
}

/// At most this many candidate dates are tried by [`Schedule::next_after`]; in practice it needs
/// at most five. The bound makes termination obvious.
const MAX_CANDIDATES: usize = 16;

impl Schedule {
    /// Every `interval` (see [`Schedule::Every`]).
    pub fn every(interval: Interval) -> Self {
        Self::Every { interval }
    }

    /// Every day at `at`.
    pub fn daily(at: TimeOfDay) -> Self {
        Self::Daily { at }
    }

    /// Every week on `day` at `at`.
    pub fn weekly(day: Weekday, at: TimeOfDay) -> Self {
        Self::Weekly { day, at }
    }

    /// Every month on `day` at `at` (clamped to the month's last day, see [`DayOfMonth`]).
    pub fn monthly(day: DayOfMonth, at: TimeOfDay) -> Self {
        Self::Monthly { day, at }
    }

    /// Every Monday at `at`.
    pub fn every_monday(at: TimeOfDay) -> Self {
        Self::weekly(Weekday::Mon, at)
    }

    /// The first of every month at `at`.
    pub fn first_of_month(at: TimeOfDay) -> Self {
        Self::monthly(DayOfMonth::FIRST, at)
    }

    /// Whether this schedule never runs on its own.
    pub fn is_manual(&self) -> bool {
        matches!(self, Self::Manual)
    }

    /// The time of day of the runs; `None` for [`Schedule::Manual`] and [`Schedule::Every`].
    pub fn at(&self) -> Option<TimeOfDay> {
        match self {
            Self::Manual | Self::Every { .. } => None,
            Self::Daily { at } | Self::Weekly { at, .. } | Self::Monthly { at, .. } => Some(*at),
        }
    }

    /// The first scheduled instant strictly after `after`; `None` for [`Schedule::Manual`].
    ///
    /// The run dates (which day, which weekday, which day of the month) and the time of day are
    /// read in the schedule's time zone. Daylight-saving changes are handled so that every
    /// scheduled local date runs exactly once:
    ///
    /// - **A time that does not exist** (it falls in a spring-forward gap) is read with the UTC
    ///   offset in force *before* the gap. That lands after the gap, shifted forward by the
    ///   gap's length: 02:30 in Berlin's 02:00→03:00 gap of 29 March 2026 runs at 03:30 CEST
    ///   (01:30 UTC); 02:15 in Lord Howe's 30-minute gap runs at 02:45. This is what POSIX
    ///   `mktime` and systemd timers do; note that it is *not* the first instant after the gap
    ///   (03:00), which Vixie cron uses.
    /// - **A time that occurs twice** (it falls in a fall-back overlap) runs once, at the
    ///   earlier instant (the daylight-saving one), and never at the later one: 02:30 in Berlin
    ///   on 25 October 2026 runs at 02:30 CEST (00:30 UTC); if `after` lies between the two
    ///   occurrences, the next run is the next scheduled date.
    /// - On the rare day that a zone skips entirely (Samoa, 30 December 2011), the skipped date's
    ///   run is shifted onto the next day's run; it runs once.
    ///
    /// Pure (no clock is read) and total: it never panics and always terminates. It returns
    /// `None` for a manual schedule and when the next run would lie beyond chrono's
    /// representable range (around the year 262,000).
    ///
    /// An [`Schedule::Every`] runs at the next point of its grid (see there); time zones and
    /// daylight saving do not move it.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if let Self::Every { interval } = self {
            return interval.next_after(after);
        }
        let at = self.at()?;
        let after_utc = after.naive_utc();
        let offset = at.zone.offset_from_utc_datetime(&after_utc).fix();
        let local_date = after_utc
            .checked_add_offset(offset)
            .map_or_else(|| after_utc.date(), |local| local.date());
        // Start two days early so that a run on the previous local date that was shifted past
        // `after` (by a gap) is not missed; run instants never decrease with the date, so the
        // first candidate strictly after `after` is the answer.
        let mut from = local_date
            .checked_sub_days(Days::new(2))
            .unwrap_or(NaiveDate::MIN);
        for _ in 0..MAX_CANDIDATES {
            let date = self.first_date_from(from)?;
            if let Some(run) = at.instant_on(date).filter(|run| *run > after) {
                return Some(run);
            }
            from = date.succ_opt()?;
        }
        None
    }

    /// The first scheduled local date on or after `from`.
    fn first_date_from(&self, from: NaiveDate) -> Option<NaiveDate> {
        match self {
            Self::Manual | Self::Every { .. } => None,
            Self::Daily { .. } => Some(from),
            Self::Weekly { day, .. } => {
                let ahead =
                    (7 + day.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
                from.checked_add_days(Days::new(u64::from(ahead)))
            }
            Self::Monthly { day, .. } => {
                let this_month = day.in_month(from.year(), from.month())?;
                if this_month >= from {
                    return Some(this_month);
                }
                let (year, month) = if from.month() == 12 {
                    (from.year().checked_add(1)?, 1)
                } else {
                    (from.year(), from.month() + 1)
                };
                day.in_month(year, month)
            }
        }
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Manual => f.write_str("manual"),
            Self::Every { interval } => write!(f, "every {interval}"),
            Self::Daily { at } => write!(f, "daily at {at}"),
            Self::Weekly { day, at } => write!(f, "weekly on {} at {at}", weekday_name(*day)),
            Self::Monthly { day, at } => write!(f, "monthly on day {day} at {at}"),
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum ScheduleRepr {
    // A struct variant, so that `deny_unknown_fields` applies to it too.
    Manual {},
    Every {
        minutes: u32,
    },
    Daily {
        at: String,
        zone: String,
    },
    Weekly {
        day: Weekday,
        at: String,
        zone: String,
    },
    Monthly {
        day: u8,
        at: String,
        zone: String,
    },
}

impl TryFrom<ScheduleRepr> for Schedule {
    type Error = Error;
    fn try_from(repr: ScheduleRepr) -> Result<Self, Error> {
        Ok(match repr {
            ScheduleRepr::Manual {} => Self::Manual,
            ScheduleRepr::Every { minutes } => Self::every(Interval::from_minutes(minutes)?),
            ScheduleRepr::Daily { at, zone } => Self::daily(TimeOfDay::parse(&at, &zone)?),
            ScheduleRepr::Weekly { day, at, zone } => {
                Self::weekly(day, TimeOfDay::parse(&at, &zone)?)
            }
            ScheduleRepr::Monthly { day, at, zone } => {
                Self::monthly(DayOfMonth::new(day)?, TimeOfDay::parse(&at, &zone)?)
            }
        })
    }
}

impl From<Schedule> for ScheduleRepr {
    fn from(schedule: Schedule) -> Self {
        let zone = |at: &TimeOfDay| at.zone.name().to_owned();
        match schedule {
            Schedule::Manual => Self::Manual {},
            Schedule::Every { interval } => Self::Every {
                minutes: interval.minutes(),
            },
            Schedule::Daily { at } => Self::Daily {
                at: at.hh_mm(),
                zone: zone(&at),
            },
            Schedule::Weekly { day, at } => Self::Weekly {
                day,
                at: at.hh_mm(),
                zone: zone(&at),
            },
            Schedule::Monthly { day, at } => Self::Monthly {
                day: day.get(),
                at: at.hh_mm(),
                zone: zone(&at),
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse()
            .unwrap_or_else(|e| panic!("bad instant {s:?} in test: {e}"))
    }

    fn at(hhmm: &str, zone: &str) -> TimeOfDay {
        TimeOfDay::parse(hhmm, zone).unwrap()
    }

    fn day(d: u8) -> DayOfMonth {
        DayOfMonth::new(d).unwrap()
    }

    /// Runs a table of (schedule, after, expected next run) and reports every mismatch at once.
    fn check(cases: &[(Schedule, &str, Option<&str>)]) {
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(schedule, after, want)| {
                let got = schedule.next_after(utc(after));
                let want = want.map(utc);
                (got != want)
                    .then(|| format!("{schedule} after {after}: got {got:?}, want {want:?}"))
            })
            .collect();
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn manual_never_runs() {
        assert_eq!(
            Schedule::Manual.next_after(utc("2026-01-01T00:00:00Z")),
            None
        );
        assert!(Schedule::Manual.is_manual());
        assert!(!Schedule::daily(TimeOfDay::default()).is_manual());
        assert_eq!(Schedule::Manual.at(), None);
    }

    #[test]
    fn daily_is_strictly_after() {
        let s = Schedule::daily(at("02:00", "UTC"));
        check(&[
            (s, "2026-05-10T01:59:59Z", Some("2026-05-10T02:00:00Z")),
            (s, "2026-05-10T02:00:00Z", Some("2026-05-11T02:00:00Z")),
            (s, "2026-05-10T02:00:01Z", Some("2026-05-11T02:00:00Z")),
            (s, "2026-05-10T23:59:59Z", Some("2026-05-11T02:00:00Z")),
            (s, "2026-12-31T23:00:00Z", Some("2027-01-01T02:00:00Z")),
            // Sub-second instants right before the run.
            (s, "2026-05-10T01:59:59.999Z", Some("2026-05-10T02:00:00Z")),
        ]);
    }

    #[test]
    fn weekly_monday_from_every_weekday() {
        // 1 June 2026 is a Monday, 8 June the next one.
        let s = Schedule::every_monday(at("02:00", "UTC"));
        check(&[
            (s, "2026-06-01T01:00:00Z", Some("2026-06-01T02:00:00Z")), // Mon, before
            (s, "2026-06-01T02:00:00Z", Some("2026-06-08T02:00:00Z")), // Mon, at
            (s, "2026-06-01T12:00:00Z", Some("2026-06-08T02:00:00Z")), // Mon, after
            (s, "2026-06-02T12:00:00Z", Some("2026-06-08T02:00:00Z")), // Tue
            (s, "2026-06-03T12:00:00Z", Some("2026-06-08T02:00:00Z")), // Wed
            (s, "2026-06-04T12:00:00Z", Some("2026-06-08T02:00:00Z")), // Thu
            (s, "2026-06-05T12:00:00Z", Some("2026-06-08T02:00:00Z")), // Fri
            (s, "2026-06-06T12:00:00Z", Some("2026-06-08T02:00:00Z")), // Sat
            (s, "2026-06-07T12:00:00Z", Some("2026-06-08T02:00:00Z")), // Sun
            (s, "2026-06-08T01:59:59Z", Some("2026-06-08T02:00:00Z")), // Mon, just before
        ]);
        // Other weekdays, from Wednesday 3 June 2026 noon.
        let from = "2026-06-03T12:00:00Z";
        check(&[
            (
                Schedule::weekly(Weekday::Wed, at("11:00", "UTC")),
                from,
                Some("2026-06-10T11:00:00Z"),
            ),
            (
                Schedule::weekly(Weekday::Wed, at("13:00", "UTC")),
                from,
                Some("2026-06-03T13:00:00Z"),
            ),
            (
                Schedule::weekly(Weekday::Sun, at("00:00", "UTC")),
                from,
                Some("2026-06-07T00:00:00Z"),
            ),
            (
                Schedule::weekly(Weekday::Tue, at("23:59", "UTC")),
                from,
                Some("2026-06-09T23:59:00Z"),
            ),
        ]);
    }

    #[test]
    fn weekly_weekday_is_read_in_the_zone() {
        // Monday 02:00 in Tokyo (UTC+9) is Sunday 17:00 UTC.
        let s = Schedule::every_monday(at("02:00", "Asia/Tokyo"));
        check(&[(s, "2026-06-03T12:00:00Z", Some("2026-06-07T17:00:00Z"))]);
    }

    #[test]
    fn monthly_first_across_year_end() {
        let s = Schedule::first_of_month(at("02:00", "UTC"));
        check(&[
            (s, "2026-12-15T00:00:00Z", Some("2027-01-01T02:00:00Z")),
            (s, "2026-12-01T02:00:00Z", Some("2027-01-01T02:00:00Z")),
            (s, "2026-12-01T01:59:00Z", Some("2026-12-01T02:00:00Z")),
            (s, "2026-12-31T23:59:59Z", Some("2027-01-01T02:00:00Z")),
            (s, "2027-01-01T02:00:00Z", Some("2027-02-01T02:00:00Z")),
        ]);
    }

    #[test]
    fn monthly_days_beyond_the_month_run_on_its_last_day() {
        let d31 = Schedule::monthly(day(31), at("02:00", "UTC"));
        let d30 = Schedule::monthly(day(30), at("02:00", "UTC"));
        let d29 = Schedule::monthly(day(29), at("02:00", "UTC"));
        let d29_late = Schedule::monthly(day(29), at("23:59", "UTC"));
        check(&[
            // Day 31 in April → 30 April, then 31 May.
            (d31, "2026-04-01T00:00:00Z", Some("2026-04-30T02:00:00Z")),
            (d31, "2026-03-31T02:00:00Z", Some("2026-04-30T02:00:00Z")),
            (d31, "2026-04-30T02:00:00Z", Some("2026-05-31T02:00:00Z")),
            // February, leap year 2028 and non-leap 2027.
            (d31, "2028-02-01T00:00:00Z", Some("2028-02-29T02:00:00Z")),
            (d29, "2028-02-01T00:00:00Z", Some("2028-02-29T02:00:00Z")),
            (d31, "2027-02-01T00:00:00Z", Some("2027-02-28T02:00:00Z")),
            (d30, "2027-02-01T00:00:00Z", Some("2027-02-28T02:00:00Z")),
            (d29, "2027-02-01T00:00:00Z", Some("2027-02-28T02:00:00Z")),
            (d29, "2027-02-28T00:00:00Z", Some("2027-02-28T02:00:00Z")),
            (d29, "2027-02-28T02:00:00Z", Some("2027-03-29T02:00:00Z")),
            // Day 29 at 23:59: from the last minute of 28 Feb 2027, then on to 29 March.
            (
                d29_late,
                "2027-02-28T23:58:59Z",
                Some("2027-02-28T23:59:00Z"),
            ),
            (
                d29_late,
                "2027-02-28T23:59:00Z",
                Some("2027-03-29T23:59:00Z"),
            ),
            (d29, "2027-02-28T23:59:00Z", Some("2027-03-29T02:00:00Z")),
            // Day 31 in a 31-day month, and from December to January.
            (d31, "2026-12-31T02:00:00Z", Some("2027-01-31T02:00:00Z")),
        ]);
    }

    #[test]
    fn new_york_across_2026_dst_changes() {
        // Spring forward Sun 8 Mar 2026, 02:00 EST (UTC-5) → 03:00 EDT (UTC-4).
        let gap = Schedule::daily(at("02:30", "America/New_York"));
        let before_gap = Schedule::daily(at("01:30", "America/New_York"));
        let after_gap = Schedule::daily(at("03:30", "America/New_York"));
        let noon = Schedule::daily(at("12:00", "America/New_York"));
        check(&[
            (gap, "2026-03-07T07:29:00Z", Some("2026-03-07T07:30:00Z")), // 02:30 EST
            // 02:30 does not exist on 8 March: read with EST → 07:30 UTC = 03:30 EDT.
            (gap, "2026-03-07T07:30:00Z", Some("2026-03-08T07:30:00Z")),
            (gap, "2026-03-08T07:30:00Z", Some("2026-03-09T06:30:00Z")), // 02:30 EDT
            (
                before_gap,
                "2026-03-08T00:00:00Z",
                Some("2026-03-08T06:30:00Z"),
            ), // EST
            (
                after_gap,
                "2026-03-08T00:00:00Z",
                Some("2026-03-08T07:30:00Z"),
            ), // EDT
            (noon, "2026-03-08T00:00:00Z", Some("2026-03-08T16:00:00Z")),
        ]);
        // Fall back Sun 1 Nov 2026, 02:00 EDT → 01:00 EST: 01:00–02:00 happens twice.
        let overlap = Schedule::daily(at("01:30", "America/New_York"));
        check(&[
            // The earlier, EDT occurrence (05:30 UTC), not the EST one (06:30 UTC).
            (
                overlap,
                "2026-10-31T12:00:00Z",
                Some("2026-11-01T05:30:00Z"),
            ),
            (
                overlap,
                "2026-11-01T05:30:00Z",
                Some("2026-11-02T06:30:00Z"),
            ),
            // Between the two occurrences: the later one never runs.
            (
                overlap,
                "2026-11-01T06:00:00Z",
                Some("2026-11-02T06:30:00Z"),
            ),
            (
                overlap,
                "2026-11-01T06:29:59Z",
                Some("2026-11-02T06:30:00Z"),
            ),
            (noon, "2026-10-31T20:00:00Z", Some("2026-11-01T17:00:00Z")), // EST
            (noon, "2026-10-31T12:00:00Z", Some("2026-10-31T16:00:00Z")), // EDT
        ]);
    }

    #[test]
    fn berlin_across_2026_dst_changes() {
        // Spring forward Sun 29 Mar 2026, 02:00 CET (UTC+1) → 03:00 CEST (UTC+2).
        let gap = Schedule::daily(at("02:30", "Europe/Berlin"));
        let noon = Schedule::daily(at("12:00", "Europe/Berlin"));
        check(&[
            (gap, "2026-03-28T12:00:00Z", Some("2026-03-29T01:30:00Z")), // = 03:30 CEST
            (gap, "2026-03-29T01:30:00Z", Some("2026-03-30T00:30:00Z")), // 02:30 CEST
            (noon, "2026-03-29T00:00:00Z", Some("2026-03-29T10:00:00Z")),
            (noon, "2026-03-28T00:00:00Z", Some("2026-03-28T11:00:00Z")),
        ]);
        // Fall back Sun 25 Oct 2026, 03:00 CEST → 02:00 CET: 02:00–03:00 happens twice.
        check(&[
            (gap, "2026-10-24T12:00:00Z", Some("2026-10-25T00:30:00Z")), // 02:30 CEST
            (gap, "2026-10-25T00:30:00Z", Some("2026-10-26T01:30:00Z")), // next day, CET
            (gap, "2026-10-25T01:00:00Z", Some("2026-10-26T01:30:00Z")), // between the two
            (noon, "2026-10-25T00:00:00Z", Some("2026-10-25T11:00:00Z")),
        ]);
        // A weekly schedule crossing the change, and a monthly one.
        let sunday = Schedule::weekly(Weekday::Sun, at("02:30", "Europe/Berlin"));
        let monthly = Schedule::monthly(day(29), at("02:30", "Europe/Berlin"));
        check(&[
            (sunday, "2026-03-22T12:00:00Z", Some("2026-03-29T01:30:00Z")),
            (sunday, "2026-03-29T01:30:00Z", Some("2026-04-05T00:30:00Z")),
            (
                monthly,
                "2026-03-01T00:00:00Z",
                Some("2026-03-29T01:30:00Z"),
            ),
        ]);
    }

    #[test]
    fn lord_howe_half_hour_dst() {
        // Lord Howe: UTC+10:30 standard, UTC+11 in summer.
        // Ends Sun 5 Apr 2026, 02:00 (+11) → 01:30 (+10:30): 01:30–02:00 happens twice.
        let overlap = Schedule::daily(at("01:45", "Australia/Lord_Howe"));
        // Starts Sun 4 Oct 2026, 02:00 (+10:30) → 02:30 (+11): 02:00–02:30 does not exist.
        let gap = Schedule::daily(at("02:15", "Australia/Lord_Howe"));
        check(&[
            (
                overlap,
                "2026-04-04T12:00:00Z",
                Some("2026-04-04T14:45:00Z"),
            ), // +11
            (
                overlap,
                "2026-04-04T15:00:00Z",
                Some("2026-04-05T15:15:00Z"),
            ), // next day, +10:30
            // 02:15 read at +10:30 → 15:45 UTC = 02:45 (+11).
            (gap, "2026-10-03T00:00:00Z", Some("2026-10-03T15:45:00Z")),
            (gap, "2026-10-03T15:45:00Z", Some("2026-10-04T15:15:00Z")),
        ]);
    }

    #[test]
    fn a_skipped_day_runs_once() {
        // Samoa skipped 30 December 2011 (UTC-10 → UTC+14). Daily 12:00 runs on 29 Dec at
        // 22:00 UTC, the skipped day's run is shifted onto 31 Dec 12:00 (+14) = 30 Dec 22:00
        // UTC, and the next is 1 Jan 12:00 (+14) = 31 Dec 22:00 UTC.
        let s = Schedule::daily(at("12:00", "Pacific/Apia"));
        check(&[
            (s, "2011-12-29T12:00:00Z", Some("2011-12-29T22:00:00Z")),
            (s, "2011-12-29T22:00:00Z", Some("2011-12-30T22:00:00Z")),
            (s, "2011-12-30T22:00:00Z", Some("2011-12-31T22:00:00Z")),
        ]);
    }

    #[test]
    fn limits_of_the_range_do_not_panic() {
        let schedules = [
            Schedule::daily(at("23:59", "Pacific/Kiritimati")),
            Schedule::weekly(Weekday::Sun, at("00:00", "Etc/GMT+12")),
            Schedule::monthly(day(31), at("12:00", "UTC")),
        ];
        for s in schedules {
            assert_eq!(s.next_after(DateTime::<Utc>::MAX_UTC), None, "{s}");
            let early = s.next_after(DateTime::<Utc>::MIN_UTC);
            assert!(
                early.is_some_and(|t| t > DateTime::<Utc>::MIN_UTC),
                "{s}: {early:?}"
            );
            let near_max = DateTime::<Utc>::MAX_UTC - Duration::days(40);
            if let Some(t) = s.next_after(near_max) {
                assert!(t > near_max);
            }
        }
    }

    #[test]
    fn time_of_day_validation() {
        assert_eq!(
            TimeOfDay::utc(2, 0).map(|t| t.to_string()),
            Ok("02:00 UTC".to_owned())
        );
        assert_eq!(TimeOfDay::default(), at("00:00", "UTC"));
        assert_eq!(
            at("9:05", "UTC").time(),
            NaiveTime::from_hms_opt(9, 5, 0).unwrap()
        );
        assert_eq!(
            at("23:59", "Europe/Berlin").zone(),
            chrono_tz::Europe::Berlin
        );
        assert!(TimeOfDay::utc(24, 0).is_err());
        assert!(TimeOfDay::utc(0, 60).is_err());
        for (hhmm, zone, needle) in [
            ("25:00", "UTC", "25:00"),
            ("02:60", "UTC", "02:60"),
            ("24:00", "UTC", "24:00"),
            ("2", "UTC", "\"2\""),
            ("02:00:00", "UTC", "02:00:00"),
            ("2:0", "UTC", "2:0"),
            ("+2:00", "UTC", "+2:00"),
            (" 02:00", "UTC", " 02:00"),
            ("02h00", "UTC", "02h00"),
            ("", "UTC", "\"\""),
            ("02:00", "Mars/Olympus", "Mars/Olympus"),
            ("02:00", "europe/berlin", "europe/berlin"),
            ("02:00", "", "unknown time zone"),
        ] {
            match TimeOfDay::parse(hhmm, zone) {
                Err(Error::InvalidSchedule { reason }) => {
                    assert!(reason.contains(needle), "{hhmm:?} {zone:?}: {reason}");
                }
                other => panic!("{hhmm:?} {zone:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn day_of_month_validation() {
        assert!(DayOfMonth::new(0).is_err());
        assert!(DayOfMonth::new(32).is_err());
        assert_eq!(DayOfMonth::new(31).map(DayOfMonth::get), Ok(31));
        assert_eq!(DayOfMonth::FIRST.get(), 1);
        assert_eq!(
            day(31).in_month(2026, 4),
            NaiveDate::from_ymd_opt(2026, 4, 30)
        );
        assert_eq!(
            day(30).in_month(2028, 2),
            NaiveDate::from_ymd_opt(2028, 2, 29)
        );
        assert_eq!(day(15).in_month(2026, 13), None);
    }

    #[test]
    fn display_for_humans() {
        assert_eq!(Schedule::Manual.to_string(), "manual");
        assert_eq!(
            Schedule::every(Interval::from_minutes(15).unwrap()).to_string(),
            "every 15 minutes"
        );
        assert_eq!(
            Schedule::daily(at("02:00", "UTC")).to_string(),
            "daily at 02:00 UTC"
        );
        assert_eq!(
            Schedule::every_monday(at("02:00", "Europe/Berlin")).to_string(),
            "weekly on Monday at 02:00 Europe/Berlin"
        );
        assert_eq!(
            Schedule::first_of_month(at("02:00", "UTC")).to_string(),
            "monthly on day 1 at 02:00 UTC"
        );
        assert_eq!(
            Schedule::weekly(Weekday::Sun, at("23:05", "America/New_York")).to_string(),
            "weekly on Sunday at 23:05 America/New_York"
        );
    }

    #[test]
    fn serde_form_is_stable_and_round_trips() {
        let cases = [
            (Schedule::Manual, r#"{"kind":"manual"}"#),
            (
                Schedule::every(Interval::from_hours(2).unwrap()),
                r#"{"kind":"every","minutes":120}"#,
            ),
            (
                Schedule::daily(at("02:00", "UTC")),
                r#"{"kind":"daily","at":"02:00","zone":"UTC"}"#,
            ),
            (
                Schedule::every_monday(at("02:00", "Europe/Berlin")),
                r#"{"kind":"weekly","day":"Mon","at":"02:00","zone":"Europe/Berlin"}"#,
            ),
            (
                Schedule::monthly(day(31), at("23:59", "America/New_York")),
                r#"{"kind":"monthly","day":31,"at":"23:59","zone":"America/New_York"}"#,
            ),
        ];
        for (schedule, json) in cases {
            assert_eq!(serde_json::to_string(&schedule).unwrap(), json);
            assert_eq!(serde_json::from_str::<Schedule>(json).unwrap(), schedule);
        }
        let t = at("07:45", "Asia/Kolkata");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"at":"07:45","zone":"Asia/Kolkata"}"#);
        assert_eq!(serde_json::from_str::<TimeOfDay>(&json).unwrap(), t);
        assert_eq!(serde_json::to_string(&day(5)).unwrap(), "5");
        // Chrono's weekday names are accepted in any common spelling.
        let long = r#"{"kind":"weekly","day":"monday","at":"02:00","zone":"UTC"}"#;
        assert_eq!(
            serde_json::from_str::<Schedule>(long).unwrap(),
            Schedule::every_monday(at("02:00", "UTC"))
        );
    }

    #[test]
    fn serde_refuses_invalid_data() {
        for json in [
            r#"{"kind":"monthly","day":0,"at":"02:00","zone":"UTC"}"#,
            r#"{"kind":"monthly","day":32,"at":"02:00","zone":"UTC"}"#,
            r#"{"kind":"monthly","day":-1,"at":"02:00","zone":"UTC"}"#,
            r#"{"kind":"monthly","day":"1","at":"02:00","zone":"UTC"}"#,
            r#"{"kind":"daily","at":"25:00","zone":"UTC"}"#,
            r#"{"kind":"daily","at":"02:00:00","zone":"UTC"}"#,
            r#"{"kind":"daily","at":"02:00","zone":"Mars/Olympus"}"#,
            r#"{"kind":"daily","at":"02:00"}"#,
            r#"{"kind":"daily","zone":"UTC"}"#,
            r#"{"kind":"daily","day":"Mon","at":"02:00","zone":"UTC"}"#,
            r#"{"kind":"weekly","day":"Funday","at":"02:00","zone":"UTC"}"#,
            r#"{"kind":"weekly","at":"02:00","zone":"UTC"}"#,
            r#"{"kind":"hourly","at":"02:00","zone":"UTC"}"#,
            r#"{"kind":"manual","at":"02:00"}"#,
            r#"{"kind":"every","minutes":0}"#,
            r#"{"kind":"every","minutes":44641}"#,
            r#"{"kind":"every","minutes":15,"zone":"UTC"}"#,
            r#"{"kind":"every"}"#,
            r#"{"at":"02:00","zone":"UTC"}"#,
            r#""daily""#,
        ] {
            assert!(
                serde_json::from_str::<Schedule>(json).is_err(),
                "accepted {json}"
            );
        }
        for json in [
            r#"{"at":"24:00","zone":"UTC"}"#,
            r#"{"at":"02:00","zone":"utc"}"#,
            r#"{"at":"02:00"}"#,
        ] {
            assert!(
                serde_json::from_str::<TimeOfDay>(json).is_err(),
                "accepted {json}"
            );
        }
        for json in ["0", "32", "255", "-3", "1.5"] {
            assert!(
                serde_json::from_str::<DayOfMonth>(json).is_err(),
                "accepted {json}"
            );
        }
        let err = serde_json::from_str::<Schedule>(
            r#"{"kind":"monthly","day":0,"at":"02:00","zone":"UTC"}"#,
        )
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(err.contains("day of month 0"), "{err}");
    }

    // ---- properties ----

    const DST_ZONES: [Tz; 8] = [
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::America::St_Johns,
        chrono_tz::Pacific::Chatham,
        chrono_tz::Europe::London,
        chrono_tz::America::Santiago,
        chrono_tz::Pacific::Apia,
    ];

    fn any_zone() -> impl Strategy<Value = Tz> {
        prop_oneof![
            (0..chrono_tz::TZ_VARIANTS.len()).prop_map(|i| chrono_tz::TZ_VARIANTS[i]),
            (0..DST_ZONES.len()).prop_map(|i| DST_ZONES[i]),
        ]
    }

    fn any_weekday() -> impl Strategy<Value = Weekday> {
        (0u8..7).prop_map(|i| Weekday::try_from(i).unwrap())
    }

    fn any_time() -> impl Strategy<Value = TimeOfDay> {
        // Bias towards the early hours, where DST changes happen.
        let hour = prop_oneof![0u32..24, 0u32..4];
        let minute = prop_oneof![0u32..60, Just(0u32), Just(30u32)];
        (hour, minute, any_zone()).prop_map(|(h, m, z)| TimeOfDay::new(h, m, z).unwrap())
    }

    fn any_schedule() -> impl Strategy<Value = Schedule> {
        prop_oneof![
            1 => Just(Schedule::Manual),
            2 => (1u32..=Interval::MAX_MINUTES).prop_map(|m| Schedule::every(Interval::from_minutes(m).unwrap())),
            3 => any_time().prop_map(Schedule::daily),
            3 => (any_weekday(), any_time()).prop_map(|(d, t)| Schedule::weekly(d, t)),
            3 => (1u8..=31, any_time()).prop_map(|(d, t)| Schedule::monthly(day(d), t)),
        ]
    }

    /// Whole-second instants: mostly 1900–2200, some near the DST changes of 2026.
    fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
        let wide = (-2_208_988_800i64..7_258_118_400)
            .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap());
        let changes = [
            "2026-03-08T07:00:00Z",
            "2026-11-01T06:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-10-25T01:00:00Z",
            "2026-04-04T15:00:00Z",
            "2026-10-03T15:30:00Z",
            "2011-12-30T10:00:00Z",
        ];
        let near = (0..changes.len(), -200_000i64..200_000)
            .prop_map(move |(i, s)| utc(changes[i]) + Duration::seconds(s));
        prop_oneof![wide, near]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn next_is_strictly_after(s in any_schedule(), t in any_instant()) {
            match s.next_after(t) {
                None => prop_assert!(s.is_manual()),
                Some(n) => {
                    prop_assert!(n > t);
                    // No schedule waits longer than a month and a bit.
                    prop_assert!(n - t <= Duration::days(33), "{} after {}: {}", s, t, n);
                }
            }
        }

        #[test]
        fn next_is_monotone(s in any_schedule(), t1 in any_instant(), gap in 0i64..5_000_000) {
            let t2 = t1 + Duration::seconds(gap);
            let (n1, n2) = (s.next_after(t1), s.next_after(t2));
            prop_assert!(n1 <= n2 || n2.is_none(), "{}: {} → {:?}, {} → {:?}", s, t1, n1, t2, n2);
            prop_assert_eq!(n1.is_none(), n2.is_none());
        }

        #[test]
        fn next_skips_no_run(s in any_schedule(), t in any_instant()) {
            if let Some(n) = s.next_after(t) {
                prop_assert_eq!(s.next_after(n - Duration::seconds(1)), Some(n), "{} after {}", s, t);
            }
        }

        #[test]
        fn runs_at_the_wall_clock_time_when_it_exists(s in any_schedule(), t in any_instant()) {
            let (Some(n), Some(at)) = (s.next_after(t), s.at()) else { return Ok(()) };
            let local = n.with_timezone(&at.zone());
            let wanted = local.date_naive().and_time(at.time());
            let exists = !matches!(at.zone().offset_from_local_datetime(&wanted), LocalResult::None);
            // A run shifted out of a gap on the previous local date (e.g. Samoa's skipped day).
            let prev = local.date_naive().pred_opt().unwrap().and_time(at.time());
            let shifted_from_prev = matches!(at.zone().offset_from_local_datetime(&prev), LocalResult::None);
            if local.time() == at.time() && !shifted_from_prev {
                match s {
                    Schedule::Weekly { day, .. } => prop_assert_eq!(local.weekday(), day),
                    Schedule::Monthly { day, .. } => {
                        let d = day.in_month(local.year(), local.month());
                        prop_assert_eq!(Some(local.date_naive()), d);
                    }
                    _ => {}
                }
            } else {
                // Only a run shifted out of a gap on this or the previous local date.
                prop_assert!(!exists || shifted_from_prev, "{} after {}: {} local {}", s, t, n, local);
            }
        }

        #[test]
        fn never_panics_anywhere(s in any_schedule(), secs in DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp()) {
            let t = DateTime::from_timestamp(secs, 0).unwrap();
            if let Some(n) = s.next_after(t) {
                prop_assert!(n > t);
            }
        }

        #[test]
        fn serde_round_trips(s in any_schedule()) {
            let json = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
        }
    }
}
