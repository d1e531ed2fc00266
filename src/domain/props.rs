//! Property tests over the pure schedule rules: random cron lines × zones × `from`,
//! random intervals × `startAt` from 1900 to 2100, and request timestamps with nanoseconds.
//! Cron results are checked against a brute-force matcher written here from cronie's rules, not
//! from our parser: a day field starting with `*` (also `*/2`) is unrestricted; when both day
//! fields are restricted, either one matching is enough.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use serde_json::json;

use super::schedule::ScheduleSpec;
use super::validate::{parse_time, FieldErrors};

const ZONES: [&str; 9] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Asia/Tehran",
    "America/St_Johns",
];

/// One cronie field: its values, its month-dependent day rules (`L`, `W`, `#`, kept as text
/// and judged by [`brute_rule`]) and whether its text starts with `*`.
struct BruteField {
    values: Vec<bool>,
    rules: Vec<String>,
    star: bool,
}

fn brute_field(text: &str, min: u32, max: u32) -> BruteField {
    let mut values = vec![false; (max + 1) as usize];
    let mut rules = Vec::new();
    for item in text.split(',') {
        if item.contains(['L', 'W', '#']) {
            rules.push(item.to_string());
            continue;
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().unwrap_or(1)),
            None => (item, 1),
        };
        let (lo, hi) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().unwrap_or(min), b.parse().unwrap_or(max)),
                None => {
                    let v = r.parse().unwrap_or(min);
                    (v, v)
                }
            },
        };
        let mut v = lo;
        while v <= hi {
            values[v as usize] = true;
            v += step;
        }
    }
    BruteField {
        values,
        rules,
        star: text.starts_with('*'),
    }
}

/// Whether `d` is the day a Quartz day rule names, found by listing the month's days:
/// `L`, `L-n`, `LW`, `nW` (the Monday–Friday of the month closest to day n) in day-of-month,
/// `w#n` and `wL` in day-of-week.
fn brute_rule(rule: &str, d: NaiveDate) -> bool {
    let month: Vec<NaiveDate> = (1..=31).filter_map(|k| d.with_day(k)).collect();
    let weekdays: Vec<NaiveDate> = month
        .iter()
        .copied()
        .filter(|m| m.weekday().num_days_from_monday() < 5)
        .collect();
    let last = month.last().map_or(0, |m| m.day());
    let of_weekday = |w: &str| -> Vec<NaiveDate> {
        let w = w.parse::<u32>().unwrap_or(0) % 7;
        month
            .iter()
            .copied()
            .filter(|m| m.weekday().num_days_from_sunday() == w)
            .collect()
    };
    if rule == "L" {
        d.day() == last
    } else if rule == "LW" {
        weekdays.last() == Some(&d)
    } else if let Some(n) = rule.strip_prefix("L-") {
        d.day() + n.parse::<u32>().unwrap_or(99) == last
    } else if let Some(n) = rule.strip_suffix('W') {
        let n = n.parse::<u32>().unwrap_or(99);
        n <= last
            && weekdays
                .iter()
                .min_by_key(|m| m.day().abs_diff(n))
                .is_some_and(|m| *m == d)
    } else if let Some((w, n)) = rule.split_once('#') {
        of_weekday(w).get(n.parse::<usize>().unwrap_or(9).wrapping_sub(1)) == Some(&d)
    } else if let Some(w) = rule.strip_suffix('L') {
        of_weekday(w).last() == Some(&d)
    } else {
        false
    }
}

/// The next `n` fire times after `from` (DST: a missing local time is skipped, a
/// repeated one fires at its first occurrence), looking `years` ahead at most.
fn brute_force(
    line: &str,
    tz: Tz,
    from: DateTime<Utc>,
    n: usize,
    years: i32,
) -> Vec<DateTime<Utc>> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let (minute, hour, dom, month, dow) = (
        brute_field(f[0], 0, 59),
        brute_field(f[1], 0, 23),
        brute_field(f[2], 1, 31),
        brute_field(f[3], 1, 12),
        brute_field(f[4], 0, 7),
    );
    let day_ok = |d: NaiveDate| {
        let wd = d.weekday().num_days_from_sunday() as usize;
        let dom_ok = dom.values[d.day() as usize] || dom.rules.iter().any(|r| brute_rule(r, d));
        let dow_ok = dow.values[wd]
            || (wd == 0 && dow.values[7])
            || dow.rules.iter().any(|r| brute_rule(r, d));
        let days = if dom.star || dow.star {
            dom_ok && dow_ok
        } else {
            dom_ok || dow_ok
        };
        days && month.values[d.month() as usize]
    };
    let mut out = Vec::new();
    let start = from.with_timezone(&tz).date_naive() - Duration::days(1);
    let end = start + Duration::days(366 * i64::from(years));
    let mut d = start;
    while d <= end && out.len() < n {
        if day_ok(d) {
            for h in (0..24).filter(|h| hour.values[*h as usize]) {
                for m in (0..60).filter(|m| minute.values[*m as usize]) {
                    let Some(local) = d.and_hms_opt(h, m, 0) else {
                        continue;
                    };
                    let t = match tz.from_local_datetime(&local) {
                        LocalResult::Single(t) => t,
                        LocalResult::Ambiguous(first, _) => first,
                        LocalResult::None => continue,
                    };
                    let t = t.with_timezone(&Utc);
                    if t > from && out.len() < n {
                        out.push(t);
                    }
                }
            }
        }
        d += Duration::days(1);
    }
    out
}

