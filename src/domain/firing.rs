//! What to do with a due schedule: fire it, catch up missed fires as its misfire policy says,
//! record the slots that do not run as skipped, and when it is due next. Pure, so the rules are tested
//! without a clock.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

use super::gate::{admit, Admit, Occupancy};
use super::rules::Timing;
use super::schedule::ScheduleSpec;
use super::states::{ConcurrencyPolicy, MisfirePolicy, SkipReason, Trigger};

/// Longest walk through missed fires when looking for the latest one.
const MAX_MISSED_WALK: usize = 100_000;
/// Most missed slots of one schedule recorded as skipped by one decision: the newest are kept,
/// older ones are only counted ([`Decision::unrecorded`]).
pub const MAX_RECORDED_SKIPS: usize = 10_000;

/// A due schedule, as the scheduler sees it.
#[derive(Debug, Clone)]
pub struct Due<'a> {
    /// Its fire times (rule, jitter, window).
    pub timing: Timing<'a>,
    /// Its `next_run_at`, which is ≤ now.
    pub due: DateTime<Utc>,
    /// Creation or last replace: a one-time schedule created with a past `runAt` is not a misfire.
    pub anchor: DateTime<Utc>,
    pub misfire: MisfirePolicy,
    pub concurrency: ConcurrencyPolicy,
    /// Its runs that go or wait now (counted only for policies other than a plain `allow`).
    pub occupancy: Occupancy,
    /// Fires (`schedule`, `catch_up`) it has had, for `maxRuns`.
    pub run_count: i64,
}

/// The scheduler's decision for one due schedule. Every slot that was due is either fired or
/// listed in `skipped` (or, past [`MAX_RECORDED_SKIPS`], counted in `unrecorded`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// `(trigger, scheduled_for)` of the executions to create, oldest first.
    pub fires: Vec<(Trigger, DateTime<Utc>)>,
    /// Fires to create waiting for a place (`queue`, `maxConcurrent`), oldest first.
    pub waits: Vec<(Trigger, DateTime<Utc>)>,
    /// `replace`: the schedule's active runs are cancelled before the fire starts.
    pub replace: bool,
    /// Slots that were due and do not run, oldest first, with why.
    pub skipped: Vec<(DateTime<Utc>, SkipReason)>,
    /// Missed slots older than the recorded ones.
    pub unrecorded: usize,
    /// The new `next_run_at`.
    pub next: Option<DateTime<Utc>>,
}

/// Decides; `threshold` is how late a fire may be and still count as on time.
pub fn decide(d: &Due<'_>, now: DateTime<Utc>, threshold: Duration) -> Decision {
    let rules = d.timing.rules;
    let runs_left = rules.runs_left(d.run_count);
    if runs_left == Some(0) {
        return Decision::default();
    }
    let late = now - d.due > threshold;
    let mut out = if let ScheduleSpec::Once { .. } = d.timing.spec {
        // A one-time schedule always runs once; late only changes how it is labelled.
        let trigger = if late && d.due >= d.anchor {
            Trigger::CatchUp
        } else {
            Trigger::Schedule
        };
        one_fire(d, trigger, None)
    } else if !late {
        one_fire(d, Trigger::Schedule, d.timing.next_after(d.due))
    } else {
        missed(d, now)
    };
    // A fire that can no longer start within its deadline does not run.
    if let Some(deadline) = rules.start_deadline() {
        let (keep, expired): (Vec<_>, Vec<_>) = out
            .fires
            .into_iter()
            .partition(|(_, at)| now - *at <= deadline);
        out.fires = keep;
        out.skipped.extend(
            expired
                .into_iter()
                .map(|(_, at)| (at, SkipReason::StartDeadline)),
        );
    }
    gate(d, &mut out);
    out.skipped.sort_by_key(|(at, _)| *at);
    // maxRuns: the fires past the limit are not slots of the schedule any more.
    if let Some(left) = runs_left {
        let left = usize::try_from(left).unwrap_or(usize::MAX);
        if out.fires.len() + out.waits.len() >= left {
            out.fires.truncate(left);
            out.waits.truncate(left - out.fires.len());
            out.next = None;
        }
    }
    out
}

/// Each fire, oldest first, runs, waits, replaces what runs or is skipped, as the
/// concurrency policy says (see [`super::gate`]).
fn gate(d: &Due<'_>, out: &mut Decision) {
    let mut occ = d.occupancy;
    for (trigger, at) in std::mem::take(&mut out.fires) {
        match admit(d.concurrency, d.timing.rules.max_concurrent, &mut occ) {
            Admit::Run => out.fires.push((trigger, at)),
            Admit::Replace => {
                out.replace = true;
                out.fires.push((trigger, at));
            }
            Admit::Wait => out.waits.push((trigger, at)),
            Admit::Skip(reason) => out.skipped.push((at, reason)),
        }
    }
}

/// The due slot fires (the concurrency policy decides after).
fn one_fire(d: &Due<'_>, trigger: Trigger, next: Option<DateTime<Utc>>) -> Decision {
    Decision {
        fires: vec![(trigger, d.due)],
        next,
        ..Decision::default()
    }
}

/// Missed fires: never an unbounded burst. `run_once` catches up the latest missed slot,
/// `run_all` the newest `catchupMax` inside `catchupWindowSeconds` (oldest first), `skip`
/// none; every other slot is recorded skipped.
fn missed(d: &Due<'_>, now: DateTime<Utc>) -> Decision {
    let rules = d.timing.rules;
    let next = d.timing.next_after(now);
    let (missed, unrecorded) = missed_slots(&d.timing, d.due, now);
    let runs = match d.misfire {
        MisfirePolicy::Skip => 0,
        MisfirePolicy::RunOnce => 1,
        MisfirePolicy::RunAll => {
            let oldest = now - rules.catchup_window();
            let fresh = missed.iter().rev().take_while(|t| **t > oldest).count();
            fresh.min(rules.catchup_max())
        }
    };
    let first_run = missed.len() - runs.min(missed.len());
    let mut out = Decision {
        unrecorded,
        next,
        ..Decision::default()
    };
    for (i, t) in missed.into_iter().enumerate() {
        if i < first_run {
            out.skipped.push((t, SkipReason::Misfire));
        } else {
            out.fires.push((Trigger::CatchUp, t));
        }
    }
    out
}

/// The fire times from `due` to `now` (inclusive), the newest [`MAX_RECORDED_SKIPS`] of them,
/// and how many older ones did not fit.
fn missed_slots(
    timing: &Timing<'_>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (VecDeque<DateTime<Utc>>, usize) {
    let mut kept = VecDeque::from([due]);
    let mut dropped = 0;
    let mut last = due;
    for _ in 0..MAX_MISSED_WALK {
        match timing.next_after(last) {
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
mod tests;
