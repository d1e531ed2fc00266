//! Reliability while running: retention by itself, hand-back at a graceful stop, an instance declared dead, claims under a full queue, WebSocket limits.

use crate::app::{eventually, TestApp};
use crate::reliability::shell;
use awc::http::StatusCode;
use chrono::Utc;
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn retention_runs_by_itself() {
    use taskforge::db::executions::{self, NewExecution};
    let app = TestApp::spawn_with(|c| c.retention.interval_secs = 1).await;
    let s = app.create_schedule(shell("old", "true")).await;
    let pool = &app.running().state.services.pool;
    let sched = taskforge::db::schedules::get(
        pool,
        uuid::Uuid::parse_str(s["id"].as_str().unwrap_or_default()).unwrap_or_default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|| panic!("schedule gone"));
    let mut ids = Vec::new();
    for _ in 0..2 {
        let now = Utc::now();
        let row = executions::insert(
            pool,
            &NewExecution::of(
                &sched,
                taskforge::domain::states::Trigger::Manual,
                1,
                now,
                now,
                uuid::Uuid::new_v4(),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        ids.push(row.id);
    }
    crate::cluster::execute(app.db.url(), &format!(
        "UPDATE task_executions SET status = 'completed', finished_at = now() - interval '40 days' WHERE id = '{}'", ids[0])).await;
    crate::cluster::execute(app.db.url(), &format!(
        "UPDATE task_executions SET status = 'completed', finished_at = now() - interval '1 day' WHERE id = '{}'", ids[1])).await;
    crate::cluster::execute(app.db.url(),
        "INSERT INTO audit_log (id, at, actor, role, action, resource_type) VALUES (gen_random_uuid(), now() - interval '400 days', 'x', 'admin', 'schedule.create', 'schedule')").await;
    eventually(
        Duration::from_secs(30),
        "the old execution and audit row to be pruned",
        || async {
            let left = crate::cluster::query_i64(
                app.db.url(),
                &format!(
                    "SELECT count(*) AS n FROM task_executions WHERE id = '{}'",
                    ids[0]
                ),
            )
            .await;
            let audit = crate::cluster::query_i64(
                app.db.url(),
                "SELECT count(*) AS n FROM audit_log WHERE at < now() - interval '365 days'",
            )
            .await;
            (left == 0 && audit == 0).then_some(())
        },
    )
    .await;
    let kept = crate::cluster::query_i64(
        app.db.url(),
        &format!(
            "SELECT count(*) AS n FROM task_executions WHERE id = '{}'",
            ids[1]
        ),
    )
    .await;
    assert_eq!(kept, 1, "a recent execution was pruned");
}

#[actix_web::test]
async fn a_graceful_stop_hands_back_what_never_started() {
    let mut app = TestApp::spawn_with(|c| {
        c.execution.max_concurrent = 1;
        c.server.shutdown_grace_secs = 1;
    })
    .await;
    let s = app.create_schedule(shell("slow", "sleep 4")).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(app.trigger(&s).await);
    }
    eventually(Duration::from_secs(20), "one running", || async {
        let e = app.execution(&ids[0]).await;
        (e["status"] == "running").then_some(())
    })
    .await;
    app.shutdown().await;
    let first = crate::cluster::query_strings(app.db.url(), &format!(
        "SELECT status || ' ' || coalesce(error_type, '-') AS s FROM task_executions WHERE id = '{}'", ids[0])).await;
    assert_eq!(
        first,
        vec!["failed interrupted"],
        "the started one outlived the grace period"
    );
    let rest = crate::cluster::query_strings(app.db.url(), &format!(
        "SELECT status || ' ' || coalesce(owner_instance::text, 'none') AS s FROM task_executions WHERE id IN ('{}', '{}', '{}')", ids[1], ids[2], ids[3])).await;
    assert_eq!(
        rest,
        vec!["pending none"; 3],
        "not-started executions must be handed back, not failed"
    );
    let records = crate::cluster::query_i64(
        app.db.url(),
        &format!(
            "SELECT count(*) AS n FROM error_records WHERE execution_id IN ('{}', '{}', '{}')",
            ids[1], ids[2], ids[3]
        ),
    )
    .await;
    assert_eq!(records, 0);
    // The next instance adopts and runs them.
    let next = TestApp::spawn_on(app.db.clone(), |c| c.execution.max_concurrent = 4).await;
    for id in &ids[1..] {
        let e = next.finished_execution(id).await;
        assert_eq!(e["status"], "completed", "{e}");
    }
}

#[actix_web::test]
async fn an_instance_declared_dead_stops_its_taken_over_work_and_registers_again() {
    let app = TestApp::spawn_with(|c| c.instance.heartbeat_secs = 1).await;
    let s = app.create_schedule(shell("long", "sleep 31.25")).await;
    let id = app.trigger(&s).await;
    eventually(Duration::from_secs(20), "running", || async {
        (app.execution(&id).await["status"] == "running").then_some(())
    })
    .await;
    // Another instance decides this one is dead and takes its work over.
    let pool = &app.running().state.services.pool;
    let me = app.running().state.services.instance_id;
    let taken = taskforge::db::orphans::reap(
        pool,
        &[me],
        uuid::Uuid::new_v4(),
        taskforge::domain::clock::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(taken.len(), 1);
    eventually(Duration::from_secs(20), "the instance to notice and register again", || async {
        let stopped = crate::cluster::query_i64(app.db.url(), &format!(
            "SELECT count(*) AS n FROM system_state WHERE instance_id = '{me}' AND stopped_at IS NULL")).await;
        let said = !crate::logcap::lines_with(&["declared dead by another instance", &me.to_string()]).is_empty();
        (stopped == 1 && said).then_some(())
    })
    .await;
    // Its task is stopped (a second run would be a duplicate) and the takeover's record stands.
    eventually(
        Duration::from_secs(20),
        "the task process to be gone",
        || async {
            let alive = std::fs::read_dir("/proc")
                .map(|d| {
                    d.flatten().any(|e| {
                        std::fs::read(e.path().join("cmdline"))
                            .map(|c| {
                                String::from_utf8_lossy(&c).replace('\0', " ").trim()
                                    == "sleep 31.25"
                            })
                            .unwrap_or(false)
                    })
                })
                .unwrap_or(false);
            (!alive).then_some(())
        },
    )
    .await;
    let e = app.execution(&id).await;
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("failed"), Some("interrupted")),
        "{e}"
    );
}

