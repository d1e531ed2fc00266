//! health, error envelopes, supervision, migrations.

use std::time::Duration;

use awc::http::StatusCode;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use taskforge::actors::lifecycle::{GetStatus, InjectPanic};
use taskforge::db::{migrate, system_state};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::cluster::TestDb;
use crate::logcap;

#[actix_web::test]
async fn health_reports_every_part() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/api/health").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["errorRecovery"], "running");
    // No conductor listens on the test URL: reported, but health stays 200.
    assert_eq!(body["conductor"], "unreachable");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["uptimeSeconds"].is_u64(), "{body}");
    // The scheduler marks itself running once its state is loaded.
    eventually(Duration::from_secs(10), "scheduler running", || async {
        let (_, b) = app.get("/api/health").await;
        (b["scheduler"] == "running").then_some(())
    })
    .await;
}

#[actix_web::test]
async fn routing_failures_use_the_json_envelope() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/api/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let m = assert_envelope(&body, "not_found");
    assert!(m.contains("/api/nope"), "{m}");

    let (status, body) = app.request("DELETE", "/api/health", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_envelope(&body, "method_not_allowed");

    // A plain GET on /ws without the upgrade headers is a client error, still enveloped.
    let (status, body) = app.get("/ws").await;
    assert!(status.is_client_error(), "{status}");
    assert!(body["error"]["code"].is_string(), "{body}");
}

#[actix_web::test]
async fn a_panicking_actor_is_restarted_logged_and_serves_again() {
    let app = TestApp::spawn().await;
    let actors = &app.running().state.actors;
    eventually(Duration::from_secs(10), "scheduler running", || async {
        actors
            .scheduler
            .send(GetStatus)
            .await
            .ok()
            .filter(|s| s.running)
    })
    .await;

    let marker = format!("injected failure {}", uuid::Uuid::new_v4());
    actors.scheduler.do_send(InjectPanic(marker.clone()));

    // The restart is logged at WARN with the actor's name, the count and the cause.
    let line = eventually(Duration::from_secs(10), "restart log line", || async {
        logcap::lines_with(&["WARN", "actor restarted", "actor=scheduler", &marker])
            .into_iter()
            .next()
    })
    .await;
    assert!(line.contains("restart=1"), "{line}");

    // The same address answers again, with its state reloaded.
    let status = eventually(Duration::from_secs(10), "scheduler back", || async {
        actors
            .scheduler
            .send(GetStatus)
            .await
            .ok()
            .filter(|s| s.running)
    })
    .await;
    assert_eq!(status.restarts, 1);
    let (code, body) = app.get("/api/health").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["scheduler"], "running");

    // Every supervised actor recovers the same way.
    actors.recovery.do_send(InjectPanic("recovery boom".into()));
    actors
        .execution
        .do_send(InjectPanic("execution boom".into()));
    actors.hub.do_send(InjectPanic("hub boom".into()));
    eventually(Duration::from_secs(10), "all actors restarted", || async {
        let r = actors.recovery.send(GetStatus).await.ok()?;
        let e = actors.execution.send(GetStatus).await.ok()?;
        let h = actors.hub.send(GetStatus).await.ok()?;
        (r.restarts == 1
            && e.restarts == 1
            && h.restarts == 1
            && r.running
            && e.running
            && h.running)
            .then_some(())
    })
    .await;
    for name in ["error_recovery", "execution", "ws_hub"] {
        assert!(
            !logcap::lines_with(&["WARN", "actor restarted", &format!("actor={name} ")]).is_empty(),
            "no restart line for {name}"
        );
    }
}

#[actix_web::test]
async fn every_migration_reverts_and_reapplies() {
    let db = TestDb::empty();
    let dirs = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .map(|d| d.flatten().filter(|e| e.path().is_dir()).count())
        .unwrap_or(0);
    let applied = migrate::run_pending(db.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(applied.len(), dirs, "{applied:?}");

    let reverted = migrate::revert_all(db.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reverted.len(), dirs, "{reverted:?}");
    assert_eq!(
        user_tables(db.url()).await,
        vec!["__diesel_schema_migrations".to_string()]
    );

    let again = migrate::run_pending(db.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.len(), dirs);
    let pool = taskforge::db::build_pool(db.url(), &crate::app::test_config().database)
        .unwrap_or_else(|e| panic!("{e}"));
    migrate::verify_schema(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tables = user_tables(db.url()).await;
    tables.sort();
    assert_eq!(
        tables,
        [
            "__diesel_schema_migrations",
            "api_tokens",
            "audit_log",
            "error_groups",
            "error_history",
            "error_records",
            "event_outbox",
            "execution_output",
            "secrets",
            "system_state",
            "task_executions",
            "task_schedules",
            "webhook_deliveries",
            "websocket_sessions"
        ]
    );
}

async fn user_tables(url: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
    }
    let mut c = AsyncPgConnection::establish(url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<T> = diesel::sql_query(
        "SELECT table_name::text AS table_name FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .load(&mut c)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    rows.into_iter().map(|t| t.table_name).collect()
}

#[actix_web::test]
async fn startup_records_the_instance_and_shutdown_clears_its_flags() {
    let mut app = TestApp::spawn().await;
    let services = app.running().state.services.clone();
    eventually(Duration::from_secs(10), "both flags set", || async {
        let (s, r) = system_state::flags(&services.pool, services.instance_id)
            .await
            .ok()?;
        (s && r).then_some(())
    })
    .await;
    let pool = taskforge::db::build_pool(app.db.url(), &crate::app::test_config().database)
        .unwrap_or_else(|e| panic!("{e}"));
    app.shutdown().await;
    let flags = system_state::flags(&pool, services.instance_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(flags, (false, false));
}

#[actix_web::test]
async fn health_is_503_naming_the_database_when_it_is_gone() {
    let app = TestApp::spawn().await;
    let (status, _) = app.get("/api/health").await;
    assert_eq!(status, StatusCode::OK);
    app.db.drop_now();
    let body = eventually(Duration::from_secs(20), "health 503", || async {
        let (status, body) = app.get("/api/health").await;
        (status == StatusCode::SERVICE_UNAVAILABLE).then_some(body)
    })
    .await;
    assert_eq!(body["database"], "unreachable");
    assert_eq!(body["failing"], serde_json::json!(["database"]));
    assert_eq!(body["status"], "unavailable");
}
