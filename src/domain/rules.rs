//! The optional rules around a schedule's fire rule: a deterministic jitter, an active window,
//! a run limit, a start deadline and `run_all`'s catch-up limits. [`Timing`] turns a
//! [`ScheduleSpec`] and these rules into the fire times the scheduler, `next-runs` and the
//! previews all use, so what is shown is what fires.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::schedule::ScheduleSpec;
use super::states::{ConcurrencyPolicy, MisfirePolicy};
use super::validate::{FieldErrors, Obj};

/// `catchupMax` when unset.
pub const DEFAULT_CATCHUP_MAX: u32 = 100;
/// `catchupWindowSeconds` when unset: one day.
pub const DEFAULT_CATCHUP_WINDOW_SECS: u32 = 86_400;
/// Largest `jitterSeconds`.
pub const MAX_JITTER_SECS: i64 = 3_600;
/// Most slots looked at to find the next jittered fire (a per-second cron with an hour of
/// jitter has 3,600 candidates).
const MAX_JITTER_WALK: usize = 20_000;
const YEAR_SECS: i64 = 366 * 86_400;

/// The rules, as stored (`fire_rules`) and shown (flattened into the schedule object). Unset
/// fields are absent, not zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FireRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catchup_max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catchup_window_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_runs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_deadline_seconds: Option<u32>,
    /// Under `allow`: at most this many runs of the schedule at once; excess fires wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// Consecutive failed run chains after which the schedule pauses itself (unset: the
    /// server's default). Not a fire rule, but stored beside them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_pause_after_failures: Option<u32>,
}

/// The largest `autoPauseAfterFailures`.
pub const MAX_AUTO_PAUSE: u32 = 10_000;

/// The body fields [`FireRules::from_obj`] reads.
pub const FIELDS: [&str; 9] = [
    "catchupMax",
    "catchupWindowSeconds",
    "jitterSeconds",
    "activeFrom",
    "activeUntil",
    "maxRuns",
    "startDeadlineSeconds",
    "maxConcurrent",
    "autoPauseAfterFailures",
];

/// The fields a preview of an unsaved schedule reads (with `name`, which moves the jitter).
pub const PREVIEW_FIELDS: [&str; 4] = ["jitterSeconds", "activeFrom", "activeUntil", "maxRuns"];

fn opt_u32(obj: &Obj<'_>, key: &str, min: i64, max: i64, e: &mut FieldErrors) -> Option<u32> {
    obj.opt_int(key, min, max, e)
        .and_then(|n| u32::try_from(n).ok())
}

impl FireRules {
    /// Reads the rules from a schedule (or preview) body. `spec` bounds the jitter of an
    /// interval; the policies decide which rules apply (`None`: a preview, which has none).
    pub fn from_obj(
        obj: &Obj<'_>,
        spec: Option<&ScheduleSpec>,
        policies: Option<(MisfirePolicy, ConcurrencyPolicy)>,
        e: &mut FieldErrors,
    ) -> FireRules {
        let rules = FireRules {
            catchup_max: opt_u32(obj, "catchupMax", 1, 10_000, e),
            catchup_window_seconds: opt_u32(obj, "catchupWindowSeconds", 1, 10 * YEAR_SECS, e),
            jitter_seconds: opt_u32(obj, "jitterSeconds", 0, MAX_JITTER_SECS, e),
            active_from: obj.opt_time("activeFrom", e),
            active_until: obj.opt_time("activeUntil", e),
            max_runs: opt_u32(obj, "maxRuns", 1, 1_000_000_000, e),
            start_deadline_seconds: opt_u32(obj, "startDeadlineSeconds", 1, 10 * YEAR_SECS, e),
            max_concurrent: opt_u32(obj, "maxConcurrent", 1, 10_000, e),
            auto_pause_after_failures: opt_u32(
                obj,
                "autoPauseAfterFailures",
                1,
                i64::from(MAX_AUTO_PAUSE),
                e,
            ),
        };
        if let (Some(from), Some(until)) = (rules.active_from, rules.active_until) {
            if until <= from {
                e.add("activeUntil", format!("must be after activeFrom ({from})"));
            }
        }
        if let (Some(j), Some(ScheduleSpec::Interval { seconds, .. })) =
            (rules.jitter_seconds, spec)
        {
            if i64::from(j) >= *seconds {
                e.add(
                    "jitterSeconds",
                    format!("must be less than the interval ({seconds} s), got {j}"),
                );
            }
        }
        if let Some((misfire, concurrency)) = policies {
            let catchup = rules.catchup_max.is_some() || rules.catchup_window_seconds.is_some();
            if catchup && misfire != MisfirePolicy::RunAll {
                let field = if rules.catchup_max.is_some() {
                    "catchupMax"
                } else {
                    "catchupWindowSeconds"
                };
                e.add(field, "applies only with misfirePolicy run_all");
            }
            if misfire == MisfirePolicy::RunAll && concurrency != ConcurrencyPolicy::Allow {
                e.add(
                    "misfirePolicy",
                    format!("run_all starts missed slots side by side, which concurrencyPolicy {concurrency} does not allow (use allow, with maxConcurrent to run them a few at a time)"),
                );
            }
            if rules.max_concurrent.is_some() && concurrency != ConcurrencyPolicy::Allow {
                e.add(
                    "maxConcurrent",
                    format!("applies only with concurrencyPolicy allow (with {concurrency} one run goes at a time)"),
                );
            }
        }
        rules
    }

