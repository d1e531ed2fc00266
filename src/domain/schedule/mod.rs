//! When a schedule fires: cron (with time zone and DST rules), interval, once. The scheduler,
//! `next-runs` and `preview` all use [`ScheduleSpec::next_after`], so they agree exactly.

use chrono::{DateTime, Duration, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

use super::cron::CronSchedule;
use super::states::DstMark;
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

    /// The zone local times are shown in: the cron's, UTC otherwise.
    pub fn zone(&self) -> Tz {
        match self {
            ScheduleSpec::Cron { timezone, .. } => *timezone,
            _ => Tz::UTC,
        }
    }

    /// How DST touches the run at `at` that follows `prev`: inside a repeated hour, or after a
    /// local time of the rule that did not exist.
    pub fn dst_mark(&self, prev: DateTime<Utc>, at: DateTime<Utc>) -> Option<DstMark> {
        let ScheduleSpec::Cron {
            timezone, schedule, ..
        } = self
        else {
            return None;
        };
        let local = at.with_timezone(timezone).naive_local();
        if let LocalResult::Ambiguous(..) = timezone.from_local_datetime(&local) {
            return Some(DstMark::Overlap);
        }
        let mut t = prev.with_timezone(timezone).naive_local();
        // The rule's local times between the two runs: one that does not exist was skipped.
        for _ in 0..1_000 {
            match schedule.next_local_after(t) {
                Some(n) if n < local => {
                    if let LocalResult::None = timezone.from_local_datetime(&n) {
                        return Some(DstMark::Gap);
                    }
                    t = n;
                }
                _ => return None,
            }
        }
        None
    }

    /// Up to `count` fires strictly after `from`.
    pub fn next_runs(&self, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        walk(|t| self.next_after(t), from, None, count)
    }
}

/// Up to `count` times from `next` (the first time strictly after its argument), starting
/// after `from` and, when `to` is given, before it.
pub fn walk(
    next: impl Fn(DateTime<Utc>) -> Option<DateTime<Utc>>,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    count: usize,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::with_capacity(count.min(1_000));
    let mut t = from;
    while out.len() < count {
        match next(t).filter(|n| to.is_none_or(|to| *n < to)) {
            Some(n) => {
                out.push(n);
                t = n;
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests;
