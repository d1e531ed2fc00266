//! What to do with a due schedule: fire it, fire one catch-up for missed
//! fires, skip, and when it is due next. Pure, so the rules are tested without a clock.

use chrono::{DateTime, Duration, Utc};

use super::schedule::ScheduleSpec;
use super::states::Trigger;

/// Longest walk through missed fires when looking for the latest one.
const MAX_MISSED_WALK: usize = 100_000;

/// A due schedule, as the scheduler sees it.
#[derive(Debug, Clone)]
pub struct Due<'a> {
    pub spec: &'a ScheduleSpec,
    /// Its `next_run_at`, which is ≤ now.
    pub due: DateTime<Utc>,
    /// Creation or last replace: a one-time schedule created with a past `runAt` is not a misfire.
    pub anchor: DateTime<Utc>,
    /// `misfirePolicy` is `skip`.
    pub skip_misfires: bool,
    /// `concurrencyPolicy` is `forbid` and a run is still pending or running.
    pub blocked_by_running: bool,
}

/// Why a due fire did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// `concurrencyPolicy: forbid` and the previous run is still going.
    StillRunning,
    /// Missed fires under `misfirePolicy: skip`.
    Misfire,
}

/// The scheduler's decision for one due schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `(trigger, scheduled_for)` of the execution to create.
    pub fire: Option<(Trigger, DateTime<Utc>)>,
    pub skipped: Option<Skip>,
    /// The new `next_run_at`.
    pub next: Option<DateTime<Utc>>,
}

/// Decides; `threshold` is how late a fire may be and still count as on time.
pub fn decide(d: &Due<'_>, now: DateTime<Utc>, threshold: Duration) -> Decision {
    let late = now - d.due > threshold;
    if let ScheduleSpec::Once { .. } = d.spec {
        // A one-time schedule always runs once; late only changes how it is labelled.
        let trigger = if late && d.due >= d.anchor {
            Trigger::CatchUp
        } else {
            Trigger::Schedule
        };
        return if d.blocked_by_running {
            Decision {
                fire: None,
                skipped: Some(Skip::StillRunning),
                next: None,
            }
        } else {
            Decision {
                fire: Some((trigger, d.due)),
                skipped: None,
                next: None,
            }
        };
    }
    if !late {
        let next = d.spec.next_after(d.due);
        return if d.blocked_by_running {
            Decision {
                fire: None,
                skipped: Some(Skip::StillRunning),
                next,
            }
        } else {
            Decision {
                fire: Some((Trigger::Schedule, d.due)),
                skipped: None,
                next,
            }
        };
    }
    // Missed fires: never a burst. One catch-up for the latest missed slot, or none.
    let next = d.spec.next_after(now);
    if d.skip_misfires {
        return Decision {
            fire: None,
            skipped: Some(Skip::Misfire),
            next,
        };
    }
    if d.blocked_by_running {
        return Decision {
            fire: None,
            skipped: Some(Skip::StillRunning),
            next,
        };
    }
    Decision {
        fire: Some((Trigger::CatchUp, latest_missed(d.spec, d.due, now))),
        skipped: None,
        next,
    }
}

/// The last fire time ≤ `now`, starting from the due one.
fn latest_missed(spec: &ScheduleSpec, due: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut last = due;
    for _ in 0..MAX_MISSED_WALK {
        match spec.next_after(last) {
            Some(t) if t <= now => last = t,
            _ => break,
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate::FieldErrors;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn every_minute() -> ScheduleSpec {
        let mut e = FieldErrors::default();
        ScheduleSpec::from_json(
            crate::domain::states::ScheduleType::Cron,
            &json!({"expression": "* * * * *"}),
            Utc::now(),
            &mut e,
        )
        .unwrap_or_else(|| panic!("{e:?}"))
    }

    fn due<'a>(spec: &'a ScheduleSpec, due: &str) -> Due<'a> {
        Due {
            spec,
            due: t(due),
            anchor: t("2026-01-01T00:00:00Z"),
            skip_misfires: false,
            blocked_by_running: false,
        }
    }

    const TH: Duration = Duration::seconds(5);

    #[test]
    fn on_time_fires_and_advances() {
        let s = every_minute();
        let d = decide(
            &due(&s, "2026-11-26T10:00:00Z"),
            t("2026-11-26T10:00:00.002Z"),
            TH,
        );
        assert_eq!(d.fire, Some((Trigger::Schedule, t("2026-11-26T10:00:00Z"))));
        assert_eq!(d.next, Some(t("2026-11-26T10:01:00Z")));
    }

    #[test]
    fn missed_fires_catch_up_once_or_skip() {
        let s = every_minute();
        let now = t("2026-11-26T12:30:30Z");
        let d = decide(&due(&s, "2026-11-26T10:00:00Z"), now, TH);
        assert_eq!(d.fire, Some((Trigger::CatchUp, t("2026-11-26T12:30:00Z"))));
        assert_eq!(d.next, Some(t("2026-11-26T12:31:00Z")));
        let mut skip = due(&s, "2026-11-26T10:00:00Z");
        skip.skip_misfires = true;
        let d = decide(&skip, now, TH);
        assert_eq!((d.fire, d.skipped), (None, Some(Skip::Misfire)));
        assert_eq!(d.next, Some(t("2026-11-26T12:31:00Z")));
    }

    #[test]
    fn forbid_skips_while_running() {
        let s = every_minute();
        let mut b = due(&s, "2026-11-26T10:00:00Z");
        b.blocked_by_running = true;
        let d = decide(&b, t("2026-11-26T10:00:00.5Z"), TH);
        assert_eq!((d.fire, d.skipped), (None, Some(Skip::StillRunning)));
        assert_eq!(d.next, Some(t("2026-11-26T10:01:00Z")));
    }

    #[test]
    fn once_runs_once_even_when_late() {
        let s = ScheduleSpec::Once {
            run_at: t("2026-11-26T10:00:00Z"),
        };
        let d = decide(
            &due(&s, "2026-11-26T10:00:00Z"),
            t("2026-11-26T11:00:00Z"),
            TH,
        );
        assert_eq!(d.fire, Some((Trigger::CatchUp, t("2026-11-26T10:00:00Z"))));
        assert_eq!(d.next, None);
        // Created with a past runAt: runs now, as an ordinary fire.
        let mut past = due(&s, "2026-11-26T10:00:00Z");
        past.anchor = t("2026-11-26T10:59:59Z");
        past.skip_misfires = true;
        let d = decide(&past, t("2026-11-26T11:00:00Z"), TH);
        assert_eq!(d.fire, Some((Trigger::Schedule, t("2026-11-26T10:00:00Z"))));
    }
}
