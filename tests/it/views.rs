//! One view per resource: the REST answer, the WebSocket event's `data` and the OpenAPI schema
//! of a resource carry the same fields, because they come from one struct.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::app::{eventually, TestApp};
use crate::wsclient::{is_event, WsClient};

/// Property names of a component schema, following `allOf` and `$ref`.
fn props(doc: &Value, name: &str) -> BTreeSet<String> {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "schema {name} is missing");
    let mut out = BTreeSet::new();
    collect(doc, schema, &mut out);
    out
}

fn collect(doc: &Value, schema: &Value, out: &mut BTreeSet<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        collect(doc, &doc["components"]["schemas"][name], out);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        for p in parts {
            collect(doc, p, out);
        }
    }
    if let Some(p) = schema["properties"].as_object() {
        out.extend(p.keys().cloned());
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[actix_web::test]
async fn rest_websocket_and_openapi_agree_on_every_resource() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.get("/api/openapi.json").await;
    let mut ws = WsClient::connect(&app.base).await;
    ws.send(&json!({"type": "subscribe", "subscriptions": ["*"]}))
        .await;
    ws.recv_until("subscribed", |v| v["type"] == "subscribed")
        .await;

    let schedule = app
        .create_schedule(json!({
            "name": "views", "taskType": "shell", "taskConfig": {"command": "exit 3"},
            "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"},
            "retryPolicy": {"maxAttempts": 1}
        }))
        .await;
    let sid = schedule["id"].as_str().unwrap_or_default().to_string();
    let exec_id = app.trigger(&schedule).await;
    let execution = app.finished_execution(&exec_id).await;
    assert_eq!(execution["status"], "failed", "{execution}");
    let record = eventually(Duration::from_secs(30), "error record", || async {
        let (_, page) = app
            .get(&format!("/api/errors/errors?scheduleId={sid}"))
            .await;
        page["items"].get(0).cloned()
    })
    .await;
    let rid = record["id"].as_str().unwrap_or_default().to_string();
    let (_, detail) = app.get(&format!("/api/errors/errors/{rid}")).await;

    let created = ws
        .recv_until("schedule_created", |v| {
            is_event(v, "schedule_created", None)
        })
        .await;
    let failed = ws
        .recv_until("execution_failed", |v| {
            is_event(v, "execution_failed", None)
        })
        .await;
    let recorded = ws
        .recv_until("error_recorded", |v| is_event(v, "error_recorded", None))
        .await;

    let schedule_fields = props(&doc, "ScheduleView");
    assert_eq!(keys(&schedule), schedule_fields, "POST answer");
    let (_, got) = app.get(&format!("/api/scheduler/schedules/{sid}")).await;
    assert_eq!(keys(&got), schedule_fields, "GET answer");
    assert_eq!(keys(&created["data"]), schedule_fields, "schedule_created");

    let execution_fields = props(&doc, "ExecutionView");
    assert_eq!(keys(&execution), execution_fields, "GET execution");
    assert_eq!(keys(&failed["data"]), execution_fields, "execution_failed");
    let (_, page) = app.get(&format!("/api/executions?scheduleId={sid}")).await;
    assert_eq!(keys(&page), props(&doc, "PageView_ExecutionView"));
    assert_eq!(keys(&page["items"][0]), execution_fields, "list item");

    let record_fields = props(&doc, "ErrorRecordView");
    assert_eq!(keys(&record), record_fields, "list item");
    assert_eq!(keys(&recorded["data"]), record_fields, "error_recorded");
    assert_eq!(keys(&detail), props(&doc, "ErrorRecordDetailView"));
    assert_eq!(keys(&detail["executions"][0]), execution_fields);

    for (path, schema) in [
        ("/api/health", "HealthView"),
        ("/api/whoami", "WhoamiView"),
        ("/api/stats", "Stats"),
        ("/api/tokens", "PageView_TokenView"),
        ("/api/secrets", "PageView_SecretView"),
        ("/api/audit", "PageView_AuditView"),
    ] {
        let (_, body) = app.get(path).await;
        assert_eq!(keys(&body), props(&doc, schema), "{path}");
    }
    let (_, runs) = app
        .get(&format!(
            "/api/scheduler/schedules/{sid}/next-runs?detail=true"
        ))
        .await;
    // `details` only when asked for (detail=true).
    assert_eq!(keys(&runs), props(&doc, "RunsView"));
    assert!(props(&doc, "ErrorBody").contains("error"));
}
