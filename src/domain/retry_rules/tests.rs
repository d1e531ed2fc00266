use super::*;
use crate::domain::recovery::{after_failure, RecoveryState};
use crate::domain::retry::RetryPolicy;
use crate::domain::states::{RecoveryStatus, Severity};
use proptest::prelude::*;
use serde_json::json;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn now() -> DateTime<Utc> {
    at("2026-11-26T10:00:00Z")
}

fn exit(code: i64) -> Failure {
    Failure {
        error_type: Some(ErrorType::ExitCode),
        exit_code: Some(code),
        ..Default::default()
    }
}

fn http(status: u16, retry_after: Option<&str>) -> Failure {
    let headers = retry_after.map_or(json!({}), |h| json!({"retry-after": h}));
    let result = json!({"status": status, "headers": headers});
    Failure::read(Some(ErrorType::HttpStatus), Some(&result), now())
}

fn first(sev: Severity, max: i32) -> RecoveryState {
    RecoveryState {
        status: RecoveryStatus::Unresolved,
        severity: sev,
        attempts: 0,
        max_attempts: max,
        next_retry_at: None,
    }
}

fn policy(v: serde_json::Value) -> RetryPolicy {
    let mut e = FieldErrors::default();
    let p = RetryPolicy::from_json(&v, &mut e);
    assert!(e.is_empty(), "{}", e.summary());
    p.unwrap_or_default()
}

#[test]
fn a_match_is_an_or_across_keys() {
    let m = ErrorMatch {
        error_types: vec![ErrorType::Timeout],
        exit_codes: vec![3],
        http_statuses: vec![503],
    };
    assert!(m.matches(&exit(3)));
    assert!(!m.matches(&exit(4)));
    assert!(m.matches(&http(503, None)));
    assert!(!m.matches(&http(500, None)));
    let timeout = Failure {
        error_type: Some(ErrorType::Timeout),
        ..Default::default()
    };
    assert!(m.matches(&timeout));
    assert!(!m.matches(&Failure::default()));
}

#[test]
fn validation_names_the_list_and_the_entry() {
    let mut e = FieldErrors::default();
    let bad = json!({
        "retryOn": {"exitCodes": [1, 300], "httpStatuses": "503", "colour": 1},
        "abortOn": {},
        "honorRetryAfter": "yes",
    });
    assert!(RetryPolicy::from_json(&bad, &mut e).is_none());
    let mut fields = e.fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "retryPolicy.abortOn",
            "retryPolicy.honorRetryAfter",
            "retryPolicy.retryOn.colour",
            "retryPolicy.retryOn.exitCodes[1]",
            "retryPolicy.retryOn.httpStatuses",
        ]
    );
    let mut e = FieldErrors::default();
    let bad = json!({"abortOn": {"errorTypes": ["timeout", "nope", 7]}});
    assert!(RetryPolicy::from_json(&bad, &mut e).is_none());
    assert_eq!(
        e.fields(),
        vec![
            "retryPolicy.abortOn.errorTypes[1]",
            "retryPolicy.abortOn.errorTypes[2]"
        ]
    );
    let mut e = FieldErrors::default();
    let long: Vec<i64> = (0..101).collect();
    assert!(RetryPolicy::from_json(&json!({"retryOn": {"exitCodes": long}}), &mut e).is_none());
    assert_eq!(e.fields(), vec!["retryPolicy.retryOn.exitCodes"]);
}

#[test]
fn a_policy_round_trips_through_its_stored_json() {
    let p = policy(json!({"retryOn": {"exitCodes": [4, 4, 5]}, "honorRetryAfter": false}));
    assert_eq!(
        p.retry_on.as_ref().map(|m| m.exit_codes.clone()),
        Some(vec![4, 5])
    );
    let stored = serde_json::to_value(&p).unwrap_or_default();
    assert_eq!(stored["retryOn"], json!({"exitCodes": [4, 5]}));
    assert!(stored.get("abortOn").is_none());
    let back: RetryPolicy = serde_json::from_value(stored).unwrap_or_default();
    assert_eq!(back, p);
    // A policy stored before the rules existed reads with honorRetryAfter on.
    let old: RetryPolicy =
        serde_json::from_value(json!({"maxAttempts": 2, "backoffBaseMs": 10, "backoffMaxMs": 20}))
            .unwrap_or_default();
    assert!(old.honor_retry_after && old.retry_on.is_none());
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    let n = now();
    assert_eq!(parse_retry_after("30", n), Some(n + Duration::seconds(30)));
    assert_eq!(parse_retry_after(" 0 ", n), Some(n));
    assert_eq!(
        parse_retry_after("Thu, 26 Nov 2026 10:05:00 GMT", n),
        Some(at("2026-11-26T10:05:00Z"))
    );
    for bad in [
        "",
        "-5",
        "1.5",
        "soon",
        "30s",
        "Thu, 99 Nov 2026 10:05:00 GMT",
    ] {
        assert_eq!(parse_retry_after(bad, n), None, "{bad:?}");
    }
    let huge = "99999999999999999999999999";
    assert_eq!(
        parse_retry_after(huge, n),
        Some(n + Duration::seconds(366 * 86_400))
    );
}

