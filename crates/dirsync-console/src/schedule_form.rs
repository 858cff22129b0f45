//! The sync interval as a form: `interval` (`manual`, `daily`, `monday`, `first`, or `keep`
//! for an interval the form cannot show), `at` (HH:MM) and `zone` (IANA).

use chrono::Weekday;
use dirsync_core::{DayOfMonth, Schedule, TimeOfDay};
use maud::{Markup, html};

use crate::Error;

/// The schedule a form names; `None` for `keep` (no change).
pub(crate) fn parse(interval: &str, at: &str, zone: &str) -> Result<Option<Schedule>, Error> {
    let at = || {
        TimeOfDay::parse(at.trim(), zone.trim())
            .map_err(|e| Error::BadRequest(format!("time and zone: {e}")))
    };
    Ok(Some(match interval {
        "manual" => Schedule::Manual,
        "daily" => Schedule::daily(at()?),
        "monday" => Schedule::every_monday(at()?),
        "first" => Schedule::first_of_month(at()?),
        "keep" => return Ok(None),
        other => {
            return Err(Error::BadRequest(format!(
                "{:?} is no sync interval",
                crate::layout::shown(other)
            )));
        }
    }))
}

/// The form's fields for `current` (or a new integration's defaults in `zone`).
pub(crate) fn fields(current: Option<&Schedule>, zone: &str) -> Markup {
    let chosen = match current {
        None | Some(Schedule::Manual) => "manual",
        Some(Schedule::Daily { .. }) => "daily",
        Some(Schedule::Weekly {
            day: Weekday::Mon, ..
        }) => "monday",
        Some(Schedule::Monthly { day, .. }) if *day == DayOfMonth::FIRST => "first",
        Some(_) => "keep",
    };
    let at = current.and_then(Schedule::at);
    let hh_mm = at.map_or_else(|| "02:00".to_owned(), |a| a.hh_mm());
    let zone = at.map_or_else(|| zone.to_owned(), |a| a.zone().name().to_owned());
    let options = [
        ("manual", "Manual only".to_owned()),
        ("daily", "Every day".to_owned()),
        ("monday", "Every Monday".to_owned()),
        ("first", "The 1st of every month".to_owned()),
    ];
    html! {
        div {
            label for="interval" { "Sync interval" }
            select id="interval" name="interval" {
                @if chosen == "keep" {
                    @if let Some(s) = current {
                        option value="keep" selected { "Unchanged: " (s.to_string()) }
                    }
                }
                @for (value, text) in &options {
                    option value=(value) selected[*value == chosen] { (text) }
                }
            }
        }
        div {
            label for="at" { "At (time of day)" }
            input type="time" id="at" name="at" value=(hh_mm) required;
        }
        div {
            label for="zone" { "Time zone (IANA, e.g. Europe/Berlin)" }
            input type="text" id="zone" name="zone" value=(zone) required;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_interval_reads_back_as_chosen() -> Result<(), Error> {
        assert_eq!(parse("manual", "", "")?, Some(Schedule::Manual));
        let daily = parse("daily", "03:30", "Europe/Paris")?;
        assert_eq!(
            daily.map(|s| s.to_string()),
            Some("daily at 03:30 Europe/Paris".to_owned())
        );
        let monday = parse("monday", "02:00", "UTC")?;
        assert_eq!(
            monday.map(|s| s.to_string()),
            Some("weekly on Monday at 02:00 UTC".to_owned())
        );
        let first = parse("first", "02:00", "UTC")?;
        assert_eq!(
            first.map(|s| s.to_string()),
            Some("monthly on day 1 at 02:00 UTC".to_owned())
        );
        assert_eq!(parse("keep", "", "")?, None);
        assert!(parse("hourly", "02:00", "UTC").is_err());
        assert!(parse("daily", "25:00", "UTC").is_err());
        assert!(parse("daily", "02:00", "Mars/Olympus").is_err());
        let shown = fields(first.as_ref(), "UTC").into_string();
        assert!(
            shown.contains(r#"<option value="first" selected>"#),
            "{shown}"
        );
        Ok(())
    }
}