    /// The stored form (unset fields left out).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({}))
    }

    /// The stored form read back; unreadable or absent is no rules.
    pub fn from_stored(v: &serde_json::Value) -> FireRules {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }

    pub fn catchup_max(&self) -> usize {
        self.catchup_max.unwrap_or(DEFAULT_CATCHUP_MAX) as usize
    }

    pub fn catchup_window(&self) -> Duration {
        Duration::seconds(i64::from(
            self.catchup_window_seconds
                .unwrap_or(DEFAULT_CATCHUP_WINDOW_SECS),
        ))
    }

    pub fn start_deadline(&self) -> Option<Duration> {
        self.start_deadline_seconds
            .map(|s| Duration::seconds(i64::from(s)))
    }

    /// Fires left under `maxRuns` after `run_count` of them; None without a limit.
    pub fn runs_left(&self, run_count: i64) -> Option<u64> {
        self.max_runs
            .map(|m| u64::try_from(i64::from(m) - run_count).unwrap_or(0))
    }
}

/// The fire times of one schedule: its rule, moved by the jitter and cut by the window.
#[derive(Debug, Clone, Copy)]
pub struct Timing<'a> {
    pub spec: &'a ScheduleSpec,
    /// The schedule's name: the jitter is a function of (name, slot).
    pub name: &'a str,
    pub rules: &'a FireRules,
}

/// The jitter of `slot` for a schedule named `name`: a whole number of milliseconds in
/// [0, jitter), the same on every instance and every run.
pub fn jitter_offset(name: &str, slot: DateTime<Utc>, jitter_secs: u32) -> Duration {
    let span_ms = u64::from(jitter_secs) * 1_000;
    if span_ms == 0 {
        return Duration::zero();
    }
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0]);
    h.update(slot.timestamp_micros().to_be_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let ms = u64::from_be_bytes(first) % span_ms;
    Duration::milliseconds(i64::try_from(ms).unwrap_or(0))
}

impl Timing<'_> {
    fn jitter_ms(&self) -> i64 {
        i64::from(self.rules.jitter_seconds.unwrap_or(0)) * 1_000
    }

    /// The fire of `slot`: the slot moved by its jitter.
    pub fn fire_of(&self, slot: DateTime<Utc>) -> DateTime<Utc> {
        slot + jitter_offset(self.name, slot, self.rules.jitter_seconds.unwrap_or(0))
    }

    /// The first fire strictly after `after`, inside the window, or None when none is left.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = match self.rules.active_from {
            Some(from) if after < from => from - Duration::microseconds(1),
            _ => after,
        };
        let t = self.jittered_after(start)?;
        match self.rules.active_until {
            Some(until) if t >= until => None,
            _ => super::clock::in_range(t).then_some(t),
        }
    }

    /// Without jitter, the rule's next fire. With it, a slot up to one jitter before `after`
    /// may still fire after it, so every slot from there on is a candidate until one is later
    /// than the best fire found.
    fn jittered_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let span = self.jitter_ms();
        if span == 0 {
            return self.spec.next_after(after);
        }
        let back = after.checked_sub_signed(Duration::milliseconds(span))?;
        let mut slot = self.spec.next_after(back)?;
        let mut best: Option<DateTime<Utc>> = None;
        for _ in 0..MAX_JITTER_WALK {
            if best.is_some_and(|b| slot >= b) {
                break;
            }
            let fire = self.fire_of(slot);
            if fire > after && best.is_none_or(|b| fire < b) {
                best = Some(fire);
            }
            match self.spec.next_after(slot) {
                Some(n) => slot = n,
                None => break,
            }
        }
        best
    }

    /// `nextRunAt` of a new or edited schedule: a one-time schedule with a past `runAt` is due
    /// at once (outside the window it never is).
    pub fn first_run(&self, now: DateTime<Utc>, run_count: i64) -> Option<DateTime<Utc>> {
        if self.rules.runs_left(run_count) == Some(0) {
            return None;
        }
        match self.spec {
            ScheduleSpec::Once { run_at } => {
                let t = self.fire_of(*run_at);
                let after_from = self.rules.active_from.is_none_or(|f| t >= f);
                let before_until = self.rules.active_until.is_none_or(|u| t < u);
                (after_from && before_until).then_some(t)
            }
            _ => self.next_after(now),
        }
    }

    /// The fires in [from, to), at most `cap` (a backfill's slots).
    pub fn slots_in(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: usize,
    ) -> Vec<DateTime<Utc>> {
        let before = from - Duration::microseconds(1);
        super::schedule::walk(|t| self.next_after(t), before, Some(to), cap)
    }

    /// Up to `count` fires strictly after `from`, stopping after the runs `maxRuns` leaves.
    pub fn next_runs(
        &self,
        from: DateTime<Utc>,
        count: usize,
        run_count: i64,
    ) -> Vec<DateTime<Utc>> {
        let left = self.rules.runs_left(run_count).map_or(count, |l| {
            count.min(usize::try_from(l).unwrap_or(usize::MAX))
        });
        if let ScheduleSpec::Once { .. } = self.spec {
            return self
                .first_run(from, run_count)
                .filter(|t| *t > from && left > 0)
                .into_iter()
                .collect();
        }
        super::schedule::walk(|t| self.next_after(t), from, None, left)
    }
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
