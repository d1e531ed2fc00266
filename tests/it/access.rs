//! auth on the routed path, tokens and roles, browser defences, audit.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};

pub(crate) const ADMIN_TOKEN: &str = "bootstrap-admin-token";

/// A request with full control over the path and headers; status, headers and JSON body.
pub(crate) async fn raw(
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

pub(crate) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub(crate) async fn as_admin(
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
pub(crate) async fn token(
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

pub(crate) fn shell_schedule(name: &str) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": "id"},
           "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}})
}

pub(crate) async fn schedule_count(app: &TestApp) -> usize {
    let (status, v) = as_admin(app, "GET", "/api/scheduler/schedules", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["items"].as_array().map(Vec::len).unwrap_or(0)
}

pub(crate) async fn spawn_with_token() -> TestApp {
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
    // A running task's output is as protected as the execution itself, however it is spelled.
    let run = uuid::Uuid::new_v4();
    for path in [
        format!("/api/executions/{run}/output"),
        format!("/api/executions/{run}%2Foutput"),
        format!("/api//executions/{run}/output"),
        format!("/api/executions/{run}/%6Futput"),
        format!("/api/health/../executions/{run}/output"),
    ] {
        let (status, _, v) = raw(&app.base, "GET", &path, &[], None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "GET {path}: {v}");
    }
    // The one open route that takes a POST: no spelling of it reaches a protected route. The
    // key segment may swallow the rest (an unknown key, 404), but nothing is created.
    for path in [
        "/api/hooks/../scheduler/schedules",
        "/api/hooks/%2E%2E/scheduler/schedules",
        "/api/hooks/x/..%2F..%2Fscheduler%2Fschedules",
        "/api/hooks/x%2F..%2F..%2Fscheduler%2Fschedules",
        "/api/hooks//../scheduler/schedules",
    ] {
        let (status, _, v) = raw(&app.base, "POST", path, &json_ct, Some(&body)).await;
        assert!(
            matches!(status, StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND),
            "POST {path}: {status} {v}"
        );
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

/// Who may call what, written out independently of the route table.
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
    ("get", "/api/scheduler/schedules/{id}/stats", Min::Viewer),
    (
        "post",
        "/api/scheduler/schedules/{id}/backfill",
        Min::Operator,
    ),
    (
        "post",
        "/api/scheduler/schedules/{id}/webhook/rotate",
        Min::Admin,
    ),
    ("post", "/api/hooks/{key}", Min::Open),
    ("get", "/api/scheduler/upcoming", Min::Viewer),
    ("post", "/api/scheduler/preview", Min::Viewer),
    ("post", "/api/scheduler/apply", Min::Admin),
    ("get", "/api/stats", Min::Viewer),
    ("get", "/api/executions", Min::Viewer),
    ("get", "/api/executions/{id}", Min::Viewer),
    ("get", "/api/executions/{id}/output", Min::Viewer),
    ("post", "/api/executions/{id}/cancel", Min::Operator),
    ("get", "/api/errors/errors", Min::Viewer),
    ("get", "/api/errors/groups", Min::Viewer),
    ("get", "/api/errors/errors/{id}", Min::Viewer),
    ("post", "/api/errors/errors/{id}/retry", Min::Operator),
    ("post", "/api/errors/bulk", Min::Operator),
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
            .replace("{name}", "no-such-secret")
            .replace("{key}", "no-such-key");
        let has_body = matches!(*method, "post" | "put");
        // Every route under a doubled slash and a percent-encoded letter too: the role check
        // sees the path the router routes, not the spelling.
        let mut spellings = vec![path.clone()];
        if let Some(rest) = path.strip_prefix("/api/") {
            spellings.push(format!("/api//{rest}"));
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                spellings.push(format!("/api/%{:02X}{}", c as u32, chars.as_str()));
            }
        }
        for ((who, tok, role), path) in callers
            .iter()
            .flat_map(|c| spellings.iter().map(move |p| (c, p)))
        {
            let auth = tok.map(bearer);
            let mut headers = vec![];
            if let Some(a) = &auth {
                headers.push(("Authorization", a.as_str()));
            }
            if has_body {
                headers.push(("Content-Type", "application/json"));
            }
            let body = has_body.then_some("{}");
            let (status, _, v) = raw(&app.base, &method.to_uppercase(), path, &headers, body).await;
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