fn item(min: u32, max: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        (1..=max.min(20)).prop_map(|s| format!("*/{s}")),
        (min..=max).prop_map(|v| v.to_string()),
        (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        (min..=max, min..=max, 1..=10u32).prop_map(|(a, b, s)| format!(
            "{}-{}/{s}",
            a.min(b),
            a.max(b)
        )),
    ]
}

fn field(min: u32, max: u32) -> impl Strategy<Value = String> {
    proptest::collection::vec(item(min, max), 1..=3).prop_map(|v| v.join(","))
}

/// Day-of-month items with the Quartz rules among plain ones.
fn month_day_item() -> impl Strategy<Value = String> {
    prop_oneof![
        item(1, 31),
        Just("L".to_string()),
        Just("LW".to_string()),
        (0..=30u32).prop_map(|n| format!("L-{n}")),
        (1..=31u32).prop_map(|n| format!("{n}W")),
    ]
}

/// Day-of-week items with `d#n` and `dL` among plain ones.
fn weekday_item() -> impl Strategy<Value = String> {
    prop_oneof![
        item(0, 7),
        (0..=7u32, 1..=5u32).prop_map(|(d, n)| format!("{d}#{n}")),
        (0..=7u32).prop_map(|d| format!("{d}L")),
    ]
}

/// Lines whose day fields use the month-dependent rules; minutes and hours kept to one value
/// or two, so each matching day is a run or two and the runs cover months.
fn day_rule_line() -> impl Strategy<Value = String> {
    (
        0..60u32,
        proptest::collection::vec(0..24u32, 1..=2),
        proptest::collection::vec(month_day_item(), 1..=2),
        field(1, 12),
        proptest::collection::vec(weekday_item(), 1..=2),
    )
        .prop_map(|(m, h, dom, month, dow)| {
            let hours: Vec<String> = h.iter().map(u32::to_string).collect();
            format!(
                "{m} {} {} {month} {}",
                hours.join(","),
                dom.join(","),
                dow.join(",")
            )
        })
}

fn cron_line() -> impl Strategy<Value = String> {
    (
        field(0, 59),
        field(0, 23),
        field(1, 31),
        field(1, 12),
        field(0, 7),
    )
        .prop_map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}"))
}

fn instant(from_year: i32, to_year: i32) -> impl Strategy<Value = DateTime<Utc>> {
    let lo = Utc
        .with_ymd_and_hms(from_year, 1, 1, 0, 0, 0)
        .single()
        .map(|t| t.timestamp())
        .unwrap_or(0);
    let hi = Utc
        .with_ymd_and_hms(to_year, 1, 1, 0, 0, 0)
        .single()
        .map(|t| t.timestamp())
        .unwrap_or(1);
    (lo..hi, 0..1_000_000i64).prop_map(|(s, us)| {
        DateTime::from_timestamp(s, 0).unwrap_or_default() + Duration::microseconds(us)
    })
}

fn spec(schedule_type: &str, config: serde_json::Value, at: DateTime<Utc>) -> ScheduleSpec {
    let mut e = FieldErrors::default();
    let kind = super::states::ScheduleType::parse(schedule_type)
        .unwrap_or(super::states::ScheduleType::Cron);
    ScheduleSpec::from_json(kind, &config, at, &mut e).unwrap_or_else(|| panic!("{config}: {e:?}"))
}

