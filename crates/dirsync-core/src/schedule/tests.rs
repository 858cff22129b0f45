//! `Schedule::next_after` across weekdays, months, time zones and daylight-saving changes;
//! display and serde forms.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Duration;
use proptest::prelude::*;

use chrono::LocalResult;
use chrono_tz::Tz;

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
            (got != want).then(|| format!("{schedule} after {after}: got {got:?}, want {want:?}"))
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
    let err =
        serde_json::from_str::<Schedule>(r#"{"kind":"monthly","day":0,"at":"02:00","zone":"UTC"}"#)
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
    let wide =
        (-2_208_988_800i64..7_258_118_400).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap());
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
