//! Error-record rules: severity, what a failure or a success
//! does to a record, and which operator actions each status allows. Pure: no clock, no I/O.

use chrono::{DateTime, Utc};

use super::retry::{RetryPolicy, Verdict};
use super::retry_rules::Failure;
use super::states::{ErrorType, RecoveryStatus, Severity};

/// The part of an error record the rules read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryState {
    pub status: RecoveryStatus,
    pub severity: Severity,
    /// Failed executions in the chain.
    pub attempts: i32,
    /// Executions allowed in the chain, the first included.
    pub max_attempts: i32,
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// Severity: the schedule's override, else by error type (HTTP 5xx high, 4xx medium).
pub fn severity(
    schedule_override: Option<Severity>,
    error_type: ErrorType,
    http_status: Option<u64>,
) -> Severity {
    if let Some(s) = schedule_override {
        return s;
    }
    match error_type {
        ErrorType::Timeout
        | ErrorType::Connection
        | ErrorType::Conductor
        | ErrorType::Interrupted => Severity::High,
        ErrorType::HttpStatus => match http_status {
            Some(code) if code >= 500 => Severity::High,
            _ => Severity::Medium,
        },
        ErrorType::ExitCode | ErrorType::Spawn | ErrorType::Internal => Severity::Medium,
    }
}

/// True for severities that are retried automatically.
pub fn auto_retried(severity: Severity) -> bool {
    matches!(severity, Severity::High | Severity::Critical)
}

/// Where a record goes after a failure. The policy's rules speak first: an `abortOn` match
/// escalates at once; with `retryOn` set, a match retries with backoff (whatever the severity)
/// while attempts remain and anything else never retries on its own (high and critical
/// escalate, medium and low wait for a person). Without rules, high and critical retry and
/// medium and low go `unresolved`. A chain that has used its attempts escalates. `jitter` is in
/// [0, 1).
///
/// A retry that fails after an operator acted on its record (the record is no longer
/// `retrying`: resolved, ignored, escalated meanwhile) counts as an attempt, but the operator's
/// decision stands.
pub fn after_failure(
    current: &RecoveryState,
    policy: &RetryPolicy,
    failure: &Failure,
    now: DateTime<Utc>,
    jitter: f64,
    first_failure: bool,
) -> RecoveryState {
    let attempts = if first_failure {
        1
    } else {
        current.attempts + 1
    };
    let mut next = RecoveryState {
        attempts,
        next_retry_at: None,
        ..current.clone()
    };
    if !first_failure && current.status != RecoveryStatus::Retrying {
        next.next_retry_at = current.next_retry_at;
        return next;
    }
    let urgent = auto_retried(current.severity);
    let retry = match policy.verdict(failure) {
        Verdict::Abort => false,
        _ if attempts >= current.max_attempts => false,
        Verdict::Retry => true,
        Verdict::NoRetry | Verdict::BySeverity if !urgent => {
            next.status = RecoveryStatus::Unresolved;
            return next;
        }
        Verdict::NoRetry => false,
        Verdict::BySeverity => true,
    };
    if retry {
        let n = u32::try_from(attempts.max(1)).unwrap_or(u32::MAX);
        next.status = RecoveryStatus::RetryScheduled;
        next.next_retry_at = Some(policy.retry_at(n, jitter, failure, now));
    } else {
        next.status = RecoveryStatus::Escalated;
    }
    next
}

/// Operator actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Retry,
    Resolve,
    Ignore,
    Escalate,
}

impl Action {
    /// The status an action leads to.
    pub fn target(self) -> RecoveryStatus {
        match self {
            Action::Retry => RecoveryStatus::Retrying,
            Action::Resolve => RecoveryStatus::Resolved,
            Action::Ignore => RecoveryStatus::Ignored,
            Action::Escalate => RecoveryStatus::Escalated,
        }
    }
}

