//! Chains (SPEC §12): `onSuccess` / `onFailure` runs, started once, checked for loops when
//! written, cut at 20 steps, cleaned when a schedule they name is deleted, and started by
//! the orphan scan when the instance stopped between a run's end and its chain.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{json, Value};
use taskforge::actors::instance::ScanNow;

use crate::app::{assert_envelope, eventually, TestApp};
use crate::cluster::{execute, query_i64};

fn shell(name: &str, command: &str, extra: Value) -> Value {
    let mut b = json!({"name": name, "taskType": "shell", "scheduleType": "cron",
        "scheduleConfig": {"expression": "0 0 1 1 *"}, "taskConfig": {"command": command}});
    if let (Some(b), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
        b.extend(extra.clone());
    }
    b
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

/// The finished executions of `schedule` once there are `n`, newest first.
async fn finished_runs(app: &TestApp, schedule: &Value, n: usize) -> Vec<Value> {
    eventually(
        Duration::from_secs(30),
        "chained runs to finish",
        || async {
            let runs = app.executions_of(&id_of(schedule)).await;
            let done = runs.iter().all(|e| {
                matches!(
                    e["status"].as_str(),
                    Some("completed" | "failed" | "cancelled")
                )
            });
            (runs.len() >= n && done).then_some(runs)
        },
    )
    .await
}

#[actix_web::test]
async fn a_completed_run_starts_each_on_success_schedule_once_with_its_execution() {
    let app = TestApp::spawn().await;
    let b = app
        .create_schedule(shell(
            "then-b",
            "printf '%s' \"$TASKFORGE_PAYLOAD\"",
            json!({}),
        ))
        .await;
    let c = app
        .create_schedule(shell("then-c", "true", json!({})))
        .await;
    let never = app
        .create_schedule(shell("on-fail", "true", json!({})))
        .await;
    let a = app
        .create_schedule(shell(
            "first",
            "echo done",
            json!({"onSuccess": [id_of(&b), id_of(&c)], "onFailure": [id_of(&never)]}),
        ))
        .await;
    assert_eq!(a["onSuccess"], json!([id_of(&b), id_of(&c)]));
    let exec = app.trigger(&a).await;
    let runs = finished_runs(&app, &b, 1).await;
    finished_runs(&app, &c, 1).await;
    let e = &runs[0];
    assert_eq!(e["trigger"], "chained", "{e}");
    assert_eq!(e["chainedFrom"], exec.as_str(), "{e}");
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["payload"]["from"]["id"], exec.as_str(), "{e}");
    assert_eq!(e["payload"]["from"]["status"], "completed", "{e}");
    assert_eq!(
        e["payload"]["from"]["result"]["stdout"], "done\n",
        "the source's result is in the payload: {e}"
    );
    let seen: Value = serde_json::from_str(e["result"]["stdout"].as_str().unwrap_or_default())
        .unwrap_or_default();
    assert_eq!(
        seen["from"]["id"],
        exec.as_str(),
        "the task got it too: {e}"
    );
    // The source's end handled again (as the orphan scan would) starts nothing more.
    app.running().state.actors.instance.do_send(ScanNow);
    let url = app.db.url();
    let chained =
        format!("SELECT count(*) AS n FROM task_executions WHERE chained_from = '{exec}'");
    assert_eq!(query_i64(url, &chained).await, 2);
    assert!(app.executions_of(&id_of(&never)).await.is_empty());
    // The API lists what one run started.
    let (status, page) = app
        .get(&format!("/api/executions?chainedFrom={exec}"))
        .await;
    assert_eq!(status, actix_web::http::StatusCode::OK, "{page}");
    let mut started: Vec<String> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["scheduleId"].as_str().map(str::to_string))
        .collect();
    started.sort_unstable();
    let mut want = vec![id_of(&b), id_of(&c)];
    want.sort_unstable();
    assert_eq!(started, want, "{page}");
    let (status, v) = app.get("/api/executions?chainedFrom=nope").await;
    assert_eq!(status, actix_web::http::StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("chainedFrom")),
        "{v}"
    );
    assert_eq!(
        query_i64(
            url,
            &format!(
                "SELECT count(*) AS n FROM task_executions WHERE id = '{exec}' AND chain_next"
            )
        )
        .await,
        0
    );
}

