//! /metrics and retention.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::json;
use taskforge::actors::instance::PruneNow;

use crate::app::{eventually, TestApp};
use crate::cluster::{execute, query_i64};

async fn metrics_text(app: &TestApp) -> String {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let mut resp = client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("text/plain"), "{ct}");
    String::from_utf8_lossy(&resp.body().limit(10 << 20).await.unwrap_or_default()).into_owned()
}

/// The sum of every sample line starting with `prefix` (all label combinations).
fn total(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The value of the first sample line starting with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[actix_web::test]
async fn metrics_expose_the_listed_series_with_sensible_values() {
    let app = TestApp::spawn().await;
    let ok = app
        .create_schedule(json!({"name": "m-ok", "taskType": "shell", "taskConfig": {"command": "true"}, "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"}}))
        .await;
    let bad = app
        .create_schedule(json!({"name": "m-bad", "taskType": "shell", "taskConfig": {"command": "exit 1"}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}, "severity": "critical", "retryPolicy": {"maxAttempts": 2, "backoffBaseMs": 50}}))
        .await;
    let exec = app.trigger(&bad).await;
    app.finished_execution(&exec).await;
    eventually(
        Duration::from_secs(30),
        "fires and an escalation",
        || async {
            let done = app
                .executions_of(ok["id"].as_str().unwrap_or_default())
                .await
                .iter()
                .filter(|e| e["status"] == "completed")
                .count();
            let (_, errs) = app.get("/api/errors/errors?recoveryStatus=escalated").await;
            (done >= 2 && errs["items"].as_array().is_some_and(|a| !a.is_empty())).then_some(())
        },
    )
    .await;
    let _ws = crate::wsclient::WsClient::connect(&app.base).await;
    let text = eventually(Duration::from_secs(10), "gauges refreshed", || async {
        let t = metrics_text(&app).await;
        sample(&t, "taskforge_ws_sessions")
            .is_some_and(|v| v >= 1.0)
            .then_some(t)
    })
    .await;
    assert!(total(&text, "taskforge_executions_total{") >= 2.0, "{text}");
    assert!(
        text.contains("status=\"completed\"") && text.contains("status=\"failed\""),
        "{text}"
    );
    assert!(sample(&text, "taskforge_execution_duration_seconds_count").is_some_and(|v| v >= 2.0));
    let lateness = sample(&text, "taskforge_firing_lateness_seconds_count").unwrap_or(0.0);
    assert!(lateness >= 2.0, "lateness count {lateness}");
    let late_sum = sample(&text, "taskforge_firing_lateness_seconds_sum").unwrap_or(-1.0);
    assert!(
        (0.0..lateness * 1.0).contains(&late_sum),
        "mean lateness over 1 s: {late_sum}/{lateness}"
    );
    assert!(sample(&text, "taskforge_fires_total").is_some_and(|v| v >= 2.0));
    assert!(sample(&text, "taskforge_retries_total").is_some_and(|v| v >= 1.0));
    assert!(sample(&text, "taskforge_escalations_total").is_some_and(|v| v >= 1.0));
    assert!(text.contains("taskforge_error_records{"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("taskforge_error_records{")
                && l.contains("status=\"escalated\"")
                && l.contains("severity=\"critical\"")
                && !l.ends_with(" 0")),
        "{text}"
    );
    assert!(
        sample(&text, "taskforge_db_pool_connections{state=\"max\"}").is_some_and(|v| v >= 1.0),
        "{text}"
    );
    assert!(
        text.contains("taskforge_ws_dropped_clients_total")
            || text.contains("# TYPE taskforge_ws_sessions")
    );
    // Actor restarts are counted per actor.
    app.running()
        .state
        .actors
        .execution
        .do_send(taskforge::actors::lifecycle::InjectPanic("metrics".into()));
    let text = eventually(Duration::from_secs(10), "restart counted", || async {
        let t = metrics_text(&app).await;
        t.contains("taskforge_actor_restarts_total{actor=\"execution\"}")
            .then_some(t)
    })
    .await;
    assert!(
        sample(&text, "taskforge_actor_restarts_total{actor=\"execution\"}")
            .is_some_and(|v| v >= 1.0)
    );
}

