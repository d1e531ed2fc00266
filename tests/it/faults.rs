//! Fault tests: PostgreSQL restarted mid-burst, PostgreSQL read-only for 20 s,
//! instances whose clocks are 30 s off, task processes a crashed instance left behind, and
//! WebSocket clients flooding frames while executions run.

use std::sync::Arc;
use std::time::Duration;

use awc::http::StatusCode;
use chrono::Utc;
use nix::sys::signal::Signal;
use serde_json::json;

use crate::app::{eventually, send, TestApp};
use crate::cluster::{execute, open_dir, query_i64, TestDb};
use crate::private_cluster::PrivateCluster;
use crate::process::Service;

fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("tf-fault-")
        .tempdir_in("/tmp")
        .unwrap_or_else(|e| panic!("{e}"));
    open_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    dir
}

async fn private_app(dir: &std::path::Path) -> (PrivateCluster, TestApp) {
    let pg = PrivateCluster::start(dir);
    let db = Arc::new(TestDb::external(pg.url()));
    let app = TestApp::spawn_on(db, |c| {
        c.database.pool_wait_timeout_ms = 1000;
        c.database.pool_create_timeout_ms = 1000;
    })
    .await;
    (pg, app)
}

async fn unfinished(url: &str) -> i64 {
    query_i64(
        url,
        "SELECT count(*) AS n FROM task_executions WHERE status IN ('pending', 'running')",
    )
    .await
}

