//! schedules fire on time and run real tasks.

use std::collections::HashMap;
use std::time::Duration;

use awc::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::app::{eventually, TestApp};
use crate::fakes;

pub(crate) fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not a timestamp: {v}"))
}

pub(crate) fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

#[actix_web::test]
async fn every_second_cron_runs_shell_and_captures_output() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(json!({
            "name": "tick",
            "taskType": "shell",
            "taskConfig": {"command": "echo out-$GREETING; echo err >&2", "env": {"GREETING": "hi"}, "workingDir": "/tmp"},
            "scheduleType": "cron",
            "scheduleConfig": {"expression": "* * * * * *"}
        }))
        .await;
    let id = id_of(&s);
    let done = eventually(Duration::from_secs(30), "3 completed runs", || async {
        let done: Vec<Value> = app
            .executions_of(&id)
            .await
            .into_iter()
            .filter(|e| e["status"] == "completed")
            .collect();
        (done.len() >= 3).then_some(done)
    })
    .await;
    let mut slots: Vec<DateTime<Utc>> = done.iter().map(|e| time(&e["scheduledFor"])).collect();
    slots.sort();
    slots.dedup();
    assert_eq!(slots.len(), done.len(), "a second fired twice");
    for e in &done {
        assert_eq!(e["trigger"], "schedule");
        assert_eq!(e["attempt"], 1);
        assert_eq!(e["result"]["exitCode"], 0);
        assert_eq!(e["result"]["stdout"], "out-hi\n");
        assert_eq!(e["result"]["stderr"], "err\n");
        assert_eq!(e["result"]["truncated"], false);
        assert_eq!(time(&e["scheduledFor"]).timestamp_subsec_nanos(), 0);
        assert!(time(&e["startedAt"]) >= time(&e["scheduledFor"]));
        assert!(e["durationMs"].is_i64());
    }
    let (_, sched) = app.get(&format!("/api/scheduler/schedules/{id}")).await;
    assert!(
        sched["lastRunAt"].is_string() && sched["lastExecutionId"].is_string(),
        "{sched}"
    );
}

#[actix_web::test]
async fn failing_and_truncated_shell_output() {
    let app = TestApp::spawn_with(|c| c.execution.output_cap_bytes = 1000).await;
    let s = app
        .create_schedule(json!({
            "name": "fails",
            "taskType": "shell",
            "taskConfig": {"command": "head -c 5000 /dev/zero | tr '\\0' x; echo boom >&2; exit 3"},
            "scheduleType": "once",
            "scheduleConfig": {"runAt": "2020-01-01T00:00:00Z"}
        }))
        .await;
    let id = id_of(&s);
    let e = eventually(Duration::from_secs(30), "failed run", || async {
        app.executions_of(&id)
            .await
            .into_iter()
            .find(|e| e["status"] == "failed")
    })
    .await;
    assert_eq!(e["errorType"], "exit_code");
    assert_eq!(e["result"]["exitCode"], 3);
    assert_eq!(e["result"]["truncated"], true);
    assert_eq!(e["result"]["stdout"].as_str().map(str::len), Some(1000));
    assert!(
        e["error"]
            .as_str()
            .unwrap_or_default()
            .contains("exit code 3: boom"),
        "{e}"
    );
}

#[actix_web::test]
async fn once_runs_exactly_once_then_has_no_next_run() {
    let app = TestApp::spawn().await;
    let run_at = (Utc::now() + chrono::Duration::milliseconds(700)).to_rfc3339();
    let s = app
        .create_schedule(json!({
            "name": "once",
            "taskType": "shell",
            "taskConfig": {"command": "true"},
            "scheduleType": "once",
            "scheduleConfig": {"runAt": run_at}
        }))
        .await;
    let id = id_of(&s);
    eventually(Duration::from_secs(30), "the run", || async {
        let e = app.executions_of(&id).await;
        e.iter().any(|x| x["status"] == "completed").then_some(())
    })
    .await;
    let (_, ran) = app.get(&format!("/api/scheduler/schedules/{id}")).await;
    assert!(
        ran["nextRunAt"].is_null() && ran["lastRunAt"].is_string(),
        "{ran}"
    );
    // Resume on a schedule that already ran does not bring it back.
    app.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    let (_, resumed) = app
        .post(&format!("/api/scheduler/schedules/{id}/resume"), &json!({}))
        .await;
    assert!(resumed["nextRunAt"].is_null(), "{resumed}");
    tokio::time::sleep(Duration::from_millis(1500)).await; // a window in which a second run would show
    assert_eq!(app.executions_of(&id).await.len(), 1);
}

