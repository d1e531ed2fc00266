//! Issues 13/14: where HTTP tasks may connect, redirects, and deadlines that hold against
//! peers and children that stall. All traffic stays on loopback: the policy is shown by
//! blocking a loopback range and calling a local stub.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::app::TestApp;
use crate::fakes;

fn http_task(name: &str, task: Value) -> Value {
    json!({"name": name, "taskType": "http", "taskConfig": task, "scheduleType": "cron",
           "scheduleConfig": {"expression": "0 0 1 1 *"}, "retryPolicy": {"maxAttempts": 1}})
}

async fn run(app: &TestApp, body: Value) -> Value {
    let s = app.create_schedule(body).await;
    let id = app.trigger(&s).await;
    app.finished_execution(&id).await
}

#[actix_web::test]
async fn blocked_networks_are_refused_after_resolution_unless_allowed() {
    let stub = fakes::start(|_| (200, json!({"reached": true}))).await;
    let port = stub.base.rsplit(':').next().unwrap_or_default().to_string();
    let app =
        TestApp::spawn_with(|c| c.execution.http.blocked_networks.push("127.0.0.0/8".into())).await;
    for (name, url) in [
        ("literal", format!("http://127.0.0.1:{port}/x")),
        ("by-name", format!("http://localhost:{port}/x")),
        ("mapped", format!("http://[::ffff:127.0.0.1]:{port}/x")),
    ] {
        let e = run(&app, http_task(name, json!({"url": url}))).await;
        assert_eq!(
            (e["status"].as_str(), e["errorType"].as_str()),
            (Some("failed"), Some("connection")),
            "{name}: {e}"
        );
        assert!(
            e["error"]
                .as_str()
                .unwrap_or_default()
                .contains("is blocked by execution.http.blocked_networks"),
            "{name}: {e}"
        );
    }
    // The conductor goes through the same policy.
    let c = app.create_schedule(json!({"name": "cond", "taskType": "conductor", "taskConfig": {"message": "hi", "timeoutMs": 5000},
        "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}, "retryPolicy": {"maxAttempts": 1}})).await;
    let e = app.finished_execution(&app.trigger(&c).await).await;
    assert_eq!(e["status"], "failed", "{e}");
    assert!(
        stub.received().is_empty(),
        "the stub was reached: {:?}",
        stub.received()
    );

    // An allowed network inside the blocked one wins.
    let allowed = TestApp::spawn_on(app.db.clone(), |c| {
        c.execution.http.blocked_networks.push("127.0.0.0/8".into());
        c.execution
            .http
            .allowed_networks
            .push("127.0.0.1/32".into());
    })
    .await;
    let e = run(
        &allowed,
        http_task("allowed", json!({"url": format!("{}/ok", stub.base)})),
    )
    .await;
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(stub.received().len(), 1);
    stub.stop().await;
}

#[actix_web::test]
async fn redirects_are_followed_only_when_asked_and_drop_headers_across_origins() {
    let other = fakes::start(|_| (200, json!({"at": "other"}))).await;
    let target = format!("{}/landing", other.base);
    let first = fakes::start_full(move |r| {
        if r.path.starts_with("/same") {
            (302, vec![("Location".into(), "/final".into())], json!({}))
        } else if r.path.starts_with("/final") {
            (200, vec![], json!({"at": "first"}))
        } else {
            (302, vec![("Location".into(), target.clone())], json!({}))
        }
    })
    .await;
    let app = TestApp::spawn().await;
    let headers = json!({"Authorization": "Bearer task-own"});
    let e = run(
        &app,
        http_task(
            "no-follow",
            json!({"url": format!("{}/go", first.base), "headers": headers}),
        ),
    )
    .await;
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("failed"), Some("http_status")),
        "{e}"
    );
    assert_eq!(e["result"]["status"], 302);
    assert!(other.received().is_empty());

    let e = run(&app, http_task("follow", json!({"url": format!("{}/go", first.base), "headers": headers, "followRedirects": true}))).await;
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["result"]["body"]["at"], "other");
    let got = &other.received()[0];
    assert!(
        !got.headers.iter().any(|(k, _)| k == "authorization"),
        "task header crossed origins: {:?}",
        got.headers
    );
    assert!(got
        .headers
        .iter()
        .any(|(k, _)| k == "x-taskforge-execution-id"));

    let e = run(&app, http_task("same-origin", json!({"url": format!("{}/same", first.base), "headers": headers, "followRedirects": true}))).await;
    assert_eq!(e["result"]["body"]["at"], "first", "{e}");
    let last = first
        .received()
        .into_iter()
        .last()
        .unwrap_or_else(|| panic!("nothing received"));
    assert!(
        last.headers
            .contains(&("authorization".into(), "Bearer task-own".into())),
        "{:?}",
        last.headers
    );
    first.stop().await;
    other.stop().await;
}

/// A server that sends its headers and a little of the body, then stalls for good.
async fn stalling_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let h = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\npartial").await;
            held.push(s);
        }
    });
    (format!("http://{addr}"), h)
}

#[actix_web::test]
async fn the_timeout_bounds_the_whole_response_body() {
    let (url, server) = stalling_server().await;
    let app = TestApp::spawn().await;
    let started = Instant::now();
    let e = run(
        &app,
        http_task("stall", json!({"url": url, "timeoutMs": 1000})),
    )
    .await;
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("failed"), Some("timeout")),
        "{e}"
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(15),
        "a stalled body held the run for {took:?}"
    );
    assert!(
        e["durationMs"].as_i64().unwrap_or(i64::MAX) < 1000 + 2000,
        "{e}"
    );
    server.abort();
}

#[actix_web::test]
async fn a_detached_child_holding_the_pipes_does_not_hold_the_run() {
    let app = TestApp::spawn().await;
    let shell = |name: &str, command: &str, timeout: u64| {
        json!({"name": name, "taskType": "shell", "taskConfig": {"command": command, "timeoutMs": timeout},
               "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}, "retryPolicy": {"maxAttempts": 1}})
    };
    let e = run(
        &app,
        shell("detach-ok", "setsid sleep 41.5 & echo started", 60_000),
    )
    .await;
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["result"]["stdout"], "started\n");
    assert!(e["durationMs"].as_i64().unwrap_or(i64::MAX) < 5_000, "{e}");
    let e = run(
        &app,
        shell("detach-timeout", "setsid sleep 41.5 & sleep 60", 1_000),
    )
    .await;
    assert_eq!(
        (e["status"].as_str(), e["errorType"].as_str()),
        (Some("failed"), Some("timeout")),
        "{e}"
    );
    assert!(
        e["durationMs"].as_i64().unwrap_or(i64::MAX) < 1_000 + 2_000,
        "{e}"
    );
    crate::process::kill_running("sleep 41.5");
}
