//! Live output (SPEC §12): a running shell task's output as `execution_output` frames and from
//! `GET /api/executions/{id}/output`, on this instance and on another one. The tasks wait for a
//! file the test creates, so "while it runs" never depends on how fast the machine is.

use std::path::Path;
use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, eventually, TestApp};
use crate::websocket::subscribe;
use crate::wsclient::WsClient;

/// A shell schedule that prints `before`, waits for `gate` to exist, then prints `after`.
fn gated(name: &str, before: &str, gate: &Path, after: &str) -> Value {
    let cmd = format!(
        "printf '{before}'; while [ ! -e '{}' ]; do sleep 0.02; done; printf '{after}'",
        gate.display()
    );
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": cmd},
           "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}})
}

fn open(gate: &Path) {
    std::fs::write(gate, b"").unwrap_or_else(|e| panic!("{e}"));
}

async fn output_of(app: &TestApp, id: &str) -> Value {
    let (status, v) = app.get(&format!("/api/executions/{id}/output")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

/// Frames of `execution` seen by `c` until its final event, in arrival order.
async fn frames_until_end(c: &mut WsClient, execution: &str) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let v = c
            .recv_until("a frame of the execution", |v| {
                v["data"]["executionId"] == execution || v["data"]["id"] == execution
            })
            .await;
        match v["type"].as_str() {
            Some("execution_output") => frames.push(v),
            Some("execution_completed" | "execution_failed" | "execution_cancelled") => {
                return frames
            }
            _ => {}
        }
    }
}

fn joined(frames: &[Value], stream: &str) -> String {
    frames
        .iter()
        .filter(|f| f["data"]["stream"] == stream)
        .map(|f| f["data"]["chunk"].as_str().unwrap_or_default())
        .collect()
}

#[actix_web::test]
async fn output_goes_out_while_the_task_runs_in_order_and_not_to_star() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let gate = dir.path().join("go");
    let s = app
        .create_schedule(gated("tail", "first\\n", &gate, "second\\n"))
        .await;
    let sid = s["id"].as_str().unwrap_or_default().to_string();
    let mut follower = WsClient::connect(&app.base).await;
    subscribe(&mut follower, json!([format!("schedule:{sid}")])).await;
    let mut everything = WsClient::connect(&app.base).await; // `*` only
    let mut output = WsClient::connect(&app.base).await;
    subscribe(&mut output, json!(["*", "output"])).await;

    let id = app.trigger(&s).await;
    let first = follower
        .recv_until("the first output frame", |v| {
            v["type"] == "execution_output"
        })
        .await;
    assert_eq!(first["data"]["executionId"], id.as_str(), "{first}");
    assert_eq!(first["data"]["stream"], "stdout");
    assert_eq!(first["data"]["seq"], 1);
    assert_eq!(first["data"]["chunk"], "first\n");
    assert_eq!(first["data"]["offset"], 0);
    // While it runs, /output shows what it printed so far.
    let partial = output_of(&app, &id).await;
    assert_eq!(
        partial,
        json!({"stdout": "first\n", "stderr": "", "truncated": false, "running": true})
    );
    // A late follower of the execution itself gets the rest.
    let mut late = WsClient::connect(&app.base).await;
    subscribe(&mut late, json!([format!("execution:{id}")])).await;
    open(&gate);

    let rest = frames_until_end(&mut follower, &id).await;
    let all: Vec<Value> = std::iter::once(first).chain(rest).collect();
    let seqs: Vec<u64> = all
        .iter()
        .map(|f| f["data"]["seq"].as_u64().unwrap_or(0))
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] > w[0]), "{seqs:?}");
    assert_eq!(joined(&all, "stdout"), "first\nsecond\n");
    let late_frames = frames_until_end(&mut late, &id).await;
    assert_eq!(joined(&late_frames, "stdout"), "second\n");
    assert_eq!(late_frames[0]["data"]["offset"], 6, "{late_frames:?}");
    let types = follower.types();
    let pos = |t: &str| types.iter().position(|x| x == t);
    assert!(
        pos("execution_started") < pos("execution_output"),
        "{types:?}"
    );
    assert!(
        types.iter().rposition(|x| x == "execution_output") < pos("execution_completed"),
        "{types:?}"
    );

    let done = output_of(&app, &id).await;
    assert_eq!(
        done,
        json!({"stdout": "first\nsecond\n", "stderr": "", "truncated": false, "running": false})
    );
    output
        .recv_until("output on the output topic", |v| {
            v["type"] == "execution_output" && v["data"]["executionId"] == id.as_str()
        })
        .await;
    everything
        .recv_until("the end, on *", |v| v["type"] == "execution_completed")
        .await;
    assert!(
        !everything.types().iter().any(|t| t == "execution_output"),
        "* must leave output out: {:?}",
        everything.types()
    );
}

