use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn cron(expr: &str, tz: &str) -> ScheduleSpec {
    let mut errors = FieldErrors::default();
    let spec = ScheduleSpec::from_json(
        ScheduleType::Cron,
        &json!({ "expression": expr, "timezone": tz }),
        Utc::now(),
        &mut errors,
    );
    match spec {
        Some(s) => s,
        None => panic!("{expr} {tz}: {errors:?}"),
    }
}

fn runs(spec: &ScheduleSpec, from: &str, n: usize) -> Vec<String> {
    spec.next_runs(utc(from), n)
        .iter()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .collect()
}

#[test]
fn new_york_spring_forward_skips_the_missing_time() {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist that day.
    let s = cron("30 2 * * *", "America/New_York");
    assert_eq!(
        runs(&s, "2026-03-06T12:00:00Z", 3),
        vec![
            "2026-03-07T07:30:00Z",
            "2026-03-09T06:30:00Z",
            "2026-03-10T06:30:00Z"
        ]
    );
}

#[test]
fn new_york_fall_back_fires_once_at_the_first_occurrence() {
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
    let s = cron("30 1 * * *", "America/New_York");
    assert_eq!(
        runs(&s, "2026-10-31T12:00:00Z", 3),
        vec![
            "2026-11-01T05:30:00Z",
            "2026-11-02T06:30:00Z",
            "2026-11-03T06:30:00Z"
        ]
    );
    // Sub-hourly across the overlap: strictly increasing, the repeated hour once.
    let s = cron("*/30 * * * *", "America/New_York");
    assert_eq!(
        runs(&s, "2026-11-01T04:45:00Z", 5),
        vec![
            "2026-11-01T05:00:00Z", // 01:00 EDT
            "2026-11-01T05:30:00Z", // 01:30 EDT
            "2026-11-01T07:00:00Z", // 02:00 EST (01:00/01:30 EST are repeats)
            "2026-11-01T07:30:00Z",
            "2026-11-01T08:00:00Z"
        ]
    );
    // Asked from inside the repeated hour, the repeats do not fire again.
    assert_eq!(
        runs(&s, "2026-11-01T06:10:00Z", 1),
        vec!["2026-11-01T07:00:00Z"]
    );
}

#[test]
fn berlin_transitions() {
    // 2026-03-29: 02:00 CET -> 03:00 CEST. 02:15 is skipped.
    let s = cron("15 2 * * *", "Europe/Berlin");
    assert_eq!(
        runs(&s, "2026-03-28T12:00:00Z", 2),
        vec!["2026-03-30T00:15:00Z", "2026-03-31T00:15:00Z"]
    );
    // 2026-10-25: 03:00 CEST -> 02:00 CET. 02:30 happens twice; fires at the CEST one.
    let s = cron("30 2 * * *", "Europe/Berlin");
    assert_eq!(
        runs(&s, "2026-10-24T12:00:00Z", 2),
        vec!["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
    );
}

#[test]
fn hourly_in_a_zone_across_spring_forward() {
    let s = cron("0 * * * *", "America/New_York");
    assert_eq!(
        runs(&s, "2026-03-08T05:30:00Z", 3),
        vec![
            "2026-03-08T06:00:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-08T08:00:00Z"
        ]
    );
}

#[test]
fn intervals_anchor_on_start_or_creation() {
    let created = utc("2026-11-26T10:00:00Z");
    let mut e = FieldErrors::default();
    let s = ScheduleSpec::from_json(
        ScheduleType::Interval,
        &json!({"intervalSeconds": 30}),
        created,
        &mut e,
    );
    let s = s.unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(s.first_run(created), Some(utc("2026-11-26T10:00:30Z")));
    assert_eq!(
        runs(&s, "2026-11-26T10:00:30Z", 2),
        vec!["2026-11-26T10:01:00Z", "2026-11-26T10:01:30Z"]
    );
    let s = ScheduleSpec::from_json(
        ScheduleType::Interval,
        &json!({"intervalSeconds": 60, "startAt": "2026-11-26T09:00:10Z"}),
        created,
        &mut e,
    )
    .unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(
        runs(&s, "2026-11-26T10:00:00Z", 2),
        vec!["2026-11-26T10:00:10Z", "2026-11-26T10:01:10Z"]
    );
    assert_eq!(
        runs(&s, "2026-11-26T08:00:00Z", 1),
        vec!["2026-11-26T09:00:10Z"]
    );
}

#[test]
fn nanosecond_start_at_still_moves_forward_from_its_stored_fire() {
    // The stored next_run_at has microseconds only; the next fire must come after it.
    let mut e = FieldErrors::default();
    let s = ScheduleSpec::from_json(
        ScheduleType::Interval,
        &json!({"intervalSeconds": 1, "startAt": "2026-11-26T10:00:00.123456789Z"}),
        utc("2026-11-26T09:00:00Z"),
        &mut e,
    )
    .unwrap_or_else(|| panic!("{e:?}"));
    let stored = utc("2026-11-26T10:00:00.123456Z");
    assert_eq!(s.first_run(utc("2026-11-26T09:00:00Z")), Some(stored));
    assert_eq!(
        s.next_after(stored),
        Some(utc("2026-11-26T10:00:01.123456Z"))
    );
    assert_eq!(s.to_json()["startAt"], json!("2026-11-26T10:00:00.123456Z"));
}

#[test]
fn once_runs_once() {
    let mut e = FieldErrors::default();
    let s = ScheduleSpec::from_json(
        ScheduleType::Once,
        &json!({"runAt": "2026-11-26T10:00:00Z"}),
        Utc::now(),
        &mut e,
    )
    .unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(
        s.first_run(utc("2026-12-01T00:00:00Z")),
        Some(utc("2026-11-26T10:00:00Z"))
    );
    assert_eq!(s.next_after(utc("2026-11-26T10:00:00Z")), None);
}

#[test]
fn invalid_configs_name_the_field() {
    let check = |t: &str, v: Value, field: &str| {
        let t = ScheduleType::parse(t).unwrap_or(ScheduleType::Cron);
        let mut e = FieldErrors::default();
        let r = ScheduleSpec::from_json(t, &v, Utc::now(), &mut e);
        assert!(r.is_none(), "{v} accepted");
        assert!(e.fields().iter().any(|f| f == field), "{v}: {e:?}");
    };
    check(
        "cron",
        json!({"expression": "* * *"}),
        "scheduleConfig.expression",
    );
    check(
        "cron",
        json!({"expression": "* * * * *", "timezone": "Mars/Olympus"}),
        "scheduleConfig.timezone",
    );
    check("cron", json!({}), "scheduleConfig.expression");
    check(
        "cron",
        json!({"expression": 5}),
        "scheduleConfig.expression",
    );
    check(
        "interval",
        json!({"intervalSeconds": 0}),
        "scheduleConfig.intervalSeconds",
    );
    check(
        "interval",
        json!({"intervalSeconds": "5"}),
        "scheduleConfig.intervalSeconds",
    );
    check(
        "interval",
        json!({"intervalSeconds": 5, "startAt": "yesterday"}),
        "scheduleConfig.startAt",
    );
    check(
        "once",
        json!({"runAt": "2026-13-01T00:00:00Z"}),
        "scheduleConfig.runAt",
    );
    check(
        "once",
        json!({"runAt": "2026-11-01T00:00:00Z", "extra": 1}),
        "scheduleConfig.extra",
    );
    check("once", json!([]), "scheduleConfig");
}
