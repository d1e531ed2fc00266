//! fires of `allow` schedules are claimed up to `scheduler.prefetch_ms` early, and a
//! pause, edit or delete before the due instant still wins over that early claim.

use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};

use crate::app::{eventually, TestApp};

/// A wide window, so the claim happens as soon as the schedule exists.
async fn app() -> TestApp {
    TestApp::spawn_with(|c| c.scheduler.prefetch_ms = 5_000).await
}

fn once(name: &str, command: &str, run_at: &str) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": command},
           "scheduleType": "once", "scheduleConfig": {"runAt": run_at}})
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

/// Waits until the schedule's fire is claimed ahead (a pending execution before its time).
async fn claimed_ahead(app: &TestApp, id: &str) -> Value {
    eventually(Duration::from_secs(20), "the early claim", || async {
        let e = app.executions_of(id).await;
        (e.len() == 1 && e[0]["status"] == "pending").then(|| e[0].clone())
    })
    .await
}

/// Sleeps until `secs` past `at`: long enough for a fire at `at` to have shown up.
async fn past(at: chrono::DateTime<Utc>, secs: i64) {
    let wait = (at + chrono::Duration::seconds(secs) - Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    tokio::time::sleep(wait).await;
}

#[actix_web::test]
async fn a_pause_before_the_fire_takes_back_its_early_claim() {
    let app = app().await;
    let at = Utc::now() + chrono::Duration::seconds(4);
    let run_at = at.to_rfc3339();
    let s = app.create_schedule(once("paused", "true", &run_at)).await;
    let id = id_of(&s);
    let early = claimed_ahead(&app, &id).await;
    assert!(early["scheduledFor"].as_str().is_some(), "{early}");

    let (status, paused) = app
        .post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    assert_eq!(status.as_u16(), 200, "{paused}");
    assert!(paused["lastRunAt"].is_null(), "claim not undone: {paused}");
    assert!(paused["nextRunAt"].is_string(), "{paused}");
    assert!(app.executions_of(&id).await.is_empty());
    past(at, 2).await;
    assert!(
        app.executions_of(&id).await.is_empty(),
        "a paused schedule ran"
    );

    // A one-time schedule whose fire was taken back has not run: resuming runs it, once.
    let (_, resumed) = app
        .post(&format!("/api/scheduler/schedules/{id}/resume"), &json!({}))
        .await;
    assert!(resumed["nextRunAt"].is_string(), "{resumed}");
    let done = eventually(Duration::from_secs(30), "the run after resume", || async {
        let e = app.executions_of(&id).await;
        (e.len() == 1 && e[0]["status"] == "completed").then(|| e[0].clone())
    })
    .await;
    // Within the misfire threshold it is still a regular fire; beyond it, a catch-up.
    assert!(
        ["schedule", "catch_up"].contains(&done["trigger"].as_str().unwrap_or("")),
        "{done}"
    );
}

#[actix_web::test]
async fn an_edit_before_the_fire_runs_the_new_definition() {
    let app = app().await;
    let run_at = (Utc::now() + chrono::Duration::seconds(4)).to_rfc3339();
    let s = app
        .create_schedule(once("edited", "echo old", &run_at))
        .await;
    let id = id_of(&s);
    claimed_ahead(&app, &id).await;
    let (status, edited) = app
        .put(
            &format!("/api/scheduler/schedules/{id}"),
            &once("edited", "echo new", &run_at),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{edited}");
    let done = eventually(Duration::from_secs(30), "the edited run", || async {
        let e = app.executions_of(&id).await;
        e.iter().any(|x| x["status"] == "completed").then_some(e)
    })
    .await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["result"]["stdout"], "new\n", "{:?}", done[0]);
    assert_eq!(done[0]["trigger"], "schedule");
}

#[actix_web::test]
async fn a_delete_before_the_fire_means_no_run() {
    let app = app().await;
    let at = Utc::now() + chrono::Duration::seconds(4);
    let s = app
        .create_schedule(once("deleted", "true", &at.to_rfc3339()))
        .await;
    let id = id_of(&s);
    claimed_ahead(&app, &id).await;
    let (status, _) = app
        .request("DELETE", &format!("/api/scheduler/schedules/{id}"), None)
        .await;
    assert!(status.is_success(), "{status}");
    assert!(app.executions_of(&id).await.is_empty());
    past(at, 2).await;
    assert!(
        app.executions_of(&id).await.is_empty(),
        "a deleted schedule ran"
    );
}

#[actix_web::test]
async fn forbid_fires_are_claimed_at_the_last_moment_only() {
    let app = app().await;
    let at = Utc::now() + chrono::Duration::seconds(4);
    let run_at = at.to_rfc3339();
    let allow = app.create_schedule(once("allow", "true", &run_at)).await;
    let mut body = once("forbid", "true", &run_at);
    body["concurrencyPolicy"] = json!("forbid");
    let forbid = app.create_schedule(body).await;
    // The allow schedule's claim shows the prefetch pass ran; the forbid one was left alone.
    claimed_ahead(&app, &id_of(&allow)).await;
    assert!(app.executions_of(&id_of(&forbid)).await.is_empty());
    assert!(
        Utc::now() < at,
        "the machine was too slow to observe the window"
    );
    for id in [id_of(&allow), id_of(&forbid)] {
        let e = eventually(Duration::from_secs(30), "both runs", || async {
            let e = app.executions_of(&id).await;
            (e.len() == 1 && e[0]["status"] == "completed").then(|| e[0].clone())
        })
        .await;
        assert_eq!(e["trigger"], "schedule", "{e}");
    }
}

#[actix_web::test]
async fn a_shutdown_before_the_fire_gives_it_back_for_the_next_instance() {
    let mut first = app().await;
    let run_at = (Utc::now() + chrono::Duration::seconds(4)).to_rfc3339();
    let s = first
        .create_schedule(once("handed-over", "true", &run_at))
        .await;
    let id = id_of(&s);
    claimed_ahead(&first, &id).await;
    first.shutdown().await;
    // Not an interrupted failure: the fire never started, so it is simply claimed again.
    let second = TestApp::spawn_on(first.db.clone(), |c| c.scheduler.prefetch_ms = 5_000).await;
    let done = eventually(
        Duration::from_secs(30),
        "the run on the next instance",
        || async {
            let e = second.executions_of(&id).await;
            e.iter().any(|x| x["status"] == "completed").then_some(e)
        },
    )
    .await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["trigger"], "schedule", "{:?}", done[0]);
}