#[actix_web::test]
async fn a_secret_printed_in_two_writes_never_shows_and_stderr_has_its_frames() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .post(
            "/api/secrets",
            &json!({"name": "pw", "value": "hunter2-xyz"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let gate = dir.path().join("go");
    let cmd = format!(
        "printf 'a long enough first line\\npw=hunter' >&2; while [ ! -e '{}' ]; do sleep 0.02; done; printf '2-xyz done\\n' >&2; echo out",
        gate.display()
    );
    let s = app
        .create_schedule(
            json!({"name": "secretive", "taskType": "shell", "scheduleType": "cron",
            "scheduleConfig": {"expression": "0 0 1 1 *"},
            "taskConfig": {"command": cmd, "env": {"PW": {"$secret": "pw"}}}}),
        )
        .await;
    let mut c = WsClient::connect(&app.base).await;
    subscribe(&mut c, json!(["output", "executions"])).await;
    let id = app.trigger(&s).await;
    let first = c
        .recv_until("the first stderr frame", |v| {
            v["type"] == "execution_output" && v["data"]["stream"] == "stderr"
        })
        .await;
    let shown = output_of(&app, &id).await;
    assert!(
        !shown["stderr"]
            .as_str()
            .unwrap_or_default()
            .contains("hunter"),
        "{shown}"
    );
    open(&gate);
    let mut frames = vec![first];
    frames.extend(frames_until_end(&mut c, &id).await);
    let err = joined(&frames, "stderr");
    assert_eq!(err, "a long enough first line\npw=*** done\n", "{frames:?}");
    assert!(!err.contains("hunter"));
    let e = app.finished_execution(&id).await;
    assert_eq!(
        e["result"]["stderr"],
        "a long enough first line\npw=*** done\n"
    );
    assert_eq!(e["result"]["stdout"], "out\n");
}

#[actix_web::test]
async fn another_instance_shows_the_output_of_a_run_it_does_not_own() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sharing().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let gate = dir.path().join("go");
    let s = a
        .create_schedule(gated("elsewhere", "from a\\n", &gate, "done\\n"))
        .await;
    let id = a.trigger(&s).await;
    let mut on_b = WsClient::connect(&b.base).await;
    subscribe(&mut on_b, json!([format!("execution:{id}")])).await;
    // The copy is stored about once a second by the instance that runs it.
    eventually(Duration::from_secs(30), "output seen from b", || async {
        let v = output_of(&b, &id).await;
        (v["stdout"] == "from a\n" && v["running"] == true).then_some(())
    })
    .await;
    open(&gate);
    let frames = frames_until_end(&mut on_b, &id).await;
    assert!(joined(&frames, "stdout").ends_with("done\n"), "{frames:?}");
    let v = output_of(&b, &id).await;
    assert_eq!(v["stdout"], "from a\ndone\n");
    assert_eq!(v["running"], false);
    eventually(
        Duration::from_secs(30),
        "the stored copy removed",
        || async {
            let left =
                crate::cluster::query_i64(a.db.url(), "SELECT count(*) AS n FROM execution_output")
                    .await;
            (left == 0).then_some(())
        },
    )
    .await;
}

#[actix_web::test]
async fn a_flood_of_output_is_capped_and_frames_stay_few() {
    let app = TestApp::spawn_with(|c| c.execution.output_cap_bytes = 10_000).await;
    let s = app
        .create_schedule(json!({"name": "flood", "taskType": "shell", "scheduleType": "cron",
            "scheduleConfig": {"expression": "0 0 1 1 *"},
            "taskConfig": {"command": "head -c 5000000 /dev/zero | tr '\\0' 'x'; sleep 0.3; echo tail >&2"}}))
        .await;
    let mut c = WsClient::connect(&app.base).await;
    subscribe(&mut c, json!(["output", "executions"])).await;
    let started = std::time::Instant::now();
    let id = app.trigger(&s).await;
    let frames = frames_until_end(&mut c, &id).await;
    let ran = started.elapsed();
    let out = joined(&frames, "stdout");
    assert!(out.len() <= 10_000, "{}", out.len());
    // At most one frame per 100 ms, plus the last ones at the end.
    let bound = (ran.as_millis() / 100) as usize + 3;
    assert!(frames.len() <= bound, "{} frames in {ran:?}", frames.len());
    let e = app.finished_execution(&id).await;
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["result"]["truncated"], true);
    let v = output_of(&app, &id).await;
    assert_eq!(v["stdout"].as_str().map(str::len), Some(10_000));
    assert_eq!(v["truncated"], true);
}