#[test]
fn retry_after_counts_only_for_429_and_503() {
    assert!(http(429, Some("5")).asked_wait().is_some());
    assert!(http(503, Some("5")).asked_wait().is_some());
    assert!(http(500, Some("5")).asked_wait().is_none());
    assert!(http(503, None).asked_wait().is_none());
}

#[test]
fn abort_on_escalates_at_once_and_retry_on_decides_alone() {
    let p = policy(json!({"abortOn": {"exitCodes": [3]}, "retryOn": {"exitCodes": [4]}}));
    let s = after_failure(&first(Severity::High, 5), &p, &exit(3), now(), 0.5, true);
    assert_eq!((s.status, s.attempts), (RecoveryStatus::Escalated, 1));
    // A medium failure that matches retryOn retries on its own...
    let s = after_failure(&first(Severity::Medium, 5), &p, &exit(4), now(), 0.5, true);
    assert_eq!(s.status, RecoveryStatus::RetryScheduled);
    // ...and one that does not waits for a person (medium) or escalates (high).
    let s = after_failure(&first(Severity::Medium, 5), &p, &exit(5), now(), 0.5, true);
    assert_eq!(s.status, RecoveryStatus::Unresolved);
    let s = after_failure(&first(Severity::High, 5), &p, &exit(5), now(), 0.5, true);
    assert_eq!(s.status, RecoveryStatus::Escalated);
}

#[test]
fn retry_after_moves_the_retry_later_within_the_cap() {
    let p = policy(json!({"backoffBaseMs": 100, "backoffMaxMs": 5_000}));
    let s = after_failure(
        &first(Severity::High, 5),
        &p,
        &http(503, Some("3")),
        now(),
        0.5,
        true,
    );
    assert_eq!(s.next_retry_at, Some(now() + Duration::seconds(3)));
    let s = after_failure(
        &first(Severity::High, 5),
        &p,
        &http(429, Some("3600")),
        now(),
        0.5,
        true,
    );
    assert_eq!(s.next_retry_at, Some(now() + Duration::seconds(5)));
    let off =
        policy(json!({"backoffBaseMs": 100, "backoffMaxMs": 5_000, "honorRetryAfter": false}));
    let s = after_failure(
        &first(Severity::High, 5),
        &off,
        &http(503, Some("3")),
        now(),
        0.5,
        true,
    );
    assert_eq!(s.next_retry_at, Some(now() + Duration::milliseconds(100)));
}

fn any_failure() -> impl Strategy<Value = Failure> {
    let types = prop::sample::select(ErrorType::ALL.to_vec());
    (
        prop::option::of(types),
        prop::option::of(0i64..8),
        prop::option::of(prop::sample::select(vec![429u16, 500, 503, 404])),
        prop::option::of(-100i64..100_000),
    )
        .prop_map(|(error_type, exit_code, http_status, wait)| Failure {
            error_type,
            exit_code,
            http_status,
            retry_after: wait.map(|w| now() + Duration::seconds(w)),
        })
}

fn any_match() -> impl Strategy<Value = Option<ErrorMatch>> {
    prop::option::of(
        (
            prop::collection::vec(prop::sample::select(ErrorType::ALL.to_vec()), 0..3),
            prop::collection::vec(0i64..8, 0..3),
            prop::collection::vec(prop::sample::select(vec![429u16, 500, 503, 404]), 0..2),
        )
            .prop_map(|(error_types, exit_codes, http_statuses)| ErrorMatch {
                error_types,
                exit_codes,
                http_statuses,
            }),
    )
}

fn any_severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::ALL.to_vec())
}

proptest! {
    #[test]
    fn the_rules_hold_for_any_failure(
        f in any_failure(), retry_on in any_match(), abort_on in any_match(),
        honor: bool, sev in any_severity(), max in 1i32..6,
        base in 1u64..10_000, extra in 0u64..100_000, jitter in 0.0f64..1.0,
    ) {
        let p = RetryPolicy {
            max_attempts: max as u32, backoff_base_ms: base, backoff_max_ms: base + extra,
            retry_on: retry_on.clone(), abort_on: abort_on.clone(), honor_retry_after: honor,
        };
        let s = after_failure(&first(sev, max), &p, &f, now(), jitter, true);
        let cap = now() + Duration::milliseconds((base + extra) as i64);
        if abort_on.as_ref().is_some_and(|m| m.matches(&f)) {
            prop_assert_eq!(s.status, RecoveryStatus::Escalated);
        }
        if retry_on.as_ref().is_some_and(|m| !m.matches(&f)) {
            prop_assert_ne!(s.status, RecoveryStatus::RetryScheduled);
        }
        prop_assert_eq!(s.next_retry_at.is_some(), s.status == RecoveryStatus::RetryScheduled);
        if let Some(t) = s.next_retry_at {
            prop_assert!(t > now() && t <= cap);
            if let Some(asked) = f.asked_wait().filter(|_| honor) {
                prop_assert!(t >= asked.min(cap), "{t} before {asked}");
            }
        }
    }
}
