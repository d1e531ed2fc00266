//! WebSocket sessions across time and instances: session rows follow close and heartbeat timeout, and clients on one instance get events of executions on another.

use crate::app::{eventually, TestApp};
use crate::cluster::query_i64;
use crate::websocket::{shell, silent_client, subscribe};
use crate::wsclient::WsClient;
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn session_rows_follow_close_and_heartbeat_timeout() {
    let app = TestApp::spawn_with(|c| {
        c.websocket.heartbeat_interval_secs = 1;
        c.websocket.client_timeout_secs = 2;
    })
    .await;
    let url = app.db.url().to_string();
    let active = |sid: String| {
        let url = url.clone();
        async move {
            query_i64(&url, &format!("SELECT count(*) AS n FROM websocket_sessions WHERE session_id = '{sid}' AND is_active")).await
        }
    };
    let mut c = WsClient::connect(&app.base).await;
    let sid = c.session_id.clone();
    eventually(Duration::from_secs(10), "active row", || async {
        (active(sid.clone()).await == 1).then_some(())
    })
    .await;
    c.close().await;
    eventually(Duration::from_secs(10), "inactive after close", || async {
        (active(sid.clone()).await == 0).then_some(())
    })
    .await;

    // A client that never answers pings is dropped after client_timeout_secs.
    let before = query_i64(&url, "SELECT count(*) AS n FROM websocket_sessions").await;
    let _silent = silent_client(app.running().addr).await;
    eventually(Duration::from_secs(10), "silent session row", || async {
        (query_i64(&url, "SELECT count(*) AS n FROM websocket_sessions").await == before + 1)
            .then_some(())
    })
    .await;
    eventually(Duration::from_secs(20), "heartbeat timeout", || async {
        (query_i64(
            &url,
            "SELECT count(*) AS n FROM websocket_sessions WHERE is_active",
        )
        .await
            == 0)
            .then_some(())
    })
    .await;
    assert!(!crate::logcap::lines_with(&["ws session timed out"]).is_empty());
}

#[actix_web::test]
async fn clients_on_one_instance_get_events_of_executions_on_another() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sharing().await;
    let mut on_b = WsClient::connect(&b.base).await;
    subscribe(&mut on_b, json!(["executions"])).await;
    // Let B's listener come up before A produces events.
    eventually(Duration::from_secs(20), "B listening", || async {
        (!crate::logcap::lines_with(&["listening for events of other instances"]).is_empty())
            .then_some(())
    })
    .await;
    let s = a.create_schedule(shell("remote", "echo from-a")).await;
    let exec = a.trigger(&s).await;
    let started = on_b
        .recv_until("remote started", |v| v["data"]["id"] == exec)
        .await;
    assert_eq!(started["type"], "execution_started");
    let done = on_b
        .recv_until("remote completed", |v| {
            v["data"]["id"] == exec && v["type"] != "execution_started"
        })
        .await;
    assert_eq!(done["type"], "execution_completed");
    assert_eq!(done["data"]["result"]["stdout"], "from-a\n");
    // B does not echo A's events back, and A's own clients see them once.
    let mut on_a = WsClient::connect(&a.base).await;
    let exec2 = a.trigger(&s).await;
    on_a.recv_until("local completed", |v| {
        v["data"]["id"] == exec2 && v["type"] == "execution_completed"
    })
    .await;
    on_b.recv_until("remote completed 2", |v| {
        v["data"]["id"] == exec2 && v["type"] == "execution_completed"
    })
    .await;
    let dup = on_a
        .seen
        .iter()
        .filter(|v| v["data"]["id"] == exec2 && v["type"] == "execution_started")
        .count();
    assert_eq!(dup, 1);
}
