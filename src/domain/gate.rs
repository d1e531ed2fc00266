//! How many runs of one schedule may go at once, and what a fire does when that many already
//! go: the `concurrencyPolicy` (`allow`, `forbid`, `queue`, `replace`) with `maxConcurrent`.
//! Pure: the claim and the release of waiting fires both decide here, each under the schedule's
//! row lock, so several instances take each decision once.

use chrono::{DateTime, Duration, Utc};

use super::states::{ConcurrencyPolicy, SkipReason};

/// Most fires of one `allow` + `maxConcurrent` schedule that wait at once; a fire beyond it is
/// skipped as `backlog`. As large as `catchupMax` may be, so a catch-up never skips itself.
pub const MAX_WAITING: i64 = 10_000;

/// A schedule's executions that hold or wait for a place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Occupancy {
    /// Pending (owned, about to start) or running.
    pub active: i64,
    /// Fires waiting for a place.
    pub waiting: i64,
}

/// What one fire does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// It starts now.
    Run,
    /// It starts when a place is free.
    Wait,
    /// It does not run.
    Skip(SkipReason),
    /// The active runs are cancelled, then it starts.
    Replace,
}

/// Runs of the schedule that may go at once.
pub fn places(policy: ConcurrencyPolicy, max_concurrent: Option<u32>) -> i64 {
    match policy {
        ConcurrencyPolicy::Allow => max_concurrent.map_or(i64::MAX, i64::from),
        _ => 1,
    }
}

/// Decides one fire and counts it into `occ`, so the next fire of the same claim sees it.
/// Waiting fires go first: a fire never overtakes one that waits.
pub fn admit(policy: ConcurrencyPolicy, max_concurrent: Option<u32>, occ: &mut Occupancy) -> Admit {
    let free = occ.waiting == 0 && occ.active < places(policy, max_concurrent);
    let decision = match policy {
        ConcurrencyPolicy::Allow if free => Admit::Run,
        ConcurrencyPolicy::Allow if occ.waiting < MAX_WAITING => Admit::Wait,
        ConcurrencyPolicy::Allow => Admit::Skip(SkipReason::Backlog),
        ConcurrencyPolicy::Forbid if occ.active == 0 => Admit::Run,
        ConcurrencyPolicy::Forbid => Admit::Skip(SkipReason::Overlap),
        ConcurrencyPolicy::Queue if free => Admit::Run,
        ConcurrencyPolicy::Queue if occ.waiting == 0 => Admit::Wait,
        ConcurrencyPolicy::Queue => Admit::Skip(SkipReason::Overlap),
        ConcurrencyPolicy::Replace if occ.active == 0 => Admit::Run,
        ConcurrencyPolicy::Replace => Admit::Replace,
    };
    match decision {
        Admit::Run => occ.active += 1,
        // The replaced runs end; this one takes their place.
        Admit::Replace => occ.active = 1,
        Admit::Wait => occ.waiting += 1,
        Admit::Skip(_) => {}
    }
    decision
}

/// What becomes of a schedule's waiting fires now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release<T> {
    /// They start (oldest first).
    pub start: Vec<T>,
    /// Past their start deadline: recorded skipped.
    pub expired: Vec<T>,
}

/// Frees waiting fires (`(id, fire time)`, oldest first) into the places `active` leaves;
/// one past `deadline` is expired instead, wherever it stands.
pub fn release<T: Copy>(
    places: i64,
    active: i64,
    waiting: &[(T, DateTime<Utc>)],
    deadline: Option<Duration>,
    now: DateTime<Utc>,
) -> Release<T> {
    let mut out = Release {
        start: Vec::new(),
        expired: Vec::new(),
    };
    let mut free = places.saturating_sub(active).max(0);
    for (id, at) in waiting {
        if deadline.is_some_and(|d| now - *at > d) {
            out.expired.push(*id);
        } else if free > 0 {
            out.start.push(*id);
            free -= 1;
        }
    }
    out
}

#[cfg(test)]
mod tests;
