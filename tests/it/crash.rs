//! restart catch-up, dead instances, SIGKILL/SIGTERM, database outages.

use std::time::Duration;

use awc::http::StatusCode;
use nix::sys::signal::Signal;
use serde_json::{json, Value};
use taskforge::actors::instance::ScanNow;
use taskforge::db::executions::Finish;

use crate::app::{eventually, send, TestApp};
use crate::cluster::{execute, open_dir, query_i64};
use crate::logcap;
use crate::process::Service;

pub(crate) fn every_minute(name: &str, policy: &str) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": "true"}, "scheduleType": "cron",
           "scheduleConfig": {"expression": "* * * * *"}, "misfirePolicy": policy})
}

pub(crate) fn sid(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

#[actix_web::test]
async fn restart_catch_up_follows_the_misfire_policy() {
    let mut a = TestApp::spawn().await;
    let once = a
        .create_schedule(every_minute("catch-up", "run_once"))
        .await;
    let skip = a.create_schedule(every_minute("skipper", "skip")).await;
    a.shutdown().await;
    // Down for an hour: sixty fires missed.
    // A minute boundary may have come while `a` ran: forget what it fired.
    execute(a.db.url(), "DELETE FROM task_executions").await;
    execute(
        a.db.url(),
        "UPDATE task_schedules SET next_run_at = date_trunc('minute', now()) - interval '1 hour'",
    )
    .await;

    let b = TestApp::spawn_on(a.db.clone(), |_| {}).await;
    eventually(Duration::from_secs(30), "catch-up run", || async {
        let runs = b.executions_of(&sid(&once)).await;
        runs.iter()
            .any(|e| e["trigger"] == "catch_up")
            .then_some(())
    })
    .await;
    eventually(
        Duration::from_secs(30),
        "skip schedule advanced",
        || async {
            let (_, s) = b
                .get(&format!("/api/scheduler/schedules/{}", sid(&skip)))
                .await;
            let next =
                chrono::DateTime::parse_from_rfc3339(s["nextRunAt"].as_str().unwrap_or_default())
                    .ok()?;
            (next > chrono::Utc::now() - chrono::Duration::seconds(5)).then_some(())
        },
    )
    .await;
    assert!(!logcap::lines_with(&["slots skipped", &sid(&skip)]).is_empty());
    // One catch-up run, for the latest missed slot, however many were missed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs: Vec<Value> = b
        .executions_of(&sid(&once))
        .await
        .into_iter()
        .filter(|e| e["trigger"] == "catch_up")
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let slot =
        chrono::DateTime::parse_from_rfc3339(runs[0]["scheduledFor"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        chrono::Utc::now() - slot.with_timezone(&chrono::Utc) < chrono::Duration::seconds(70),
        "not the latest slot: {slot}"
    );
    let skipped_runs = b.executions_of(&sid(&skip)).await;
    assert!(
        skipped_runs.iter().all(|e| e["trigger"] != "catch_up"),
        "{skipped_runs:?}"
    );
    // Every missed slot is accounted for: one row per minute, no gap, no repeat; under
    // run_once all but the caught-up one are skipped as misfires, under skip all of them.
    for (schedule, runs) in [(sid(&once), 1), (sid(&skip), 0)] {
        let q = |what: &str| {
            format!("SELECT {what} AS n FROM task_executions WHERE schedule_id = '{schedule}'")
        };
        let slots = query_i64(b.db.url(), &q("count(DISTINCT scheduled_for)")).await;
        let span = query_i64(
            b.db.url(),
            &q("(EXTRACT(EPOCH FROM max(scheduled_for) - min(scheduled_for)) / 60)::int8 + 1"),
        )
        .await;
        assert!(
            slots >= 61 && slots == span,
            "{schedule}: {slots} slots over {span} minutes"
        );
        let skipped = query_i64(
            b.db.url(),
            &q("count(*) FILTER (WHERE status = 'skipped' AND skip_reason = 'misfire' AND started_at IS NULL)"),
        )
        .await;
        // A minute that came due during the test may have fired on time meanwhile.
        assert!(
            skipped >= 60 && slots - skipped <= runs + 1,
            "{schedule}: {skipped} skipped of {slots}"
        );
    }
}

#[actix_web::test]
async fn work_of_a_dead_instance_is_interrupted_fenced_and_retried() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(json!({"name": "orphaned", "taskType": "shell", "taskConfig": {"command": "true"}, "scheduleType": "cron",
                                "scheduleConfig": {"expression": "0 0 1 1 *"}, "retryPolicy": {"maxAttempts": 3, "backoffBaseMs": 100}}))
        .await;
    let dead = uuid::Uuid::new_v4();
    let exec = uuid::Uuid::new_v4();
    let url = app.db.url().to_string();
    execute(&url, &format!(
        "INSERT INTO system_state (instance_id, hostname, pid, version, heartbeat_at) VALUES ('{dead}', 'elsewhere', 1, 'x', now() - interval '1 hour')"
    )).await;
    execute(&url, &format!(
        "INSERT INTO task_executions (id, schedule_id, status, trigger, scheduled_for, task_type, task_config, started_at, owner_instance, fence) \
         VALUES ('{exec}', '{}', 'running', 'schedule', now(), 'shell', '{{\"command\": \"true\"}}', now(), '{dead}', 1)", sid(&s)
    )).await;
    app.running().state.actors.instance.do_send(ScanNow);

    let e = app.finished_execution(&exec.to_string()).await;
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("failed"), Some("interrupted")),
        "{e}"
    );
    // The presumed-dead owner's late result changes nothing.
    let late = Finish {
        status: taskforge::domain::states::ExecutionStatus::Completed,
        result: Some(json!({})),
        error: None,
        error_type: None,
        conductor_thread_id: None,
        conductor_status: None,
        finished_at: chrono::Utc::now(),
        duration_ms: Some(1),
    };
    let pool = &app.running().state.services.pool;
    // With its fence, or without one (finished before its running write was answered).
    for fence in [Some(1), None] {
        let item = taskforge::db::status_batch::FinishItem {
            id: exec,
            fence,
            started_at: None,
            finish: late.clone(),
        };
        assert!(taskforge::db::status_batch::finish(pool, dead, &[item])
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty());
    }
    // Interrupted is high severity: the retry runs and resolves the chain.
    let rec = eventually(Duration::from_secs(30), "resolved by retry", || async {
        let id = app.execution(&exec.to_string()).await["errorRecordId"]
            .as_str()?
            .to_string();
        let (_, r) = app.get(&format!("/api/errors/errors/{id}")).await;
        (r["recoveryStatus"] == "resolved").then_some(r)
    })
    .await;
    assert_eq!(rec["severity"], "high");
    assert_eq!(query_i64(&url, &format!("SELECT count(*) AS n FROM system_state WHERE instance_id = '{dead}' AND stopped_at IS NOT NULL")).await, 1);
}

