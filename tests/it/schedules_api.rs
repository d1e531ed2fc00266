//! the schedule API — validation, CRUD, pause/resume, next-runs/preview, envelopes.

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, TestApp};

fn shell_cron(name: &str, expr: &str) -> Value {
    json!({
        "name": name,
        "taskType": "shell",
        "taskConfig": {"command": "true"},
        "scheduleType": "cron",
        "scheduleConfig": {"expression": expr}
    })
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|x| x["field"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn invalid_bodies_get_400_naming_each_field() {
    let app = TestApp::spawn().await;
    let path = "/api/scheduler/schedules";
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({}),
            vec![
                "name",
                "taskType",
                "scheduleType",
                "taskConfig",
                "scheduleConfig",
            ],
        ),
        (shell_cron("x", "* * *"), vec!["scheduleConfig.expression"]),
        (
            shell_cron("x", "0 9 * * 8"),
            vec!["scheduleConfig.expression"],
        ),
        (
            {
                let mut b = shell_cron("x", "* * * * *");
                b["scheduleConfig"]["timezone"] = json!("Nowhere/City");
                b
            },
            vec!["scheduleConfig.timezone"],
        ),
        (
            {
                let mut b = shell_cron("x", "* * * * *");
                b["taskType"] = json!("python");
                b
            },
            vec!["taskType"],
        ),
        (
            {
                let mut b = shell_cron("x", "* * * * *");
                b["name"] = json!(42);
                b
            },
            vec!["name"],
        ),
        (
            {
                let mut b = shell_cron("x", "* * * * *");
                b["retryPolicy"] = json!({"maxAttempts": 0});
                b
            },
            vec!["retryPolicy.maxAttempts"],
        ),
        (
            {
                let mut b = shell_cron("x", "* * * * *");
                b["concurrencyPolicy"] = json!("sometimes");
                b
            },
            vec!["concurrencyPolicy"],
        ),
        (
            {
                let mut b = shell_cron("x", "* * * * *");
                b["scheduleType"] = json!("interval");
                b["scheduleConfig"] = json!({"intervalSeconds": 0});
                b
            },
            vec!["scheduleConfig.intervalSeconds"],
        ),
        (
            {
                let mut b = shell_cron("x", "* * * * *");
                b["scheduleType"] = json!("once");
                b["scheduleConfig"] = json!({"runAt": "tomorrow"});
                b
            },
            vec!["scheduleConfig.runAt"],
        ),
        (
            {
                let mut b = shell_cron("x", "* * * * *");
                b["taskType"] = json!("http");
                b["taskConfig"] = json!({"url": "gopher://x"});
                b
            },
            vec!["taskConfig.url"],
        ),
        (
            {
                let mut b = shell_cron("x", "* * * * *");
                b["surprise"] = json!(1);
                b
            },
            vec!["surprise"],
        ),
        (json!([1, 2]), vec!["body"]),
    ];
    for (body, expected) in cases {
        let (status, resp) = app.post(path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {resp}");
        let m = assert_envelope(&resp, "validation_failed");
        assert_eq!(fields(&resp), expected, "{body} -> {resp}");
        assert!(
            m.starts_with(expected[0]),
            "message `{m}` should name {}",
            expected[0]
        );
    }
    // The cron error is readable, not the crate's caret.
    let (_, resp) = app.post(path, &shell_cron("x", "61 * * * *")).await;
    let m = resp["error"]["message"].as_str().unwrap_or_default();
    assert!(m.contains("minute field `61`: 61 is outside 0-59"), "{m}");

    // Malformed JSON, wrong content type, oversized body.
    let (status, resp) = app.request("POST", path, Some("{\"name\": ".into())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_envelope(&resp, "validation_failed").contains("malformed JSON"));
    let big = json!({"name": "x".repeat(2 * 1024 * 1024)});
    let (status, resp) = app.post(path, &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{resp}");
    assert_envelope(&resp, "payload_too_large");
    // Nothing was stored by any of it.
    let (_, list) = app.get(path).await;
    assert_eq!(list["items"], json!([]));
}

#[actix_web::test]
async fn bad_ids_queries_and_unknown_schedules() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/api/scheduler/schedules/not-a-uuid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_envelope(&body, "validation_failed").starts_with("id"));
    let missing = uuid::Uuid::new_v4();
    for (method, path) in [
        ("GET", format!("/api/scheduler/schedules/{missing}")),
        ("DELETE", format!("/api/scheduler/schedules/{missing}")),
        ("POST", format!("/api/scheduler/schedules/{missing}/pause")),
        (
            "POST",
            format!("/api/scheduler/schedules/{missing}/trigger"),
        ),
        (
            "GET",
            format!("/api/scheduler/schedules/{missing}/next-runs"),
        ),
        ("GET", format!("/api/executions/{missing}")),
        ("POST", format!("/api/executions/{missing}/cancel")),
    ] {
        let (status, body) = app.request(method, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert_envelope(&body, "not_found");
    }
    for q in [
        "limit=0",
        "limit=501",
        "limit=abc",
        "cursor=garbage",
        "enabled=maybe",
        "taskType=ftp",
    ] {
        let (status, body) = app.get(&format!("/api/scheduler/schedules?{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
        let param = q.split('=').next().unwrap_or_default();
        assert!(
            assert_envelope(&body, "validation_failed").starts_with(param),
            "{q}: {body}"
        );
    }
    for q in [
        "status=done",
        "trigger=cron",
        "scheduleId=12",
        "since=yesterday",
    ] {
        let (status, body) = app.get(&format!("/api/executions?{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
    }
    // SQL-looking input is data, stored and returned verbatim.
    let name = "x'); DROP TABLE task_schedules; --";
    let created = app.create_schedule(shell_cron(name, "0 0 * * *")).await;
    assert_eq!(created["name"], name);
    let (_, list) = app
        .get("/api/scheduler/schedules?tag=%27%20OR%201%3D1")
        .await;
    assert_eq!(list["items"], json!([]));
}

#[actix_web::test]
async fn crud_pause_resume_and_duplicate_names() {
    let app = TestApp::spawn().await;
    let mut body = shell_cron("nightly", "30 2 * * *");
    body["tags"] = json!(["reports"]);
    body["scheduleConfig"]["timezone"] = json!("Europe/Berlin");
    let created = app.create_schedule(body.clone()).await;
    let id = created["id"].as_str().unwrap_or_default().to_string();
    for key in ["id", "nextRunAt", "createdAt", "updatedAt"] {
        assert!(created[key].is_string(), "{key}: {created}");
    }
    assert_eq!(created["lastRunAt"], Value::Null);
    assert_eq!(created["enabled"], true);
    assert_eq!(
        created["retryPolicy"],
        json!({"maxAttempts": 3, "backoffBaseMs": 1000, "backoffMaxMs": 3600000})
    );

    let (status, dup) = app.post("/api/scheduler/schedules", &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(assert_envelope(&dup, "conflict").contains("nightly"));

    let (status, one) = app.get(&format!("/api/scheduler/schedules/{id}")).await;
    assert_eq!((status, &one["name"]), (StatusCode::OK, &json!("nightly")));

    // PUT replaces and recomputes nextRunAt.
    let mut replaced = body.clone();
    replaced["scheduleConfig"] = json!({"expression": "0 12 * * *", "timezone": "UTC"});
    let (status, put) = app
        .put(&format!("/api/scheduler/schedules/{id}"), &replaced)
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    let next = put["nextRunAt"].as_str().unwrap_or_default();
    assert!(next.contains("T12:00:00"), "{put}");
    let (status, bad) = app
        .put(
            &format!("/api/scheduler/schedules/{id}"),
            &json!({"name": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    let (status, paused) = app
        .post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    assert_eq!(
        (status, &paused["enabled"]),
        (StatusCode::OK, &json!(false))
    );
    let (_, list) = app.get("/api/scheduler/schedules?enabled=false").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let (_, list) = app.get("/api/scheduler/schedules?enabled=true").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
    let (status, resumed) = app
        .post(&format!("/api/scheduler/schedules/{id}/resume"), &json!({}))
        .await;
    assert_eq!(
        (status, &resumed["enabled"]),
        (StatusCode::OK, &json!(true))
    );
    let (_, list) = app
        .get("/api/scheduler/schedules?tag=reports&taskType=shell")
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    let (status, _) = app
        .request("DELETE", &format!("/api/scheduler/schedules/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&format!("/api/scheduler/schedules/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The name is free again.
    app.create_schedule(body).await;
}

#[actix_web::test]
async fn next_runs_and_preview_agree_with_the_rules() {
    let app = TestApp::spawn().await;
    let mut body = shell_cron("weekdays", "0 9 * * 1-5");
    body["scheduleConfig"]["timezone"] = json!("America/New_York");
    let created = app.create_schedule(body).await;
    let id = created["id"].as_str().unwrap_or_default();
    let from = "2026-11-26T15:00:00Z"; // Thursday 10:00 in New York
    let (status, runs) = app
        .get(&format!(
            "/api/scheduler/schedules/{id}/next-runs?count=3&from={from}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{runs}");
    assert_eq!(
        runs["runs"],
        json!([
            "2026-11-27T14:00:00Z",
            "2026-11-30T14:00:00Z",
            "2026-12-01T14:00:00Z"
        ])
    );

    let (status, preview) = app
        .post(
            "/api/scheduler/preview",
            &json!({"scheduleType": "cron", "scheduleConfig": {"expression": "0 9 * * 1-5", "timezone": "America/New_York"}, "count": 3, "from": from}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["runs"], runs["runs"]);

    // DST: 02:30 does not exist in New York on 2026-03-08.
    let (_, dst) = app
        .post(
            "/api/scheduler/preview",
            &json!({"scheduleType": "cron", "scheduleConfig": {"expression": "30 2 * * *", "timezone": "America/New_York"}, "count": 2, "from": "2026-03-07T12:00:00Z"}),
        )
        .await;
    assert_eq!(
        dst["runs"],
        json!(["2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"])
    );

    let (_, interval) = app
        .post(
            "/api/scheduler/preview",
            &json!({"scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 90, "startAt": "2026-11-26T10:00:00Z"}, "count": 2, "from": "2026-11-26T10:00:00Z"}),
        )
        .await;
    assert_eq!(
        interval["runs"],
        json!(["2026-11-26T10:01:30Z", "2026-11-26T10:03:00Z"])
    );

    for (body, field) in [
        (
            json!({"scheduleType": "cron", "scheduleConfig": {"expression": "nope"}}),
            "scheduleConfig.expression",
        ),
        (
            json!({"scheduleType": "cron", "scheduleConfig": {"expression": "* * * * *"}, "count": 101}),
            "count",
        ),
        (json!({"scheduleConfig": {}}), "scheduleType"),
    ] {
        let (status, resp) = app.post("/api/scheduler/preview", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
        assert_eq!(fields(&resp)[0], field, "{resp}");
    }
    let (status, _) = app
        .get(&format!("/api/scheduler/schedules/{id}/next-runs?count=0"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