#[actix_web::test]
async fn a_failure_with_no_retry_left_starts_on_failure_from_the_last_attempt() {
    let app = TestApp::spawn().await;
    let alert = app.create_schedule(shell("alert", "true", json!({}))).await;
    let next = app.create_schedule(shell("next", "true", json!({}))).await;
    let a = app
        .create_schedule(shell(
            "flaky",
            "exit 3",
            json!({"severity": "high", "retryPolicy": {"maxAttempts": 2, "backoffBaseMs": 100},
                "onSuccess": [id_of(&next)], "onFailure": [id_of(&alert)]}),
        ))
        .await;
    app.trigger(&a).await;
    let runs = finished_runs(&app, &alert, 1).await;
    let attempts = finished_runs(&app, &a, 2).await;
    let last = attempts
        .iter()
        .find(|e| e["attempt"] == 2)
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["status"], "failed", "{attempts:?}");
    assert_eq!(runs.len(), 1, "one alert for the whole chain: {runs:?}");
    assert_eq!(runs[0]["chainedFrom"], last["id"], "{runs:?}");
    assert_eq!(runs[0]["payload"]["from"]["attempt"], 2);
    assert_eq!(runs[0]["payload"]["from"]["errorType"], "exit_code");
    assert!(app.executions_of(&id_of(&next)).await.is_empty());
}