#[actix_web::test]
async fn postgresql_restarted_mid_burst_ends_every_execution_exactly_once() {
    let dir = data_dir();
    let (mut pg, app) = private_app(dir.path()).await;
    let at = (Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    for i in 0..60 {
        app.create_schedule(json!({"name": format!("burst-{i}"), "taskType": "shell", "taskConfig": {"command": "sleep 0.5"},
            "scheduleType": "once", "scheduleConfig": {"runAt": at}, "severity": "low"}))
            .await;
    }
    eventually(Duration::from_secs(30), "the burst to start", || async {
        (query_i64(
            pg.url(),
            "SELECT count(*) AS n FROM task_executions WHERE status <> 'pending'",
        )
        .await
            > 0)
        .then_some(())
    })
    .await;
    pg.down();
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg.up();
    eventually(
        Duration::from_secs(120),
        "every execution to end",
        || async { (unfinished(pg.url()).await == 0).then_some(()) },
    )
    .await;
    // Each once-schedule's slot ran at most once and has an ending.
    let per_slot = query_i64(pg.url(), "SELECT count(*) AS n FROM (SELECT 1 FROM task_executions WHERE trigger IN ('schedule', 'catch_up') GROUP BY schedule_id, scheduled_for HAVING count(*) > 1) d").await;
    assert_eq!(per_slot, 0, "a slot ran twice");
    let slots = query_i64(pg.url(), "SELECT count(DISTINCT schedule_id) AS n FROM task_executions WHERE trigger IN ('schedule', 'catch_up')").await;
    assert_eq!(slots, 60, "a fire was lost");
    let without_record = query_i64(pg.url(), "SELECT count(*) AS n FROM task_executions WHERE status = 'failed' AND error_record_id IS NULL AND finished_at < now() - interval '15 seconds'").await;
    assert_eq!(without_record, 0);
}

#[actix_web::test]
async fn postgresql_read_only_for_20_seconds_gives_503_then_recovers() {
    let dir = data_dir();
    let (pg, app) = private_app(dir.path()).await;
    let s = app
        .create_schedule(
            json!({"name": "ticks", "taskType": "shell", "taskConfig": {"command": "true"},
            "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 1}}),
        )
        .await;
    let sid = s["id"].as_str().unwrap_or_default().to_string();
    eventually(Duration::from_secs(30), "runs before", || async {
        (app.executions_of(&sid).await.len() >= 2).then_some(())
    })
    .await;
    execute(
        pg.url(),
        "ALTER SYSTEM SET default_transaction_read_only = on",
    )
    .await;
    execute(pg.url(), "SELECT pg_reload_conf()").await;
    // The reload reaches each pooled connection at its next command, so the first attempts may
    // still be written: every attempt gets its own name, never a conflict with an earlier one.
    let attempt = std::cell::Cell::new(0u32);
    let body = || {
        attempt.set(attempt.get() + 1);
        json!({"name": format!("during-{}", attempt.get()), "taskType": "shell",
            "taskConfig": {"command": "true"},
            "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}})
        .to_string()
    };
    let ct = [("Content-Type", "application/json")];
    let (status, headers, v) = eventually(Duration::from_secs(20), "writes refused", || async {
        let r = crate::access::raw(
            &app.base,
            "POST",
            "/api/scheduler/schedules",
            &ct,
            Some(&body()),
        )
        .await;
        (r.0 == StatusCode::SERVICE_UNAVAILABLE).then_some(r)
    })
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.get("retry-after").is_some(), "no Retry-After");
    assert!(
        !v.to_string().contains("read-only transaction"),
        "database text in the answer: {v}"
    );
    tokio::time::sleep(Duration::from_secs(20)).await;
    let (status, _) = app.get("/api/scheduler/schedules").await;
    assert_eq!(status, StatusCode::OK, "reads keep working");
    execute(pg.url(), "ALTER SYSTEM RESET default_transaction_read_only").await;
    execute(pg.url(), "SELECT pg_reload_conf()").await;
    let (status, v) = eventually(Duration::from_secs(30), "writes accepted again", || async {
        let r = crate::access::raw(
            &app.base,
            "POST",
            "/api/scheduler/schedules",
            &ct,
            Some(&body()),
        )
        .await;
        (r.0 == StatusCode::CREATED).then_some((r.0, r.2))
    })
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let before = app.executions_of(&sid).await.len();
    eventually(Duration::from_secs(30), "runs resume", || async {
        (app.executions_of(&sid).await.len() >= before + 2).then_some(())
    })
    .await;
    eventually(Duration::from_secs(60), "nothing stuck", || async {
        (query_i64(pg.url(), "SELECT count(*) AS n FROM task_executions WHERE status IN ('pending','running') AND scheduled_for < now() - interval '10 seconds'").await == 0).then_some(())
    })
    .await;
    assert!(crate::logcap::lines_with(&["actor restarted"])
        .iter()
        .all(|l| !l.contains("read-only")));
}

fn faketime() -> &'static str {
    if std::process::Command::new("faketime")
        .arg("-f")
        .arg("+0s")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
    {
        "faketime"
    } else {
        panic!(
            "faketime is needed for the clock-skew test: run .ci/setup (apt-get install faketime)"
        )
    }
}

#[actix_web::test]
async fn instances_with_skewed_clocks_neither_fire_early_nor_declare_each_other_dead() {
    let ft = faketime();
    let db = Arc::new(TestDb::new());
    let fast = |c: &mut taskforge::config::Config| {
        c.instance.heartbeat_secs = 1;
        c.instance.dead_after_secs = 6;
        c.instance.orphan_scan_secs = 1;
    };
    let app = TestApp::spawn_on(db.clone(), fast).await;
    let dir = data_dir();
    let env = |name: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", db.url().to_string()),
            ("TASKFORGE_BIND", "127.0.0.1:0".into()),
            (
                "TASKFORGE_DATA_DIR",
                dir.path().join(name).to_string_lossy().to_string(),
            ),
            ("TASKFORGE__INSTANCE__HEARTBEAT_SECS", "1".into()),
            ("TASKFORGE__INSTANCE__DEAD_AFTER_SECS", "6".into()),
            ("TASKFORGE__INSTANCE__ORPHAN_SCAN_SECS", "1".into()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into()),
        ]
    };
    let start = |skew: &str, name: &'static str| {
        let vars = env(name);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Service::start_under(
            &[ft, "-f", skew],
            &vars,
            dir.path().join(format!("{name}.log")),
        )
    };
    let behind = start("-30s", "behind");
    let ahead = start("+30s", "ahead");
    app.create_schedule(
        json!({"name": "every-second", "taskType": "shell", "taskConfig": {"command": "true"},
        "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"}}),
    )
    .await;
    // Watch for 15 s (more than twice dead_after): no run starts before its time by the
    // database's clock, nobody is declared dead.
    let until = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < until {
        let early = query_i64(db.url(), "SELECT count(*) AS n FROM task_executions WHERE status <> 'pending' AND scheduled_for > now() + interval '250 milliseconds'").await;
        assert_eq!(early, 0, "a run started before its time");
        let stamped_ahead = query_i64(db.url(), "SELECT count(*) AS n FROM task_executions WHERE started_at > now() + interval '2 seconds'").await;
        assert_eq!(stamped_ahead, 0, "a skewed clock stamped a run");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let dead = query_i64(
        db.url(),
        "SELECT count(*) AS n FROM system_state WHERE stopped_at IS NOT NULL",
    )
    .await;
    assert_eq!(dead, 0, "an instance was declared dead");
    let interrupted = query_i64(
        db.url(),
        "SELECT count(*) AS n FROM task_executions WHERE error_type = 'interrupted'",
    )
    .await;
    assert_eq!(interrupted, 0);
    let dups = query_i64(db.url(), "SELECT count(*) AS n FROM (SELECT 1 FROM task_executions GROUP BY schedule_id, scheduled_for HAVING count(*) > 1) d").await;
    assert_eq!(dups, 0);
    let runs = query_i64(db.url(), "SELECT count(*) AS n FROM task_executions").await;
    assert!(runs >= 10, "only {runs} runs in 15 s");
    for s in [&behind, &ahead] {
        assert!(!s.log_text().contains("declared dead"), "{}", s.log_text());
    }
    drop((behind, ahead));
}

