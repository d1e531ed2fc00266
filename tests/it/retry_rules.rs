//! Retry rules by error on real runs: `abortOn` escalates at once, `retryOn` alone decides what
//! retries, and a 429/503 `Retry-After` moves `nextRetryAt` (within `backoffMaxMs`).

use awc::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::app::{assert_envelope, TestApp};
use crate::fakes;
use crate::recovery::{record_when, shell, time};

fn http(name: &str, url: &str, retry: Value) -> Value {
    json!({"name": name, "taskType": "http", "taskConfig": {"url": url, "timeoutMs": 5000},
        "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"},
        "severity": "high", "retryPolicy": retry})
}

/// The error record of one triggered run, once it has left `retrying`.
async fn first_record(app: &TestApp, schedule: &Value) -> Value {
    let exec = app.trigger(schedule).await;
    record_when(app, &exec, "the first failure recorded", |r| {
        r["recoveryStatus"] != "retrying"
    })
    .await
}

#[actix_web::test]
async fn abort_on_escalates_the_first_failure_and_retry_on_picks_what_retries() {
    let app = TestApp::spawn().await;
    let rules = json!({"maxAttempts": 5, "backoffBaseMs": 60_000,
        "abortOn": {"exitCodes": [3]}, "retryOn": {"exitCodes": [4]}});
    let mut seen = Vec::new();
    let mut ids = Vec::new();
    for (code, severity) in [(3, "high"), (4, "medium"), (5, "medium"), (5, "high")] {
        let body = shell(
            &format!("exit-{code}-{severity}"),
            &format!("exit {code}"),
            json!({"severity": severity, "retryPolicy": rules}),
        );
        let s = app.create_schedule(body).await;
        ids.push(s["id"].as_str().unwrap_or_default().to_string());
        let rec = first_record(&app, &s).await;
        seen.push((
            code,
            severity,
            rec["recoveryStatus"].clone(),
            rec["attempts"].clone(),
        ));
    }
    assert_eq!(
        seen,
        vec![
            (3, "high", json!("escalated"), json!(1)),
            (4, "medium", json!("retry_scheduled"), json!(1)),
            (5, "medium", json!("unresolved"), json!(1)),
            (5, "high", json!("escalated"), json!(1)),
        ]
    );
    // The schedule shows its rules as stored.
    let (_, one) = app
        .get(&format!("/api/scheduler/schedules/{}", ids[0]))
        .await;
    let stored = one["retryPolicy"].clone();
    assert_eq!(stored["abortOn"], json!({"exitCodes": [3]}));
    // honorRetryAfter is on by default and shown only when off.
    assert!(stored.get("honorRetryAfter").is_none(), "{stored}");
}

#[actix_web::test]
async fn retry_after_sets_the_next_retry_within_the_cap() {
    let fake = fakes::start_full(|r| {
        let wait = match r.path.as_str() {
            "/seconds" => "30".to_string(),
            "/long" => "3600".to_string(),
            "/date" => (Utc::now() + Duration::seconds(40)).to_rfc2822(),
            _ => "30".to_string(),
        };
        let status = if r.path == "/busy" { 429 } else { 503 };
        (
            status,
            vec![("Retry-After".into(), wait)],
            json!({"busy": true}),
        )
    })
    .await;
    let app = TestApp::spawn().await;
    let base = json!({"maxAttempts": 3, "backoffBaseMs": 100, "backoffMaxMs": 120_000});
    let cases = [
        ("seconds", base.clone(), 29, 31),
        ("busy", base.clone(), 29, 31),
        ("date", base.clone(), 38, 41),
        (
            "long",
            json!({"maxAttempts": 3, "backoffBaseMs": 100, "backoffMaxMs": 5_000}),
            4,
            6,
        ),
        (
            "off",
            json!({"maxAttempts": 3, "backoffBaseMs": 100, "honorRetryAfter": false}),
            0,
            0,
        ),
    ];
    for (path, retry, low, high) in cases {
        let url = format!("{}/{path}", fake.base);
        let s = app.create_schedule(http(path, &url, retry)).await;
        if path == "off" {
            // Retries 100 ms and 200 ms apart, not 30 s: the chain ends well within the wait.
            let exec = app.trigger(&s).await;
            let rec = record_when(&app, &exec, "the chain used its attempts", |r| {
                r["recoveryStatus"] == "escalated"
            })
            .await;
            let took = time(&rec["updatedAt"]) - time(&rec["createdAt"]);
            assert!(took < Duration::seconds(29), "{rec}");
            assert_eq!(rec["attempts"], 3);
            continue;
        }
        let rec = first_record(&app, &s).await;
        assert_eq!(rec["recoveryStatus"], "retry_scheduled", "{path}: {rec}");
        let next = time(&rec["nextRetryAt"]);
        let failed = time(&rec["updatedAt"]);
        let wait = (next - failed).num_seconds();
        assert!((low..=high).contains(&wait), "{path}: retry after {wait} s");
    }
    fake.stop().await;
}

#[actix_web::test]
async fn retry_rules_are_validated_by_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"retryOn": {"exitCodes": [256]}}),
            "retryPolicy.retryOn.exitCodes[0]",
        ),
        (
            json!({"retryOn": {"httpStatuses": [99]}}),
            "retryPolicy.retryOn.httpStatuses[0]",
        ),
        (
            json!({"abortOn": {"errorTypes": ["boom"]}}),
            "retryPolicy.abortOn.errorTypes[0]",
        ),
        (json!({"abortOn": {}}), "retryPolicy.abortOn"),
        (json!({"abortOn": []}), "retryPolicy.abortOn"),
        (
            json!({"retryOn": {"exitCodes": 3}}),
            "retryPolicy.retryOn.exitCodes",
        ),
        (
            json!({"retryOn": {"codes": [3]}}),
            "retryPolicy.retryOn.codes",
        ),
        (
            json!({"honorRetryAfter": "no"}),
            "retryPolicy.honorRetryAfter",
        ),
        (
            json!({"retryOn": {"exitCodes": [-1]}}),
            "retryPolicy.retryOn.exitCodes[0]",
        ),
        (
            json!({"retryOn": {"exitCodes": [1e300]}}),
            "retryPolicy.retryOn.exitCodes[0]",
        ),
    ];
    for (retry, field) in cases {
        let body = shell("bad-rule", "true", json!({"retryPolicy": retry}));
        let (status, err) = app.post("/api/scheduler/schedules", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{retry}");
        assert_envelope(&err, "validation_failed");
        let fields: Vec<Value> = err["error"]["details"]
            .as_array()
            .map(|d| d.iter().map(|p| p["field"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(fields, vec![json!(field)], "{retry}");
    }
}
