//! Error groups and notifications once per incident, through the real app on a real database:
//! a schedule failing every second is one group, pages once (not once per failure), repeats at
//! most once per `notifications.repeat_after_secs` with the held-back count, tells when the
//! group ends, and two instances sharing the database page once in total.

use std::time::Duration;

use serde_json::{json, Value};

use crate::app::{eventually, TestApp};
use crate::cluster::query_i64;
use crate::fakes;
use crate::firing::id_of;

/// A schedule failing every second: high severity, 2 attempts, quick retries.
fn flood(name: &str) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": "echo disk 91% full >&2; exit 3"},
        "scheduleType": "cron", "scheduleConfig": {"expression": "* * * * * *"},
        "severity": "high", "retryPolicy": {"maxAttempts": 2, "backoffBaseMs": 50}})
}

async fn escalated(app: &TestApp, schedule: &str) -> i64 {
    query_i64(
        app.db.url(),
        &format!(
            "SELECT count(*) AS n FROM error_records WHERE schedule_id = '{schedule}' \
             AND recovery_status = 'escalated'"
        ),
    )
    .await
}

/// Waits until every escalated record of `schedule` had its notification decided (a log line
/// either way), so a count of webhooks afterwards is final.
async fn all_decided(app: &TestApp, schedule: &str, at_least: i64) -> i64 {
    eventually(Duration::from_secs(60), "escalations decided", || async {
        let n = escalated(app, schedule).await;
        let sent = crate::logcap::lines_with(&["ERROR", "error escalated:", schedule]).len();
        let held = crate::logcap::lines_with(&["notification held back", schedule]).len();
        (n >= at_least && (sent + held) as i64 >= n).then_some(n)
    })
    .await
}

fn events(hook: &fakes::Fake, event: &str) -> Vec<Value> {
    hook.received()
        .into_iter()
        .map(|r| r.json())
        .filter(|b| b["event"] == event)
        .collect()
}

