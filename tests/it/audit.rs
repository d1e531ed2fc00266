//! The audit log: every state change recorded with who did it.

use crate::access::{as_admin, bearer, raw, shell_schedule, spawn_with_token, token};
use awc::http::StatusCode;

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