#[actix_web::test]
async fn a_failure_whose_record_was_never_written_gets_one() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(every_minute("lost-record", "run_once"))
        .await;
    let exec = uuid::Uuid::new_v4();
    execute(app.db.url(), &format!(
        "INSERT INTO task_executions (id, schedule_id, status, trigger, scheduled_for, task_type, task_config, finished_at, error, error_type) \
         VALUES ('{exec}', '{}', 'failed', 'schedule', now(), 'shell', '{{}}', now() - interval '1 minute', 'boom', 'exit_code')", sid(&s)
    )).await;
    app.running().state.actors.instance.do_send(ScanNow);
    let e = eventually(Duration::from_secs(20), "record written", || async {
        let e = app.execution(&exec.to_string()).await;
        e["errorRecordId"].is_string().then_some(e)
    })
    .await;
    let (_, rec) = app
        .get(&format!(
            "/api/errors/errors/{}",
            e["errorRecordId"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(rec["recoveryStatus"], "unresolved");
}

pub(crate) fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("tf-crash-")
        .tempdir_in("/tmp")
        .unwrap_or_else(|e| panic!("{e}"));
    open_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    dir
}

pub(crate) fn start(dir: &std::path::Path, log: &str) -> Service {
    let d = dir.to_string_lossy().to_string();
    Service::start(
        &[
            ("TASKFORGE_DATA_DIR", &d),
            ("TASKFORGE_BIND", "127.0.0.1:0"),
            ("TASKFORGE_SHUTDOWN_GRACE_SECS", "10"),
        ],
        dir.join(log),
    )
}

async fn wait_status(base: &str, exec: &str, status: &str) -> Value {
    eventually(Duration::from_secs(60), status, || async {
        let (_, e) = send(base, "GET", &format!("/api/executions/{exec}"), None).await;
        (e["status"] == status).then_some(e)
    })
    .await
}

#[actix_web::test]
async fn sigkill_during_a_run_is_recorded_as_interrupted_and_retried_after_restart() {
    let dir = data_dir();
    let marker = dir.path().join("first-run-done");
    let mut first = start(dir.path(), "first.log");
    let cmd = format!(
        "test -f {m} && exit 0; touch {m}; sleep 60",
        m = marker.display()
    );
    let body = json!({"name": "killed", "taskType": "shell", "taskConfig": {"command": cmd}, "scheduleType": "cron",
                      "scheduleConfig": {"expression": "0 0 1 1 *"}, "retryPolicy": {"maxAttempts": 3, "backoffBaseMs": 100}});
    let (status, s) = send(
        &first.base,
        "POST",
        "/api/scheduler/schedules",
        Some(body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let (_, t) = send(
        &first.base,
        "POST",
        &format!("/api/scheduler/schedules/{}/trigger", sid(&s)),
        Some("{}".into()),
    )
    .await;
    let exec = t["executionId"].as_str().unwrap_or_default().to_string();
    wait_status(&first.base, &exec, "running").await;
    first.signal(Signal::SIGKILL);
    first.wait_exit(Duration::from_secs(10));

    let second = start(dir.path(), "second.log");
    let e = wait_status(&second.base, &exec, "failed").await;
    assert_eq!(e["errorType"], "interrupted", "{e}");
    let rec = eventually(Duration::from_secs(60), "retry resolves it", || async {
        let (_, e) = send(
            &second.base,
            "GET",
            &format!("/api/executions/{exec}"),
            None,
        )
        .await;
        let id = e["errorRecordId"].as_str()?.to_string();
        let (_, r) = send(
            &second.base,
            "GET",
            &format!("/api/errors/errors/{id}"),
            None,
        )
        .await;
        (r["recoveryStatus"] == "resolved").then_some(r)
    })
    .await;
    let execs = rec["executions"].as_array().cloned().unwrap_or_default();
    assert_eq!(execs.len(), 2, "{rec}");
    assert_eq!(
        (execs[1]["trigger"].as_str(), execs[1]["status"].as_str()),
        (Some("retry"), Some("completed"))
    );
}

#[actix_web::test]
async fn sigterm_lets_a_short_task_finish_within_the_grace_period() {
    let dir = data_dir();
    let mut svc = start(dir.path(), "svc.log");
    let body = json!({"name": "short", "taskType": "shell", "taskConfig": {"command": "sleep 1; echo finished"}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}});
    let (_, s) = send(
        &svc.base,
        "POST",
        "/api/scheduler/schedules",
        Some(body.to_string()),
    )
    .await;
    let (_, t) = send(
        &svc.base,
        "POST",
        &format!("/api/scheduler/schedules/{}/trigger", sid(&s)),
        Some("{}".into()),
    )
    .await;
    let exec = t["executionId"].as_str().unwrap_or_default().to_string();
    wait_status(&svc.base, &exec, "running").await;
    svc.signal(Signal::SIGTERM);
    let status = svc
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no exit: {}", svc.log_text()));
    assert!(status.success(), "{}", svc.log_text());

    let again = start(dir.path(), "again.log");
    let e = wait_status(&again.base, &exec, "completed").await;
    assert_eq!(e["result"]["stdout"], "finished\n");
}