/// Our next `n` runs of `line` in zone `z` from `from`, and the brute force's, both cut at the
/// brute force's nine-year horizon.
type Runs = Vec<DateTime<Utc>>;
fn both_within_horizon(line: &str, z: usize, from: DateTime<Utc>, n: usize) -> (Runs, Runs, Runs) {
    let tz: Tz = ZONES[z].parse().unwrap_or(Tz::UTC);
    let s = spec(
        "cron",
        json!({"expression": line, "timezone": ZONES[z]}),
        from,
    );
    let years = 9;
    let ours = s.next_runs(from, n);
    let brute = brute_force(line, tz, from, n, years);
    let horizon = from + Duration::days(366 * i64::from(years) - 2);
    let within = |v: &Runs| {
        v.iter()
            .copied()
            .filter(|t| *t <= horizon)
            .collect::<Runs>()
    };
    (within(&ours), within(&brute), ours)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// 10,000 random 5-field lines × zones × `from`: the same next runs as the brute force.
    #[test]
    fn cron_agrees_with_a_brute_force_matcher(line in cron_line(), z in 0..ZONES.len(), from in instant(2020, 2030)) {
        let (ours_within, brute_within, ours) = both_within_horizon(&line, z, from, 3);
        prop_assert_eq!(&ours_within, &brute_within, "line `{}` in {} from {}", line, ZONES[z], from);
        for w in ours.windows(2) {
            prop_assert!(w[0] < w[1]);
        }
        prop_assert!(ours.iter().all(|t| *t > from && t.second() == 0));
    }

    /// Intervals from 1900 to 2100: strictly after `from`, strictly increasing, on the grid,
    /// and the first one is the first after `from`.
    #[test]
    fn intervals_stay_on_their_grid(seconds in 1..=10i64 * 365 * 86_400, start in instant(1900, 2100), from in instant(1950, 2100)) {
        let s = spec("interval", json!({"intervalSeconds": seconds, "startAt": start.to_rfc3339()}), from);
        let runs = s.next_runs(from, 5);
        prop_assert_eq!(runs.len(), 5);
        let step = Duration::seconds(seconds);
        prop_assert!(runs[0] > from && runs[0] - step <= from.max(start - step));
        for w in runs.windows(2) {
            prop_assert_eq!(w[1] - w[0], step);
        }
        let off = (runs[0] - start).num_microseconds().unwrap_or(1);
        prop_assert_eq!(off % (seconds * 1_000_000), 0);
    }

    /// Request timestamps with nanoseconds, and a schedule validated at one instant and stored
    /// at a later one: the stored fire is never computed again, and the next is one step on.
    #[test]
    fn the_stored_fire_is_never_fired_twice(seconds in 1..=3600i64, validated in instant(2020, 2030), later_us in 0..5_000_000i64, nanos in 0..1_000_000_000u32) {
        let stored_at = validated + Duration::microseconds(later_us);
        let text = format!("{}.{nanos:09}Z", validated.format("%Y-%m-%dT%H:%M:%S"));
        let start = parse_time(&text).unwrap_or(validated);
        prop_assert_eq!(start.nanosecond() % 1_000, 0, "kept below microseconds");
        for config in [json!({"intervalSeconds": seconds}), json!({"intervalSeconds": seconds, "startAt": text})] {
            let input = spec("interval", config, validated);
            let stored = input.anchored(stored_at);
            let first = stored.first_run(stored_at).unwrap_or(stored_at);
            let next = stored.next_after(first).unwrap_or(first);
            prop_assert!(next > first);
            prop_assert_eq!(next - first, Duration::seconds(seconds));
        }
    }
}

proptest! {
    // Fewer cases: a rare rule (`31W` in short months only) walks nine years of days.
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// `L`, `W` and `#` lines from 2026 to 2035 × zones: the same next runs as the brute force
    /// (which lists each month's days to find them).
    #[test]
    fn cron_day_rules_agree_with_a_brute_force_matcher(line in day_rule_line(), z in 0..ZONES.len(), from in instant(2026, 2035)) {
        let (ours_within, brute_within, _) = both_within_horizon(&line, z, from, 6);
        prop_assert_eq!(&ours_within, &brute_within, "line `{}` in {} from {}", line, ZONES[z], from);
    }
}

#[test]
fn the_brute_force_itself_follows_cronie() {
    let utc = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    let ny: Tz = "America/New_York".parse().unwrap_or(Tz::UTC);
    // 02:30 does not exist on 2026-03-08 in New York: skipped.
    assert_eq!(
        brute_force("30 2 * * *", ny, utc("2026-03-07T00:00:00Z"), 2, 1),
        vec![utc("2026-03-07T07:30:00Z"), utc("2026-03-09T06:30:00Z")]
    );
    // 01:30 happens twice on 2026-11-01: once, at the first (EDT) occurrence.
    assert_eq!(
        brute_force("30 1 * * *", ny, utc("2026-11-01T00:00:00Z"), 2, 1),
        vec![utc("2026-11-01T05:30:00Z"), utc("2026-11-02T06:30:00Z")]
    );
    // Both day fields restricted: either matches (the 13th, or a Friday).
    let from = utc("2026-11-01T00:00:00Z");
    assert_eq!(
        brute_force("0 0 13 * 5", Tz::UTC, from, 3, 1),
        vec![
            utc("2026-11-06T00:00:00Z"),
            utc("2026-11-13T00:00:00Z"),
            utc("2026-11-20T00:00:00Z")
        ]
    );
    // `*/2` in day-of-month counts as unrestricted: both must match (odd day AND Monday).
    assert_eq!(
        brute_force("0 0 */2 * 1", Tz::UTC, from, 2, 1),
        vec![utc("2026-11-09T00:00:00Z"), utc("2026-11-23T00:00:00Z")]
    );
    // 7 is Sunday too.
    assert_eq!(
        brute_force("0 0 * * 7", Tz::UTC, from, 1, 1),
        vec![utc("2026-11-08T00:00:00Z")]
    );
}

#[test]
fn a_leap_second_is_the_next_second_and_year_10000_is_refused() {
    let t = parse_time("2026-12-31T23:59:60Z").unwrap_or_default();
    assert_eq!(t.to_rfc3339(), "2027-01-01T00:00:00+00:00");
    assert!(parse_time("9999-12-31T23:59:60Z")
        .err()
        .unwrap_or_default()
        .contains("between years 0000 and 9999"));
    assert!(parse_time("9999-12-31T23:59:59.999999Z").is_ok());
}
