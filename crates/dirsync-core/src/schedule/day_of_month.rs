//! A day of the month for monthly schedules: [`DayOfMonth`].

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Error;

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
    pub(crate) fn in_month(self, year: i32, month: u32) -> Option<NaiveDate> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn day(d: u8) -> DayOfMonth {
        DayOfMonth::new(d).unwrap()
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
}
