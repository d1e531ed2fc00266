//! Inbound webhooks (SPEC §12): a signed `POST /api/hooks/{key}` runs its schedule with the
//! body as payload; a bad or missing signature is a 401, an unknown key a 404, a paused
//! schedule a 409; an `Idempotency-Key` repeated within 24 hours answers the first run; the
//! key and secret rotate; calls are rate-limited per key and audited.

use actix_web::http::StatusCode;
use serde_json::{json, Value};
use taskforge::domain::webhook::sign;

use crate::access::raw;
use crate::app::{assert_envelope, TestApp};
use crate::cluster::query_i64;

fn hooked(name: &str) -> Value {
    json!({"name": name, "taskType": "shell", "scheduleType": "cron",
        "scheduleConfig": {"expression": "0 0 1 1 *"},
        "taskConfig": {"command": "printf '%s' \"$TASKFORGE_PAYLOAD\""}, "webhook": {"enabled": true}})
}

/// POSTs `body` to `url` with `headers`; the status and the JSON answer.
async fn call(
    app: &TestApp,
    url: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut h = vec![("Content-Type", "application/json")];
    h.extend(headers.iter().filter(|(k, _)| *k != "Content-Type"));
    let (status, _, v) = raw(&app.base, "POST", url, &h, Some(body)).await;
    (status, v)
}