#[actix_web::test]
async fn output_off_sends_no_frames_and_bad_requests_are_refused() {
    let app = TestApp::spawn_with(|c| c.execution.live_output = false).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let gate = dir.path().join("go");
    let s = app
        .create_schedule(gated("quiet", "one\\n", &gate, "two\\n"))
        .await;
    let mut c = WsClient::connect(&app.base).await;
    subscribe(&mut c, json!(["output", "executions"])).await;
    let id = app.trigger(&s).await;
    // Not streamed, but still readable on this instance while it runs.
    eventually(Duration::from_secs(30), "partial output", || async {
        let v = output_of(&app, &id).await;
        (v["stdout"] == "one\n" && v["running"] == true).then_some(())
    })
    .await;
    open(&gate);
    assert!(frames_until_end(&mut c, &id).await.is_empty());

    let (status, v) = app
        .get(&format!("/api/executions/{}/output", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let (status, v) = app.get("/api/executions/nope/output").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_envelope(&v, "validation_failed");
    c.send(&json!({"type": "subscribe", "subscriptions": ["execution:nope"]}))
        .await;
    let err = c
        .recv_until("an error frame", |v| v["type"] == "error")
        .await;
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("execution:nope")),
        "{err}"
    );
}

#[actix_web::test]
async fn nul_bytes_invalid_utf8_and_a_split_character_come_out_clean() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let gate = dir.path().join("go");
    // `\303\251` is é: its first byte before the gate, its second after.
    let s = app
        .create_schedule(gated("bytes", "a\\000b\\377c\\n\\303", &gate, "\\251!\\n"))
        .await;
    let mut c = WsClient::connect(&app.base).await;
    subscribe(&mut c, json!(["output", "executions"])).await;
    let id = app.trigger(&s).await;
    let first = c
        .recv_until("the first frame", |v| v["type"] == "execution_output")
        .await;
    assert_eq!(first["data"]["chunk"], "a\u{FFFD}b\u{FFFD}c\n", "{first}");
    let partial = output_of(&app, &id).await;
    assert_eq!(partial["stdout"], "a\u{FFFD}b\u{FFFD}c\n", "{partial}");
    open(&gate);
    let mut frames = vec![first];
    frames.extend(frames_until_end(&mut c, &id).await);
    assert_eq!(joined(&frames, "stdout"), "a\u{FFFD}b\u{FFFD}c\né!\n");
    let e = app.finished_execution(&id).await;
    assert_eq!(e["result"]["stdout"], "a\u{FFFD}b\u{FFFD}c\né!\n");
}
