//! [`Interval`]: how often an every-N-minutes schedule runs.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::Error;
use crate::error::clip;

/// The time between the runs of a [`Schedule::Every`](crate::Schedule::Every): whole minutes,
/// from one minute to 31 days.
///
/// Parsed from a compact form of days, hours and minutes (`15m`, `2h`, `1h30m`, `1d`), shown for
/// humans as `15 minutes`, `2 hours`, `1 hour 30 minutes`.
///
/// ```
/// use dirsync_core::Interval;
/// let every: Interval = "1h30m".parse()?;
/// assert_eq!(every.minutes(), 90);
/// assert_eq!(every.to_string(), "1 hour 30 minutes");
/// assert_eq!(every.compact(), "1h30m");
/// assert!("0m".parse::<Interval>().is_err());
/// # Ok::<(), dirsync_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    minutes: u32,
}

const MINUTES_A_DAY: u32 = 24 * 60;

impl Interval {
    /// The shortest interval: one minute.
    pub const MIN_MINUTES: u32 = 1;
    /// The longest interval: 31 days.
    pub const MAX_MINUTES: u32 = 31 * MINUTES_A_DAY;

    /// An interval of `minutes` minutes.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] outside one minute to 31 days.
    pub fn from_minutes(minutes: u32) -> Result<Self, Error> {
        if (Self::MIN_MINUTES..=Self::MAX_MINUTES).contains(&minutes) {
            Ok(Self { minutes })
        } else {
            Err(Error::InvalidValue {
                kind: "interval",
                value: format!("{minutes} minutes"),
                reason: "must be from 1 minute to 31 days".to_owned(),
            })
        }
    }

    /// An interval of `hours` hours.
    ///
    /// # Errors
    /// As [`Interval::from_minutes`].
    pub fn from_hours(hours: u32) -> Result<Self, Error> {
        Self::from_minutes(hours.saturating_mul(60))
    }

    /// Its length in minutes.
    pub fn minutes(self) -> u32 {
        self.minutes
    }

    /// Its length.
    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.minutes))
    }

    /// The compact form [`FromStr`] reads: `15m`, `2h`, `1h30m`, `1d`.
    pub fn compact(self) -> String {
        let (days, hours, minutes) = self.parts();
        let mut out = String::new();
        for (n, unit) in [(days, 'd'), (hours, 'h'), (minutes, 'm')] {
            if n > 0 {
                out.push_str(&format!("{n}{unit}"));
            }
        }
        out
    }

    /// The first instant of the grid of this interval strictly after `after`. The grid starts
    /// at the Unix epoch (UTC), so every 15 minutes runs at :00, :15, :30 and :45 of each hour.
    /// `None` beyond chrono's range.
    pub(crate) fn next_after(self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let step = i64::from(self.minutes) * 60;
        let next = after
            .timestamp()
            .div_euclid(step)
            .checked_add(1)?
            .checked_mul(step)?;
        DateTime::from_timestamp(next, 0)
    }

    fn parts(self) -> (u32, u32, u32) {
        (
            self.minutes / MINUTES_A_DAY,
            self.minutes % MINUTES_A_DAY / 60,
            self.minutes % 60,
        )
    }
}

impl FromStr for Interval {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidValue {
            kind: "interval",
            value: clip(s),
            reason: reason.to_owned(),
        };
        let mut minutes: u32 = 0;
        let mut digits = String::new();
        let mut last_unit = 0;
        for c in s.trim().chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let (rank, scale) = match c.to_ascii_lowercase() {
                'd' => (3, MINUTES_A_DAY),
                'h' => (2, 60),
                'm' => (1, 1),
                _ => {
                    return Err(invalid(
                        "write it as days, hours and minutes: 15m, 2h, 1h30m, 1d",
                    ));
                }
            };
            if digits.is_empty() || (last_unit != 0 && rank >= last_unit) {
                return Err(invalid(
                    "write it as days, hours and minutes: 15m, 2h, 1h30m, 1d",
                ));
            }
            last_unit = rank;
            let n: u32 = digits.parse().map_err(|_| invalid("too long"))?;
            digits.clear();
            minutes = n
                .checked_mul(scale)
                .and_then(|m| minutes.checked_add(m))
                .ok_or_else(|| invalid("too long"))?;
        }
        if !digits.is_empty() || last_unit == 0 {
            return Err(invalid(
                "give a unit: 15m (minutes), 2h (hours) or 1d (days)",
            ));
        }
        Self::from_minutes(minutes).map_err(|_| invalid("must be from 1 minute to 31 days"))
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, hours, minutes) = self.parts();
        let mut first = true;
        for (n, unit) in [(days, "day"), (hours, "hour"), (minutes, "minute")] {
            if n == 0 {
                continue;
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{n} {unit}{}", if n == 1 { "" } else { "s" })?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_compact_forms_and_refuses_the_rest() {
        for (text, minutes) in [
            ("1m", 1),
            ("15m", 15),
            ("2h", 120),
            ("1h30m", 90),
            ("1d", 1440),
            ("1D2H", 1560),
            (" 45M ", 45),
            ("31d", 31 * 1440),
        ] {
            assert_eq!(
                text.parse::<Interval>().unwrap().minutes(),
                minutes,
                "{text}"
            );
        }
        for bad in [
            "",
            "15",
            "m",
            "0m",
            "32d",
            "1m1h",
            "1h1h",
            "15s",
            "-5m",
            "1.5h",
            "99999999999m",
        ] {
            assert!(bad.parse::<Interval>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn compact_form_round_trips_and_display_is_for_humans() {
        for minutes in [1, 15, 60, 90, 1440, 1441, 31 * 1440] {
            let i = Interval::from_minutes(minutes).unwrap();
            assert_eq!(i.compact().parse::<Interval>().unwrap(), i);
        }
        assert_eq!(Interval::from_minutes(1).unwrap().to_string(), "1 minute");
        assert_eq!(Interval::from_hours(2).unwrap().to_string(), "2 hours");
        assert_eq!(
            Interval::from_minutes(1441).unwrap().to_string(),
            "1 day 1 minute"
        );
    }

    #[test]
    fn the_grid_starts_at_the_epoch() {
        let i = Interval::from_minutes(15).unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            i.next_after(at("2026-06-08T10:02:17Z")),
            Some(at("2026-06-08T10:15:00Z"))
        );
        // Strictly after: a run at a grid point waits for the next one.
        assert_eq!(
            i.next_after(at("2026-06-08T10:15:00Z")),
            Some(at("2026-06-08T10:30:00Z"))
        );
        assert_eq!(
            i.next_after(at("1969-12-31T23:59:59Z")),
            Some(at("1970-01-01T00:00:00Z"))
        );
        assert_eq!(i.next_after(DateTime::<Utc>::MAX_UTC), None);
    }
}
