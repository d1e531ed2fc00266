//! Triage through the real app on a real database: bulk actions that skip what their status
//! forbids, their validation, and the history of a record listing automatic and manual
//! changes in order.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::firing::{id_of, time};

/// Never fires by itself; every trigger fails with exit 3.
fn failing(name: &str, severity: &str, attempts: u32) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": "exit 3"},
        "scheduleType": "once", "scheduleConfig": {"runAt": "2099-01-01T00:00:00Z"},
        "severity": severity, "retryPolicy": {"maxAttempts": attempts, "backoffBaseMs": 50}})
}

async fn records_of(app: &TestApp, schedule: &str, status: &str, n: usize) -> Vec<Value> {
    eventually(Duration::from_secs(30), "records", || async {
        let (_, page) = app
            .get(&format!(
                "/api/errors/errors?scheduleId={schedule}&recoveryStatus={status}"
            ))
            .await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= n).then_some(items)
    })
    .await
}

#[actix_web::test]
async fn bulk_acts_on_what_matches_and_skips_what_its_status_forbids() {
    let app = TestApp::spawn().await;
    let s = app.create_schedule(failing("bulk", "medium", 3)).await;
    let id = id_of(&s);
    for _ in 0..3 {
        app.trigger(&s).await;
    }
    let recs = records_of(&app, &id, "unresolved", 3).await;
    let first = recs[0]["id"].as_str().unwrap_or("").to_string();
    let (status, _) = app
        .post(&format!("/api/errors/errors/{first}/resolve"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app
        .post(
            "/api/errors/bulk",
            &json!({"action": "ignore", "filter": {"scheduleId": id}, "note": "known flake"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"affected": 2, "skipped": 1}));
    // A comma list and an array name the same statuses.
    for statuses in [json!("ignored,resolved"), json!(["ignored", "resolved"])] {
        let (status, body) = app
            .post(
                "/api/errors/bulk",
                &json!({"action": "retry", "filter": {"scheduleId": id, "recoveryStatus": statuses}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"affected": 0, "skipped": 3}));
    }
    let (_, page) = app
        .get(&format!(
            "/api/errors/errors?scheduleId={id}&recoveryStatus=ignored,resolved"
        ))
        .await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(3));
    let (_, detail) = app
        .get(&format!(
            "/api/errors/errors/{}",
            recs[1]["id"].as_str().unwrap_or("")
        ))
        .await;
    let last = detail["history"].as_array().and_then(|h| h.last().cloned());
    assert_eq!(
        last.as_ref()
            .map(|h| (&h["action"], &h["note"], &h["toStatus"])),
        Some((&json!("ignore"), &json!("known flake"), &json!("ignored")))
    );
}

#[actix_web::test]
async fn bulk_bodies_that_make_no_sense_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::now_v7().to_string();
    for (body, field) in [
        (json!({"filter": {"scheduleId": id}}), "action"),
        (
            json!({"action": "explode", "filter": {"scheduleId": id}}),
            "action",
        ),
        (json!({"action": "resolve"}), "filter"),
        (json!({"action": "resolve", "filter": {}}), "filter"),
        (
            json!({"action": "resolve", "filter": {"scheduleId": "nope"}}),
            "filter.scheduleId",
        ),
        (
            json!({"action": "resolve", "filter": {"recoveryStatus": "bogus"}}),
            "filter.recoveryStatus",
        ),
        (
            json!({"action": "resolve", "filter": {"recoveryStatus": 7}}),
            "filter.recoveryStatus",
        ),
        (
            json!({"action": "resolve", "filter": {"colour": "red"}}),
            "filter.colour",
        ),
        (
            json!({"action": "resolve", "filter": {"scheduleId": id}, "note": "x".repeat(100_000)}),
            "note",
        ),
        (
            json!({"action": "resolve", "filter": {"scheduleId": id}, "note": "fixed\u{0}"}),
            "note",
        ),
        (
            json!({"action": "resolve", "filter": {"fingerprint": "ab\u{0}cd"}}),
            "filter.fingerprint",
        ),
        (
            json!({"action": "resolve", "filter": {"fingerprint": 12}}),
            "filter.fingerprint",
        ),
    ] {
        let (status, got) = app.post("/api/errors/bulk", &body).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE,
            "{status} {got}"
        );
        if status == StatusCode::BAD_REQUEST {
            assert_envelope(&got, "validation_failed");
            assert!(got.to_string().contains(field), "{field}: {got}");
        }
    }
}

#[actix_web::test]
async fn history_lists_automatic_and_manual_changes_in_order() {
    let app = TestApp::spawn().await;
    let s = app.create_schedule(failing("history", "high", 2)).await;
    let id = id_of(&s);
    app.trigger(&s).await;
    let rec = records_of(&app, &id, "escalated", 1).await;
    let rid = rec[0]["id"].as_str().unwrap_or("").to_string();
    let (status, _) = app
        .post(
            &format!("/api/errors/errors/{rid}/resolve"),
            &json!({"note": "fixed the disk"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = app.get(&format!("/api/errors/errors/{rid}")).await;
    let history = detail["history"].as_array().cloned().unwrap_or_default();
    let steps: Vec<(String, String, String)> = history
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap_or("").to_string(),
                h["fromStatus"].as_str().unwrap_or("-").to_string(),
                h["toStatus"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = [
        ("recorded", "-", "retry_scheduled"),
        ("retry_started", "retry_scheduled", "retrying"),
        ("failed", "retrying", "escalated"),
        ("resolve", "escalated", "resolved"),
    ]
    .map(|(a, f, t)| (a.to_string(), f.to_string(), t.to_string()));
    assert_eq!(steps, want.to_vec(), "{detail}");
    assert!(history[..3].iter().all(|h| h["actor"] == "system"));
    assert_ne!(history[3]["actor"], "system");
    assert_eq!(history[3]["note"], "fixed the disk");
    for w in history.windows(2) {
        assert!(time(&w[0]["at"]) <= time(&w[1]["at"]), "{w:?}");
    }
}
