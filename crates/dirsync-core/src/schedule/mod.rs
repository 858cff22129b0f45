//! Sync schedules: when an integration's scheduled rules run.
//!
//! An integration has one sync interval: never (manual only), every N minutes or hours (an
//! [`Interval`]), or every day, every week on one weekday, or every month on one day of the
//! month, at a wall-clock [`TimeOfDay`] in an IANA time zone. Only rules with a scheduled trigger run on the interval (see
//! [`crate::due_rules`]).
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

mod day_of_month;
#[cfg(test)]
mod tests;
mod time_of_day;

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, Offset, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

pub use day_of_month::DayOfMonth;
pub use time_of_day::TimeOfDay;

use crate::{Error, Interval};

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
        let offset = at.zone().offset_from_utc_datetime(&after_utc).fix();
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
        let zone = |at: &TimeOfDay| at.zone().name().to_owned();
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
