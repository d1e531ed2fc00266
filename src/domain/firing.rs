//! What to do with a due schedule: fire it, fire one catch-up for missed fires, record the
//! slots that do not run as skipped, and when it is due next. Pure, so the rules are tested
//! without a clock.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

use super::schedule::ScheduleSpec;
use super::states::{SkipReason, Trigger};

/// Longest walk through missed fires when looking for the latest one.
const MAX_MISSED_WALK: usize = 100_000;
/// Most missed slots of one schedule recorded as skipped by one decision: the newest are kept,
/// older ones are only counted ([`Decision::unrecorded`]).
pub const MAX_RECORDED_SKIPS: usize = 10_000;

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

/// The scheduler's decision for one due schedule. Every slot that was due is either fired or
/// listed in `skipped` (or, past [`MAX_RECORDED_SKIPS`], counted in `unrecorded`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// `(trigger, scheduled_for)` of the execution to create.
    pub fire: Option<(Trigger, DateTime<Utc>)>,
    /// Slots that were due and do not run, oldest first, with why.
    pub skipped: Vec<(DateTime<Utc>, SkipReason)>,
    /// Missed slots older than the recorded ones.
    pub unrecorded: usize,
    /// The new `next_run_at`.
    pub next: Option<DateTime<Utc>>,
}

impl Decision {
    fn fire(trigger: Trigger, at: DateTime<Utc>, next: Option<DateTime<Utc>>) -> Decision {
        Decision {
            fire: Some((trigger, at)),
            skipped: Vec::new(),
            unrecorded: 0,
            next,
        }
    }

    fn overlap(at: DateTime<Utc>, next: Option<DateTime<Utc>>) -> Decision {
        Decision {
            fire: None,
            skipped: vec![(at, SkipReason::Overlap)],
            unrecorded: 0,
            next,
        }
    }
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
            Decision::overlap(d.due, None)
        } else {
            Decision::fire(trigger, d.due, None)
        };
    }
    if !late {
        let next = d.spec.next_after(d.due);
        return if d.blocked_by_running {
            Decision::overlap(d.due, next)
        } else {
            Decision::fire(Trigger::Schedule, d.due, next)
        };
    }
    // Missed fires: never a burst. One catch-up for the latest missed slot (unless the policy
    // skips misfires or the previous run is still going); every other one is recorded skipped.
    let next = d.spec.next_after(now);
    let (mut missed, unrecorded) = missed_slots(d.spec, d.due, now);
    let runs_latest = !d.skip_misfires && !d.blocked_by_running;
    let latest = if d.skip_misfires {
        None
    } else {
        missed.pop_back()
    };
    let mut skipped: Vec<_> = missed
        .into_iter()
        .map(|t| (t, SkipReason::Misfire))
        .collect();
    let fire = match latest {
        Some(t) if runs_latest => Some((Trigger::CatchUp, t)),
        Some(t) => {
            skipped.push((t, SkipReason::Overlap));
            None
        }
        None => None,
    };
    Decision {
        fire,
        skipped,
        unrecorded,
        next,
    }
}

/// The fire times from `due` to `now` (inclusive), the newest [`MAX_RECORDED_SKIPS`] of them,
/// and how many older ones did not fit.
fn missed_slots(
    spec: &ScheduleSpec,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (VecDeque<DateTime<Utc>>, usize) {
    let mut kept = VecDeque::from([due]);
    let mut dropped = 0;
    let mut last = due;
    for _ in 0..MAX_MISSED_WALK {
        match spec.next_after(last) {
            Some(t) if t <= now => {
                if kept.len() == MAX_RECORDED_SKIPS {
                    kept.pop_front();
                    dropped += 1;
                }
                kept.push_back(t);
                last = t;
            }
            _ => break,
        }
    }
    (kept, dropped)
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
        // 10:00 … 12:29 did not run: 150 slots, each accounted for, oldest first.
        assert_eq!(d.skipped.len(), 150);
        assert_eq!(
            d.skipped[0],
            (t("2026-11-26T10:00:00Z"), SkipReason::Misfire)
        );
        assert_eq!(
            d.skipped[149],
            (t("2026-11-26T12:29:00Z"), SkipReason::Misfire)
        );
        let mut skip = due(&s, "2026-11-26T10:00:00Z");
        skip.skip_misfires = true;
        let d = decide(&skip, now, TH);
        assert_eq!(d.fire, None);
        assert_eq!(d.skipped.len(), 151);
        assert!(d.skipped.iter().all(|(_, r)| *r == SkipReason::Misfire));
        assert_eq!(d.next, Some(t("2026-11-26T12:31:00Z")));
        // Blocked: the slot that would have caught up is an overlap.
        let mut busy = due(&s, "2026-11-26T12:00:00Z");
        busy.blocked_by_running = true;
        let d = decide(&busy, now, TH);
        assert_eq!(d.fire, None);
        assert_eq!(
            d.skipped.last(),
            Some(&(t("2026-11-26T12:30:00Z"), SkipReason::Overlap))
        );
        assert_eq!(d.skipped.len(), 31);
    }

    #[test]
    fn a_long_outage_records_the_newest_slots_and_counts_the_rest() {
        let s = every_minute();
        // 20 days of minutes: 28,800 slots.
        let d = decide(
            &due(&s, "2026-11-01T00:00:00Z"),
            t("2026-11-20T23:59:30Z"),
            TH,
        );
        assert_eq!(d.skipped.len() + 1, MAX_RECORDED_SKIPS);
        assert_eq!(d.skipped.len() + 1 + d.unrecorded, 20 * 1440);
        assert_eq!(d.fire, Some((Trigger::CatchUp, t("2026-11-20T23:59:00Z"))));
        for w in d.skipped.windows(2) {
            assert!(w[0].0 < w[1].0);
        }
    }

    #[test]
    fn forbid_skips_while_running() {
        let s = every_minute();
        let mut b = due(&s, "2026-11-26T10:00:00Z");
        b.blocked_by_running = true;
        let d = decide(&b, t("2026-11-26T10:00:00.5Z"), TH);
        assert_eq!(d.fire, None);
        assert_eq!(
            d.skipped,
            vec![(t("2026-11-26T10:00:00Z"), SkipReason::Overlap)]
        );
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
