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

fn days_of(expr: &str, from: NaiveDateTime, n: usize) -> Vec<(i32, u32, u32)> {
    next_n(expr, from, n)
        .iter()
        .map(|t| (t.year(), t.month(), t.day()))
        .collect()
}

#[test]
fn last_day_and_days_before_it() {
    let from = at(2026, 1, 15, 0, 0, 0);
    assert_eq!(
        days_of("0 0 L * *", from, 3),
        vec![(2026, 1, 31), (2026, 2, 28), (2026, 3, 31)]
    );
    assert_eq!(
        days_of("0 0 L * *", at(2028, 1, 31, 1, 0, 0), 1),
        vec![(2028, 2, 29)],
        "leap year"
    );
    assert_eq!(
        days_of("0 0 L-2 * *", from, 3),
        vec![(2026, 1, 29), (2026, 2, 26), (2026, 3, 29)]
    );
    assert_eq!(
        days_of("0 0 1,L * *", from, 4),
        vec![(2026, 1, 31), (2026, 2, 1), (2026, 2, 28), (2026, 3, 1)]
    );
}

#[test]
fn nearest_weekday_stays_in_its_month() {
    // 2026-02-15 and 2026-03-15 are Sundays: Monday the 16th.
    assert_eq!(
        days_of("0 0 15W * *", at(2026, 2, 1, 0, 0, 0), 3),
        vec![(2026, 2, 16), (2026, 3, 16), (2026, 4, 15)]
    );
    // 2026-08-01 is a Saturday: Monday the 3rd, not Friday July 31st.
    assert_eq!(
        days_of("0 0 1W * *", at(2026, 7, 15, 0, 0, 0), 2),
        vec![(2026, 8, 3), (2026, 9, 1)]
    );
    // 31W: no fire in 30-day months; 2026-05-31 is a Sunday: Friday the 29th.
    assert_eq!(
        days_of("0 0 31W * *", at(2026, 4, 1, 0, 0, 0), 3),
        vec![(2026, 5, 29), (2026, 7, 31), (2026, 8, 31)]
    );
    // LW: the last Monday-Friday (2026-02-28 is a Saturday, 2026-05-31 a Sunday).
    assert_eq!(
        days_of("0 0 LW * *", at(2026, 2, 1, 0, 0, 0), 1),
        vec![(2026, 2, 27)]
    );
    assert_eq!(
        days_of("0 0 lw * *", at(2026, 5, 1, 0, 0, 0), 2),
        vec![(2026, 5, 29), (2026, 6, 30)]
    );
}

#[test]
fn nth_and_last_weekday_of_the_month() {
    let from = at(2026, 1, 1, 0, 0, 0);
    for second_friday in ["0 0 * * FRI#2", "0 0 ? * 5#2", "0 0 * * fri#2"] {
        assert_eq!(
            days_of(second_friday, from, 3),
            vec![(2026, 1, 9), (2026, 2, 13), (2026, 3, 13)],
            "{second_friday}"
        );
    }
    for last_friday in ["0 0 * * 5L", "0 0 * * FRIL"] {
        assert_eq!(
            days_of(last_friday, from, 3),
            vec![(2026, 1, 30), (2026, 2, 27), (2026, 3, 27)],
            "{last_friday}"
        );
    }
    // A fifth Monday only in months that have one; 7#1 is the first Sunday.
    assert_eq!(
        days_of("0 0 * * 1#5", from, 2),
        vec![(2026, 3, 30), (2026, 6, 29)]
    );
    assert_eq!(days_of("0 0 * * 7#1", from, 1), vec![(2026, 1, 4)]);
    // Months and times of day still apply.
    let runs = next_n("30 9,17 * JUN 1L", from, 3);
    assert_eq!(
        runs,
        vec![
            at(2026, 6, 29, 9, 30, 0),
            at(2026, 6, 29, 17, 30, 0),
            at(2027, 6, 28, 9, 30, 0)
        ]
    );
}

#[test]
fn day_rules_follow_the_or_rule() {
    // The last day OR the first Wednesday (2027-01-01 is a Friday).
    assert_eq!(
        days_of("0 0 L * 3#1", at(2026, 11, 25, 0, 0, 0), 4),
        vec![(2026, 11, 30), (2026, 12, 2), (2026, 12, 31), (2027, 1, 6)]
    );
    // A star-led day-of-week keeps AND: only the last day.
    assert_eq!(
        days_of("0 0 L * */1", at(2026, 11, 25, 0, 0, 0), 1),
        vec![(2026, 11, 30)]
    );
    // A day rule that can never match ends instead of looping.
    let never = CronSchedule::parse("0 0 30W 2 *").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(never.next_local_after(at(2026, 1, 1, 0, 0, 0)), None);
}

#[test]
fn invalid_day_rules_say_what_is_wrong() {
    let err = |e: &str| CronSchedule::parse(e).err().unwrap_or_default();
    assert!(err("0 0 L-31 * *").contains("day-of-month field `L-31`: `L-n` counts at most 30"));
    assert!(err("0 0 L-x * *").contains("`L-` takes a number"));
    assert!(err("0 0 0W * *").contains("the day before `W` must be 1-31"));
    assert!(err("0 0 32W * *").contains("the day before `W` must be 1-31"));
    assert!(err("0 0 XW * *").contains("`W` follows a day number"));
    assert!(err("0 0 * * 5#6").contains("day-of-week field `5#6`: the week after `#` must be 1-5"));
    assert!(err("0 0 * * 5#0").contains("must be 1-5"));
    assert!(err("0 0 * * FUNDAY#2").contains("not a number or a name"));
    assert!(err("0 0 * * 8L").contains("8 is outside 0-7"));
    assert!(err("0 0 * * L").contains("in day-of-week write `dL`"));
}
