//! A database that goes away: 503s while it is gone, nothing lost or run twice when it returns, and executions still running after the grace period.

use crate::app::{eventually, TestApp};
use crate::cluster::query_i64;
use crate::crash::{data_dir, every_minute, sid};
use crate::logcap;
use crate::private_cluster::PrivateCluster;
use awc::http::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// An app on a cluster of its own (so the test can stop it), failing fast while it is down.
async fn outage_app(
    dir: &std::path::Path,
    f: impl FnOnce(&mut taskforge::config::Config),
) -> (PrivateCluster, TestApp) {
    let pg = PrivateCluster::start(dir);
    let db = Arc::new(crate::cluster::TestDb::external(pg.url()));
    let app = TestApp::spawn_on(db, |c| {
        c.database.pool_wait_timeout_ms = 1000;
        c.database.pool_create_timeout_ms = 1000;
        f(c);
    })
    .await;
    (pg, app)
}

#[actix_web::test]
async fn a_database_outage_gives_503_and_everything_resumes_without_duplicates() {
    let dir = data_dir();
    let (mut pg, app) = outage_app(dir.path(), |_| {}).await;
    let s = app
        .create_schedule(json!({"name": "through-outage", "taskType": "shell", "taskConfig": {"command": "true"}, "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"}}))
        .await;
    eventually(
        Duration::from_secs(30),
        "runs before the outage",
        || async { (app.executions_of(&sid(&s)).await.len() >= 2).then_some(()) },
    )
    .await;

    pg.down();
    let health = eventually(Duration::from_secs(30), "health 503", || async {
        let (status, h) = app.get("/api/health").await;
        (status == StatusCode::SERVICE_UNAVAILABLE).then_some(h)
    })
    .await;
    assert_eq!(health["database"], "unreachable");
    let (status, body) = app.get("/api/scheduler/schedules").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "service_unavailable");
    let (status, _) = app
        .post(
            "/api/scheduler/schedules",
            &every_minute("during", "run_once"),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(Duration::from_secs(10)).await; // the outage the issue asks for

    pg.up();
    eventually(Duration::from_secs(60), "health back", || async {
        let (status, _) = app.get("/api/health").await;
        (status == StatusCode::OK).then_some(())
    })
    .await;
    // The pool's connections from before the outage are gone: no request sees them.
    for _ in 0..20 {
        let (status, body) = app.get("/api/scheduler/schedules").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let before = app.executions_of(&sid(&s)).await.len();
    eventually(Duration::from_secs(60), "runs resume", || async {
        (app.executions_of(&sid(&s)).await.len() >= before + 3).then_some(())
    })
    .await;
    let dups = query_i64(pg.url(), "SELECT count(*) AS n FROM (SELECT 1 FROM task_executions GROUP BY schedule_id, scheduled_for HAVING count(*) > 1) d").await;
    assert_eq!(dups, 0);
    let stuck = query_i64(pg.url(), "SELECT count(*) AS n FROM task_executions WHERE status IN ('pending','running') AND created_at < now() - interval '30 seconds'").await;
    assert_eq!(stuck, 0);
    // The actors were never restarted by the outage: they waited instead of crash-looping.
    assert!(logcap::lines_with(&["actor restarted", "outage"]).is_empty());
}

#[actix_web::test]
async fn executions_still_running_after_the_grace_period_are_interrupted() {
    let mut app = TestApp::spawn_with(|c| c.server.shutdown_grace_secs = 1).await;
    let s = app
        .create_schedule(json!({"name": "too-long", "taskType": "shell", "taskConfig": {"command": "sleep 30"}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    let exec = app.trigger(&s).await;
    eventually(Duration::from_secs(20), "running", || async {
        (app.execution(&exec).await["status"] == "running").then_some(())
    })
    .await;
    app.shutdown().await;
    let url = app.db.url().to_string();
    assert_eq!(
        query_i64(&url, &format!("SELECT count(*) AS n FROM task_executions WHERE id = '{exec}' AND status = 'failed' AND error_type = 'interrupted'")).await,
        1
    );
    // Recorded before exit: high severity, waiting for its retry (run by whoever starts next).
    assert_eq!(
        query_i64(&url, &format!("SELECT count(*) AS n FROM error_records WHERE execution_id = '{exec}' AND recovery_status = 'retry_scheduled'")).await,
        1
    );
}

#[actix_web::test]
async fn a_running_state_lost_to_an_outage_is_stored_while_the_task_still_runs() {
    let dir = data_dir();
    let (mut pg, app) = outage_app(dir.path(), |c| c.scheduler.prefetch_ms = 5_000).await;
    // Claimed ahead while the database is up; it starts while the database is down.
    let run_at = chrono::Utc::now() + chrono::Duration::seconds(3);
    let s = app
        .create_schedule(json!({"name": "starts-in-outage", "taskType": "shell", "taskConfig": {"command": "sleep 60"}, "scheduleType": "once", "scheduleConfig": {"runAt": run_at.to_rfc3339()}}))
        .await;
    let exec = eventually(Duration::from_secs(20), "the early claim", || async {
        let e = app.executions_of(&sid(&s)).await;
        (e.len() == 1).then(|| e[0]["id"].as_str().unwrap_or_default().to_string())
    })
    .await;
    pg.down();
    let wait = (run_at + chrono::Duration::milliseconds(1500) - chrono::Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    tokio::time::sleep(wait).await; // the task has started; its running write fails meanwhile
    pg.up();
    // Stored as running while the task (60 s) is still going, not only when it ends.
    let running = eventually(Duration::from_secs(40), "running stored", || async {
        let (status, e) = app.get(&format!("/api/executions/{exec}")).await;
        (status == StatusCode::OK && e["status"] != "pending").then_some(e)
    })
    .await;
    assert_eq!(running["status"], "running", "{running}");
    let (status, cancelled) = app
        .post(&format!("/api/executions/{exec}/cancel"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
}
