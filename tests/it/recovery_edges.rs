//! Error recovery at its edges: deleted schedules and retries across a restart.

use crate::app::{eventually, TestApp};
use crate::recovery::{record_when, shell, time};
use awc::http::StatusCode;
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn a_deleted_schedule_is_not_retried_and_the_record_says_why() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(shell(
            "doomed",
            "exit 1",
            json!({"severity": "high", "retryPolicy": {"maxAttempts": 3, "backoffBaseMs": 1500}}),
        ))
        .await;
    let first = app.trigger(&s).await;
    let rec = record_when(&app, &first, "retry scheduled", |r| {
        r["recoveryStatus"] == "retry_scheduled"
    })
    .await;
    let (status, _) = app
        .request(
            "DELETE",
            &format!(
                "/api/scheduler/schedules/{}",
                s["id"].as_str().unwrap_or_default()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let id = rec["id"].as_str().unwrap_or_default();
    let rec = eventually(Duration::from_secs(30), "retry skipped", || async {
        let (_, r) = app.get(&format!("/api/errors/errors/{id}")).await;
        (r["recoveryStatus"] == "unresolved").then_some(r)
    })
    .await;
    assert!(
        rec["note"].as_str().unwrap_or_default().contains("deleted"),
        "{rec}"
    );
    assert_eq!(rec["executions"].as_array().map(Vec::len), Some(1));
    // History of the deleted schedule stays queryable.
    assert_eq!(
        app.executions_of(s["id"].as_str().unwrap_or_default())
            .await
            .len(),
        1
    );
}

#[actix_web::test]
async fn a_retry_scheduled_before_a_restart_runs_once_after_it() {
    let mut a = TestApp::spawn().await;
    let s = a
        .create_schedule(shell(
            "survivor",
            "exit 1",
            json!({"severity": "high", "retryPolicy": {"maxAttempts": 2, "backoffBaseMs": 2000}}),
        ))
        .await;
    let first = a.trigger(&s).await;
    let rec = record_when(&a, &first, "retry scheduled", |r| {
        r["recoveryStatus"] == "retry_scheduled"
    })
    .await;
    let due = time(&rec["nextRetryAt"]);
    a.shutdown().await;

    let b = TestApp::spawn_on(a.db.clone(), |_| {}).await;
    let id = rec["id"].as_str().unwrap_or_default();
    let rec = eventually(Duration::from_secs(30), "retry after restart", || async {
        let (_, r) = b.get(&format!("/api/errors/errors/{id}")).await;
        (r["recoveryStatus"] == "escalated").then_some(r)
    })
    .await;
    let execs = rec["executions"].as_array().cloned().unwrap_or_default();
    assert_eq!(execs.len(), 2, "{rec}");
    assert_eq!(execs[1]["trigger"], "retry");
    assert!(
        time(&execs[1]["startedAt"]) >= due,
        "retry ran before its time"
    );
}