#[actix_web::test]
async fn claims_stop_while_the_queue_is_full() {
    let app = TestApp::spawn_with(|c| {
        c.execution.max_concurrent = 1;
        c.execution.max_pending = 3;
    })
    .await;
    for i in 0..10 {
        app.create_schedule(json!({"name": format!("bp-{i}"), "taskType": "shell", "taskConfig": {"command": "sleep 0.3"},
            "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"}, "misfirePolicy": "skip"}))
            .await;
    }
    let mut most = 0;
    for _ in 0..40 {
        let pending = crate::cluster::query_i64(
            app.db.url(),
            "SELECT count(*) AS n FROM task_executions WHERE status = 'pending'",
        )
        .await;
        most = most.max(pending);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // max_pending waiting, plus the one being launched.
    assert!(
        most <= 3 + 1,
        "{most} executions pending with execution.max_pending = 3"
    );
    assert!(!crate::logcap::lines_with(&["claiming paused"]).is_empty());
}

#[actix_web::test]
async fn websocket_clients_are_rate_limited_and_capped() {
    let app = TestApp::spawn_with(|c| {
        c.websocket.max_frames_per_sec = 20;
        c.websocket.max_sessions = 3;
    })
    .await;
    let mut flooder = crate::wsclient::WsClient::connect(&app.base).await;
    for _ in 0..100 {
        flooder
            .send(&json!({"type": "subscribe", "subscriptions": ["executions"]}))
            .await;
    }
    assert!(
        flooder.closed_within(Duration::from_secs(10)).await,
        "a flooding client stays connected"
    );
    assert!(
        flooder.seen.iter().any(|f| f["type"] == "error"
            && f["message"]
                .as_str()
                .unwrap_or("")
                .contains("too many frames")),
        "{:?}",
        flooder.types()
    );
    // The flooder's slot is given back once its actor is gone.
    let first = eventually(Duration::from_secs(10), "a free session slot", || async {
        crate::wsclient::WsClient::connect_with(&app.base, &[])
            .await
            .ok()
            .map(|(c, _)| c)
    })
    .await;
    let mut clients = vec![first];
    while clients.len() < 3 {
        clients.push(crate::wsclient::WsClient::connect(&app.base).await);
    }
    match crate::wsclient::WsClient::connect_with(&app.base, &[]).await {
        Err(awc::error::WsClientError::InvalidResponseStatus(s)) => {
            assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE)
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a fourth session was accepted with websocket.max_sessions = 3"),
    }
    // Session rows follow subscriptions within a second or so (written in batches).
    let c = &mut clients[0];
    c.send(&json!({"type": "subscribe", "subscriptions": ["errors", "schedules"]}))
        .await;
    c.recv_until("subscribed", |f| f["type"] == "subscribed")
        .await;
    let sid = c.session_id.clone();
    eventually(Duration::from_secs(10), "the session row", || async {
        let subs = crate::cluster::query_strings(app.db.url(), &format!(
            "SELECT array_to_string(subscriptions, ',') AS s FROM websocket_sessions WHERE session_id = '{sid}'")).await;
        (subs == vec!["errors,schedules"]).then_some(())
    })
    .await;
}
