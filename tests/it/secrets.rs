//! secrets sealed at rest and never shown, tasks that start clean.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::fakes;
use crate::logcap;
use crate::process::Service;
use crate::wsclient::WsClient;

const VALUE: &str = "pa55-w0rd-that-must-not-leak";

fn cron_never() -> Value {
    json!({"expression": "0 0 1 1 *"})
}

#[actix_web::test]
async fn secret_values_are_used_by_tasks_and_shown_nowhere() {
    let target = fakes::start(|r| {
        // A careless peer that echoes what it was sent.
        let auth = r
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone());
        (200, json!({"youSent": auth, "body": r.body}))
    })
    .await;
    let app = TestApp::spawn().await;
    let mut ws = WsClient::connect(&app.base).await;
    let (status, v) = app
        .post("/api/secrets", &json!({"name": "db-pass", "value": VALUE}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["name"], "db-pass");
    assert!(v.get("value").is_none(), "{v}");
    let (status, _) = app
        .post("/api/secrets", &json!({"name": "db-pass", "value": "x"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, v) = app
        .post("/api/secrets", &json!({"name": "bad name", "value": "x"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        assert_envelope(&v, "validation_failed").starts_with("name"),
        "{v}"
    );

    let sh = app
        .create_schedule(json!({"name": "uses-secret", "taskType": "shell", "scheduleType": "cron", "scheduleConfig": cron_never(),
            "taskConfig": {"command": "echo \"pw=$PASSWORD\"; echo \"$PASSWORD\" >&2; exit 1", "env": {"PASSWORD": {"$secret": "db-pass"}}},
            "retryPolicy": {"maxAttempts": 1}}))
        .await;
    assert_eq!(
        sh["taskConfig"]["env"]["PASSWORD"],
        json!({"$secret": "db-pass"})
    );
    let http = app
        .create_schedule(json!({"name": "http-secret", "taskType": "http", "scheduleType": "cron", "scheduleConfig": cron_never(),
            "taskConfig": {"method": "POST", "url": format!("{}/hook", target.base),
                           "headers": {"Authorization": {"$secret": "db-pass"}}, "body": {"$secret": "db-pass"}}}))
        .await;
    let e = app.finished_execution(&app.trigger(&sh).await).await;
    assert_eq!(e["status"], "failed", "{e}");
    assert_eq!(e["result"]["stdout"], "pw=***\n", "{e}");
    assert!(!e.to_string().contains(VALUE), "{e}");
    let e = app.finished_execution(&app.trigger(&http).await).await;
    assert_eq!(e["status"], "completed", "{e}");
    let sent = target.received();
    assert_eq!(sent.len(), 1);
    assert!(sent[0]
        .headers
        .contains(&("authorization".to_string(), VALUE.to_string())));
    assert_eq!(sent[0].body, VALUE);
    assert!(
        !e.to_string().contains(VALUE),
        "the echo was stored unmasked: {e}"
    );
    assert_eq!(e["result"]["body"]["youSent"], "***");

    // Nowhere: API reads, events, logs, the database's tables.
    let (_, list) = app.get("/api/secrets").await;
    assert_eq!(list["items"][0]["name"], "db-pass");
    for path in [
        "/api/secrets",
        "/api/scheduler/schedules",
        "/api/executions?limit=500",
        "/api/errors/errors",
    ] {
        let (_, body) = app.get(path).await;
        assert!(!body.to_string().contains(VALUE), "{path}: {body}");
    }
    ws.recv_until("execution_failed", |f| f["type"] == "execution_failed")
        .await;
    ws.recv_until("execution_completed", |f| {
        f["type"] == "execution_completed"
    })
    .await;
    assert!(ws.seen.iter().any(|f| f["type"] == "schedule_created"));
    assert!(ws.seen.iter().all(|f| !f.to_string().contains(VALUE)));
    assert!(logcap::lines_with(&[VALUE]).is_empty(), "secret in logs");
    for table in [
        "task_schedules",
        "task_executions",
        "error_records",
        "secrets",
        "audit_log",
        "event_outbox",
    ] {
        let hits = app
            .db
            .query_strings(&format!(
                "SELECT t::text AS s FROM {table} t WHERE t::text LIKE '%{VALUE}%'"
            ))
            .await;
        assert!(hits.is_empty(), "{table} holds the value: {hits:?}");
    }
    let sealed = app
        .db
        .query_strings(&format!("SELECT name AS s FROM secrets WHERE position(convert_to('{VALUE}', 'UTF8') in ciphertext) > 0"))
        .await;
    assert!(sealed.is_empty(), "stored in clear");

    // A missing secret: 400 at write time, `spawn` at run time.
    let (status, v) = app
        .post("/api/scheduler/schedules", &json!({"name": "missing", "taskType": "shell", "scheduleType": "cron", "scheduleConfig": cron_never(),
            "taskConfig": {"command": "true", "env": {"X": {"$secret": "nope"}}}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        assert_envelope(&v, "validation_failed").starts_with("taskConfig.env.X: secret `nope`"),
        "{v}"
    );
    let (status, _) = app.request("DELETE", "/api/secrets/db-pass", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let e = app.finished_execution(&app.trigger(&sh).await).await;
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("failed"), Some("spawn")),
        "{e}"
    );
    assert!(
        e["error"]
            .as_str()
            .unwrap_or_default()
            .contains("secret `db-pass` does not exist"),
        "{e}"
    );
    target.stop().await;
}

#[actix_web::test]
async fn the_key_file_is_created_private_and_a_readable_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().to_path_buf();
    let d = data.clone();
    let app = TestApp::spawn_with(move |c| {
        c.secrets.key = Default::default();
        c.embedded.data_dir = d;
    })
    .await;
    let (status, v) = app
        .post("/api/secrets", &json!({"name": "k", "value": "v4lue"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let file = data.join("secret.key");
    let mode = std::fs::metadata(&file)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    assert_eq!(mode, 0o600);
    // Another instance with the same data directory opens what the first sealed.
    let d = data.clone();
    let other = TestApp::spawn_on(app.db.clone(), move |c| {
        c.secrets.key = Default::default();
        c.embedded.data_dir = d;
    })
    .await;
    let s = other
        .create_schedule(json!({"name": "k-user", "taskType": "shell", "scheduleType": "cron", "scheduleConfig": cron_never(),
            "taskConfig": {"command": "test \"$K\" = v4lue", "env": {"K": {"$secret": "k"}}}}))
        .await;
    let e = other.finished_execution(&other.trigger(&s).await).await;
    assert_eq!(e["status"], "completed", "{e}");
    // A key others can read is refused with the reason.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("{e}"));
    let d = data.clone();
    let third = TestApp::spawn_on(app.db.clone(), move |c| {
        c.secrets.key = Default::default();
        c.embedded.data_dir = d;
    })
    .await;
    let (status, v) = third
        .post("/api/secrets", &json!({"name": "k2", "value": "v"}))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(
        assert_envelope(&v, "service_unavailable").contains("chmod 600"),
        "{v}"
    );
}

#[actix_web::test]
async fn shell_tasks_start_clean_with_their_context() {
    let db = crate::cluster::TestDb::new();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let service = Service::start(
        &[
            ("DATABASE_URL", db.url()),
            ("TASKFORGE_BIND", "127.0.0.1:0"),
            ("TASKFORGE_API_TOKEN", "service-own-token"),
            ("TASKFORGE_SECRET_KEY", &"ab".repeat(32)),
            ("TASKFORGE_DATA_DIR", &dir.path().to_string_lossy()),
            ("LANG", "C.UTF-8"),
            ("SOME_OPERATOR_VAR", "leak-me"),
        ],
        dir.path().join("taskforge.log"),
    );
    let base = service.base.clone();
    let auth = [
        ("Authorization", "Bearer service-own-token"),
        ("Content-Type", "application/json"),
    ];
    let body = json!({"name": "env-probe", "taskType": "shell", "scheduleType": "cron", "scheduleConfig": cron_never(),
        "taskConfig": {"command": "env | sort", "env": {"MINE": "yes"}}});
    let (status, _, s) = crate::access::raw(
        &base,
        "POST",
        "/api/scheduler/schedules",
        &auth,
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let id = s["id"].as_str().unwrap_or_default();
    let (status, _, t) = crate::access::raw(
        &base,
        "POST",
        &format!("/api/scheduler/schedules/{id}/trigger"),
        &auth,
        Some("{}"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let exec = t["executionId"].as_str().unwrap_or_default().to_string();
    let e = eventually(Duration::from_secs(30), "the probe to finish", || async {
        let (_, _, e) = crate::access::raw(
            &base,
            "GET",
            &format!("/api/executions/{exec}"),
            &auth,
            None,
        )
        .await;
        (e["status"] == "completed").then_some(e)
    })
    .await;
    let out = e["result"]["stdout"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let vars: Vec<&str> = out.lines().filter_map(|l| l.split('=').next()).collect();
    for leaked in [
        "TASKFORGE_API_TOKEN",
        "DATABASE_URL",
        "TASKFORGE_SECRET_KEY",
        "TASKFORGE_DATA_DIR",
        "SOME_OPERATOR_VAR",
        "RUST_LOG",
    ] {
        assert!(
            !vars.contains(&leaked),
            "{leaked} leaked into the task: {out}"
        );
    }
    assert!(
        !out.contains("service-own-token") && !out.contains(db.url()),
        "{out}"
    );
    for expected in [
        "MINE=yes".to_string(),
        "LANG=C.UTF-8".to_string(),
        format!("TASKFORGE_EXECUTION_ID={exec}"),
        format!("TASKFORGE_SCHEDULE_ID={id}"),
        "TASKFORGE_SCHEDULE_NAME=env-probe".to_string(),
        "TASKFORGE_TRIGGER=manual".to_string(),
        "TASKFORGE_ATTEMPT=1".to_string(),
    ] {
        assert!(
            out.lines().any(|l| l == expected),
            "missing {expected}: {out}"
        );
    }
    assert!(out.lines().any(|l| l.starts_with("PATH=/")), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("TASKFORGE_SCHEDULED_FOR=20")),
        "{out}"
    );
}

#[actix_web::test]
async fn http_and_conductor_requests_carry_their_run() {
    let target = fakes::start(|_| (200, json!({}))).await;
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(json!({"name": "ctx-http", "taskType": "http", "scheduleType": "cron", "scheduleConfig": cron_never(),
            "taskConfig": {"url": format!("{}/ctx", target.base)}}))
        .await;
    let exec = app.trigger(&s).await;
    let e = app.finished_execution(&exec).await;
    assert_eq!(e["status"], "completed", "{e}");
    let r = &target.received()[0];
    let h = |k: &str| {
        r.headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(h("x-taskforge-execution-id"), exec);
    assert_eq!(h("x-taskforge-attempt"), "1");
    let key = h("idempotency-key");
    assert!(
        key.starts_with(&format!("{}:", s["id"].as_str().unwrap_or_default())),
        "{key}"
    );
    assert_eq!(
        key.split_once(':').map(|(_, t)| t.to_string()),
        Some(h("x-taskforge-scheduled-for"))
    );
    target.stop().await;
}
