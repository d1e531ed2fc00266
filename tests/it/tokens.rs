//! API tokens: shown once, stored hashed, revocation closes sessions; the first token turns authentication on for good.

use crate::access::{as_admin, bearer, raw, shell_schedule, spawn_with_token, token};
use crate::app::{assert_envelope, eventually, TestApp};
use crate::wsclient::WsClient;
use awc::http::StatusCode;
use serde_json::json;
use std::time::Duration;

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