#[actix_web::test]
async fn a_failure_flood_is_one_group_and_one_page() {
    let hook = fakes::start(|_| (200, json!({}))).await;
    let url = format!("{}/hook", hook.base);
    let app = TestApp::spawn_with(move |c| c.notifications.webhook_url = url).await;
    let s = app.create_schedule(flood("flood")).await;
    let id = id_of(&s);
    let n = all_decided(&app, &id, 4).await;
    app.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    let pages = events(&hook, "error_escalated");
    assert_eq!(
        pages.len(),
        1,
        "{n} escalations paged {} times",
        pages.len()
    );
    assert_eq!(pages[0]["suppressed"], 0);
    assert_eq!(pages[0]["data"]["scheduleId"], json!(id));

    let (status, body) = app
        .get(&format!("/api/errors/groups?scheduleId={id}&status=all"))
        .await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{body}");
    let g = &items[0];
    let records = query_i64(
        app.db.url(),
        &format!("SELECT count(*) AS n FROM error_records WHERE schedule_id = '{id}'"),
    )
    .await;
    assert_eq!(g["count"], records);
    assert_eq!(g["openCount"], records);
    assert_eq!(g["errorType"], "exit_code");
    assert_eq!(g["scheduleName"], "flood");
    assert_eq!(g["fingerprint"], pages[0]["data"]["fingerprint"]);
    assert!(crate::firing::time(&g["firstSeenAt"]) <= crate::firing::time(&g["lastSeenAt"]));
    // Occurrences per hour, oldest first: all of them in the last hour...
    let hourly = |g: &Value| -> Vec<i64> {
        g["hourly"]
            .as_array()
            .map(|h| h.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    };
    let h = hourly(g);
    assert_eq!(
        (h.len(), h[23], h.iter().sum::<i64>()),
        (24, records, records),
        "{g}"
    );
    // ...and a record from 5 h ago counts five places back; one from two days ago not at all.
    for (age, n) in [("5 hours 10 minutes", 1), ("2 days", 1)] {
        crate::cluster::execute(
            app.db.url(),
            &format!(
                "UPDATE error_records SET created_at = now() - interval '{age}' WHERE id = \
                 (SELECT id FROM error_records WHERE schedule_id = '{id}' \
                  AND created_at > now() - interval '1 hour' ORDER BY id LIMIT {n})"
            ),
        )
        .await;
    }
    let (_, again) = app
        .get(&format!("/api/errors/groups?scheduleId={id}&status=all"))
        .await;
    let h = hourly(&again["items"][0]);
    assert_eq!(
        (h[18], h[23], h.iter().sum::<i64>()),
        (1, records - 2, records - 1),
        "{again}"
    );
    // The list filter: the group is open; a record's fingerprint is the group's.
    let (_, open) = app.get("/api/errors/groups").await;
    assert_eq!(open["items"].as_array().map(Vec::len), Some(1));
    let (_, rec) = app
        .get(&format!(
            "/api/errors/errors/{}",
            g["lastErrorId"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(rec["fingerprint"], g["fingerprint"]);

    // Resolving every record ends the incident: one error_group_resolved, then no open group.
    let (_, page) = app
        .get(&format!("/api/errors/errors?scheduleId={id}&limit=500"))
        .await;
    for r in page["items"].as_array().cloned().unwrap_or_default() {
        if r["recoveryStatus"] != "resolved" && r["recoveryStatus"] != "ignored" {
            let rid = r["id"].as_str().unwrap_or("");
            app.post(&format!("/api/errors/errors/{rid}/resolve"), &json!({}))
                .await;
        }
    }
    let ended = eventually(Duration::from_secs(20), "group resolved", || async {
        let got = events(&hook, "error_group_resolved");
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["data"]["fingerprint"], g["fingerprint"]);
    let (_, open) = app
        .get(&format!("/api/errors/groups?scheduleId={id}"))
        .await;
    assert_eq!(open["items"].as_array().map(Vec::len), Some(0), "{open}");
    // A group whose newest record is gone (retention) still lists, only without the name.
    crate::cluster::execute(
        app.db.url(),
        &format!(
            "DELETE FROM error_records WHERE id = '{}'",
            g["lastErrorId"].as_str().unwrap_or_default()
        ),
    )
    .await;
    let (status, all) = app
        .get(&format!("/api/errors/groups?scheduleId={id}&status=all"))
        .await;
    assert_eq!(status, 200, "{all}");
    assert!(all["items"][0].get("scheduleName").is_none(), "{all}");
    assert_eq!(all["items"][0]["hourly"].as_array().map(Vec::len), Some(24));
    hook.stop().await;
}

#[actix_web::test]
async fn a_continuing_incident_repeats_with_the_held_back_count() {
    let hook = fakes::start(|_| (200, json!({}))).await;
    let url = format!("{}/hook", hook.base);
    let app = TestApp::spawn_with(move |c| {
        c.notifications.webhook_url = url;
        c.notifications.repeat_after_secs = 2;
    })
    .await;
    let s = app.create_schedule(flood("flood-repeat")).await;
    let id = id_of(&s);
    let pages = eventually(Duration::from_secs(60), "a repeat page", || async {
        let got = events(&hook, "error_escalated");
        (got.len() >= 2).then_some(got)
    })
    .await;
    app.post(&format!("/api/scheduler/schedules/{id}/pause"), &json!({}))
        .await;
    assert_eq!(pages[0]["suppressed"], 0);
    assert!(
        pages[1]["suppressed"].as_i64().unwrap_or(0) >= 1,
        "{}",
        pages[1]
    );
    hook.stop().await;
}

#[actix_web::test]
async fn two_instances_page_once_per_incident() {
    let hook = fakes::start(|_| (200, json!({}))).await;
    let url = format!("{}/hook", hook.base);
    let u2 = url.clone();
    let a = TestApp::spawn_with(move |c| c.notifications.webhook_url = url).await;
    let b = TestApp::spawn_on(a.db.clone(), move |c| c.notifications.webhook_url = u2).await;
    // Never fires by itself: each instance runs (and records) the failures it was asked for.
    let mut body = flood("flood-shared");
    body["scheduleType"] = json!("once");
    body["scheduleConfig"] = json!({"runAt": "2099-01-01T00:00:00Z"});
    let s = a.create_schedule(body).await;
    let id = id_of(&s);
    for i in 0..6 {
        let on = if i % 2 == 0 { &a } else { &b };
        on.trigger(&s).await;
    }
    let owners = eventually(
        Duration::from_secs(60),
        "failures on both instances",
        || async {
            let owners = query_i64(
                a.db.url(),
                &format!(
                    "SELECT count(DISTINCT owner_instance) AS n FROM task_executions \
                 WHERE schedule_id = '{id}' AND status = 'failed'"
                ),
            )
            .await;
            (owners >= 2).then_some(owners)
        },
    )
    .await;
    assert_eq!(owners, 2);
    all_decided(&a, &id, 6).await;
    assert_eq!(events(&hook, "error_escalated").len(), 1);
    drop(b);
    hook.stop().await;
}

#[actix_web::test]
async fn bad_group_queries_are_refused_naming_the_parameter() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("status=bogus", "status"),
        ("scheduleId=nope", "scheduleId"),
        ("scheduleId=%00", "scheduleId"),
        ("limit=-1", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("cursor=%FF%FE", "cursor"),
    ] {
        let (status, got) = app.get(&format!("/api/errors/groups?{query}")).await;
        assert_eq!(status, 400, "{query}: {got}");
        crate::app::assert_envelope(&got, "validation_failed");
        assert!(got.to_string().contains(field), "{query}: {got}");
    }
}
