//! Browser defences: foreign Host and Origin refused, bodies must be JSON, nosniff everywhere.

use crate::access::{raw, shell_schedule};
use crate::app::{assert_envelope, TestApp};
use awc::http::StatusCode;

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