/// Whether `action` is allowed from `status`; the error names the current status.
pub fn check_action(status: RecoveryStatus, action: Action) -> Result<(), String> {
    let allowed = !(status.is_final()
        || matches!(
            (status, action),
            (RecoveryStatus::Retrying, Action::Retry)
                | (RecoveryStatus::Escalated, Action::Escalate)
        ));
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "error record is {status}; {} is not allowed from {status}",
            match action {
                Action::Retry => "retry",
                Action::Resolve => "resolve",
                Action::Ignore => "ignore",
                Action::Escalate => "escalate",
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn state(severity: Severity, attempts: i32, max: i32) -> RecoveryState {
        RecoveryState {
            status: RecoveryStatus::Retrying,
            severity,
            attempts,
            max_attempts: max,
            next_retry_at: None,
        }
    }

    /// The record as a claimed retry leaves it.
    fn retrying(s: RecoveryState) -> RecoveryState {
        RecoveryState {
            status: RecoveryStatus::Retrying,
            ..s
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn severity_by_type_and_override() {
        assert_eq!(severity(None, ErrorType::Timeout, None), Severity::High);
        assert_eq!(severity(None, ErrorType::Interrupted, None), Severity::High);
        assert_eq!(
            severity(None, ErrorType::HttpStatus, Some(503)),
            Severity::High
        );
        assert_eq!(
            severity(None, ErrorType::HttpStatus, Some(404)),
            Severity::Medium
        );
        assert_eq!(severity(None, ErrorType::ExitCode, None), Severity::Medium);
        assert_eq!(severity(None, ErrorType::Spawn, None), Severity::Medium);
        assert_eq!(
            severity(Some(Severity::Critical), ErrorType::ExitCode, None),
            Severity::Critical
        );
    }

    #[test]
    fn high_failures_retry_with_backoff_then_escalate() {
        let p = RetryPolicy {
            max_attempts: 3,
            backoff_base_ms: 200,
            backoff_max_ms: 10_000,
            ..Default::default()
        };
        let now = at("2026-11-26T10:00:00Z");
        let first = after_failure(
            &state(Severity::High, 0, 3),
            &p,
            &Failure::default(),
            now,
            0.5,
            true,
        );
        assert_eq!(
            (first.status, first.attempts),
            (RecoveryStatus::RetryScheduled, 1)
        );
        assert_eq!(first.next_retry_at, Some(now + Duration::milliseconds(200)));
        let second = after_failure(&retrying(first), &p, &Failure::default(), now, 0.5, false);
        assert_eq!(
            (second.status, second.attempts),
            (RecoveryStatus::RetryScheduled, 2)
        );
        assert_eq!(
            second.next_retry_at,
            Some(now + Duration::milliseconds(400))
        );
        let third = after_failure(&retrying(second), &p, &Failure::default(), now, 0.5, false);
        assert_eq!(
            (third.status, third.attempts, third.next_retry_at),
            (RecoveryStatus::Escalated, 3, None)
        );
    }

    #[test]
    fn medium_waits_for_a_person_and_one_attempt_escalates() {
        let p = RetryPolicy::default();
        let now = at("2026-11-26T10:00:00Z");
        let m = after_failure(
            &state(Severity::Medium, 0, 3),
            &p,
            &Failure::default(),
            now,
            0.0,
            true,
        );
        assert_eq!(m.status, RecoveryStatus::Unresolved);
        let h = after_failure(
            &state(Severity::High, 0, 1),
            &p,
            &Failure::default(),
            now,
            0.0,
            true,
        );
        assert_eq!(h.status, RecoveryStatus::Escalated);
        // A manual retry of a medium chain that fails again waits for a person again...
        let again = after_failure(
            &state(Severity::Medium, 1, 3),
            &p,
            &Failure::default(),
            now,
            0.0,
            false,
        );
        assert_eq!(
            (again.status, again.attempts),
            (RecoveryStatus::Unresolved, 2)
        );
        // ...until the chain has used its attempts.
        let last = after_failure(&retrying(again), &p, &Failure::default(), now, 0.0, false);
        assert_eq!((last.status, last.attempts), (RecoveryStatus::Escalated, 3));
    }

    fn any_severity() -> impl proptest::strategy::Strategy<Value = Severity> {
        proptest::sample::select(vec![
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ])
    }

    proptest::proptest! {
        #[test]
        fn a_failure_counts_once_and_retries_only_while_attempts_remain(
            sev in any_severity(), attempts in 0i32..20, max in 1i32..20,
            base in 1u64..100_000, cap in 1u64..10_000_000, jitter in 0.0f64..1.0, first: bool,
        ) {
            let p = RetryPolicy { max_attempts: max as u32, backoff_base_ms: base, backoff_max_ms: cap, ..Default::default() };
            let now = at("2026-11-26T10:00:00Z");
            let next = after_failure(&state(sev, attempts, max), &p, &Failure::default(), now, jitter, first);
            let counted = if first { 1 } else { attempts + 1 };
            proptest::prop_assert_eq!(next.attempts, counted);
            proptest::prop_assert_eq!(next.status == RecoveryStatus::Escalated, counted >= max);
            proptest::prop_assert_eq!(next.next_retry_at.is_some(), next.status == RecoveryStatus::RetryScheduled);
            if let Some(t) = next.next_retry_at {
                proptest::prop_assert!(t > now && t <= now + Duration::milliseconds(cap as i64));
            }
        }
    }

    #[test]
    fn an_operators_decision_during_a_retry_stands() {
        let p = RetryPolicy::default();
        let now = at("2026-11-26T10:00:00Z");
        for status in [
            RecoveryStatus::Resolved,
            RecoveryStatus::Ignored,
            RecoveryStatus::Escalated,
            RecoveryStatus::Unresolved,
        ] {
            let acted = RecoveryState {
                status,
                ..state(Severity::High, 2, 3)
            };
            let next = after_failure(&acted, &p, &Failure::default(), now, 0.0, false);
            assert_eq!((next.status, next.attempts), (status, 3), "{status}");
        }
    }

    #[test]
    fn final_states_refuse_actions() {
        for action in [
            Action::Retry,
            Action::Resolve,
            Action::Ignore,
            Action::Escalate,
        ] {
            assert!(check_action(RecoveryStatus::Resolved, action).is_err());
            assert!(check_action(RecoveryStatus::Ignored, action).is_err());
        }
        assert!(check_action(RecoveryStatus::Escalated, Action::Retry).is_ok());
        assert!(check_action(RecoveryStatus::Unresolved, Action::Escalate).is_ok());
        assert!(check_action(RecoveryStatus::Retrying, Action::Retry).is_err());
        assert!(check_action(RecoveryStatus::Escalated, Action::Escalate)
            .err()
            .is_some_and(|m| m.contains("escalated")));
    }
}
