//! `concurrencyPolicy: queue | replace` and `maxConcurrent` through the real app on a real
//! database, on one instance and on two sharing it: runs never exceed the schedule's places, at
//! most one fire waits under queue, a waiting fire starts when the run before it ends (or is
//! skipped past its start deadline), replace cancels the run and stops its task.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::cluster::query_i64;
use crate::firing::id_of;

fn every_second(name: &str, command: &str, extra: Value) -> Value {
    let mut body = json!({"name": name, "taskType": "shell", "taskConfig": {"command": command},
        "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

/// The most runs of `id` that were running at one instant, from their stored start and end.
async fn most_at_once(url: &str, id: &str) -> i64 {
    query_i64(
        url,
        &format!(
            "SELECT coalesce(max(c), 0) AS n FROM (SELECT (SELECT count(*) FROM task_executions b \
             WHERE b.schedule_id = a.schedule_id AND b.started_at IS NOT NULL \
             AND b.started_at <= a.started_at AND coalesce(b.finished_at, now()) > a.started_at) AS c \
             FROM task_executions a WHERE a.schedule_id = '{id}' AND a.started_at IS NOT NULL) t"
        ),
    )
    .await
}

async fn count(url: &str, id: &str, filter: &str) -> i64 {
    query_i64(
        url,
        &format!(
            "SELECT count(*) AS n FROM task_executions WHERE schedule_id = '{id}' AND {filter}"
        ),
    )
    .await
}

/// Watches the schedule until `done` holds, checking after every look that no more than
/// `waiting_max` fires wait and no more than `running_max` rows are active at once.
async fn watch(url: &str, id: &str, waiting_max: i64, running_max: i64, done: &str, what: &str) {
    eventually(Duration::from_secs(60), what, || async {
        let waiting = count(url, id, "waiting AND status = 'pending'").await;
        assert!(waiting <= waiting_max, "{waiting} fires wait at once");
        let running = count(url, id, "status = 'running'").await;
        assert!(running <= running_max, "{running} runs at once");
        (count(url, id, done).await > 0).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn queue_runs_one_at_a_time_keeps_one_waiting_and_skips_the_rest() {
    let app = TestApp::spawn().await;
    let url = app.db.url().to_string();
    let s = app
        .create_schedule(every_second(
            "queued",
            "sleep 1.5",
            json!({"concurrencyPolicy": "queue"}),
        ))
        .await;
    assert_eq!(s["concurrencyPolicy"], "queue");
    let id = id_of(&s);
    // A fire that waited, then ran: it started well after its slot and completed.
    let waited = "status = 'completed' AND started_at - scheduled_for > interval '500 ms' \
                  AND trigger = 'schedule'";
    watch(
        &url,
        &id,
        1,
        1,
        &format!("({waited}) AND attempt = 1"),
        "a queued fire ran",
    )
    .await;
    watch(
        &url,
        &id,
        1,
        1,
        "status = 'skipped' AND skip_reason = 'overlap'",
        "an overlap",
    )
    .await;
    app.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    assert_eq!(most_at_once(&url, &id).await, 1, "queued runs overlapped");
}

#[actix_web::test]
async fn a_waiting_fire_past_its_start_deadline_is_skipped() {
    let app = TestApp::spawn().await;
    let url = app.db.url().to_string();
    let s = app
        .create_schedule(every_second(
            "queued-deadline",
            "sleep 4",
            json!({"concurrencyPolicy": "queue", "startDeadlineSeconds": 1}),
        ))
        .await;
    let id = id_of(&s);
    watch(
        &url,
        &id,
        1,
        1,
        "status = 'skipped' AND skip_reason = 'start_deadline'",
        "a waiting fire expired",
    )
    .await;
    app.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    // Every run that started did so within its deadline (plus the release cadence).
    let late = count(
        &url,
        &id,
        "started_at IS NOT NULL AND started_at - scheduled_for > interval '3 s'",
    )
    .await;
    assert_eq!(late, 0);
}

#[actix_web::test]
async fn max_concurrent_caps_the_runs_and_the_excess_waits_then_runs() {
    let app = TestApp::spawn().await;
    let url = app.db.url().to_string();
    let s = app
        .create_schedule(every_second(
            "capped",
            "sleep 3",
            json!({"maxConcurrent": 2}),
        ))
        .await;
    assert_eq!(s["maxConcurrent"], 2);
    let id = id_of(&s);
    watch(
        &url,
        &id,
        i64::MAX,
        2,
        "status = 'completed' AND started_at - scheduled_for > interval '500 ms'",
        "a fire that waited for a place ran",
    )
    .await;
    app.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    assert!(most_at_once(&url, &id).await <= 2);
    // Nothing was skipped: under allow the excess waits.
    assert_eq!(count(&url, &id, "status = 'skipped'").await, 0);
}

#[actix_web::test]
async fn replace_cancels_the_running_one_and_stops_its_task() {
    let app = TestApp::spawn().await;
    let url = app.db.url().to_string();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pids = dir.path().join("pids");
    let s = app
        .create_schedule(every_second(
            "replaced",
            &format!("echo $$ >> {}; exec sleep 30", pids.display()),
            json!({"concurrencyPolicy": "replace"}),
        ))
        .await;
    let id = id_of(&s);
    watch(
        &url,
        &id,
        0,
        1,
        "status = 'cancelled' AND error LIKE 'replaced by a newer run%'",
        "a run replaced",
    )
    .await;
    // Two tasks started (the first was replaced while it slept): at most one of them is
    // still alive, the replaced ones are stopped rather than left sleeping for 30 s.
    let pid_lines = || {
        std::fs::read_to_string(&pids)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    eventually(Duration::from_secs(30), "two tasks started", || async {
        (pid_lines().len() >= 2).then_some(())
    })
    .await;
    app.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    assert_eq!(most_at_once(&url, &id).await, 1);
    eventually(
        Duration::from_secs(20),
        "replaced tasks stopped",
        || async {
            let alive = pid_lines()
                .iter()
                .filter(|pid| {
                    std::process::Command::new("kill")
                        .args(["-0", pid])
                        .stderr(std::process::Stdio::null())
                        .status()
                        .map(|s| s.success())
                        .unwrap_or(false)
                })
                .count();
            (alive <= 1).then_some(())
        },
    )
    .await;
}

#[actix_web::test]
async fn two_instances_decide_queue_and_replace_once() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sharing().await;
    let url = a.db.url().to_string();
    let q = id_of(
        &a.create_schedule(every_second(
            "queued-shared",
            "sleep 1.5",
            json!({"concurrencyPolicy": "queue"}),
        ))
        .await,
    );
    let r = id_of(
        &b.create_schedule(every_second(
            "replaced-shared",
            "sleep 30",
            json!({"concurrencyPolicy": "replace"}),
        ))
        .await,
    );
    let waited = "status = 'completed' AND started_at - scheduled_for > interval '500 ms'";
    watch(&url, &q, 1, 1, waited, "a queued fire ran").await;
    watch(&url, &r, 0, 1, "status = 'cancelled'", "a run replaced").await;
    for id in [&q, &r] {
        a.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
            .await;
        assert_eq!(most_at_once(&url, id).await, 1, "schedule {id}");
    }
    let twice = query_i64(
        &url,
        &format!(
            "SELECT count(*) AS n FROM (SELECT scheduled_for FROM task_executions \
             WHERE schedule_id IN ('{q}', '{r}') GROUP BY schedule_id, scheduled_for \
             HAVING count(*) > 1) d"
        ),
    )
    .await;
    assert_eq!(twice, 0);
    drop(b);
}

#[actix_web::test]
async fn contradictory_concurrency_rules_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    for (extra, field) in [
        (json!({"maxConcurrent": 0}), "maxConcurrent"),
        (json!({"maxConcurrent": 100000}), "maxConcurrent"),
        (json!({"maxConcurrent": "two"}), "maxConcurrent"),
        (
            json!({"maxConcurrent": 2, "concurrencyPolicy": "queue"}),
            "maxConcurrent",
        ),
        (
            json!({"misfirePolicy": "run_all", "concurrencyPolicy": "replace"}),
            "misfirePolicy",
        ),
        (json!({"concurrencyPolicy": "later"}), "concurrencyPolicy"),
    ] {
        let (status, body) = app
            .post(
                "/api/scheduler/schedules",
                &every_second("bad", "true", extra.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra} {body}");
        assert_envelope(&body, "validation_failed");
        assert!(body.to_string().contains(field), "{extra} {body}");
    }
}
