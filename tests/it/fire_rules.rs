//! Rules around the fire rule through the real app on a real database: run_all after a day of
//! downtime, maxRuns and the active window ending a schedule, jitter that fires what the
//! preview showed, the start deadline, and their validation.

use std::time::Duration;

use actix_web::http::StatusCode;
use chrono::Utc;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::cluster::{execute, query_i64, query_strings};
use crate::firing::{id_of, time};

fn shell(name: &str, schedule_type: &str, config: Value) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": "true"},
        "scheduleType": schedule_type, "scheduleConfig": config})
}

fn with(mut body: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

#[actix_web::test]
async fn run_all_catches_up_a_day_of_downtime_within_its_limits_in_order() {
    let mut a = TestApp::spawn().await;
    let s = a
        .create_schedule(with(
            shell("daily-catch-up", "cron", json!({"expression": "* * * * *"})),
            json!({"misfirePolicy": "run_all", "catchupMax": 10}),
        ))
        .await;
    assert_eq!(s["catchupMax"], 10);
    let id = id_of(&s);
    a.shutdown().await;
    // Down for 24 hours: 1,441 minute slots from the first missed one to the latest.
    let url = a.db.url().to_string();
    execute(&url, "DELETE FROM task_executions").await;
    execute(
        &url,
        "UPDATE task_schedules SET next_run_at = date_trunc('minute', now()) - interval '24 hours'",
    )
    .await;
    let b = TestApp::spawn_on(a.db.clone(), |_| {}).await;
    let q =
        |what: &str| format!("SELECT {what} AS n FROM task_executions WHERE schedule_id = '{id}'");
    eventually(
        Duration::from_secs(60),
        "ten catch-ups finished",
        || async {
            let done = query_i64(
                &url,
                &q("count(*) FILTER (WHERE trigger = 'catch_up' AND status = 'completed')"),
            )
            .await;
            (done >= 10).then_some(())
        },
    )
    .await;
    let catch_ups = query_i64(&url, &q("count(*) FILTER (WHERE trigger = 'catch_up')")).await;
    assert_eq!(catch_ups, 10, "catchupMax bounds the burst");
    // Every slot is accounted for once: no gap, no repeat.
    let slots = query_i64(&url, &q("count(DISTINCT scheduled_for)")).await;
    let rows = query_i64(&url, &q("count(*)")).await;
    let span = query_i64(
        &url,
        &q("(EXTRACT(EPOCH FROM max(scheduled_for) - min(scheduled_for)) / 60)::int8 + 1"),
    )
    .await;
    assert_eq!((rows, slots), (span, span));
    assert!(span >= 1_441, "{span}");
    let skipped = query_i64(
        &url,
        &q("count(*) FILTER (WHERE status = 'skipped' AND skip_reason = 'misfire')"),
    )
    .await;
    let on_time = query_i64(
        &url,
        &q("count(*) FILTER (WHERE trigger = 'schedule' AND status <> 'skipped')"),
    )
    .await;
    assert_eq!(skipped + catch_ups + on_time, rows);
    // The newest ten slots ran, and they were started oldest first.
    let newest_skipped = query_strings(
        &url,
        &format!("SELECT max(scheduled_for)::text AS s FROM task_executions WHERE schedule_id = '{id}' AND status = 'skipped'"),
    )
    .await;
    let oldest_run = query_strings(
        &url,
        &format!("SELECT min(scheduled_for)::text AS s FROM task_executions WHERE schedule_id = '{id}' AND trigger = 'catch_up'"),
    )
    .await;
    assert!(
        newest_skipped < oldest_run,
        "{newest_skipped:?} {oldest_run:?}"
    );
    let out_of_order = query_i64(
        &url,
        &format!(
            "SELECT count(*) AS n FROM (SELECT started_at, lag(started_at) OVER (ORDER BY scheduled_for) AS before \
             FROM task_executions WHERE schedule_id = '{id}' AND trigger = 'catch_up') t WHERE started_at < before"
        ),
    )
    .await;
    assert_eq!(out_of_order, 0, "catch-ups start oldest first");
    drop(b);
}

#[actix_web::test]
async fn max_runs_and_the_window_end_a_schedule() {
    let app = TestApp::spawn().await;
    let limited = app
        .create_schedule(with(
            shell("three-times", "interval", json!({"intervalSeconds": 1})),
            json!({"maxRuns": 3}),
        ))
        .await;
    let until = Utc::now() + chrono::Duration::seconds(3);
    let windowed = app
        .create_schedule(with(
            shell("until-soon", "cron", json!({"expression": "* * * * * *"})),
            json!({"activeUntil": until.to_rfc3339()}),
        ))
        .await;
    for s in [&limited, &windowed] {
        let path = format!("/api/scheduler/schedules/{}", id_of(s));
        eventually(Duration::from_secs(30), "no next run", || async {
            let (_, v) = app.get(&path).await;
            v["nextRunAt"].is_null().then_some(())
        })
        .await;
    }
    // The last run claimed (ahead of its time, perhaps) has run.
    eventually(Duration::from_secs(30), "three runs finished", || async {
        let runs = app.executions_of(&id_of(&limited)).await;
        (runs.len() == 3 && runs.iter().all(|e| e["status"] == "completed")).then_some(())
    })
    .await;
    let (_, v) = app
        .get(&format!("/api/scheduler/schedules/{}", id_of(&limited)))
        .await;
    assert_eq!(v["runCount"], 3, "{v}");
    assert_eq!(v["maxRuns"], 3);
    assert_eq!(app.executions_of(&id_of(&limited)).await.len(), 3);
    let runs = app.executions_of(&id_of(&windowed)).await;
    assert!(!runs.is_empty());
    assert!(
        runs.iter().all(|e| time(&e["scheduledFor"]) < until),
        "{runs:?}"
    );
    // Editing the schedule does not bring back runs the limit used up.
    let (status, edited) = app
        .put(
            &format!("/api/scheduler/schedules/{}", id_of(&limited)),
            &with(v.clone(), json!({"description": "still done"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert!(edited["nextRunAt"].is_null(), "{edited}");
    let (_, more) = app
        .put(
            &format!("/api/scheduler/schedules/{}", id_of(&limited)),
            &with(v, json!({"maxRuns": 4})),
        )
        .await;
    assert!(more["nextRunAt"].is_string(), "one run left: {more}");
}

#[actix_web::test]
async fn jittered_fires_are_the_previewed_times() {
    let app = TestApp::spawn().await;
    let start = Utc::now() + chrono::Duration::seconds(2);
    let config = json!({"intervalSeconds": 2, "startAt": start.to_rfc3339()});
    let rules = json!({"jitterSeconds": 1});
    let (status, preview) = app
        .post(
            "/api/scheduler/preview",
            &with(
                json!({"scheduleType": "interval", "scheduleConfig": config, "count": 4,
                    "name": "jittery", "from": (start - chrono::Duration::seconds(1)).to_rfc3339()}),
                rules.clone(),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let shown: Vec<String> = preview["runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| time(t).to_rfc3339())
        .collect();
    assert_eq!(shown.len(), 4);
    let s = app
        .create_schedule(with(shell("jittery", "interval", config), rules))
        .await;
    assert_eq!(time(&s["nextRunAt"]).to_rfc3339(), shown[0]);
    let id = id_of(&s);
    let fired = eventually(Duration::from_secs(30), "four fires", || async {
        let mut at: Vec<String> = app
            .executions_of(&id)
            .await
            .iter()
            .map(|e| time(&e["scheduledFor"]).to_rfc3339())
            .collect();
        at.sort();
        (at.len() >= 4).then(|| at[..4].to_vec())
    })
    .await;
    assert_eq!(fired, shown);
    for (k, at) in fired.iter().enumerate() {
        let off = time(&json!(at)) - start - chrono::Duration::seconds(2 * k as i64);
        assert!(
            off >= chrono::Duration::zero() && off < chrono::Duration::seconds(1),
            "{k}: {at}"
        );
    }
}

#[actix_web::test]
async fn a_fire_too_late_to_start_is_skipped_with_start_deadline() {
    let app = TestApp::spawn().await;
    let run_at = Utc::now() - chrono::Duration::hours(1);
    let s = app
        .create_schedule(with(
            shell("stale", "once", json!({"runAt": run_at.to_rfc3339()})),
            json!({"startDeadlineSeconds": 60}),
        ))
        .await;
    let id = id_of(&s);
    let row = eventually(Duration::from_secs(30), "the slot recorded", || async {
        app.executions_of(&id).await.into_iter().next()
    })
    .await;
    assert_eq!(row["status"], "skipped", "{row}");
    assert_eq!(row["skipReason"], "start_deadline");
    assert!(row["startedAt"].is_null());
    let (_, v) = app.get(&format!("/api/scheduler/schedules/{id}")).await;
    assert!(v["nextRunAt"].is_null(), "{v}");
    assert_eq!(v["runCount"], 0);
}

#[actix_web::test]
async fn fire_rules_are_checked_by_field_and_round_trip() {
    let app = TestApp::spawn().await;
    let every_minute = json!({"expression": "* * * * *"});
    let cases = [
        (
            json!({"misfirePolicy": "run_all", "catchupMax": 0}),
            "catchupMax",
        ),
        (json!({"catchupMax": 5}), "catchupMax"),
        (
            json!({"activeFrom": "2027-01-02T00:00:00Z", "activeUntil": "2027-01-01T00:00:00Z"}),
            "activeUntil",
        ),
        (
            json!({"activeUntil": "9999-13-01T00:00:00Z"}),
            "activeUntil",
        ),
        (json!({"jitterSeconds": 3601}), "jitterSeconds"),
        (json!({"maxRuns": -1}), "maxRuns"),
        (
            json!({"startDeadlineSeconds": "soon"}),
            "startDeadlineSeconds",
        ),
        (
            json!({"misfirePolicy": "run_all", "concurrencyPolicy": "forbid"}),
            "misfirePolicy",
        ),
    ];
    for (extra, field) in cases {
        let body = with(shell("bad", "cron", every_minute.clone()), extra.clone());
        let (status, v) = app.post("/api/scheduler/schedules", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}: {v}");
        assert_envelope(&v, "validation_failed");
        assert!(
            v["error"]["details"].to_string().contains(field),
            "{extra}: {v}"
        );
    }
    let (status, v) = app
        .post(
            "/api/scheduler/schedules",
            &with(
                shell("bad", "interval", json!({"intervalSeconds": 30})),
                json!({"jitterSeconds": 30}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("jitterSeconds"));
    // A schedule with rules, read and sent back unchanged, stays byte for byte the same. It
    // fires once a year so that no fire (nor a claim ahead of one) moves it between the reads.
    let s = app
        .create_schedule(with(
            shell("ruled", "cron", json!({"expression": "0 0 1 1 *"})),
            json!({"misfirePolicy": "run_all", "catchupMax": 3, "catchupWindowSeconds": 600,
                "jitterSeconds": 20, "activeFrom": "2026-01-01T00:00:00Z",
                "activeUntil": "2099-01-01T00:00:00Z", "maxRuns": 1000, "startDeadlineSeconds": 30}),
        ))
        .await;
    let path = format!("/api/scheduler/schedules/{}", id_of(&s));
    let (status, again) = app.put(&path, &s).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, s);
    let (_, runs) = app.get(&format!("{path}/next-runs?count=3")).await;
    assert_eq!(runs["runs"][0], s["nextRunAt"], "{runs}");
}
