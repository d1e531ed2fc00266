//! Concurrency: forbid never overlaps, two instances never run one fire twice, pagination under inserts, and the concurrency limit.

use crate::app::{eventually, TestApp};
use crate::cluster::query_i64;
use crate::firing::{id_of, time};
use awc::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::time::Duration;

#[actix_web::test]
async fn forbid_never_overlaps() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(json!({"name": "long", "taskType": "shell", "taskConfig": {"command": "sleep 1.6"}, "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"}, "concurrencyPolicy": "forbid"}))
        .await;
    let id = id_of(&s);
    let done = eventually(Duration::from_secs(40), "3 finished runs", || async {
        let done: Vec<Value> = app
            .executions_of(&id)
            .await
            .into_iter()
            .filter(|e| e["status"] == "completed")
            .collect();
        (done.len() >= 3).then_some(done)
    })
    .await;
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = done
        .iter()
        .map(|e| (time(&e["startedAt"]), time(&e["finishedAt"])))
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].1, "runs overlap: {w:?}");
    }
    app.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    let stats = app
        .running()
        .state
        .actors
        .scheduler
        .send(taskforge::actors::scheduler::messages::GetFireStats)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(stats.skipped_running >= 1, "{stats:?}");
}

#[actix_web::test]
async fn two_instances_never_run_a_fire_twice() {
    let a = TestApp::spawn().await;
    let b = a.spawn_sharing().await;
    let s = a
        .create_schedule(json!({"name": "shared", "taskType": "shell", "taskConfig": {"command": "true"}, "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"}}))
        .await;
    let id = id_of(&s);
    eventually(Duration::from_secs(40), "5 fires", || async {
        (a.executions_of(&id).await.len() >= 5).then_some(())
    })
    .await;
    a.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    let dups = query_i64(
        a.db.url(),
        &format!("SELECT count(*) AS n FROM (SELECT scheduled_for FROM task_executions WHERE schedule_id = '{id}' GROUP BY scheduled_for HAVING count(*) > 1) d"),
    )
    .await;
    assert_eq!(dups, 0);
    drop(b);
}

/// A burst bigger than one claim runs in lanes on both instances (claims of 3 rows, 4 lanes
/// each): every slot of every schedule runs, none skipped, none left unstarted.
#[actix_web::test]
async fn a_burst_claimed_in_lanes_by_two_instances_runs_every_slot() {
    let small = |c: &mut taskforge::config::Config| {
        c.scheduler.claim_batch = 3;
        c.scheduler.claim_lanes = 4;
    };
    let a = TestApp::spawn_with(small).await;
    let b = TestApp::spawn_on(a.db.clone(), small).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let s = a
            .create_schedule(json!({"name": format!("lane-{i}"), "taskType": "shell", "taskConfig": {"command": "true"}, "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"}}))
            .await;
        ids.push(id_of(&s));
    }
    // Three whole seconds after the last create, every schedule has fired in each of them.
    let total = "SELECT count(*) AS n FROM task_executions";
    let before = query_i64(a.db.url(), total).await;
    eventually(Duration::from_secs(60), "3 bursts of 40", || async {
        (query_i64(a.db.url(), total).await >= before + 120).then_some(())
    })
    .await;
    for id in &ids {
        a.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
            .await;
    }
    // A second insert of one slot is refused by the fire key whatever the lanes do; what a lane
    // could lose is a claimed execution never handed over, which would stay pending for ever.
    eventually(
        Duration::from_secs(30),
        "every claimed run ended",
        || async {
            let open = query_i64(
                a.db.url(),
                "SELECT count(*) AS n FROM task_executions WHERE status IN ('pending', 'running')",
            )
            .await;
            (open == 0).then_some(())
        },
    )
    .await;
    // Every second between a schedule's first and last run has its run: no slot skipped.
    let gaps = query_i64(
        a.db.url(),
        "SELECT count(*) AS n FROM (SELECT schedule_id, count(*) AS runs, EXTRACT(EPOCH FROM max(scheduled_for) - min(scheduled_for))::bigint + 1 AS span FROM task_executions WHERE trigger = 'schedule' GROUP BY 1) r WHERE runs <> span",
    )
    .await;
    assert_eq!(gaps, 0, "a slot was skipped");
    let fired = |app: &TestApp| {
        app.running()
            .state
            .actors
            .scheduler
            .send(taskforge::actors::scheduler::messages::GetFireStats)
    };
    let (sa, sb) = (fired(&a).await, fired(&b).await);
    let (sa, sb) = match (sa, sb) {
        (Ok(x), Ok(y)) => (x, y),
        e => panic!("{e:?}"),
    };
    assert!(sa.fired + sb.fired >= 120, "{sa:?} {sb:?}");
    drop(b);
}

#[actix_web::test]
async fn pagination_walk_sees_every_item_once_while_rows_arrive() {
    let app = TestApp::spawn().await;
    let url = app.db.url().to_string();
    let sid = uuid::Uuid::new_v4();
    let insert = |n: usize, offset: usize| {
        format!(
            "INSERT INTO task_executions (id, schedule_id, status, trigger, scheduled_for, task_type, task_config, created_at) \
             SELECT gen_random_uuid(), '{sid}', 'completed', 'manual', now(), 'shell', '{{}}', now() - (g || ' ms')::interval \
             FROM generate_series({offset}, {offset} + {n} - 1) g"
        )
    };
    crate::cluster::execute(&url, &insert(237, 10)).await;
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/executions?scheduleId={sid}&limit=20&cursor={c}"),
            None => format!("/api/executions?scheduleId={sid}&limit=20"),
        };
        let (status, page) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["items"].as_array().cloned().unwrap_or_default() {
            assert!(
                seen.insert(item["id"].as_str().unwrap_or_default().to_string()),
                "duplicate {item}"
            );
        }
        pages += 1;
        // New rows keep arriving (newer than everything already listed).
        crate::cluster::execute(
            &url,
            &format!(
                "{} ",
                insert(3, 0).replace("now() - (g || ' ms')::interval", "clock_timestamp()")
            ),
        )
        .await;
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 237, "after {pages} pages");
}

#[actix_web::test]
async fn executions_beyond_the_concurrency_limit_wait_in_pending() {
    let app = TestApp::spawn_with(|c| c.execution.max_concurrent = 1).await;
    let s = app
        .create_schedule(json!({"name": "queued", "taskType": "shell", "taskConfig": {"command": "sleep 0.3"}, "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}}))
        .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, t) = app
            .post(
                &format!("/api/scheduler/schedules/{}/trigger", id_of(&s)),
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        ids.push(t["executionId"].as_str().unwrap_or_default().to_string());
    }
    let mut spans = Vec::new();
    for id in &ids {
        let e = app.finished_execution(id).await;
        assert_eq!(e["status"], "completed", "{e}");
        spans.push((time(&e["startedAt"]), time(&e["finishedAt"])));
    }
    spans.sort();
    for w in spans.windows(2) {
        assert!(
            w[1].0 >= w[0].1,
            "ran at the same time with max_concurrent = 1: {w:?}"
        );
    }
}
