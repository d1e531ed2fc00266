//! When a schedule fires: cron (with time zone and DST rules), interval, once. The scheduler,
//! `next-runs` and `preview` all use [`ScheduleSpec::next_after`], so they agree exactly.

use chrono::{DateTime, Duration, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

use super::cron::CronSchedule;
use super::validate::{FieldErrors, Obj};

/// The three schedule kinds, validated.
#[derive(Debug, Clone)]
pub enum ScheduleSpec {
    /// Crontab expression in an IANA time zone.
    Cron {
        expression: String,
        timezone: Tz,
        schedule: CronSchedule,
    },
    /// Every `seconds`, anchored at `start_at` (first fire) or one interval after `anchor`.
    Interval {
        seconds: i64,
        start_at: Option<DateTime<Utc>>,
        anchor: DateTime<Utc>,
    },
    /// Once, at `run_at` (immediately when it is past).
    Once { run_at: DateTime<Utc> },
}

pub use super::states::ScheduleType;

impl ScheduleSpec {
    /// Validates `scheduleConfig` for `schedule_type`; `created_at` anchors intervals without
    /// `startAt`. Errors are collected under `scheduleConfig.<field>`.
    pub fn from_json(
        schedule_type: ScheduleType,
        config: &Value,
        created_at: DateTime<Utc>,
        errors: &mut FieldErrors,
    ) -> Option<ScheduleSpec> {
        let before = errors.len();
        let obj = Obj::new(config, "scheduleConfig", errors)?;
        let spec = match schedule_type {
            ScheduleType::Cron => {
                obj.only(&["expression", "timezone"], errors);
                let expression = obj.req_str("expression", errors)?;
                let tz_name = obj
                    .opt_str("timezone", errors)
                    .unwrap_or_else(|| "UTC".into());
                let timezone = match tz_name.parse::<Tz>() {
                    Ok(tz) => Some(tz),
                    Err(_) => {
                        errors.add(
                            "scheduleConfig.timezone",
                            format!("unknown IANA time zone `{tz_name}` (e.g. UTC, Europe/Berlin)"),
                        );
                        None
                    }
                };
                let schedule = match CronSchedule::parse(&expression) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        errors.add(
                            "scheduleConfig.expression",
                            format!("invalid cron expression `{expression}`: {e}"),
                        );
                        None
                    }
                };
                Some(ScheduleSpec::Cron {
                    expression,
                    timezone: timezone?,
                    schedule: schedule?,
                })
            }
            ScheduleType::Interval => {
                obj.only(&["intervalSeconds", "startAt"], errors);
                let seconds = obj.req_int("intervalSeconds", 1, 10 * 365 * 86_400, errors)?;
                let start_at = obj.opt_time("startAt", errors);
                Some(ScheduleSpec::Interval {
                    seconds,
                    start_at,
                    anchor: created_at,
                })
            }
            ScheduleType::Once => {
                obj.only(&["runAt"], errors);
                let run_at = obj.req_time("runAt", errors)?;
                Some(ScheduleSpec::Once { run_at })
            }
        };
        // Any problem (even in an optional field) rejects the whole config.
        spec.filter(|_| errors.len() == before)
    }

    /// The canonical `scheduleConfig` stored and returned.
    pub fn to_json(&self) -> Value {
        match self {
            ScheduleSpec::Cron {
                expression,
                timezone,
                ..
            } => {
                json!({ "expression": expression, "timezone": timezone.name() })
            }
            ScheduleSpec::Interval {
                seconds, start_at, ..
            } => {
                let mut m = Map::new();
                m.insert("intervalSeconds".into(), json!(seconds));
                if let Some(s) = start_at {
                    m.insert("startAt".into(), json!(s));
                }
                Value::Object(m)
            }
            ScheduleSpec::Once { run_at } => json!({ "runAt": run_at }),
        }
    }

    /// The first fire strictly after `after`, or None when nothing is left.
    ///
    /// Cron times are computed as local wall-clock times and then placed on the time line: a
    /// local time that does not exist (spring-forward gap) is skipped; one that occurs twice
    /// (fall-back overlap) fires once, at its first occurrence.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Past year 9999 nothing can be written as RFC 3339: the schedule has nothing left.
        self.next_unbounded(after)
            .filter(|t| super::clock::in_range(*t))
    }

    /// The same schedule counting intervals without `startAt` from `at`: the anchor that is
    /// stored is the one the first fire was computed from, or the scheduler would compute a
    /// second, slightly different first fire.
    pub fn anchored(&self, at: DateTime<Utc>) -> ScheduleSpec {
        match self {
            ScheduleSpec::Interval {
                seconds, start_at, ..
            } => ScheduleSpec::Interval {
                seconds: *seconds,
                start_at: *start_at,
                anchor: at,
            },
            other => other.clone(),
        }
    }

    fn next_unbounded(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            ScheduleSpec::Cron {
                timezone, schedule, ..
            } => {
                let mut local = after.with_timezone(timezone).naive_local();
                // Bounded: each step moves forward in local time; gaps and repeats are short.
                for _ in 0..10_000 {
                    local = schedule.next_local_after(local)?;
                    let instant = match timezone.from_local_datetime(&local) {
                        LocalResult::Single(t) => t,
                        LocalResult::Ambiguous(first, _) => first,
                        LocalResult::None => continue,
                    };
                    let instant = instant.with_timezone(&Utc);
                    if instant > after {
                        return Some(instant);
                    }
                }
                None
            }
            ScheduleSpec::Interval {
                seconds,
                start_at,
                anchor,
            } => {
                // Microseconds in i64, every step checked: a startAt in 1900 with a 1 s interval
                // is billions of steps back.
                let step_us = seconds.checked_mul(1_000_000)?;
                let first = match start_at {
                    Some(s) => *s,
                    None => anchor.checked_add_signed(Duration::microseconds(step_us))?,
                };
                if after < first {
                    return Some(first);
                }
                let elapsed_us = (after - first).num_microseconds()?;
                let k = (elapsed_us / step_us).checked_add(1)?;
                first.checked_add_signed(Duration::microseconds(k.checked_mul(step_us)?))
            }
            ScheduleSpec::Once { run_at } => (*run_at > after).then_some(*run_at),
        }
    }

    /// `nextRunAt` for a new (or edited) schedule: a one-time schedule with a past `runAt`
    /// is due at once.
    pub fn first_run(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            ScheduleSpec::Once { run_at } => Some(*run_at),
            _ => self.next_after(now),
        }
    }

    /// Up to `count` fires strictly after `from`.
    pub fn next_runs(&self, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(count);
        let mut t = from;
        while out.len() < count {
            match self.next_after(t) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
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
}