#[actix_web::test]
async fn http_task_sends_the_request_and_checks_the_status() {
    let app = TestApp::spawn().await;
    let target = fakes::start(|r| {
        if r.path.starts_with("/ok") {
            (201, json!({"saved": true}))
        } else {
            (503, json!({"down": true}))
        }
    })
    .await;
    let make = |name: &str, path: &str, expected: Option<Value>| {
        let mut cfg = json!({
            "method": "POST",
            "url": format!("{}{path}", target.base),
            "headers": {"X-Token": "abc"},
            "body": {"hello": "world"}
        });
        if let Some(e) = expected {
            cfg["expectedStatus"] = e;
        }
        json!({"name": name, "taskType": "http", "taskConfig": cfg, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}})
    };
    let ok = app
        .create_schedule(make("ok", "/ok", Some(json!([201]))))
        .await;
    let down = app.create_schedule(make("down", "/down", None)).await;
    let unreachable = app
        .create_schedule(json!({"name": "nowhere", "taskType": "http", "taskConfig": {"url": "http://127.0.0.1:9/x", "timeoutMs": 5000}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    let mut results = HashMap::new();
    for s in [&ok, &down, &unreachable] {
        let (status, trig) = app
            .post(
                &format!("/api/scheduler/schedules/{}/trigger", id_of(s)),
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{trig}");
        let e = app
            .finished_execution(trig["executionId"].as_str().unwrap_or_default())
            .await;
        assert_eq!(e["trigger"], "manual");
        results.insert(s["name"].as_str().unwrap_or_default().to_string(), e);
    }
    let e = &results["ok"];
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["result"]["status"], 201);
    assert_eq!(e["result"]["body"], json!({"saved": true}));
    let e = &results["down"];
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("failed"), Some("http_status")),
        "{e}"
    );
    assert_eq!(e["result"]["status"], 503);
    let e = &results["nowhere"];
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("failed"), Some("connection")),
        "{e}"
    );

    let got = target.received();
    assert_eq!(got.len(), 2);
    let first = got
        .iter()
        .find(|r| r.path == "/ok")
        .unwrap_or_else(|| panic!("no /ok request"));
    assert_eq!(first.method, "POST");
    assert_eq!(first.json(), json!({"hello": "world"}));
    assert!(first
        .headers
        .iter()
        .any(|(k, v)| k == "x-token" && v == "abc"));
    target.stop().await;
}

#[actix_web::test]
async fn conductor_task_follows_flow_five() {
    let conductor = fakes::conductor().await;
    let base = conductor.base.clone();
    let app = TestApp::spawn_with(move |c| c.conductor.base_url = base).await;
    let s = app
        .create_schedule(json!({"name": "agent", "taskType": "conductor", "taskConfig": {"message": "summarize", "threadId": "thread-7", "timeoutMs": 60000}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    let (_, trig) = app
        .post(
            &format!("/api/scheduler/schedules/{}/trigger", id_of(&s)),
            &json!({}),
        )
        .await;
    let e = app
        .finished_execution(trig["executionId"].as_str().unwrap_or_default())
        .await;
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["conductorThreadId"], "thread-7");
    assert_eq!(e["conductorStatus"], "completed");
    assert_eq!(e["result"], json!({"reply": "done: summarize"}));
    let got = conductor.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/api/threads/thread-7/messages");
    assert_eq!(
        got[0].json(),
        json!({"message": "summarize", "timeout": 60000})
    );

    // Without a thread id one is generated; with the conductor gone, errorType is conductor.
    let s2 = app
        .create_schedule(json!({"name": "agent2", "taskType": "conductor", "taskConfig": {"message": "hi"}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    let (_, trig) = app
        .post(
            &format!("/api/scheduler/schedules/{}/trigger", id_of(&s2)),
            &json!({}),
        )
        .await;
    let e = app
        .finished_execution(trig["executionId"].as_str().unwrap_or_default())
        .await;
    assert!(
        e["conductorThreadId"]
            .as_str()
            .is_some_and(|t| uuid::Uuid::parse_str(t).is_ok()),
        "{e}"
    );
    conductor.stop().await;
    let (_, trig) = app
        .post(
            &format!("/api/scheduler/schedules/{}/trigger", id_of(&s2)),
            &json!({}),
        )
        .await;
    let e = app
        .finished_execution(trig["executionId"].as_str().unwrap_or_default())
        .await;
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("failed"), Some("conductor")),
        "{e}"
    );
}

/// Pids written by the task; all must be gone (or zombies) once the run ended.
async fn assert_all_dead(pid_file: &std::path::Path) {
    let text = std::fs::read_to_string(pid_file).unwrap_or_default();
    let pids: Vec<String> = text.split_whitespace().map(String::from).collect();
    assert!(pids.len() >= 2, "pids not recorded: {text:?}");
    let alive = |pid: &str| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("gone")
            .to_string();
        !stat.is_empty() && state != "Z"
    };
    // SIGKILL is immediate; the bound only absorbs scheduling delay on a loaded machine.
    eventually(Duration::from_secs(10), "task processes gone", || async {
        pids.iter().all(|p| !alive(p)).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn timeout_and_cancel_kill_the_whole_process_group() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pids = dir.path().join("timeout.pids");
    let cmd = format!(
        "sleep 60 & echo $! >> {p}; echo $$ >> {p}; sleep 60",
        p = pids.display()
    );
    let s = app
        .create_schedule(json!({"name": "slow", "taskType": "shell", "taskConfig": {"command": cmd, "timeoutMs": 500}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    let (_, trig) = app
        .post(
            &format!("/api/scheduler/schedules/{}/trigger", id_of(&s)),
            &json!({}),
        )
        .await;
    let e = app
        .finished_execution(trig["executionId"].as_str().unwrap_or_default())
        .await;
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("failed"), Some("timeout")),
        "{e}"
    );
    assert_all_dead(&pids).await;

    let pids = dir.path().join("cancel.pids");
    let cmd = format!(
        "sleep 60 & echo $! >> {p}; echo $$ >> {p}; sleep 60",
        p = pids.display()
    );
    let s = app
        .create_schedule(json!({"name": "cancel-me", "taskType": "shell", "taskConfig": {"command": cmd}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    let exec_id = app.trigger(&s).await;
    eventually(Duration::from_secs(20), "running with pids", || async {
        let e = app.execution(&exec_id).await;
        let n = std::fs::read_to_string(&pids)
            .unwrap_or_default()
            .split_whitespace()
            .count();
        (e["status"] == "running" && n >= 2).then_some(())
    })
    .await;
    let (status, cancelled) = app
        .post(&format!("/api/executions/{exec_id}/cancel"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_all_dead(&pids).await;
    let (status, again) = app
        .post(&format!("/api/executions/{exec_id}/cancel"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
}
