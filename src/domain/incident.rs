//! Notifications once per incident: the first escalation of an error group is notified, then at
//! most one per `repeat_after` while the group keeps escalating (telling how many were held
//! back), and the group's end is notified once. Pure; the caller holds the group's row lock.

use chrono::{DateTime, Duration, Utc};

/// A group's notification state, as stored on its row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Incident {
    /// An escalation was notified and the group has not ended since.
    pub open: bool,
    pub notified_at: Option<DateTime<Utc>>,
    /// Escalations since `notified_at` that were not notified.
    pub suppressed: i64,
}

/// What to do with one escalation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Notify; `suppressed` escalations were held back since the previous notification.
    Send { suppressed: i64 },
    /// Hold it back (counted).
    Hold,
}

/// Decides one escalation of the group at `now`.
pub fn on_escalation(
    state: Incident,
    now: DateTime<Utc>,
    repeat_after: Duration,
) -> (Notice, Incident) {
    let due = match (state.open, state.notified_at) {
        (true, Some(at)) => now - at >= repeat_after,
        _ => true,
    };
    if due {
        let suppressed = if state.open { state.suppressed } else { 0 };
        let next = Incident {
            open: true,
            notified_at: Some(now),
            suppressed: 0,
        };
        (Notice::Send { suppressed }, next)
    } else {
        let next = Incident {
            suppressed: state.suppressed + 1,
            ..state
        };
        (Notice::Hold, next)
    }
}

#[cfg(test)]
mod tests;
