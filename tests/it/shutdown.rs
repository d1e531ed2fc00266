//! Graceful shutdown of the in-process app: in-flight requests drain, new ones get 503, WebSocket
//! sessions are told and closed.

use std::sync::atomic::Ordering;
use std::time::Duration;

use awc::http::StatusCode;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::app::{assert_envelope, eventually, send, TestApp};
use crate::cluster::query_i64;

#[actix_web::test]
async fn in_flight_requests_finish_and_new_ones_get_503() {
    let mut app = TestApp::spawn().await;
    let state = app.running().state.clone();
    let body = json!({"name": "late", "taskType": "shell", "taskConfig": {"command": "true"}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 * * *"}}).to_string();
    let (head, tail) = body.split_at(body.len() / 2);

    // A request whose body is still arriving is in flight.
    let addr = app.running().addr;
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let request = format!(
        "POST /api/scheduler/schedules HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    );
    tcp.write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eventually(Duration::from_secs(10), "request in flight", || async {
        (state.in_flight.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;

    let running = app.app.take().unwrap_or_else(|| panic!("no app"));
    let shutdown = actix_web::rt::spawn(running.shutdown());
    eventually(Duration::from_secs(10), "shutdown started", || async {
        state.shutting_down.load(Ordering::SeqCst).then_some(())
    })
    .await;

    // The listener is still open: new requests are refused with 503, not a reset.
    let (status, resp) = send(&app.base, "GET", "/api/scheduler/schedules", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_envelope(&resp, "service_unavailable");
    let (status, health) = send(&app.base, "GET", "/api/health", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health["status"], "shutting_down");

    // The in-flight request completes normally.
    tcp.write_all(tail.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_string(&mut response))
        .await
        .unwrap_or_else(|_| panic!("no response"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    tokio::time::timeout(Duration::from_secs(20), shutdown)
        .await
        .unwrap_or_else(|_| panic!("shutdown did not finish"))
        .unwrap_or_else(|e| panic!("{e}"));
    let stored = query_i64(
        app.db.url(),
        "SELECT count(*) AS n FROM task_schedules WHERE name = 'late'",
    )
    .await;
    assert_eq!(stored, 1);
}

async fn next_json(
    framed: &mut actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), framed.next())
            .await
            .ok()??;
        match frame {
            Ok(awc::ws::Frame::Text(t)) => return serde_json::from_slice(&t).ok(),
            Ok(awc::ws::Frame::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

#[actix_web::test]
async fn websocket_sessions_get_server_shutdown_and_become_inactive() {
    let mut app = TestApp::spawn().await;
    let (_, mut framed) = awc::Client::new()
        .ws(format!("{}/ws", app.base))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("ws connect: {e}"));
    let hello = next_json(&mut framed)
        .await
        .unwrap_or_else(|| panic!("no connected frame"));
    assert_eq!(hello["type"], "connected");
    let session = hello["sessionId"].as_str().unwrap_or_default().to_string();
    let url = app.db.url().to_string();
    let active = |url: String, session: String| async move {
        query_i64(&url, &format!("SELECT count(*) AS n FROM websocket_sessions WHERE session_id = '{session}' AND is_active")).await
    };
    eventually(Duration::from_secs(10), "session row", || async {
        (active(url.clone(), session.clone()).await == 1).then_some(())
    })
    .await;

    framed
        .send(awc::ws::Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        next_json(&mut framed).await.map(|v| v["type"].clone()),
        Some(json!("pong"))
    );

    app.shutdown().await;
    let bye = next_json(&mut framed)
        .await
        .unwrap_or_else(|| panic!("no server_shutdown"));
    assert_eq!(bye["type"], "server_shutdown");
    assert_eq!(active(url, session).await, 0);
}

#[actix_web::test]
async fn a_task_cut_off_at_its_start_is_interrupted_never_handed_back_to_run_again() {
    // No grace: the interrupt comes right after the start.
    let mut app = TestApp::spawn_with(|c| c.server.shutdown_grace_secs = 0).await;
    let schedule = app
        .create_schedule(json!({"name": "cut-off", "taskType": "shell", "taskConfig": {"command": "sleep 31.75"},
            "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}, "retryPolicy": {"maxAttempts": 1}}))
        .await;
    let id = app.trigger(&schedule).await;
    // Shut down the moment the task runs: its row may not say `running` yet (the running
    // state is written a moment after the start), but it did start.
    eventually(Duration::from_secs(10), "the task's process", || async {
        (!crate::process::processes_running("sleep 31.75").is_empty()).then_some(())
    })
    .await;
    app.shutdown().await;
    let url = app.db.url().to_string();
    let row = |what: &str| {
        format!("SELECT count(*) AS n FROM task_executions WHERE id = '{id}' AND {what}")
    };
    assert_eq!(
        query_i64(
            &url,
            &row("status = 'failed' AND error_type = 'interrupted'")
        )
        .await,
        1,
        "a started task ends interrupted, not pending for someone to run again"
    );
    let again = app.spawn_sharing().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sid = schedule["id"].as_str().unwrap_or_default();
    assert_eq!(
        again.executions_of(sid).await.len(),
        1,
        "never run a second time"
    );
    assert!(crate::process::processes_running("sleep 31.75").is_empty());
}
