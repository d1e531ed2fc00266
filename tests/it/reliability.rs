//! nothing stuck, nothing lost, nothing twice — the regression tests for each
//! promise that unfriendly input or timing used to break.

use std::time::Duration;

use awc::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};

pub(crate) fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not a time: {v}"))
}

#[actix_web::test]
async fn an_interval_without_start_at_runs_each_slot_once() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(
            json!({"name": "every-second", "taskType": "shell", "taskConfig": {"command": "true"},
            "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 1}}),
        )
        .await;
    let id = s["id"].as_str().unwrap_or_default().to_string();
    let runs = eventually(Duration::from_secs(30), "four runs", || async {
        let runs = app.executions_of(&id).await;
        (runs.len() >= 4).then_some(runs)
    })
    .await;
    let mut slots: Vec<DateTime<Utc>> = runs.iter().map(|e| time(&e["scheduledFor"])).collect();
    slots.sort();
    for w in slots.windows(2) {
        assert_eq!(w[1] - w[0], chrono::Duration::seconds(1), "slots {slots:?}");
    }
    let created = time(&s["createdAt"]);
    assert_eq!(
        slots[0] - created,
        chrono::Duration::seconds(1),
        "first fire is one interval after creation"
    );
}

#[actix_web::test]
async fn dates_at_the_edges_are_refused_or_computed_without_overflow() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .post(
            "/api/scheduler/preview",
            &json!({"scheduleType": "interval", "count": 5,
            "scheduleConfig": {"intervalSeconds": 1, "startAt": "1900-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let runs: Vec<DateTime<Utc>> = v["runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(time)
        .collect();
    assert_eq!(runs.len(), 5, "{v}");
    let now = Utc::now();
    assert!(
        runs[0] > now - chrono::Duration::seconds(5),
        "a run in the past: {v}"
    );
    for w in runs.windows(2) {
        assert_eq!(w[1] - w[0], chrono::Duration::seconds(1));
    }
    // As a stored schedule it fires on its grid, not every tick.
    let s = app
        .create_schedule(json!({"name": "from-1900", "taskType": "shell", "taskConfig": {"command": "true"},
            "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 3600, "startAt": "1900-01-01T00:00:00Z"}}))
        .await;
    let next = time(&s["nextRunAt"]);
    assert!(
        next > now && next - now <= chrono::Duration::hours(1),
        "{s}"
    );
    // Years the service cannot write back are a 400 naming the field.
    for (body, field) in [
        (
            json!({"scheduleType": "once", "scheduleConfig": {"runAt": "9999-12-31T23:59:59-01:00"}}),
            "scheduleConfig.runAt",
        ),
        (
            json!({"scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 1}, "from": "10000-01-01T00:00:00Z"}),
            "from",
        ),
        (
            json!({"scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 9223372036854775807_i64}}),
            "scheduleConfig.intervalSeconds",
        ),
        (
            json!({"scheduleType": "interval", "scheduleConfig": {"intervalSeconds": -1}}),
            "scheduleConfig.intervalSeconds",
        ),
    ] {
        let (status, v) = app.post("/api/scheduler/preview", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(
            assert_envelope(&v, "validation_failed").starts_with(field),
            "{body}: {v}"
        );
    }
    // The end of time: nothing left to run, no error.
    let (status, v) = app
        .post(
            "/api/scheduler/preview",
            &json!({"scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"},
            "from": "9999-06-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["runs"], json!([]));
    for path in [
        "/api/executions?since=0000-01-01T00:00:00%2B01:00",
        "/api/executions?until=99999-01-01T00:00:00Z",
        "/api/executions?cursor=-9223372036854775808_00000000000000000000000000000000",
        "/api/executions?cursor=9223372036854775807_00000000000000000000000000000000",
        "/api/executions?limit=-1",
        "/api/executions?limit=99999999999999999999",
    ] {
        let (status, v) = app.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {v}");
    }
    let id = s["id"].as_str().unwrap_or_default();
    let (status, v) = app
        .get(&format!(
            "/api/scheduler/schedules/{id}/next-runs?from=1900-01-01T00:00:00Z&count=3"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(time(&v["runs"][0]), time(&json!("1900-01-01T01:00:00Z")));
}

#[actix_web::test]
async fn output_postgresql_cannot_store_is_stored_anyway() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(json!({"name": "nul", "taskType": "shell", "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"},
            "taskConfig": {"command": "printf 'a\\000b'; printf 'bad \\377 utf8\\000' >&2"}}))
        .await;
    let e = app.finished_execution(&app.trigger(&s).await).await;
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["result"]["stdout"], "a\u{FFFD}b");
    assert_eq!(e["result"]["stderr"], "bad \u{FFFD} utf8\u{FFFD}");
}

#[actix_web::test]
async fn a_final_state_the_database_refuses_is_stored_as_failed_and_spares_its_batch() {
    let app = TestApp::spawn().await;
    // A row PostgreSQL refuses as data (not an outage), whatever the reason.
    crate::cluster::refuse_results_containing(app.db.url(), "poison").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let word = if i == 3 { "poison" } else { "fine" };
        let s = app
            .create_schedule(
                json!({"name": format!("batch-{i}"), "taskType": "shell", "scheduleType": "cron",
                "scheduleConfig": {"expression": "0 0 1 1 *"}, "retryPolicy": {"maxAttempts": 1},
                "taskConfig": {"command": format!("echo {word}")}}),
            )
            .await;
        ids.push(app.trigger(&s).await);
    }
    for (i, id) in ids.iter().enumerate() {
        let e = app.finished_execution(id).await;
        if i == 3 {
            assert_eq!(
                (e["status"].as_str(), e["errorType"].as_str()),
                (Some("failed"), Some("internal")),
                "{e}"
            );
            assert!(
                e["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("could not be stored"),
                "{e}"
            );
            assert!(
                !e.to_string().contains("refused for the test"),
                "database text leaked: {e}"
            );
        } else {
            assert_eq!(e["status"], "completed", "{e}");
        }
    }
}

#[actix_web::test]
async fn a_nul_in_a_request_is_a_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let base = json!({"name": "n", "taskType": "http", "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"},
        "taskConfig": {"url": "http://127.0.0.1:9/x"}});
    let with = |path: &[&str], v: Value| {
        let mut b = base.clone();
        let mut at = &mut b;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = v;
        b
    };
    for (body, field) in [
        (with(&["name"], json!("a\u{0}b")), "name"),
        (
            with(&["taskConfig", "body"], json!({"k": ["x", "y\u{0}"]})),
            "taskConfig.body.k[1]",
        ),
        (
            with(&["taskConfig", "headers"], json!({"X-A": "v\u{0}"})),
            "taskConfig.headers.X-A",
        ),
        (with(&["tags"], json!(["ok", "b\u{0}d"])), "tags[1]"),
        (with(&["description"], json!("\u{0}")), "description"),
    ] {
        let (status, v) = app.post("/api/scheduler/schedules", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(
            assert_envelope(&v, "validation_failed").starts_with(field),
            "{field}: {v}"
        );
    }
    let (status, v) = app.get("/api/scheduler/schedules?tag=a%00b").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        assert_envelope(&v, "validation_failed").starts_with("tag"),
        "{v}"
    );
    let (status, _) = app
        .post("/api/tokens", &json!({"name": "t\u{0}", "role": "viewer"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .post("/api/secrets", &json!({"name": "s", "value": "v\u{0}"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.post("/api/scheduler/preview", &json!({"scheduleType": "cron", "scheduleConfig": {"expression": "* * * * *", "timezone": "UTC\u{0}"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

pub(crate) fn shell(name: &str, command: &str) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": command},
           "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}, "retryPolicy": {"maxAttempts": 1}})
}
