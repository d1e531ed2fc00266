//! live updates over /ws.

use std::time::Duration;

use actix_web::rt::spawn;
use serde_json::{json, Value};
use taskforge::actors::ws::messages::{HubStats, Publish};
use taskforge::domain::event::{Event, EventKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::app::{eventually, TestApp};
use crate::cluster::query_i64;
use crate::wsclient::{is_event, WsClient};

pub(crate) fn shell(name: &str, cmd: &str) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": cmd}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}})
}

pub(crate) async fn subscribe(c: &mut WsClient, topics: Value) {
    c.send(&json!({"type": "subscribe", "subscriptions": topics}))
        .await;
    let ack = c
        .recv_until("subscribed", |v| v["type"] == "subscribed")
        .await;
    assert_eq!(ack["subscriptions"], topics);
}

fn schedule_ids(c: &WsClient, prefix: &str) -> Vec<(String, String)> {
    c.seen
        .iter()
        .filter(|v| v["type"].as_str().is_some_and(|t| t.starts_with(prefix)))
        .map(|v| {
            let sid = v["data"]["scheduleId"]
                .as_str()
                .or(v["data"]["id"].as_str())
                .unwrap_or_default();
            (
                v["type"].as_str().unwrap_or_default().to_string(),
                sid.to_string(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn subscriptions_filter_events_and_executions_arrive_in_order() {
    let app = TestApp::spawn().await;
    let s1 = app.create_schedule(shell("fails", "exit 1")).await;
    let s1_id = s1["id"].as_str().unwrap_or_default().to_string();
    let mut execs = WsClient::connect(&app.base).await;
    subscribe(&mut execs, json!(["executions"])).await;
    let mut errors = WsClient::connect(&app.base).await;
    subscribe(&mut errors, json!(["errors"])).await;
    let mut one = WsClient::connect(&app.base).await;
    subscribe(&mut one, json!([format!("schedule:{s1_id}")])).await;
    let mut schedules = WsClient::connect(&app.base).await;
    subscribe(&mut schedules, json!(["schedules"])).await;
    let mut all = WsClient::connect(&app.base).await; // never subscribes: gets everything

    let s2 = app.create_schedule(shell("works", "true")).await;
    let s2_id = s2["id"].as_str().unwrap_or_default().to_string();
    let e1 = app.trigger(&s1).await;
    let e2 = app.trigger(&s2).await;

    // Executions: started before the final event, for each execution.
    for (id, last) in [(&e1, "execution_failed"), (&e2, "execution_completed")] {
        let started = execs
            .recv_until("started", |v| v["data"]["id"] == **id)
            .await;
        assert_eq!(started["type"], "execution_started");
        assert_eq!(started["data"]["status"], "running");
        assert!(started["timestamp"].is_string());
        let done = execs.recv_until(last, |v| v["data"]["id"] == **id).await;
        assert_eq!(done["type"], last);
        assert_eq!(
            done["data"]["scheduleId"],
            json!(if id == &e1 { &s1_id } else { &s2_id })
        );
    }
    let recorded = errors
        .recv_until("error_recorded", |v| is_event(v, "error_recorded", None))
        .await;
    assert_eq!(recorded["data"]["executionId"], json!(e1));
    let created = schedules
        .recv_until("schedule_created", |v| {
            is_event(v, "schedule_created", Some(&s2_id))
        })
        .await;
    assert_eq!(created["data"]["name"], "works");
    one.recv_until("error of s1", |v| is_event(v, "error_recorded", None))
        .await;
    all.recv_until("everything", |v| is_event(v, "error_recorded", None))
        .await;
    all.recv_until("schedule_created", |v| {
        is_event(v, "schedule_created", Some(&s2_id))
    })
    .await;

    // A sentinel through the hub after everything above; then nothing foreign may have arrived.
    app.running().state.actors.hub.do_send(Publish(Event::new(
        EventKind::ScheduleUpdated,
        Some(uuid::Uuid::parse_str(&s1_id).unwrap_or_default()),
        json!({"sentinel": true}),
    )));
    for c in [&mut one, &mut schedules, &mut all] {
        c.recv_until("sentinel", |v| v["data"]["sentinel"] == true)
            .await;
    }
    let control = |t: &String| t == "connected" || t == "subscribed";
    assert!(
        execs
            .types()
            .iter()
            .all(|t| t.starts_with("execution_") || control(t)),
        "{:?}",
        execs.types()
    );
    assert!(
        errors
            .types()
            .iter()
            .all(|t| t.starts_with("error_") || control(t)),
        "{:?}",
        errors.types()
    );
    assert!(
        schedules
            .types()
            .iter()
            .all(|t| t.starts_with("schedule_") || control(t)),
        "{:?}",
        schedules.types()
    );
    assert!(
        schedule_ids(&one, "execution_")
            .iter()
            .all(|(_, s)| *s == s1_id),
        "{:?}",
        schedule_ids(&one, "")
    );
    assert!(schedule_ids(&one, "error_")
        .iter()
        .all(|(_, s)| *s == s1_id));
    assert!(
        !one.types().iter().any(|t| t == "schedule_created"),
        "{:?}",
        one.types()
    );
    assert!(all.types().iter().any(|t| t == "execution_started"));

    // A lone instance hands nothing over: the outbox stays empty.
    assert_eq!(
        query_i64(app.db.url(), "SELECT count(*) AS n FROM event_outbox").await,
        0
    );

    // Unsubscribe narrows; the row follows.
    execs
        .send(&json!({"type": "unsubscribe", "subscriptions": ["executions"]}))
        .await;
    let ack = execs
        .recv_until("subscribed", |v| v["type"] == "subscribed")
        .await;
    assert_eq!(ack["subscriptions"], json!([]));
    let url = app.db.url().to_string();
    let sid = execs.session_id.clone();
    eventually(Duration::from_secs(10), "row updated", || async {
        (query_i64(&url, &format!("SELECT count(*) AS n FROM websocket_sessions WHERE session_id = '{sid}' AND subscriptions = '{{}}'")).await == 1).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn bad_frames_get_an_error_and_the_session_stays_open() {
    let app = TestApp::spawn().await;
    let mut c = WsClient::connect(&app.base).await;
    for bad in [
        "not json",
        r#"{"type":"dance"}"#,
        r#"{"type":"subscribe","subscriptions":["nope"]}"#,
        r#"{"type":"subscribe"}"#,
        "[]",
    ] {
        c.send_text(bad).await;
        let e = c
            .recv(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("closed after {bad}"));
        assert_eq!(e["type"], "error", "{bad}: {e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    c.send_binary(b"\x00\x01").await;
    assert_eq!(
        c.recv(Duration::from_secs(10))
            .await
            .map(|v| v["type"].clone()),
        Some(json!("error"))
    );
    c.send(&json!({"type": "ping"})).await;
    assert_eq!(
        c.recv(Duration::from_secs(10))
            .await
            .map(|v| v["type"].clone()),
        Some(json!("pong"))
    );
}

#[actix_web::test]
async fn five_hundred_clients_all_receive_an_event() {
    let app = TestApp::spawn().await;
    let mut clients = Vec::new();
    for chunk in 0..10 {
        let mut joins = Vec::new();
        for _ in 0..50 {
            let base = app.base.clone();
            joins.push(spawn(async move { WsClient::connect(&base).await }));
        }
        for j in joins {
            clients.push(j.await.unwrap_or_else(|e| panic!("chunk {chunk}: {e}")));
        }
    }
    eventually(
        Duration::from_secs(30),
        "500 sessions registered",
        || async {
            let (n, _) = app.running().state.actors.hub.send(HubStats).await.ok()?;
            (n == 500).then_some(())
        },
    )
    .await;
    let s = app.create_schedule(shell("broadcast", "true")).await;
    let id = s["id"].as_str().unwrap_or_default().to_string();
    let mut joins = Vec::new();
    for mut c in clients {
        let id = id.clone();
        joins.push(spawn(async move {
            c.recv_until("schedule_created", |v| {
                is_event(v, "schedule_created", Some(&id))
            })
            .await
        }));
    }
    let mut got = 0;
    for j in joins {
        if j.await.is_ok() {
            got += 1;
        }
    }
    assert_eq!(got, 500);
}

/// A raw WebSocket client that completes the handshake, then never reads nor answers pings.
pub(crate) async fn silent_client(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(req.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0);
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"),
        "handshake failed"
    );
    tcp
}

#[actix_web::test]
async fn a_client_that_stops_reading_is_dropped_and_others_keep_up() {
    let app = TestApp::spawn_with(|c| c.server.tcp_user_timeout_secs = 2).await;
    let hub = app.running().state.actors.hub.clone();
    let _slow = silent_client(app.running().addr).await;
    let mut normal = WsClient::connect(&app.base).await;
    eventually(Duration::from_secs(10), "2 sessions", || async {
        (hub.send(HubStats).await.ok()?.0 == 2).then_some(())
    })
    .await;

    let filler = "x".repeat(2048);
    let reader = spawn(async move {
        let mut count = 0u32;
        while let Some(v) = normal.recv(Duration::from_secs(30)).await {
            if v["data"]["seq"].is_u64() {
                count += 1;
            }
            if v["data"]["last"] == true {
                break;
            }
        }
        count
    });
    let total = 20_000u32;
    for seq in 0..total {
        hub.do_send(Publish(Event::new(
            EventKind::ScheduleUpdated,
            None,
            json!({"seq": seq, "pad": filler, "last": seq == total - 1}),
        )));
        if seq % 50 == 49 {
            // ~5,000 events/s: a burst a reading client keeps up with on a loaded 2-core machine.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let received = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .unwrap_or_else(|_| panic!("normal client stalled"))
        .unwrap_or(0);
    assert_eq!(received, total, "the reading client lost events");
    let (_, dropped) = hub.send(HubStats).await.unwrap_or_default();
    assert_eq!(dropped, 1, "the silent client was not dropped");
    assert!(!crate::logcap::lines_with(&["WARN", "ws session dropped"]).is_empty());
    // The kernel gives up on the stalled connection (TCP_USER_TIMEOUT); the session ends and its
    // row is marked inactive, so a stalled client holds nothing for long.
    let url = app.db.url().to_string();
    eventually(
        Duration::from_secs(60),
        "stalled session closed",
        || async {
            (query_i64(
                &url,
                "SELECT count(*) AS n FROM websocket_sessions WHERE is_active",
            )
            .await
                == 0)
                .then_some(())
        },
    )
    .await;
}
