//! Backfill through the real app on a real database: a dry run's plan, `alreadyRun`, one run at
//! a time in the asked order, on a paused schedule, limits, and two overlapping backfills
//! running each slot once.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::cluster::query_i64;
use crate::firing::{id_of, time};

fn times(v: &Value) -> Vec<String> {
    v["runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| time(t).to_rfc3339())
        .collect()
}

fn at(s: &str) -> String {
    time(&json!(s)).to_rfc3339()
}

#[actix_web::test]
async fn backfill_runs_each_missing_slot_once_one_at_a_time() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(
            json!({"name": "reports", "enabled": false, "taskType": "shell",
            "taskConfig": {"command": "sleep 0.2"}, "scheduleType": "cron",
            "scheduleConfig": {"expression": "*/10 * * * *"}}),
        )
        .await;
    let id = id_of(&s);
    let path = format!("/api/scheduler/schedules/{id}/backfill");
    let url = app.db.url().to_string();
    let done = |n: i64| {
        let url = url.clone();
        let id = id.clone();
        async move {
            eventually(Duration::from_secs(60), "backfill runs finished", || async {
                let c = query_i64(&url, &format!("SELECT count(*) AS n FROM task_executions WHERE schedule_id = '{id}' AND trigger = 'backfill' AND status = 'completed'")).await;
                (c >= n).then_some(())
            })
            .await;
        }
    };
    // The first half hour, on a paused schedule.
    let (status, first) = app
        .post(
            &path,
            &json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T00:30:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(
        (first["count"].clone(), first["alreadyRun"].clone()),
        (json!(3), json!(0))
    );
    done(3).await;
    // The hour: a dry run plans only the three that did not run, and changes nothing.
    let hour =
        json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T01:00:00Z", "dryRun": true});
    let (status, plan) = app.post(&path, &hour).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["alreadyRun"], 3);
    assert_eq!(
        times(&plan),
        ["00:30", "00:40", "00:50"].map(|m| at(&format!("2026-12-01T{m}:00Z")))
    );
    let mut desc = hour.clone();
    desc["order"] = json!("desc");
    let (_, newest) = app.post(&path, &desc).await;
    let mut reversed = times(&plan);
    reversed.reverse();
    assert_eq!(times(&newest), reversed);
    let rows = query_i64(
        &url,
        &format!("SELECT count(*) AS n FROM task_executions WHERE schedule_id = '{id}'"),
    )
    .await;
    assert_eq!(rows, 3, "a dry run runs nothing");
    let mut run = hour.clone();
    run["dryRun"] = json!(false);
    let (status, _) = app.post(&path, &run).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    done(6).await;
    // One at a time, oldest first, each slot once.
    let overlapping = query_i64(&url, &format!(
        "SELECT count(*) AS n FROM (SELECT started_at, lag(finished_at) OVER (ORDER BY scheduled_for) AS before \
         FROM task_executions WHERE schedule_id = '{id}') t WHERE started_at < before")).await;
    assert_eq!(overlapping, 0);
    let distinct = query_i64(&url, &format!("SELECT count(DISTINCT scheduled_for) AS n FROM task_executions WHERE schedule_id = '{id}'")).await;
    assert_eq!(distinct, 6);
    let (_, again) = app.post(&path, &hour).await;
    assert_eq!(
        (again["count"].clone(), again["alreadyRun"].clone()),
        (json!(0), json!(6))
    );

    // Two backfills of the same range at once: every slot still runs once.
    let range = json!({"from": "2026-12-01T01:00:00Z", "to": "2026-12-01T01:30:00Z"});
    let (a, b) = tokio::join!(app.post(&path, &range), app.post(&path, &range));
    assert_eq!((a.0, b.0), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    eventually(Duration::from_secs(60), "both backfills ended", || async {
        (crate::logcap::lines_with(&["backfill finished", &id]).len() >= 4).then_some(())
    })
    .await;
    let late = query_i64(&url, &format!("SELECT count(*) AS n FROM task_executions WHERE schedule_id = '{id}' AND scheduled_for >= '2026-12-01T01:00:00Z'")).await;
    assert_eq!(late, 3);
}

#[actix_web::test]
async fn backfill_bodies_are_checked_by_field() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(
            json!({"name": "minutely", "taskType": "shell", "taskConfig": {"command": "true"},
            "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * *"}}),
        )
        .await;
    let path = format!("/api/scheduler/schedules/{}/backfill", id_of(&s));
    for (body, field) in [
        (
            json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z", "maxRuns": 10}),
            "maxRuns",
        ),
        (
            json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}),
            "to",
        ),
        (json!({"to": "2026-12-01T00:00:00Z"}), "from"),
        (
            json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T01:00:00Z", "order": "random"}),
            "order",
        ),
        (
            json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T01:00:00Z", "maxRuns": 0}),
            "maxRuns",
        ),
        (
            json!({"from": "1900-01-01T00:00:00Z", "to": "9999-12-31T00:00:00Z"}),
            "to",
        ),
        (
            json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T01:00:00Z", "extra": 1}),
            "extra",
        ),
    ] {
        let (status, v) = app.post(&path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_envelope(&v, "validation_failed");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with(field),
            "{body}: {v}"
        );
    }
    let (status, _) = app
        .post(
            "/api/scheduler/schedules/00000000-0000-0000-0000-000000000000/backfill",
            &json!({"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T01:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
