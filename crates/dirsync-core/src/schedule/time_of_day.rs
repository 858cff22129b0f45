//! A wall-clock time of day in an IANA time zone: [`TimeOfDay`], when a daily, weekly or
//! monthly schedule runs.

use std::fmt;

use chrono::{
    DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::{GapInfo, Tz};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::error::clip;

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
    pub(super) fn instant_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn at(hhmm: &str, zone: &str) -> TimeOfDay {
        TimeOfDay::parse(hhmm, zone).unwrap()
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
}