#[actix_web::test]
async fn lists_that_loop_or_name_nothing_are_refused_naming_the_entry() {
    let app = TestApp::spawn().await;
    let c = app.create_schedule(shell("c", "true", json!({}))).await;
    let b = app
        .create_schedule(shell("b", "true", json!({"onFailure": [id_of(&c)]})))
        .await;
    let a = app
        .create_schedule(shell("a", "true", json!({"onSuccess": [id_of(&b)]})))
        .await;
    let missing = "0190a8c0-0000-7000-8000-000000000000";
    let cases = [
        // c → a closes a → b → c → a, across both kinds of list.
        (
            &c,
            json!({"onSuccess": [id_of(&a)]}),
            "onSuccess[0]",
            "loop",
        ),
        (
            &c,
            json!({"onFailure": [missing, id_of(&a)]}),
            "onFailure[0]",
            "no schedule",
        ),
        (
            &a,
            json!({"onSuccess": [id_of(&b), id_of(&a)]}),
            "onSuccess[1]",
            "itself",
        ),
        (
            &a,
            json!({"onSuccess": ["not-a-uuid"]}),
            "onSuccess[0]",
            "UUID",
        ),
        (&a, json!({"onSuccess": id_of(&b)}), "onSuccess", "list"),
        (
            &a,
            json!({"onSuccess": [id_of(&b), id_of(&b)]}),
            "onSuccess[1]",
            "twice",
        ),
    ];
    for (target, extra, field, says) in cases {
        let mut body = target.clone();
        if let (Some(b), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(extra.clone());
        }
        let (status, v) = app
            .put(
                &format!("/api/scheduler/schedules/{}", id_of(target)),
                &body,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}: {v}");
        assert_envelope(&v, "validation_failed");
        assert!(v.to_string().contains(field), "{extra}: {v}");
        assert!(v.to_string().contains(says), "{extra}: {v}");
    }
    let (status, v) = app
        .post(
            "/api/scheduler/schedules",
            &shell("new", "true", json!({"onSuccess": [missing]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    // Nothing was changed by the refused writes.
    let (_, got) = app
        .get(&format!("/api/scheduler/schedules/{}", id_of(&c)))
        .await;
    assert_eq!(got["onSuccess"], json!([]));
    assert_eq!(got["onFailure"], json!([]));
    // Deleting a schedule takes it out of every list that named it, and says so live.
    let (_, before) = app
        .get(&format!("/api/scheduler/schedules/{}", id_of(&a)))
        .await;
    let mut ws = crate::wsclient::WsClient::connect(&app.base).await;
    crate::websocket::subscribe(&mut ws, json!([format!("schedule:{}", id_of(&a))])).await;
    let (status, _) = app
        .request(
            "DELETE",
            &format!("/api/scheduler/schedules/{}", id_of(&b)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, got) = app
        .get(&format!("/api/scheduler/schedules/{}", id_of(&a)))
        .await;
    assert_eq!(got["onSuccess"], json!([]), "{got}");
    assert_ne!(
        got["updatedAt"], before["updatedAt"],
        "the list changed, so did updatedAt"
    );
    let event = ws
        .recv_until("a's schedule_updated", |v| v["type"] == "schedule_updated")
        .await;
    assert_eq!(event["data"]["id"], got["id"]);
    assert_eq!(event["data"]["onSuccess"], json!([]), "{event}");
    // With b gone there is no loop left: c may now name a.
    let mut body = c.clone();
    body["onSuccess"] = json!([id_of(&a)]);
    let (status, v) = app
        .put(&format!("/api/scheduler/schedules/{}", id_of(&c)), &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[actix_web::test]
async fn a_chain_stops_after_twenty_steps() {
    let app = TestApp::spawn().await;
    // s0 → s1 → … → s21, created from the end.
    let mut next: Option<Value> = None;
    let mut all = Vec::new();
    for i in (0..22).rev() {
        let extra = next
            .as_ref()
            .map_or(json!({}), |n| json!({"onSuccess": [id_of(n)]}));
        let s = app
            .create_schedule(shell(&format!("s{i}"), "true", extra))
            .await;
        all.push(s.clone());
        next = Some(s);
    }
    all.reverse();
    app.trigger(&all[0]).await;
    let last = finished_runs(&app, &all[20], 1).await;
    assert_eq!(last[0]["status"], "completed");
    // s20 ran at depth 20; its end starts nothing: give it the orphan scan's chance too.
    let url = app.db.url();
    eventually(Duration::from_secs(10), "s20's chain handled", || async {
        (query_i64(
            url,
            &format!(
                "SELECT count(*) AS n FROM task_executions WHERE schedule_id = '{}' AND chain_next",
                id_of(&all[20])
            ),
        )
        .await
            == 0)
            .then_some(())
    })
    .await;
    let s20 = id_of(&all[20]);
    let warned = crate::logcap::lines_with(&["WARN", "chain stopped: 20 steps deep", &s20]);
    assert_eq!(warned.len(), 1, "{warned:?}");
    app.running().state.actors.instance.do_send(ScanNow);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.executions_of(&id_of(&all[21])).await.is_empty());
    assert_eq!(
        query_i64(
            url,
            "SELECT max(chain_depth)::int8 AS n FROM task_executions"
        )
        .await,
        20
    );
}

#[actix_web::test]
async fn the_orphan_scan_starts_a_chain_its_instance_never_started() {
    let app = TestApp::spawn().await;
    let b = app.create_schedule(shell("later", "true", json!({}))).await;
    let a = app.create_schedule(shell("early", "true", json!({}))).await;
    let exec = app.trigger(&a).await;
    let done = app.finished_execution(&exec).await;
    assert_eq!(done["status"], "completed");
    // As if the instance stopped right after the final write: the run is marked as having
    // a chain to start, and its schedule now has one.
    let mut body = a.clone();
    body["onSuccess"] = json!([id_of(&b)]);
    let (status, v) = app
        .put(&format!("/api/scheduler/schedules/{}", id_of(&a)), &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let url = app.db.url();
    execute(
        url,
        &format!("UPDATE task_executions SET chain_next = true, finished_at = now() - interval '1 minute' WHERE id = '{exec}'"),
    )
    .await;
    app.running().state.actors.instance.do_send(ScanNow);
    let runs = finished_runs(&app, &b, 1).await;
    assert_eq!(runs[0]["chainedFrom"], exec.as_str());
    app.running().state.actors.instance.do_send(ScanNow);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.executions_of(&id_of(&b)).await.len(), 1);
}