fn sleeps(marker: &str) -> Vec<i32> {
    crate::process::processes_running(&format!("sleep {marker}"))
}

#[actix_web::test]
async fn task_processes_of_a_killed_instance_are_killed_when_it_restarts() {
    let dir = data_dir();
    let d = dir.path().to_string_lossy().to_string();
    let env = [
        ("TASKFORGE_DATA_DIR", d.as_str()),
        ("TASKFORGE_BIND", "127.0.0.1:0"),
    ];
    let mut first = Service::start(&env, dir.path().join("first.log"));
    let body = json!({"name": "detaches", "taskType": "shell", "taskConfig": {"command": "setsid sleep 47.25 & sleep 47.25"},
        "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}, "retryPolicy": {"maxAttempts": 1}});
    let (status, s) = send(
        &first.base,
        "POST",
        "/api/scheduler/schedules",
        Some(body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let id = s["id"].as_str().unwrap_or_default();
    let (_, t) = send(
        &first.base,
        "POST",
        &format!("/api/scheduler/schedules/{id}/trigger"),
        Some("{}".into()),
    )
    .await;
    let exec = t["executionId"].as_str().unwrap_or_default().to_string();
    eventually(Duration::from_secs(30), "both sleeps", || async {
        (sleeps("47.25").len() == 2).then_some(())
    })
    .await;
    first.signal(Signal::SIGKILL);
    first.wait_exit(Duration::from_secs(10));
    assert_eq!(
        sleeps("47.25").len(),
        2,
        "the task survives its instance's SIGKILL"
    );
    let second = Service::start(&env, dir.path().join("second.log"));
    let e = eventually(
        Duration::from_secs(60),
        "the run recorded as interrupted",
        || async {
            let (_, e) = send(
                &second.base,
                "GET",
                &format!("/api/executions/{exec}"),
                None,
            )
            .await;
            (e["status"] == "failed").then_some(e)
        },
    )
    .await;
    assert_eq!(e["errorType"], "interrupted", "{e}");
    assert!(
        sleeps("47.25").is_empty(),
        "leftover task processes: {:?}",
        sleeps("47.25")
    );
    assert!(
        second
            .log_text()
            .contains("task processes left by a dead instance"),
        "{}",
        second.log_text()
    );
}

#[actix_web::test]
async fn executions_keep_flowing_while_websocket_clients_flood_frames() {
    let app = TestApp::spawn().await;
    let mut flooders = Vec::new();
    for _ in 0..100 {
        flooders.push(crate::wsclient::WsClient::connect(&app.base).await);
    }
    let s = app
        .create_schedule(
            json!({"name": "under-flood", "taskType": "shell", "taskConfig": {"command": "true"},
            "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}),
        )
        .await;
    let mut runs = Vec::new();
    for round in 0..5 {
        for (i, c) in flooders.iter_mut().enumerate() {
            let topic = if (i + round) % 2 == 0 {
                "executions"
            } else {
                "errors"
            };
            c.send(&json!({"type": "subscribe", "subscriptions": [topic]}))
                .await;
        }
        runs.push(app.trigger(&s).await);
    }
    for id in &runs {
        let e = app.finished_execution(id).await;
        assert_eq!(e["status"], "completed", "{e}");
    }
    // The pool was never starved: session rows arrive in batches, not one write per frame.
    let (status, _) = app.get("/api/executions").await;
    assert_eq!(status, StatusCode::OK);
}
