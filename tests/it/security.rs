//! auth, limits, secrets, CLI.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::json;

use crate::app::{assert_envelope, eventually, send, TestApp};
use crate::fakes;
use crate::logcap;
use crate::process::run_to_exit;

const TOKEN: &str = "t0ken-for-tests";

async fn call(
    base: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap_or(awc::http::Method::GET);
    let mut req = client.request(method, format!("{base}{path}"));
    if let Some(a) = auth {
        req = req.insert_header(("Authorization", a));
    }
    let mut resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let body = resp.body().await.unwrap_or_default();
    (
        resp.status(),
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[actix_web::test]
async fn the_token_guards_the_api_and_the_websocket() {
    let app = TestApp::spawn_with(|c| c.server.api_token = TOKEN.into()).await;
    let bearer = format!("Bearer {TOKEN}");
    for path in [
        "/api/scheduler/schedules",
        "/api/executions",
        "/api/errors/errors",
    ] {
        let (status, body) = call(&app.base, "GET", path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_envelope(&body, "unauthorized");
        let (status, _) = call(&app.base, "GET", path, Some("Bearer wrong")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        let (status, _) = call(&app.base, "GET", path, Some(&bearer)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let (status, _) = call(&app.base, "GET", "/api/health", None).await;
    assert_eq!(status, StatusCode::OK);
    // Unknown API routes do not reveal themselves without the token either.
    let (status, _) = call(&app.base, "GET", "/api/nope", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let ws = |url: String| async move {
        awc::Client::new()
            .ws(url)
            .connect()
            .await
            .map(|(r, _)| r.status())
    };
    match ws(format!("{}/ws", app.base)).await {
        Err(awc::error::WsClientError::InvalidResponseStatus(s)) => {
            assert_eq!(s, StatusCode::UNAUTHORIZED)
        }
        other => panic!("ws without token: {:?}", other.map(|s| s.as_u16())),
    }
    assert_eq!(
        ws(format!("{}/ws?token={TOKEN}", app.base)).await.ok(),
        Some(StatusCode::SWITCHING_PROTOCOLS)
    );
}

#[actix_web::test]
async fn a_public_bind_without_token_is_refused_unless_explicitly_allowed() {
    let db = crate::cluster::TestDb::new();
    let url = db.url().to_string();
    let (status, stderr) = tokio::task::spawn_blocking(move || {
        run_to_exit(
            &[("TASKFORGE_BIND", "0.0.0.0:0"), ("DATABASE_URL", &url)],
            &[],
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!status.success());
    assert!(stderr.contains("refusing to listen on 0.0.0.0"), "{stderr}");
    // Refused before any actor or listener started.
    assert!(!stderr.contains("actors started"), "{stderr}");
}

#[actix_web::test]
async fn refusal_names_the_token_and_the_opt_out_logs_loudly() {
    use std::sync::Arc;
    let db = Arc::new(crate::cluster::TestDb::new());
    let mut cfg = crate::app::test_config();
    cfg.server.bind = "0.0.0.0:0".into();
    let err = taskforge::app::start(Arc::new(cfg.clone()), db.url())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("TASKFORGE_API_TOKEN") && err.contains("allow_unauthenticated_remote"),
        "{err}"
    );
    let app = TestApp::spawn_on(db, |c| {
        c.server.bind = "0.0.0.0:0".into();
        c.server.allow_unauthenticated_remote = true;
    })
    .await;
    assert!(!logcap::lines_with(&["WARN", "SECURITY", "WITHOUT authentication"]).is_empty());
    drop(app);
}

#[actix_web::test]
async fn disabled_task_types_are_refused_and_stored_ones_fail_clearly() {
    let a = TestApp::spawn().await;
    let s = a
        .create_schedule(json!({"name": "sh", "taskType": "shell", "taskConfig": {"command": "true"}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    let b = TestApp::spawn_on(a.db.clone(), |c| {
        use taskforge::domain::states::TaskType;
        c.execution.enabled_task_types = vec![TaskType::Http, TaskType::Conductor]
    })
    .await;
    let (status, body) = b
        .post("/api/scheduler/schedules", &json!({"name": "sh2", "taskType": "shell", "taskConfig": {"command": "true"}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        assert_envelope(&body, "validation_failed").contains("`shell` is disabled"),
        "{body}"
    );
    let exec = b.trigger(&s).await;
    let e = b.finished_execution(&exec).await;
    assert_eq!(e["status"], "failed");
    assert!(
        e["error"]
            .as_str()
            .unwrap_or_default()
            .contains("disabled on this server"),
        "{e}"
    );
}

#[actix_web::test]
async fn huge_bodies_get_413_and_field_caps_400() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(5 * 1024 * 1024);
    let (status, body) = app
        .request(
            "POST",
            "/api/scheduler/schedules",
            Some(format!("{{\"name\": \"{big}\"}}")),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_envelope(&body, "payload_too_large");
    let (status, _) = app.get("/api/health").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .post("/api/scheduler/schedules", &json!({"name": "x".repeat(201), "taskType": "shell", "taskConfig": {"command": "true"}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_envelope(&body, "validation_failed").starts_with("name"));
}

#[actix_web::test]
async fn header_and_env_values_never_reach_the_logs() {
    let target = fakes::start(|_| (503, json!({"no": true}))).await;
    let app = TestApp::spawn().await;
    let http = app
        .create_schedule(json!({"name": "hdr", "taskType": "http", "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"},
            "taskConfig": {"url": format!("{}/x", target.base), "headers": {"X-Api-Key": "hdr-s3cr3t-value"}}, "severity": "critical",
            "retryPolicy": {"maxAttempts": 1}}))
        .await;
    let sh = app
        .create_schedule(json!({"name": "env", "taskType": "shell", "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"},
            "taskConfig": {"command": "echo \"token is $TOKEN\" >&2; exit 1", "env": {"TOKEN": "env-s3cr3t-value"}}}))
        .await;
    for s in [&http, &sh] {
        let exec = app.trigger(s).await;
        let e = app.finished_execution(&exec).await;
        assert_eq!(e["status"], "failed", "{e}");
    }
    // Wait for both error records (their log lines carry the messages).
    eventually(Duration::from_secs(20), "records", || async {
        let (_, l) = app.get("/api/errors/errors").await;
        (l["items"].as_array().map(Vec::len) == Some(2)).then_some(())
    })
    .await;
    assert!(!logcap::lines_with(&["execution failed"]).is_empty());
    for secret in ["hdr-s3cr3t-value", "env-s3cr3t-value"] {
        let leaks = logcap::lines_with(&[secret]);
        assert!(leaks.is_empty(), "secret in logs: {leaks:?}");
    }
    target.stop().await;
}

#[test]
fn cli_commands_and_misuse() {
    let (status, out) = run_to_exit(&[], &["--help"], Duration::from_secs(30));
    assert!(status.success(), "{out}");
    for cmd in ["serve", "migrate", "check-config", "token"] {
        let (status, _) = run_to_exit(&[], &[cmd, "--help"], Duration::from_secs(30));
        assert!(status.success(), "{cmd} --help");
    }
    let (status, err) = run_to_exit(&[], &["launch"], Duration::from_secs(30));
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("unrecognized subcommand 'launch'"), "{err}");
    let (status, err) = run_to_exit(&[], &["check-config", "--config"], Duration::from_secs(30));
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("--config <FILE>"), "{err}");
    let (status, err) = run_to_exit(
        &[],
        &["token", "create", "--name", "x", "--role", "root"],
        Duration::from_secs(30),
    );
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("viewer, operator, admin"), "{err}");
    let (status, err) = run_to_exit(
        &[("TASKFORGE__SERVER__WORKERS", "many")],
        &["check-config"],
        Duration::from_secs(30),
    );
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("server.workers"), "{err}");
}

#[actix_web::test]
async fn token_create_on_the_command_line_turns_auth_on_and_is_audited() {
    let app = TestApp::spawn().await;
    let url = app.db.url().to_string();
    let (status, token, err) = tokio::task::spawn_blocking(move || {
        crate::process::run_output(
            &[("DATABASE_URL", &url)],
            &["token", "create", "--name", "ci-bot", "--role", "viewer"],
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{err}");
    let token = token.trim().to_string();
    assert!(
        token.starts_with("tf_") && !err.contains(&token),
        "token printed once, on stdout only"
    );
    // The running instance notices and now needs a token; this one is a viewer.
    eventually(Duration::from_secs(20), "auth to turn on", || async {
        (call(&app.base, "GET", "/api/executions", None).await.0 == StatusCode::UNAUTHORIZED)
            .then_some(())
    })
    .await;
    let bearer = format!("Bearer {token}");
    assert_eq!(
        call(&app.base, "GET", "/api/executions", Some(&bearer))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app.base, "POST", "/api/tokens", Some(&bearer))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (mut ws, _) = crate::wsclient::WsClient::connect_with(
        &app.base,
        &["taskforge", &format!("bearer.{token}")],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // Revoked from the command line: the running instance closes the session too.
    let id = app
        .db
        .query_strings("SELECT id::text AS s FROM api_tokens WHERE name = 'ci-bot'")
        .await
        .pop()
        .unwrap_or_default();
    let url = app.db.url().to_string();
    let (status, out, err) = tokio::task::spawn_blocking(move || {
        crate::process::run_output(
            &[("DATABASE_URL", &url)],
            &["token", "revoke", &id],
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{err}");
    assert!(out.starts_with("revoked"), "{out}");
    assert!(
        ws.closed_within(Duration::from_secs(15)).await,
        "session of a revoked token stays open"
    );
    let trail = app
        .db
        .query_strings("SELECT action || ' ' || actor AS s FROM audit_log ORDER BY at")
        .await;
    assert_eq!(trail, vec!["token.create cli", "token.revoke cli"]);
}

#[actix_web::test]
async fn check_config_masks_secrets_and_migrate_applies_migrations() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taskforge"))
        .arg("check-config")
        .env("TASKFORGE_API_TOKEN", "super-secret-token")
        .env("DATABASE_URL", "postgres://user:db-password@localhost/x")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("api_token = \"***\""), "{text}");
    assert!(
        !text.contains("super-secret-token") && !text.contains("db-password"),
        "{text}"
    );
    assert!(toml::from_str::<toml::Table>(&text).is_ok());

    let db = crate::cluster::TestDb::empty();
    let (status, err) = run_to_exit(
        &[("DATABASE_URL", db.url())],
        &["migrate"],
        Duration::from_secs(60),
    );
    assert!(status.success(), "{err}");
    let dirs = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .map(|d| d.flatten().filter(|e| e.path().is_dir()).count())
        .unwrap_or(0);
    assert!(
        err.contains(&format!("migrations applied: count={dirs}")),
        "{err}"
    );
    let _ = send;
}
