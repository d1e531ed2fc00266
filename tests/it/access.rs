//! Issue 13: auth on the routed path, tokens and roles, browser defences, audit.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::wsclient::WsClient;

const ADMIN_TOKEN: &str = "bootstrap-admin-token";

/// A request with full control over the path and headers; status, headers and JSON body.
pub async fn raw(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (StatusCode, awc::http::header::HeaderMap, Value) {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap_or(awc::http::Method::GET);
    let mut req = client.request(method, format!("{base}{path}"));
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let resp = match body {
        Some(b) => req.send_body(b.to_string()).await,
        None => req.send().await,
    };
    let mut resp = resp.unwrap_or_else(|e| panic!("{path}: {e}"));
    let bytes = resp.body().limit(16 << 20).await.unwrap_or_default();
    let headers = resp.headers().clone();
    (
        resp.status(),
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn as_admin(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let auth = bearer(ADMIN_TOKEN);
    let mut headers = vec![("Authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    let body = body.map(|b| b.to_string());
    let (s, _, v) = raw(&app.base, method, path, &headers, body.as_deref()).await;
    (s, v)
}

/// Creates a token with the bootstrap admin token; returns (id, secret).
async fn token(
    app: &TestApp,
    name: &str,
    role: &str,
    expires_at: Option<String>,
) -> (String, String) {
    let mut body = json!({"name": name, "role": role});
    if let Some(at) = expires_at {
        body["expiresAt"] = json!(at);
    }
    let (status, v) = as_admin(app, "POST", "/api/tokens", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let secret = v["token"].as_str().unwrap_or_default().to_string();
    assert!(secret.starts_with("tf_"), "{v}");
    (v["id"].as_str().unwrap_or_default().to_string(), secret)
}

fn shell_schedule(name: &str) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": "id"},
           "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}})
}

async fn schedule_count(app: &TestApp) -> usize {
    let (status, v) = as_admin(app, "GET", "/api/scheduler/schedules", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["items"].as_array().map(Vec::len).unwrap_or(0)
}

async fn spawn_with_token() -> TestApp {
    TestApp::spawn_with(|c| c.server.api_token = ADMIN_TOKEN.into()).await
}

#[actix_web::test]
async fn every_spelling_of_a_protected_path_needs_the_token() {
    let app = spawn_with_token().await;
    let json_ct = [("Content-Type", "application/json")];
    let body = shell_schedule("root-shell").to_string();
    for path in [
        "/%61pi/scheduler/schedules",
        "/api/%73cheduler/schedules",
        "/api//scheduler/schedules",
        "//api/scheduler/schedules",
        "/api%2Fscheduler%2Fschedules",
        "/api/scheduler%2Fschedules",
        "/API/scheduler/schedules",
        "/api/health/../scheduler/schedules",
    ] {
        for method in ["GET", "POST"] {
            let b = (method == "POST").then_some(body.as_str());
            let (status, _, v) = raw(&app.base, method, path, &json_ct, b).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {v}");
            assert_envelope(&v, "unauthorized");
        }
    }
    assert_eq!(
        schedule_count(&app).await,
        0,
        "a schedule was created without the token"
    );
    // The router decodes the same way: with the token, the encoded spelling is the route.
    let auth = bearer(ADMIN_TOKEN);
    let (status, _, _) = raw(
        &app.base,
        "GET",
        "/%61pi/scheduler/schedules",
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The WebSocket under another spelling.
    for path in ["/%77s", "/w%73", "//ws"] {
        let url = format!("{}{path}", app.base);
        let res = awc::Client::new()
            .ws(url)
            .connect()
            .await
            .map(|(r, _)| r.status());
        match res {
            Err(awc::error::WsClientError::InvalidResponseStatus(s)) => {
                assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}")
            }
            other => panic!("{path}: {:?}", other.map(|s| s.as_u16())),
        }
    }
    // Open routes stay open; unknown ones are not revealed.
    let (status, _, _) = raw(&app.base, "GET", "/api/health", &[], None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = raw(&app.base, "GET", "/assets/app.js", &[], None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = raw(&app.base, "GET", "/api/nope", &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = raw(&app.base, "POST", "/api/health", &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Who may call what (SPEC §8), written out independently of the route table.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Min {
    Open,
    Viewer,
    Operator,
    Admin,
}

const MATRIX: &[(&str, &str, Min)] = &[
    ("get", "/api/health", Min::Open),
    ("get", "/metrics", Min::Open),
    ("get", "/", Min::Open),
    ("get", "/assets/{file}", Min::Open),
    ("get", "/api/openapi.json", Min::Viewer),
    ("get", "/api/whoami", Min::Viewer),
    ("get", "/ws", Min::Viewer),
    ("get", "/api/scheduler/schedules", Min::Viewer),
    ("post", "/api/scheduler/schedules", Min::Admin),
    ("get", "/api/scheduler/schedules/{id}", Min::Viewer),
    ("put", "/api/scheduler/schedules/{id}", Min::Admin),
    ("delete", "/api/scheduler/schedules/{id}", Min::Admin),
    ("post", "/api/scheduler/schedules/{id}/pause", Min::Operator),
    (
        "post",
        "/api/scheduler/schedules/{id}/resume",
        Min::Operator,
    ),
    (
        "post",
        "/api/scheduler/schedules/{id}/trigger",
        Min::Operator,
    ),
    (
        "get",
        "/api/scheduler/schedules/{id}/next-runs",
        Min::Viewer,
    ),
    ("post", "/api/scheduler/preview", Min::Viewer),
    ("get", "/api/stats", Min::Viewer),
    ("get", "/api/executions", Min::Viewer),
    ("get", "/api/executions/{id}", Min::Viewer),
    ("post", "/api/executions/{id}/cancel", Min::Operator),
    ("get", "/api/errors/errors", Min::Viewer),
    ("get", "/api/errors/errors/{id}", Min::Viewer),
    ("post", "/api/errors/errors/{id}/retry", Min::Operator),
    ("post", "/api/errors/errors/{id}/resolve", Min::Operator),
    ("post", "/api/errors/errors/{id}/ignore", Min::Operator),
    ("post", "/api/errors/errors/{id}/escalate", Min::Operator),
    ("post", "/api/tokens", Min::Admin),
    ("get", "/api/tokens", Min::Admin),
    ("delete", "/api/tokens/{id}", Min::Admin),
    ("get", "/api/audit", Min::Admin),
    ("post", "/api/secrets", Min::Admin),
    ("get", "/api/secrets", Min::Admin),
    ("put", "/api/secrets/{name}", Min::Admin),
    ("delete", "/api/secrets/{name}", Min::Admin),
];

#[actix_web::test]
async fn role_matrix_covers_every_route() {
    // A route added to the table without a line here fails this test.
    let mut mounted: Vec<(String, String)> = taskforge::api::ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let mut listed: Vec<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    mounted.sort();
    listed.sort();
    assert_eq!(mounted, listed, "routes and the role matrix differ");

    let app = spawn_with_token().await;
    let (_, viewer) = token(&app, "v", "viewer", None).await;
    let (_, operator) = token(&app, "o", "operator", None).await;
    let (_, admin) = token(&app, "a", "admin", None).await;
    let (revoked_id, revoked) = token(&app, "r", "admin", None).await;
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let (_, expired) = token(&app, "e", "admin", Some(soon)).await;
    let (status, _) = as_admin(&app, "DELETE", &format!("/api/tokens/{revoked_id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    eventually(Duration::from_secs(20), "token to expire", || async {
        let auth = bearer(&expired);
        let (s, _, _) = raw(
            &app.base,
            "GET",
            "/api/whoami",
            &[("Authorization", &auth)],
            None,
        )
        .await;
        (s == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;

    let callers: [(&str, Option<&str>, Option<Min>); 7] = [
        ("none", None, None),
        ("viewer", Some(&viewer), Some(Min::Viewer)),
        ("operator", Some(&operator), Some(Min::Operator)),
        ("admin", Some(&admin), Some(Min::Admin)),
        ("env-token", Some(ADMIN_TOKEN), Some(Min::Admin)),
        ("expired", Some(&expired), None),
        ("revoked", Some(&revoked), None),
    ];
    let rank = |m: Min| match m {
        Min::Open => 0,
        Min::Viewer => 1,
        Min::Operator => 2,
        Min::Admin => 3,
    };
    let id = uuid::Uuid::new_v4().to_string();
    for (method, pattern, min) in MATRIX {
        let path = pattern
            .replace("{id}", &id)
            .replace("{file}", "app.js")
            .replace("{name}", "no-such-secret");
        let has_body = matches!(*method, "post" | "put");
        for (who, tok, role) in &callers {
            let auth = tok.map(bearer);
            let mut headers = vec![];
            if let Some(a) = &auth {
                headers.push(("Authorization", a.as_str()));
            }
            if has_body {
                headers.push(("Content-Type", "application/json"));
            }
            let body = has_body.then_some("{}");
            let (status, _, v) =
                raw(&app.base, &method.to_uppercase(), &path, &headers, body).await;
            let expected = match (min, role) {
                (Min::Open, _) => "allowed",
                (_, None) => "401",
                (m, Some(r)) if rank(*r) < rank(*m) => "403",
                _ => "allowed",
            };
            let got = match status {
                StatusCode::UNAUTHORIZED => "401",
                StatusCode::FORBIDDEN => "403",
                _ => "allowed",
            };
            assert_eq!(got, expected, "{who} {method} {path}: {status} {v}");
            if got == "403" {
                assert_envelope(&v, "forbidden");
            }
        }
    }
}

#[actix_web::test]
async fn tokens_are_shown_once_stored_hashed_and_revocation_closes_sessions() {
    let app = spawn_with_token().await;
    let (id, secret) = token(&app, "dash", "viewer", None).await;
    // Listed without the secret; a duplicate active name is a conflict.
    let (status, list) = as_admin(&app, "GET", "/api/tokens", None).await;
    assert_eq!(status, StatusCode::OK);
    let item = list["items"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["id"] == id.as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(item["role"], "viewer", "{list}");
    assert!(item.get("token").is_none(), "{list}");
    assert!(!list.to_string().contains(&secret));
    let (status, _) = as_admin(
        &app,
        "POST",
        "/api/tokens",
        Some(json!({"name": "dash", "role": "admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, v) = as_admin(
        &app,
        "POST",
        "/api/tokens",
        Some(json!({"name": "x", "role": "root"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        assert_envelope(&v, "validation_failed").starts_with("role"),
        "{v}"
    );
    let (status, v) = as_admin(
        &app,
        "POST",
        "/api/tokens",
        Some(json!({"name": "x", "role": "viewer", "expiresAt": "1900-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    // The database holds a hash, never the token.
    let stored: Vec<String> = app
        .db
        .query_strings("SELECT token_hash || ' ' || name AS s FROM api_tokens")
        .await;
    assert!(stored.iter().all(|s| !s.contains(&secret)), "{stored:?}");

    // A viewer reads and subscribes; the browser way (subprotocol) carries no token in the URL.
    let auth = bearer(&secret);
    let (status, _, who) = raw(
        &app.base,
        "GET",
        "/api/whoami",
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (who["actor"].as_str(), who["role"].as_str()),
        (Some("dash"), Some("viewer"))
    );
    let offered = format!("bearer.{secret}");
    let (mut ws, selected) = WsClient::connect_with(&app.base, &["taskforge", &offered])
        .await
        .unwrap_or_else(|e| panic!("ws with subprotocol: {e}"));
    assert_eq!(
        selected.as_deref(),
        Some("taskforge"),
        "the token must not be echoed"
    );
    let (status, _, v) = raw(
        &app.base,
        "POST",
        "/api/scheduler/schedules",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&shell_schedule("nope").to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");

    // Revoked: at once for requests and for the open session.
    let (status, _) = as_admin(&app, "DELETE", &format!("/api/tokens/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        ws.closed_within(Duration::from_secs(10)).await,
        "session of a revoked token stays open"
    );
    let (status, _, v) = raw(
        &app.base,
        "GET",
        "/api/whoami",
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        assert_envelope(&v, "unauthorized").contains("revoked"),
        "{v}"
    );
    let (status, _) = as_admin(&app, "DELETE", &format!("/api/tokens/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_created_token_turns_authentication_on_for_good() {
    let app = TestApp::spawn().await;
    let other = app.spawn_sharing().await;
    let (status, _) = app.get("/api/scheduler/schedules").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "no token configured: open on loopback"
    );
    let (status, v) = app
        .post("/api/tokens", &json!({"name": "first", "role": "admin"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let secret = v["token"].as_str().unwrap_or_default().to_string();
    let (status, _) = app.get("/api/scheduler/schedules").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Revoking the last token does not open the gate again.
    let auth = bearer(&secret);
    let id = v["id"].as_str().unwrap_or_default();
    let (status, _, _) = raw(
        &app.base,
        "DELETE",
        &format!("/api/tokens/{id}"),
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/scheduler/schedules").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another instance on the same database notices without a restart, and so does a new one.
    eventually(
        Duration::from_secs(20),
        "the other instance to require a token",
        || async {
            (other.get("/api/scheduler/schedules").await.0 == StatusCode::UNAUTHORIZED)
                .then_some(())
        },
    )
    .await;
    let third = app.spawn_sharing().await;
    let (status, _) = third.get("/api/scheduler/schedules").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn foreign_hosts_and_origins_are_refused() {
    let app = TestApp::spawn_with(|c| {
        c.server.allowed_hosts = vec!["tf.test".into()];
        c.server.allowed_origins = vec!["https://ops.test".into()];
    })
    .await;
    let port = app.base.rsplit(':').next().unwrap_or_default().to_string();
    let list = "/api/scheduler/schedules";
    // DNS rebinding: a page on evil.example whose name now points at 127.0.0.1.
    for host in [
        "evil.example",
        &format!("evil.example:{port}"),
        "127.0.0.1.evil.example",
    ] {
        let (status, _, v) = raw(&app.base, "GET", list, &[("Host", host)], None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{host}: {v}");
        assert_envelope(&v, "forbidden");
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "tf.test".into(),
    ] {
        let (status, _, _) = raw(&app.base, "GET", list, &[("Host", host.as_str())], None).await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
    // CSRF: a state change from another origin.
    let body = shell_schedule("from-evil").to_string();
    let ct = ("Content-Type", "application/json");
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://localhost:{}", port.parse::<u32>().unwrap_or(1) + 1),
    ] {
        let (status, _, v) = raw(
            &app.base,
            "POST",
            list,
            &[ct, ("Origin", origin)],
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}: {v}");
    }
    assert_eq!(
        app.get(list).await.1["items"].as_array().map(Vec::len),
        Some(0)
    );
    let own = app.base.clone();
    let (status, _, v) = raw(
        &app.base,
        "POST",
        list,
        &[ct, ("Origin", &own)],
        Some(&body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, _, _) = raw(
        &app.base,
        "POST",
        "/api/scheduler/preview",
        &[ct, ("Origin", "https://ops.test")],
        Some(r#"{"scheduleType":"interval","scheduleConfig":{"intervalSeconds":5}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Reads from elsewhere are answered (no CORS headers, so a browser does not hand them over).
    let (status, headers, _) = raw(
        &app.base,
        "GET",
        list,
        &[("Origin", "http://evil.example")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("access-control-allow-origin").is_none());
    // Cross-site WebSocket hijacking.
    let res = awc::Client::new()
        .ws(format!("{}/ws", app.base))
        .origin("http://evil.example")
        .connect()
        .await
        .map(|(r, _)| r.status());
    match res {
        Err(awc::error::WsClientError::InvalidResponseStatus(s)) => {
            assert_eq!(s, StatusCode::FORBIDDEN)
        }
        other => panic!("ws from evil origin: {:?}", other.map(|s| s.as_u16())),
    }
    let res = awc::Client::new()
        .ws(format!("{}/ws", app.base))
        .origin(own.as_str())
        .connect()
        .await;
    assert!(res.is_ok(), "ws from own origin refused");
}

#[actix_web::test]
async fn bodies_must_be_json_and_every_response_says_nosniff() {
    let app = TestApp::spawn().await;
    let body = shell_schedule("form").to_string();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, _, v) = raw(
            &app.base,
            "POST",
            "/api/scheduler/schedules",
            &[("Content-Type", ct)],
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}: {v}");
        assert_envelope(&v, "unsupported_media_type");
    }
    let (status, _, _) = raw(
        &app.base,
        "POST",
        "/api/scheduler/schedules",
        &[],
        Some(&body),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = raw(
        &app.base,
        "POST",
        "/api/scheduler/schedules",
        &[("Content-Type", "application/json; charset=utf-8")],
        Some(&body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for path in [
        "/api/health",
        "/api/nope",
        "/",
        "/assets/app.js",
        "/metrics",
        "/api/executions/x",
    ] {
        let (_, headers, _) = raw(&app.base, "GET", path, &[], None).await;
        assert_eq!(
            headers
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{path}"
        );
    }
    let (_, headers, _) = raw(&app.base, "GET", "/", &[], None).await;
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
}

#[actix_web::test]
async fn every_state_change_is_audited_with_who_did_it() {
    let app = spawn_with_token().await;
    let (_, op) = token(&app, "ops-oncall", "operator", None).await;
    let (status, s) = as_admin(
        &app,
        "POST",
        "/api/scheduler/schedules",
        Some(shell_schedule("audited")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = s["id"].as_str().unwrap_or_default().to_string();
    let auth = bearer(&op);
    let (status, _, _) = raw(
        &app.base,
        "POST",
        &format!("/api/scheduler/schedules/{id}/pause"),
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = as_admin(
        &app,
        "DELETE",
        &format!("/api/scheduler/schedules/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A refused change leaves no entry.
    let (status, _, _) = raw(
        &app.base,
        "DELETE",
        &format!("/api/scheduler/schedules/{id}"),
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, page) = as_admin(&app, "GET", &format!("/api/audit?resourceId={id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().cloned().unwrap_or_default();
    let trail: Vec<(String, String)> = items
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or("").to_string(),
                e["actor"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        vec![
            ("schedule.delete".to_string(), "env-token".to_string()),
            ("schedule.pause".to_string(), "ops-oncall".to_string()),
            ("schedule.create".to_string(), "env-token".to_string()),
        ],
        "{page}"
    );
    assert_eq!(items[2]["details"]["name"], "audited");
    assert_eq!(items[1]["role"], "operator");
    assert_eq!(items[1]["resourceType"], "schedule");
    assert_eq!(items[1]["ip"], "127.0.0.1");
    // Creating a token is audited, and its secret is not in the trail.
    let (_, page) = as_admin(&app, "GET", "/api/audit?action=token.create", None).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    assert!(!page.to_string().contains(&op));
    let (_, page) = as_admin(&app, "GET", "/api/audit?actor=ops-oncall&limit=1", None).await;
    assert_eq!(page["items"][0]["action"], "schedule.pause", "{page}");
    // Only admins read it.
    let (status, _, _) = raw(
        &app.base,
        "GET",
        "/api/audit",
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, v) = as_admin(&app, "GET", "/api/audit?since=99999-01-01", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
}
