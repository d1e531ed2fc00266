//! Scheduling depth (the second wave's schedule features) through the real app on a real
//! database: Quartz day rules in cron lines, and every slot accounted for (skipped slots).

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::cluster::query_i64;
use crate::firing::id_of;
use crate::websocket::subscribe;
use crate::wsclient::WsClient;

fn shell_cron(name: &str, expr: &str, zone: &str) -> Value {
    json!({
        "name": name,
        "taskType": "shell",
        "taskConfig": {"command": "true"},
        "scheduleType": "cron",
        "scheduleConfig": {"expression": expr, "timezone": zone}
    })
}

#[actix_web::test]
async fn quartz_day_rules_fire_on_the_days_they_name() {
    let app = TestApp::spawn().await;
    // The second Friday at 09:00 in Berlin (CET, UTC+1 in winter).
    let created = app
        .create_schedule(shell_cron(
            "second-friday",
            "0 9 * * FRI#2",
            "Europe/Berlin",
        ))
        .await;
    let id = created["id"].as_str().unwrap_or_default();
    let (status, runs) = app
        .get(&format!(
            "/api/scheduler/schedules/{id}/next-runs?count=3&from=2026-12-01T00:00:00Z"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{runs}");
    assert_eq!(
        runs["runs"],
        json!([
            "2026-12-11T08:00:00Z",
            "2027-01-08T08:00:00Z",
            "2027-02-12T08:00:00Z"
        ])
    );
    // The last weekday or the 15th's nearest weekday, as an unsaved preview.
    let (status, preview) = app
        .post(
            "/api/scheduler/preview",
            &json!({"scheduleType": "cron", "scheduleConfig": {"expression": "0 0 15W,LW * *"}, "count": 4, "from": "2026-02-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        preview["runs"],
        json!([
            "2026-02-16T00:00:00Z",
            "2026-02-27T00:00:00Z",
            "2026-03-16T00:00:00Z",
            "2026-03-31T00:00:00Z"
        ])
    );
}

#[actix_web::test]
async fn a_bad_day_rule_is_a_400_naming_the_expression() {
    let app = TestApp::spawn().await;
    for (expr, says) in [
        ("0 0 L-31 * *", "day-of-month field `L-31`"),
        ("0 0 32W * *", "the day before `W` must be 1-31"),
        ("0 0 * * FRI#6", "the week after `#` must be 1-5"),
        ("0 0 * * L", "in day-of-week write `dL`"),
        ("0 0 L\u{0}W * *", "NUL"),
    ] {
        let (status, resp) = app
            .post("/api/scheduler/schedules", &shell_cron("bad", expr, "UTC"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{expr}: {resp}");
        let m = assert_envelope(&resp, "validation_failed");
        assert!(m.starts_with("scheduleConfig.expression"), "{expr}: {m}");
        assert!(m.contains(says), "{expr}: {m}");
    }
    let (_, list) = app.get("/api/scheduler/schedules").await;
    assert_eq!(list["items"], json!([]));
}

#[actix_web::test]
async fn an_overlapping_slot_is_recorded_skipped_and_announced() {
    let app = TestApp::spawn().await;
    let mut ws = WsClient::connect(&app.base).await;
    let s = app
        .create_schedule(json!({"name": "slow", "taskType": "shell", "taskConfig": {"command": "sleep 2.5"},
            "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"}, "concurrencyPolicy": "forbid"}))
        .await;
    let id = id_of(&s);
    subscribe(&mut ws, json!([format!("schedule:{id}")])).await;
    let event = ws
        .recv_until("execution_skipped", |v| v["type"] == "execution_skipped")
        .await;
    let data = &event["data"];
    assert_eq!(data["status"], "skipped", "{event}");
    assert_eq!(data["skipReason"], "overlap", "{event}");
    assert_eq!(data["scheduleId"], id.as_str());
    assert!(
        data["startedAt"].is_null() && data["scheduledFor"].is_string(),
        "{event}"
    );
    // Stored before it was announced, and listed under its own filter.
    let (status, list) = app
        .get(&format!("/api/executions?status=skipped&scheduleId={id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert!(items.iter().any(|e| e["id"] == data["id"]), "{list}");
    assert!(items
        .iter()
        .all(|e| e["status"] == "skipped" && e["skipReason"] == "overlap"));
    app.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    // Every slot from the first to the last is either a run or a skipped row, never both.
    let url = app.db.url().to_string();
    eventually(Duration::from_secs(20), "no run left active", || async {
        let active = query_i64(&url, &format!("SELECT count(*) AS n FROM task_executions WHERE schedule_id = '{id}' AND status IN ('pending', 'running')")).await;
        (active == 0).then_some(())
    })
    .await;
    let q =
        |what: &str| format!("SELECT {what} AS n FROM task_executions WHERE schedule_id = '{id}'");
    let rows = query_i64(&url, &q("count(*)")).await;
    let slots = query_i64(&url, &q("count(DISTINCT scheduled_for)")).await;
    let span = query_i64(
        &url,
        &q("EXTRACT(EPOCH FROM max(scheduled_for) - min(scheduled_for))::int8 + 1"),
    )
    .await;
    assert_eq!((rows, slots), (span, span), "one row per second-slot");
}

fn every_second(name: &str) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": "true"},
        "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"}})
}

#[actix_web::test]
async fn a_pause_with_an_end_resumes_by_itself_once_across_instances() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sharing().await;
    let s = a.create_schedule(every_second("nap")).await;
    let id = id_of(&s);
    let mut ws = WsClient::connect(&b.base).await;
    subscribe(&mut ws, json!([format!("schedule:{id}")])).await;
    let until = chrono::Utc::now() + chrono::Duration::seconds(3);
    let (status, paused) = a
        .post(
            &format!("/api/scheduler/schedules/{id}/pause"),
            &json!({"reason": "deploy window", "until": until.to_rfc3339()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(paused["enabled"], false);
    assert_eq!(paused["pausedReason"], "deploy window");
    assert!(paused["pausedAt"].is_string(), "{paused}");
    let pause_event = ws
        .recv_until("paused", |v| {
            v["type"] == "schedule_updated" && v["data"]["enabled"] == false
        })
        .await;
    assert_eq!(pause_event["data"]["pausedReason"], "deploy window");
    let resumed = ws
        .recv_until("resumed", |v| {
            v["type"] == "schedule_updated" && v["data"]["enabled"] == true
        })
        .await;
    let data = &resumed["data"];
    assert!(
        data["pausedAt"].is_null()
            && data["pausedReason"].is_null()
            && data["pausedUntil"].is_null(),
        "{resumed}"
    );
    let next = crate::firing::time(&data["nextRunAt"]);
    assert!(next >= until - chrono::Duration::seconds(1), "{resumed}");
    // The resume's own write, not the moment the test saw it, is at or after the end.
    assert!(
        crate::firing::time(&data["updatedAt"]) >= until,
        "resumed before its end: {resumed}"
    );
    // It fires again; one instance resumed it; the paused seconds are not recorded as skipped.
    let url = a.db.url().to_string();
    eventually(Duration::from_secs(20), "a run after the pause", || async {
        let n = query_i64(&url, &format!("SELECT count(*) AS n FROM task_executions WHERE schedule_id = '{id}' AND scheduled_for >= '{}'", until.to_rfc3339())).await;
        (n >= 1).then_some(())
    })
    .await;
    assert_eq!(
        crate::logcap::lines_with(&["schedule resumed (pause ended)", &id]).len(),
        1
    );
    let skipped = query_i64(&url, &format!("SELECT count(*) AS n FROM task_executions WHERE schedule_id = '{id}' AND status = 'skipped'")).await;
    assert_eq!(skipped, 0);
    drop(b);
}

#[actix_web::test]
async fn pause_bodies_are_checked_by_field() {
    let app = TestApp::spawn().await;
    let s = app.create_schedule(every_second("checked")).await;
    let path = format!("/api/scheduler/schedules/{}/pause", id_of(&s));
    let long = "x".repeat(4_001);
    for (body, field) in [
        (json!({"until": "2020-01-01T00:00:00Z"}), "until"),
        (json!({"until": "tomorrow"}), "until"),
        (json!({"until": "9999-12-31T23:59:60Z"}), "until"),
        (json!({"reason": "a\u{0}b"}), "reason"),
        (json!({"reason": 5}), "reason"),
        (json!({"reason": long}), "reason"),
        (json!({"for": "ever"}), "for"),
        (json!([1]), "body"),
    ] {
        let (status, resp) = app.post(&path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {resp}");
        let m = assert_envelope(&resp, "validation_failed");
        assert!(m.starts_with(field), "{body}: {m}");
    }
    let (_, still) = app
        .get(&format!("/api/scheduler/schedules/{}", id_of(&s)))
        .await;
    assert_eq!(still["enabled"], true, "a refused pause pauses nothing");
    // No body at all is a plain pause; a far end (year 9999) is kept as given.
    let (status, plain) = app.request("POST", &path, None).await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert!(
        plain["pausedReason"].is_null()
            && plain["pausedUntil"].is_null()
            && plain["pausedAt"].is_string()
    );
    let (status, far) = app
        .post(&path, &json!({"until": "9999-12-31T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{far}");
    assert_eq!(far["pausedUntil"], "9999-12-31T00:00:00Z");
    assert_eq!(
        far["pausedAt"], plain["pausedAt"],
        "pausing again keeps when it began"
    );
}
