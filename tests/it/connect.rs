//! Tasks that connect (SPEC §12): a run's payload, its placeholders, and what every attempt of
//! one slot is told.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::fakes;

fn yearly() -> Value {
    json!({"expression": "0 0 1 1 *"})
}

async fn trigger_with(app: &TestApp, schedule: &Value, body: &Value) -> (StatusCode, Value) {
    let id = schedule["id"].as_str().unwrap_or_default();
    app.post(&format!("/api/scheduler/schedules/{id}/trigger"), body)
        .await
}

async fn triggered(app: &TestApp, schedule: &Value, payload: Value) -> String {
    let (status, v) = trigger_with(app, schedule, &json!({ "payload": payload })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    v["executionId"].as_str().unwrap_or_default().to_string()
}

#[actix_web::test]
async fn a_payload_reaches_the_shell_task_and_is_shown_on_its_execution() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(json!({"name": "payload-shell", "taskType": "shell", "scheduleType": "cron",
            "scheduleConfig": yearly(), "taskConfig": {"command": "printf '%s' \"$TASKFORGE_PAYLOAD\"; echo; echo \"$TASKFORGE_TRIGGER\""}}))
        .await;
    let payload =
        json!({"user": {"id": 42, "name": "Zoë \"quoted\" {{executionId}}"}, "list": [1, 2]});
    let exec = triggered(&app, &s, payload.clone()).await;
    let e = app.finished_execution(&exec).await;
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["payload"], payload, "{e}");
    let out = e["result"]["stdout"].as_str().unwrap_or_default();
    let mut lines = out.lines();
    let seen: Value = serde_json::from_str(lines.next().unwrap_or_default()).unwrap_or_default();
    assert_eq!(seen, payload, "{out}");
    assert_eq!(lines.next(), Some("manual"), "{out}");
    // No payload, none shown and no variable; a JSON null is no payload either.
    for body in [json!({}), json!({"payload": null})] {
        let (status, v) = trigger_with(&app, &s, &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
        let e = app
            .finished_execution(v["executionId"].as_str().unwrap_or_default())
            .await;
        assert_eq!(e["payload"], Value::Null, "{e}");
        assert!(e["result"]["stdout"]
            .as_str()
            .unwrap_or_default()
            .starts_with("\nmanual"));
    }
}

