//! Auto-pause on real runs: a schedule whose run chains keep failing pauses itself once, with
//! its reason, a `schedule_auto_paused` webhook and event; a success resets the count; the
//! server default applies to schedules without the field; two instances pause once.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::fakes;
use crate::firing::id_of;
use crate::recovery::{record_when, shell};

fn auto_paused(hook: &fakes::Fake) -> Vec<Value> {
    hook.received()
        .into_iter()
        .map(|r| r.json())
        .filter(|b| b["event"] == "schedule_auto_paused")
        .collect()
}

async fn schedule(app: &TestApp, id: &str) -> Value {
    let (status, s) = app.get(&format!("/api/scheduler/schedules/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    s
}

async fn paused(app: &TestApp, id: &str) -> Value {
    eventually(
        Duration::from_secs(30),
        "the schedule auto-paused",
        || async {
            let s = schedule(app, id).await;
            (s["enabled"] == false).then_some(s)
        },
    )
    .await
}

/// Runs the schedule once by hand and waits until its failure (if any) has been decided.
async fn run_once(app: &TestApp, s: &Value) {
    let exec = app.trigger(s).await;
    let e = app.finished_execution(&exec).await;
    if e["status"] == "failed" {
        record_when(app, &exec, "the failure recorded", |r| {
            r["recoveryStatus"] != "retrying" && r["recoveryStatus"] != "retry_scheduled"
        })
        .await;
    }
}

#[actix_web::test]
async fn a_failing_cron_pauses_itself_once_with_its_reason() {
    let hook = fakes::start(|_| (200, json!({}))).await;
    let url = format!("{}/hook", hook.base);
    let app = TestApp::spawn_with(move |c| c.notifications.webhook_url = url).await;
    let mut ws = crate::wsclient::WsClient::connect(&app.base).await;
    crate::websocket::subscribe(&mut ws, json!(["schedules"])).await;
    let s = app
        .create_schedule(json!({"name": "broken-every-second", "taskType": "shell",
            "taskConfig": {"command": "exit 3"}, "scheduleType": "cron",
            "scheduleConfig": {"expression": "* * * * * *"}, "severity": "high",
            "retryPolicy": {"maxAttempts": 1}, "autoPauseAfterFailures": 3}))
        .await;
    let id = id_of(&s);
    assert_eq!(s["autoPauseAfterFailures"], 3);
    let p = paused(&app, &id).await;
    assert_eq!(
        p["pausedReason"],
        "auto-paused after 3 consecutive failures"
    );
    assert!(p["pausedAt"].is_string(), "{p}");
    assert!(p["consecutiveFailures"].as_i64() >= Some(3), "{p}");
    let event = ws
        .recv_until("schedule_auto_paused", |v| {
            v["type"] == "schedule_auto_paused"
        })
        .await;
    assert_eq!(event["data"]["id"], json!(id));
    assert_eq!(event["data"]["enabled"], false);
    let hooks = eventually(Duration::from_secs(30), "the webhook", || async {
        let h = auto_paused(&hook);
        (!h.is_empty()).then_some(h)
    })
    .await;
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["data"]["id"], json!(id));
    assert_eq!(
        hooks[0]["data"]["pausedReason"],
        "auto-paused after 3 consecutive failures"
    );
    // Pausing took back what was claimed ahead: whatever was already running has ended, and
    // nothing of the schedule is left pending.
    let pending = eventually(Duration::from_secs(30), "runs to settle", || async {
        let execs = app.executions_of(&id).await;
        let open = execs
            .iter()
            .filter(|e| matches!(e["status"].as_str(), Some("pending" | "running")))
            .count();
        (open == 0).then_some(execs.len())
    })
    .await;
    assert!(pending >= 3, "{pending} runs");
    let lines = crate::logcap::lines_with(&["WARN", "schedule auto-paused:", &id]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    hook.stop().await;
}

#[actix_web::test]
async fn a_success_resets_the_count() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let counter = dir.path().join("n");
    // Runs 1 and 2 fail, run 3 succeeds, 4 and 5 fail, ...
    let command = format!(
        "n=$(cat '{f}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '{f}'; [ $((n % 3)) -eq 0 ]",
        f = counter.display()
    );
    let s = app
        .create_schedule(shell(
            "flaky",
            &command,
            json!({"retryPolicy": {"maxAttempts": 1}, "autoPauseAfterFailures": 3}),
        ))
        .await;
    let id = id_of(&s);
    for _ in 0..5 {
        run_once(&app, &s).await;
    }
    let after = schedule(&app, &id).await;
    assert_eq!(after["enabled"], true, "{after}");
    assert_eq!(after["consecutiveFailures"], 2, "{after}");
    // One more failure makes three in a row.
    let s6 = app
        .put(
            &format!("/api/scheduler/schedules/{id}"),
            &json!({"name": "flaky", "taskType": "shell",
                "taskConfig": {"command": "exit 1"}, "scheduleType": "cron",
                "scheduleConfig": {"expression": "0 0 1 1 *"},
                "retryPolicy": {"maxAttempts": 1}, "autoPauseAfterFailures": 3}),
        )
        .await;
    assert_eq!(s6.0, StatusCode::OK, "{}", s6.1);
    run_once(&app, &s).await;
    let p = paused(&app, &id).await;
    assert_eq!(
        p["pausedReason"],
        "auto-paused after 3 consecutive failures"
    );
}

#[actix_web::test]
async fn the_server_default_applies_and_two_instances_pause_once() {
    let hook = fakes::start(|_| (200, json!({}))).await;
    let url = format!("{}/hook", hook.base);
    let db = std::sync::Arc::new(crate::cluster::TestDb::new());
    let config = |c: &mut taskforge::config::Config, url: &str| {
        c.notifications.webhook_url = url.to_string();
        c.scheduler.auto_pause_after_failures = 2;
    };
    let a = TestApp::spawn_on(db.clone(), |c| config(c, &url)).await;
    let b = TestApp::spawn_on(db, |c| config(c, &url)).await;
    // Medium severity: each failure waits for a person (unresolved), which counts too.
    let s = a
        .create_schedule(shell(
            "two-instances",
            "exit 7",
            json!({"retryPolicy": {"maxAttempts": 1}}),
        ))
        .await;
    let id = id_of(&s);
    assert!(s["autoPauseAfterFailures"].is_null(), "{s}");
    // Both instances run and fail it at once, twice.
    for _ in 0..2 {
        let (ra, rb) = tokio::join!(a.trigger(&s), b.trigger(&s));
        for (app, exec) in [(&a, ra), (&b, rb)] {
            app.finished_execution(&exec).await;
        }
    }
    let p = paused(&a, &id).await;
    assert_eq!(
        p["pausedReason"],
        "auto-paused after 2 consecutive failures"
    );
    // Every failure has been recorded and checked: the count of pauses is final.
    eventually(
        Duration::from_secs(30),
        "four failures recorded",
        || async {
            let (_, errs) = a
                .get(&format!("/api/errors/errors?scheduleId={id}&limit=10"))
                .await;
            (errs["items"].as_array().map_or(0, Vec::len) == 4).then_some(())
        },
    )
    .await;
    let hooks = eventually(Duration::from_secs(30), "the webhook", || async {
        let h = auto_paused(&hook);
        (!h.is_empty()).then_some(h)
    })
    .await;
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let lines = crate::logcap::lines_with(&["schedule auto-paused:", &id]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    hook.stop().await;
}

#[actix_web::test]
async fn auto_pause_is_validated_by_field() {
    let app = TestApp::spawn().await;
    for bad in [
        json!(0),
        json!(-1),
        json!(10_001),
        json!("3"),
        json!(1e20),
        json!(2.5),
    ] {
        let body = shell(
            "bad-auto-pause",
            "true",
            json!({"autoPauseAfterFailures": bad}),
        );
        let (status, err) = app.post("/api/scheduler/schedules", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_envelope(&err, "validation_failed");
        assert_eq!(
            err["error"]["details"][0]["field"], "autoPauseAfterFailures",
            "{bad}"
        );
    }
    let body = shell(
        "auto-pause-unset",
        "true",
        json!({"autoPauseAfterFailures": null}),
    );
    assert_eq!(
        app.post("/api/scheduler/schedules", &body).await.0,
        StatusCode::CREATED
    );
}
