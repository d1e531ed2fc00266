//! failures become error records that recover themselves or reach a person.

use std::time::Duration;

use awc::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::fakes;

pub(crate) fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not a timestamp: {v}"))
}

pub(crate) fn shell(name: &str, command: &str, extra: Value) -> Value {
    let mut b = json!({
        "name": name,
        "taskType": "shell",
        "taskConfig": {"command": command},
        "scheduleType": "cron",
        "scheduleConfig": {"expression": "0 0 1 1 *"}
    });
    if let (Some(b), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            b.insert(k.clone(), v.clone());
        }
    }
    b
}

/// The error record of a chain started by `execution_id`, once it satisfies `done`.
pub(crate) async fn record_when(
    app: &TestApp,
    execution_id: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    eventually(Duration::from_secs(30), what, || async {
        let e = app.execution(execution_id).await;
        let rid = e["errorRecordId"].as_str()?.to_string();
        let (_, rec) = app.get(&format!("/api/errors/errors/{rid}")).await;
        done(&rec).then_some(rec)
    })
    .await
}

#[actix_web::test]
async fn high_severity_retries_with_backoff_then_escalates_once() {
    let hook = fakes::start(|_| (200, json!({}))).await;
    let url = format!("{}/hook", hook.base);
    let app = TestApp::spawn_with(move |c| c.notifications.webhook_url = url).await;
    let s = app
        .create_schedule(shell(
            "always-fails",
            "exit 3",
            json!({"severity": "high", "retryPolicy": {"maxAttempts": 3, "backoffBaseMs": 200}}),
        ))
        .await;
    let first = app.trigger(&s).await;
    let rec = record_when(&app, &first, "escalation", |r| {
        r["recoveryStatus"] == "escalated"
    })
    .await;
    assert_eq!(rec["attempts"], 3);
    assert_eq!(rec["maxAttempts"], 3);
    assert_eq!(rec["severity"], "high");
    assert_eq!(rec["errorType"], "exit_code");
    assert_eq!(rec["executionId"], json!(first));

    let execs = rec["executions"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        execs
            .iter()
            .map(|e| e["attempt"].clone())
            .collect::<Vec<_>>(),
        vec![json!(1), json!(2), json!(3)]
    );
    assert_eq!(
        execs
            .iter()
            .map(|e| e["trigger"].clone())
            .collect::<Vec<_>>(),
        vec![json!("manual"), json!("retry"), json!("retry")]
    );
    assert!(execs
        .iter()
        .all(|e| e["status"] == "failed" && e["errorRecordId"] == rec["id"]));
    // Backoff: ~200 ms then ~400 ms (±10 % jitter). Retries never run early.
    for (i, min_ms) in [(1usize, 180i64), (2, 360)] {
        let gap =
            (time(&execs[i]["startedAt"]) - time(&execs[i - 1]["finishedAt"])).num_milliseconds();
        assert!(
            gap >= min_ms,
            "retry {i} after {gap} ms, expected at least {min_ms}"
        );
        assert!(gap < 10_000, "retry {i} after {gap} ms");
    }

    let got = eventually(Duration::from_secs(20), "webhook call", || async {
        let got = hook.received();
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(got[0].path, "/hook");
    assert_eq!(got[0].json()["event"], "error_escalated");
    assert_eq!(got[0].json()["data"]["id"], rec["id"]);
    assert_eq!(got[0].json()["data"]["recoveryStatus"], "escalated");
    tokio::time::sleep(Duration::from_millis(500)).await; // a window for a duplicate to show
    assert_eq!(hook.received().len(), 1);
    hook.stop().await;
}

#[actix_web::test]
async fn a_command_that_fails_once_is_resolved_by_its_retry() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let marker = dir.path().join("ran-once");
    let cmd = format!(
        "test -f {m} || {{ touch {m}; exit 1; }}",
        m = marker.display()
    );
    let s = app.create_schedule(shell("flaky", &cmd, json!({"severity": "critical", "retryPolicy": {"maxAttempts": 3, "backoffBaseMs": 100}}))).await;
    let first = app.trigger(&s).await;
    let rec = record_when(&app, &first, "resolution", |r| {
        r["recoveryStatus"] == "resolved"
    })
    .await;
    assert_eq!(rec["attempts"], 1);
    assert!(rec["resolvedAt"].is_string());
    let execs = rec["executions"].as_array().cloned().unwrap_or_default();
    assert_eq!(execs.len(), 2);
    assert_eq!(
        (execs[1]["status"].as_str(), execs[1]["trigger"].as_str()),
        (Some("completed"), Some("retry"))
    );
}

#[actix_web::test]
async fn medium_waits_for_a_person_and_final_states_are_final() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(shell("medium", "echo nope >&2; exit 2", json!({})))
        .await;
    let first = app.trigger(&s).await;
    let rec = record_when(&app, &first, "record", |r| {
        r["recoveryStatus"] == "unresolved"
    })
    .await;
    assert_eq!(rec["severity"], "medium");
    assert!(rec["nextRetryAt"].is_null());
    assert!(
        rec["message"].as_str().unwrap_or_default().contains("nope"),
        "{rec}"
    );
    let id = rec["id"].as_str().unwrap_or_default().to_string();
    tokio::time::sleep(Duration::from_millis(800)).await; // no automatic retry shows up
    assert_eq!(
        app.executions_of(s["id"].as_str().unwrap_or_default())
            .await
            .len(),
        1
    );

    let (_, listed) = app
        .get("/api/errors/errors?recoveryStatus=unresolved")
        .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));

    // Manual retry: 202 with the new execution; it fails again and comes back to a person.
    let (status, retried) = app
        .post(
            &format!("/api/errors/errors/{id}/retry"),
            &json!({"note": "trying again"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
    let exec = app
        .finished_execution(retried["executionId"].as_str().unwrap_or_default())
        .await;
    assert_eq!(
        (exec["trigger"].as_str(), exec["attempt"].as_i64()),
        (Some("retry"), Some(2))
    );
    let rec = eventually(
        Duration::from_secs(20),
        "second failure counted",
        || async {
            let (_, r) = app.get(&format!("/api/errors/errors/{id}")).await;
            (r["attempts"] == 2 && r["recoveryStatus"] == "unresolved").then_some(r)
        },
    )
    .await;
    assert_eq!(rec["note"], "trying again");

    let (status, resolved) = app
        .post(
            &format!("/api/errors/errors/{id}/resolve"),
            &json!({"note": "fixed by hand"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["recoveryStatus"], "resolved");
    assert!(resolved["resolvedAt"].is_string());
    for action in ["resolve", "ignore", "retry", "escalate"] {
        let (status, body) = app
            .post(&format!("/api/errors/errors/{id}/{action}"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{action}: {body}");
        assert!(
            assert_envelope(&body, "conflict").contains("resolved"),
            "{body}"
        );
    }

    // Ignore is final too.
    let second = app.trigger(&s).await;
    let rec2 = record_when(&app, &second, "second record", |r| {
        r["recoveryStatus"] == "unresolved"
    })
    .await;
    let id2 = rec2["id"].as_str().unwrap_or_default();
    let (status, ignored) = app
        .request("POST", &format!("/api/errors/errors/{id2}/ignore"), None)
        .await;
    assert_eq!(
        (status, ignored["recoveryStatus"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    let (status, _) = app
        .post(&format!("/api/errors/errors/{id2}/retry"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[actix_web::test]
async fn manual_escalation_notifies_and_bad_input_is_rejected() {
    let hook = fakes::start(|_| (500, json!({}))).await; // a failing webhook must not block anything
    let url = hook.base.clone();
    let app = TestApp::spawn_with(move |c| c.notifications.webhook_url = url).await;
    let s = app
        .create_schedule(shell("esc", "exit 1", json!({"severity": "low"})))
        .await;
    let first = app.trigger(&s).await;
    let rec = record_when(&app, &first, "record", |r| {
        r["recoveryStatus"] == "unresolved"
    })
    .await;
    assert_eq!(rec["severity"], "low");
    let id = rec["id"].as_str().unwrap_or_default();
    let (status, esc) = app
        .post(
            &format!("/api/errors/errors/{id}/escalate"),
            &json!({"note": "paging on-call"}),
        )
        .await;
    assert_eq!(
        (status, esc["recoveryStatus"].as_str()),
        (StatusCode::OK, Some("escalated"))
    );
    let (status, _) = app
        .post(&format!("/api/errors/errors/{id}/escalate"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    eventually(Duration::from_secs(20), "webhook attempts", || async {
        (hook.received().len() >= 2).then_some(())
    })
    .await;
    assert!(
        !crate::logcap::lines_with(&["ERROR", "error escalated", &format!("error={id}")])
            .is_empty()
    );
    // Retry is allowed on an escalated error.
    let (status, _) = app
        .post(&format!("/api/errors/errors/{id}/retry"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    for (method, path, body, code) in [
        (
            "POST",
            format!("/api/errors/errors/{id}/resolve"),
            Some("{\"note\": 5}".to_string()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("/api/errors/errors/{id}/resolve"),
            Some("{oops".to_string()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("/api/errors/errors/{}/resolve", uuid::Uuid::new_v4()),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            format!("/api/errors/errors/{}", uuid::Uuid::new_v4()),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            "/api/errors/errors/xyz".to_string(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/api/errors/errors?recoveryStatus=broken".to_string(),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/api/errors/errors?severity=extreme".to_string(),
            None,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, resp) = app.request(method, &path, body).await;
        assert_eq!(status, code, "{method} {path}: {resp}");
        assert!(resp["error"]["code"].is_string(), "{resp}");
    }
    hook.stop().await;
}