#[actix_web::test]
async fn placeholders_in_url_and_body_are_filled_once_when_the_task_starts() {
    let target = fakes::start(|_| (200, json!({}))).await;
    let app = TestApp::spawn().await;
    let url = format!(
        "{}/users/{{{{payload.user.id}}}}?q={{{{ payload.q }}}}&at={{{{scheduledFor}}}}&keep={{{{other}}}}",
        target.base
    );
    let s = app
        .create_schedule(
            json!({"name": "payload-http", "taskType": "http", "scheduleType": "cron",
            "scheduleConfig": yearly(), "taskConfig": {"method": "POST", "url": url,
            "body": {"text": "hi {{payload.user.name}} from {{executionId}}", "n": "{{payload.n}}",
                "raw": "{{payload.v}}", "{{executionId}}": 1, "whole": "{{payload.user}}"}}}),
        )
        .await;
    let exec = triggered(
        &app,
        &s,
        json!({"user": {"id": "7/../admin", "name": "Ana"}, "q": "a b&c", "n": 3, "v": "{{executionId}}"}),
    )
    .await;
    let e = app.finished_execution(&exec).await;
    assert_eq!(e["status"], "completed", "{e}");
    let r = &target.received()[0];
    let at = e["scheduledFor"].as_str().unwrap_or_default();
    let (prefix, query) = r.path.split_once('?').unwrap_or_default();
    // A value is encoded: it cannot add a path step or a query field.
    assert_eq!(prefix, "/users/7%2F..%2Fadmin", "{}", r.path);
    assert!(query.starts_with("q=a%20b%26c&at="), "{}", r.path);
    assert!(
        r.path.contains(&at.replace(':', "%3A")),
        "{} vs {at}",
        r.path
    );
    assert_eq!(
        r.json(),
        json!({"text": format!("hi Ana from {exec}"), "n": "3", "raw": "{{executionId}}",
            "{{executionId}}": 1, "whole": r#"{"id":"7/../admin","name":"Ana"}"#}),
        "{}",
        r.body
    );
    // The stored task is the template, not the filled-in request.
    assert_eq!(e["payload"]["n"], 3);
    let (_, again) = app
        .get(&format!(
            "/api/scheduler/schedules/{}",
            s["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(again["taskConfig"]["url"], url);
    target.stop().await;
}

#[actix_web::test]
async fn a_placeholder_without_a_value_fails_the_run_naming_it() {
    let target = fakes::start(|_| (200, json!({}))).await;
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(
            json!({"name": "payload-missing", "taskType": "http", "scheduleType": "cron",
            "scheduleConfig": yearly(), "retryPolicy": {"maxAttempts": 1},
            "taskConfig": {"url": format!("{}/x/{{{{payload.user.id}}}}", target.base)}}),
        )
        .await;
    for payload in [
        None,
        Some(json!({"user": {}})),
        Some(json!({"user": "flat"})),
    ] {
        let body = payload.map_or(json!({}), |p| json!({ "payload": p }));
        let (status, v) = trigger_with(&app, &s, &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
        let e = app
            .finished_execution(v["executionId"].as_str().unwrap_or_default())
            .await;
        assert_eq!(e["status"], "failed", "{e}");
        assert_eq!(e["errorType"], "spawn", "{e}");
        assert!(
            e["error"]
                .as_str()
                .unwrap_or_default()
                .contains("{{payload.user.id}}"),
            "{e}"
        );
    }
    assert!(target.received().is_empty(), "no request was sent");
    target.stop().await;
}

#[actix_web::test]
async fn a_bad_trigger_body_is_a_400_naming_the_field() {
    let app = TestApp::spawn_with(|c| c.limits.payload_max_bytes = 1_000).await;
    let s = app
        .create_schedule(
            json!({"name": "payload-bad", "taskType": "shell", "scheduleType": "cron",
            "scheduleConfig": yearly(), "taskConfig": {"command": "true"}}),
        )
        .await;
    let id = s["id"].as_str().unwrap_or_default();
    let path = format!("/api/scheduler/schedules/{id}/trigger");
    for (body, field) in [
        (
            r#"{"payload": {"a": ["ok", "x\u0000y"]}}"#.to_string(),
            "payload.a[1]",
        ),
        (r#"{"payload": "\u0000"}"#.to_string(), "payload"),
        (
            format!(r#"{{"payload": "{}"}}"#, "x".repeat(1_000)),
            "payload",
        ),
        (r#"{"payload": 1, "extra": true}"#.to_string(), "extra"),
        ("[1]".to_string(), "body"),
        ("{\"payload\": ".to_string(), "body"),
    ] {
        let (status, v) = app.request("POST", &path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_envelope(&v, "validation_failed");
        assert!(v.to_string().contains(field), "{body}: {v}");
    }
    assert!(
        app.executions_of(id).await.is_empty(),
        "no run from a bad body"
    );
    // Any JSON value is a payload: a number, a string, an array.
    for p in [json!(0), json!("text"), json!([true, null])] {
        let exec = triggered(&app, &s, p.clone()).await;
        assert_eq!(app.execution(&exec).await["payload"], p);
    }
}

#[actix_web::test]
async fn every_attempt_of_a_slot_gets_its_payload_and_one_idempotency_key() {
    let target = fakes::start(|_| (500, json!({"error": "down"}))).await;
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(json!({"name": "payload-retry", "taskType": "http", "scheduleType": "cron",
            "scheduleConfig": yearly(), "retryPolicy": {"maxAttempts": 3, "backoffBaseMs": 100},
            "taskConfig": {"method": "POST", "url": format!("{}/r", target.base), "body": {"order": "{{payload.order}}"}}}))
        .await;
    let first = triggered(&app, &s, json!({"order": "A-17"})).await;
    eventually(Duration::from_secs(30), "three attempts", || async {
        (target.received().len() >= 3).then_some(())
    })
    .await;
    let got = target.received();
    let header = |i: usize, k: &str| {
        got[i]
            .headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let key = header(0, "idempotency-key");
    assert!(
        key.starts_with(s["id"].as_str().unwrap_or_default()),
        "{key}"
    );
    for i in 0..got.len() {
        assert_eq!(header(i, "idempotency-key"), key, "attempt {}", i + 1);
        assert_eq!(header(i, "x-taskforge-attempt"), (i + 1).to_string());
    }
    assert!(
        got.iter().all(|r| r.json() == json!({"order": "A-17"})),
        "{got:?}"
    );
    assert_eq!(header(0, "x-taskforge-execution-id"), first);
    assert_ne!(header(1, "x-taskforge-execution-id"), first);
    let runs = app
        .executions_of(s["id"].as_str().unwrap_or_default())
        .await;
    assert!(
        runs.iter()
            .all(|e| e["payload"] == json!({"order": "A-17"})),
        "{runs:?}"
    );
    target.stop().await;
}

#[actix_web::test]
async fn a_conductor_message_is_filled_in_too() {
    let conductor = fakes::conductor().await;
    let base = conductor.base.clone();
    let app = TestApp::spawn_with(move |c| c.conductor.base_url = base).await;
    let s = app
        .create_schedule(json!({"name": "payload-agent", "taskType": "conductor", "scheduleType": "cron",
            "scheduleConfig": yearly(), "taskConfig": {"message": "summarize ticket {{payload.ticket}} ({{executionId}})"}}))
        .await;
    let exec = triggered(&app, &s, json!({"ticket": 991})).await;
    let e = app.finished_execution(&exec).await;
    assert_eq!(e["status"], "completed", "{e}");
    let sent = conductor.received()[0].json();
    assert_eq!(
        sent["message"],
        format!("summarize ticket 991 ({exec})"),
        "{sent}"
    );
    conductor.stop().await;
}