#[actix_web::test]
async fn a_signed_call_runs_the_schedule_with_its_body_and_a_bad_one_is_refused() {
    let app = TestApp::spawn().await;
    let s = app.create_schedule(hooked("hooked")).await;
    assert_eq!(s["webhook"], json!({"enabled": true}));
    let url = s["webhookUrl"].as_str().unwrap_or_default().to_string();
    let secret = s["webhookSecret"].as_str().unwrap_or_default().to_string();
    assert!(url.starts_with("/api/hooks/") && url.len() > 40, "{s}");
    assert_eq!(secret.len(), 64, "{s}");
    let body = r#"{"order": 17, "note": "paid"}"#;
    let sig = sign(&secret, body.as_bytes());
    let json_type = ("Content-Type", "application/json");
    let (status, v) = call(
        &app,
        &url,
        body,
        &[json_type, ("X-Taskforge-Signature", &sig)],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let exec = v["executionId"].as_str().unwrap_or_default().to_string();
    let e = app.finished_execution(&exec).await;
    assert_eq!(e["trigger"], "webhook", "{e}");
    assert_eq!(e["payload"], json!({"order": 17, "note": "paid"}), "{e}");
    assert_eq!(e["status"], "completed", "{e}");
    // Refused: no signature, a wrong one, one for another body, a signature without its prefix.
    let other = sign(&secret, b"{}");
    let wrong = sign("not-the-secret", body.as_bytes());
    let bare = sig.trim_start_matches("sha256=").to_string();
    for headers in [
        vec![json_type],
        vec![json_type, ("X-Taskforge-Signature", wrong.as_str())],
        vec![json_type, ("X-Taskforge-Signature", other.as_str())],
        vec![json_type, ("X-Taskforge-Signature", bare.as_str())],
        vec![json_type, ("X-Taskforge-Signature", "sha256=zz")],
    ] {
        let (status, v) = call(&app, &url, body, &headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{headers:?}: {v}");
        assert!(v.to_string().contains("X-Taskforge-Signature"), "{v}");
    }
    // Unknown keys, and the key's neighbours on the path, find nothing.
    for path in [
        "/api/hooks/nope",
        "/api/hooks/",
        &format!("{url}x"),
        &format!("{url}/x"),
    ] {
        let (status, v) = call(
            &app,
            path,
            body,
            &[json_type, ("X-Taskforge-Signature", &sig)],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    // A signed body that is not JSON, or holds a NUL, is a 400 naming it.
    for bad in ["{not json", r#"{"a": "\u0000"}"#] {
        let sig = sign(&secret, bad.as_bytes());
        let (status, v) = call(
            &app,
            &url,
            bad,
            &[json_type, ("X-Taskforge-Signature", &sig)],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(v.to_string().contains("body"), "{v}");
    }
    // Only the signed call ran, and it is in the audit log as the webhook's.
    assert_eq!(
        app.executions_of(s["id"].as_str().unwrap_or_default())
            .await
            .len(),
        1
    );
    let url_db = app.db.url();
    crate::app::eventually(std::time::Duration::from_secs(10), "the audit entry", || async {
        let n = query_i64(
            url_db,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'webhook.deliver' AND actor = 'webhook'",
        )
        .await;
        (n == 1).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn an_idempotency_key_answers_its_first_run_and_a_paused_schedule_refuses() {
    let app = TestApp::spawn().await;
    let s = app.create_schedule(hooked("replayed")).await;
    let url = s["webhookUrl"].as_str().unwrap_or_default().to_string();
    let secret = s["webhookSecret"].as_str().unwrap_or_default().to_string();
    let body = r#"{"event": "push"}"#;
    let sig = sign(&secret, body.as_bytes());
    let with_key = |k: &'static str| {
        vec![
            ("X-Taskforge-Signature", sig.clone()),
            ("Idempotency-Key", k.to_string()),
        ]
    };
    let send = |headers: Vec<(&'static str, String)>| {
        let (app, url) = (&app, url.clone());
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(app, &url, body, &h).await
        }
    };
    let (s1, first) = send(with_key("delivery-1")).await;
    let (s2, again) = send(with_key("delivery-1")).await;
    let (s3, other) = send(with_key("delivery-2")).await;
    assert_eq!(
        (s1, s2, s3),
        (
            StatusCode::ACCEPTED,
            StatusCode::ACCEPTED,
            StatusCode::ACCEPTED
        )
    );
    assert_eq!(
        first["executionId"], again["executionId"],
        "a repeat is the first run"
    );
    assert_ne!(first["executionId"], other["executionId"]);
    let sid = s["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(app.executions_of(&sid).await.len(), 2);
    // Past the 24-hour window the key starts a new run.
    crate::cluster::execute(
        app.db.url(),
        "UPDATE webhook_deliveries SET created_at = now() - interval '25 hours'",
    )
    .await;
    let (_, later) = send(with_key("delivery-1")).await;
    assert_ne!(later["executionId"], first["executionId"]);
    assert_eq!(app.executions_of(&sid).await.len(), 3);
    // An over-long key is a 400 naming the header.
    let long: &'static str = Box::leak("k".repeat(201).into_boxed_str());
    let (status, v) = send(with_key(long)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("Idempotency-Key"), "{v}");
    // Paused: 409, and no run.
    let (status, _) = app
        .post(&format!("/api/scheduler/schedules/{sid}/pause"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = send(with_key("delivery-3")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert_envelope(&v, "conflict");
    assert_eq!(app.executions_of(&sid).await.len(), 3);
}

#[actix_web::test]
async fn rotating_replaces_key_and_secret_and_turning_it_off_removes_the_url() {
    let app = TestApp::spawn().await;
    let s = app.create_schedule(hooked("rotated")).await;
    let sid = s["id"].as_str().unwrap_or_default().to_string();
    let (old_url, old_secret) = (s["webhookUrl"].clone(), s["webhookSecret"].clone());
    let (status, r) = app
        .post(
            &format!("/api/scheduler/schedules/{sid}/webhook/rotate"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_ne!(r["webhookUrl"], old_url);
    assert_ne!(r["webhookSecret"], old_secret);
    let body = "{}";
    let old_sig = sign(old_secret.as_str().unwrap_or_default(), body.as_bytes());
    let (status, _) = call(
        &app,
        old_url.as_str().unwrap_or_default(),
        body,
        &[("X-Taskforge-Signature", &old_sig)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the old key is gone");
    let new_url = r["webhookUrl"].as_str().unwrap_or_default().to_string();
    let new_sig = sign(
        r["webhookSecret"].as_str().unwrap_or_default(),
        body.as_bytes(),
    );
    let (status, _) = call(&app, &new_url, body, &[("X-Taskforge-Signature", &old_sig)]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old secret no longer signs"
    );
    let (status, v) = call(&app, &new_url, body, &[("X-Taskforge-Signature", &new_sig)]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    // The schedule read back and sent unchanged keeps its webhook as it is.
    let (_, got) = app.get(&format!("/api/scheduler/schedules/{sid}")).await;
    assert_eq!(got["webhookUrl"], new_url.as_str());
    let (status, same) = app
        .put(&format!("/api/scheduler/schedules/{sid}"), &got)
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["webhookSecret"], got["webhookSecret"]);
    // The secret is stored sealed, never as written.
    let secret = got["webhookSecret"].as_str().unwrap_or_default();
    let plain = query_i64(
        app.db.url(),
        &format!("SELECT count(*) AS n FROM task_schedules WHERE position(convert_to('{secret}', 'UTF8') in webhook_secret_sealed) > 0"),
    )
    .await;
    assert_eq!(plain, 0);
    // Off: no URL, the key no longer works, and rotating is refused naming the field.
    let mut off = got.clone();
    off["webhook"] = json!({"enabled": false});
    let (status, v) = app
        .put(&format!("/api/scheduler/schedules/{sid}"), &off)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["webhook"], json!({"enabled": false}));
    assert_eq!(v["webhookUrl"], Value::Null);
    let (status, _) = call(&app, &new_url, body, &[("X-Taskforge-Signature", &new_sig)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = app
        .post(
            &format!("/api/scheduler/schedules/{sid}/webhook/rotate"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("webhook"), "{v}");
    // A bad webhook field is a 400 naming it.
    let mut bad = hooked("bad-hook");
    bad["webhook"] = json!({"enabled": "yes"});
    let (status, v) = app.post("/api/scheduler/schedules", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("webhook.enabled"), "{v}");
}

#[actix_web::test]
async fn calls_beyond_the_rate_get_429_with_retry_after_and_big_bodies_413() {
    let app = TestApp::spawn_with(|c| {
        c.limits.webhook_rate_per_sec = 0.5;
        c.limits.webhook_burst = 3;
        c.limits.payload_max_bytes = 1_000;
    })
    .await;
    let s = app.create_schedule(hooked("limited")).await;
    let url = s["webhookUrl"].as_str().unwrap_or_default().to_string();
    let secret = s["webhookSecret"].as_str().unwrap_or_default().to_string();
    let big = format!(r#"{{"x": "{}"}}"#, "y".repeat(1_000));
    let sig = sign(&secret, big.as_bytes());
    let (status, v) = call(&app, &url, &big, &[("X-Taskforge-Signature", &sig)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let sig = sign(&secret, b"{}");
    // The 413 above took one call of the burst of 3.
    for _ in 0..2 {
        let (status, v) = call(&app, &url, "{}", &[("X-Taskforge-Signature", &sig)]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    }
    let (status, headers, v) = raw(
        &app.base,
        "POST",
        &url,
        &[
            ("Content-Type", "application/json"),
            ("X-Taskforge-Signature", &sig),
        ],
        Some("{}"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_envelope(&v, "rate_limited");
    let retry: u64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=2).contains(&retry), "{headers:?}");
    // Another schedule's key has its own bucket.
    let t = app.create_schedule(hooked("limited-too")).await;
    let sig_t = sign(t["webhookSecret"].as_str().unwrap_or_default(), b"{}");
    let (status, _) = call(
        &app,
        t["webhookUrl"].as_str().unwrap_or_default(),
        "{}",
        &[("X-Taskforge-Signature", &sig_t)],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}
