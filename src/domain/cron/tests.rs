use super::*;
use chrono::{Datelike, NaiveDate, Timelike, Weekday};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(h, min, s))
        .unwrap_or_default()
}

fn next_n(expr: &str, from: NaiveDateTime, n: usize) -> Vec<NaiveDateTime> {
    let s = CronSchedule::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let mut out = Vec::new();
    let mut t = from;
    while out.len() < n {
        match s.next_local_after(t) {
            Some(next) => {
                out.push(next);
                t = next;
            }
            None => break,
        }
    }
    out
}

#[test]
fn five_fields_have_minute_resolution() {
    let runs = next_n("*/15 * * * *", at(2026, 11, 26, 10, 7, 30), 3);
    assert_eq!(
        runs,
        vec![
            at(2026, 11, 26, 10, 15, 0),
            at(2026, 11, 26, 10, 30, 0),
            at(2026, 11, 26, 10, 45, 0)
        ]
    );
}

#[test]
fn six_fields_lead_with_seconds() {
    let runs = next_n("*/20 * * * * *", at(2026, 11, 26, 10, 0, 5), 3);
    assert_eq!(
        runs,
        vec![
            at(2026, 11, 26, 10, 0, 20),
            at(2026, 11, 26, 10, 0, 40),
            at(2026, 11, 26, 10, 1, 0)
        ]
    );
}

#[test]
fn weekday_numbers_follow_crontab() {
    // 2026-11-26 is a Thursday.
    let runs = next_n("0 9 * * 1-5", at(2026, 11, 26, 10, 0, 0), 5);
    let days: Vec<Weekday> = runs.iter().map(|t| t.weekday()).collect();
    assert_eq!(
        days,
        vec![
            Weekday::Fri,
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu
        ]
    );
    for sunday in ["0 9 * * 0", "0 9 * * 7", "0 9 * * SUN", "0 9 * * sun"] {
        let runs = next_n(sunday, at(2026, 11, 26, 10, 0, 0), 2);
        assert!(
            runs.iter().all(|t| t.weekday() == Weekday::Sun),
            "{sunday}: {runs:?}"
        );
    }
    let runs = next_n("0 9 * * 5-7", at(2026, 11, 26, 10, 0, 0), 3);
    let days: Vec<Weekday> = runs.iter().map(|t| t.weekday()).collect();
    assert_eq!(days, vec![Weekday::Fri, Weekday::Sat, Weekday::Sun]);
    let runs = next_n("0 9 * * MON-FRI/2", at(2026, 11, 26, 10, 0, 0), 3);
    let days: Vec<Weekday> = runs.iter().map(|t| t.weekday()).collect();
    assert_eq!(days, vec![Weekday::Fri, Weekday::Mon, Weekday::Wed]);
}

#[test]
fn restricted_day_fields_are_ored() {
    // The 1st of the month OR any Monday, December 2026.
    let runs = next_n("0 0 1 * MON", at(2026, 11, 30, 12, 0, 0), 4);
    assert_eq!(
        runs,
        vec![
            at(2026, 12, 1, 0, 0, 0),
            at(2026, 12, 7, 0, 0, 0),
            at(2026, 12, 14, 0, 0, 0),
            at(2026, 12, 21, 0, 0, 0)
        ]
    );
    // A star-led day-of-week keeps AND: the 13th only when it is a Friday.
    let runs = next_n("0 0 13 * *", at(2026, 1, 1, 0, 0, 0), 2);
    assert!(runs.iter().all(|t| t.day() == 13));
}

#[test]
fn macros_names_lists_and_steps() {
    assert_eq!(
        next_n("@daily", at(2026, 11, 26, 10, 0, 0), 1),
        vec![at(2026, 11, 27, 0, 0, 0)]
    );
    assert_eq!(
        next_n("@hourly", at(2026, 11, 26, 10, 0, 0), 1),
        vec![at(2026, 11, 26, 11, 0, 0)]
    );
    assert_eq!(
        next_n("@weekly", at(2026, 11, 26, 10, 0, 0), 1),
        vec![at(2026, 11, 29, 0, 0, 0)]
    );
    assert_eq!(
        next_n("@monthly", at(2026, 11, 26, 10, 0, 0), 1),
        vec![at(2026, 12, 1, 0, 0, 0)]
    );
    assert_eq!(
        next_n("@yearly", at(2026, 11, 26, 10, 0, 0), 1),
        vec![at(2027, 1, 1, 0, 0, 0)]
    );
    let runs = next_n("30 2 * JAN,jul *", at(2026, 11, 26, 10, 0, 0), 1);
    assert_eq!(runs, vec![at(2027, 1, 1, 2, 30, 0)]);
    let runs = next_n("5/20 * * * *", at(2026, 11, 26, 10, 0, 0), 3);
    assert_eq!(
        runs.iter().map(|t| t.minute()).collect::<Vec<_>>(),
        vec![5, 25, 45]
    );
    let runs = next_n("0 8-10 * * *", at(2026, 11, 26, 10, 0, 0), 2);
    assert_eq!(
        runs.iter().map(|t| t.hour()).collect::<Vec<_>>(),
        vec![8, 9]
    );
}

#[test]
fn invalid_expressions_say_what_is_wrong() {
    let err = |e: &str| CronSchedule::parse(e).err().unwrap_or_default();
    assert!(err("* * *").contains("expected 5 fields"));
    assert!(err("61 * * * *").contains("minute field `61`: 61 is outside 0-59"));
    assert!(err("* 24 * * *").contains("hour"));
    assert!(err("* * 0 * *").contains("day-of-month"));
    assert!(err("* * * 13 *").contains("month"));
    assert!(err("* * * * 8").contains("day-of-week"));
    assert!(err("* * * * FUNDAY").contains("not a number or a name"));
    assert!(err("*/0 * * * *").contains("step must be at least 1"));
    assert!(err("5-1 * * * *").contains("backwards"));
    assert!(err("@often").contains("unknown macro"));
    assert!(err("1,,2 * * * *").contains("empty list item"));
}

#[test]
fn impossible_dates_end_instead_of_looping() {
    let s = CronSchedule::parse("0 0 30 2 *").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.next_local_after(at(2026, 1, 1, 0, 0, 0)), None);
}