#[actix_web::test]
async fn a_pool_run_dry_is_counted() {
    // One connection: the background actors and twenty concurrent requests share it.
    let app = TestApp::spawn_with(|c| c.database.pool_max_size = 1).await;
    let before = sample(
        &metrics_text(&app).await,
        "taskforge_db_pool_exhausted_total",
    );
    assert_eq!(
        before.map(|v| v >= 0.0),
        Some(true),
        "listed before any exhaustion"
    );
    let lists = (0..20).map(|_| app.get("/api/scheduler/schedules"));
    for (status, body) in futures_util::future::join_all(lists).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let after = sample(
        &metrics_text(&app).await,
        "taskforge_db_pool_exhausted_total",
    );
    assert!(
        after.unwrap_or(0.0) > before.unwrap_or(0.0),
        "twenty requests on one connection must find it busy: {before:?} -> {after:?}"
    );
}

#[actix_web::test]
async fn retention_prunes_old_rows_in_batches_and_keeps_the_rest() {
    let app = TestApp::spawn_with(|c| c.retention.batch_size = 7).await;
    let url = app.db.url().to_string();
    let sid = uuid::Uuid::new_v4();
    let insert = |age: &str, n: usize, status: &str| {
        format!(
            "INSERT INTO task_executions (id, schedule_id, status, trigger, scheduled_for, task_type, task_config, created_at, finished_at) \
             SELECT gen_random_uuid(), '{sid}', '{status}', 'manual', now(), 'shell', '{{}}', now() - interval '{age}', \
             CASE WHEN '{status}' IN ('pending','running') THEN NULL ELSE now() - interval '{age}' END FROM generate_series(1, {n})"
        )
    };
    execute(&url, &insert("40 days", 30, "completed")).await;
    execute(&url, &insert("40 days", 3, "running")).await;
    execute(&url, &insert("1 day", 5, "completed")).await;
    // An old failure whose error is still open keeps its execution.
    let keep = uuid::Uuid::new_v4();
    execute(&url, &format!("INSERT INTO task_executions (id, schedule_id, status, trigger, scheduled_for, task_type, task_config, finished_at) VALUES ('{keep}', '{sid}', 'failed', 'schedule', now(), 'shell', '{{}}', now() - interval '40 days')")).await;
    execute(&url, &format!("INSERT INTO error_records (id, execution_id, schedule_id, last_execution_id, severity, error_type, message, recovery_status, updated_at) VALUES (gen_random_uuid(), '{keep}', '{sid}', '{keep}', 'medium', 'exit_code', 'x', 'unresolved', now() - interval '100 days')")).await;
    execute(&url, &format!("INSERT INTO error_records (id, execution_id, schedule_id, last_execution_id, severity, error_type, message, recovery_status, updated_at) SELECT gen_random_uuid(), gen_random_uuid(), '{sid}', gen_random_uuid(), 'low', 'exit_code', 'x', 'resolved', now() - interval '100 days' FROM generate_series(1, 4)")).await;
    execute(&url, "INSERT INTO websocket_sessions (session_id, instance_id, is_active, disconnected_at) SELECT gen_random_uuid(), gen_random_uuid(), false, now() - interval '10 days' FROM generate_series(1, 9)").await;

    let pruned = app
        .running()
        .state
        .actors
        .instance
        .send(PruneNow)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (pruned.executions, pruned.error_records, pruned.sessions),
        (30, 4, 9)
    );
    assert_eq!(
        query_i64(
            &url,
            &format!("SELECT count(*) AS n FROM task_executions WHERE schedule_id = '{sid}'")
        )
        .await,
        3 + 5 + 1
    );
    assert_eq!(
        query_i64(&url, "SELECT count(*) AS n FROM error_records").await,
        1
    );
}

/// (method, path) of every route the app mounts (the router is built from this table).
fn registered_routes() -> Vec<(String, String)> {
    taskforge::api::ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect()
}

#[actix_web::test]
async fn every_route_is_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{doc}"
    );
    let routes = registered_routes();
    assert!(routes.len() >= 20, "route scan found only {routes:?}");
    for (method, path) in &routes {
        let op = &doc["paths"][path][method];
        assert!(
            op.is_object(),
            "{} {path} is missing from /api/openapi.json",
            method.to_uppercase()
        );
        // API routes document their error responses too; the static dashboard page has none.
        let min = if path.starts_with("/api/") { 2 } else { 1 };
        assert!(
            op["responses"].as_object().is_some_and(|r| r.len() >= min),
            "{method} {path}: responses not documented"
        );
        if path.contains("{id}") {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == "id" && p["in"] == "path"),
                "{method} {path}: id parameter"
            );
        }
    }
    for schema in [
        "ScheduleView",
        "ExecutionView",
        "ErrorRecordView",
        "ErrorBody",
        "HealthView",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
}
