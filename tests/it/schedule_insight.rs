//! How schedules run, through the real app on a real database: latest status and failures in
//! a row on the schedule, stats over a window, runs coming up across schedules, and previews
//! that mark where DST bites.

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::app::{assert_envelope, TestApp};
use crate::firing::{id_of, time};

fn shell(name: &str, command: &str, schedule: Value) -> Value {
    let mut b = json!({"name": name, "taskType": "shell", "taskConfig": {"command": command},
        "retryPolicy": {"maxAttempts": 1}});
    if let (Some(b), Some(s)) = (b.as_object_mut(), schedule.as_object()) {
        b.extend(s.clone());
    }
    b
}

fn hourly() -> Value {
    json!({"scheduleType": "cron", "scheduleConfig": {"expression": "0 * * * *"}})
}

#[actix_web::test]
async fn failures_in_a_row_and_stats_follow_the_runs() {
    let app = TestApp::spawn().await;
    let s = app
        .create_schedule(shell("flaky", "exit 3", hourly()))
        .await;
    let id = id_of(&s);
    assert_eq!(s["consecutiveFailures"], 0, "{s}");
    assert!(s["lastStatus"].is_null());
    for _ in 0..2 {
        let run = app.trigger(&s).await;
        assert_eq!(app.finished_execution(&run).await["status"], "failed");
    }
    let (_, v) = app.get(&format!("/api/scheduler/schedules/{id}")).await;
    assert_eq!(
        (v["lastStatus"].clone(), v["consecutiveFailures"].clone()),
        (json!("failed"), json!(2)),
        "{v}"
    );
    let (_, list) = app.get("/api/scheduler/schedules?q=flaky").await;
    assert_eq!(list["items"][0]["consecutiveFailures"], 2, "{list}");
    // Fixed: one success ends the streak.
    let mut fixed = v.clone();
    fixed["taskConfig"]["command"] = json!("true");
    let (status, fixed) = app
        .put(&format!("/api/scheduler/schedules/{id}"), &fixed)
        .await;
    assert_eq!(status, StatusCode::OK, "{fixed}");
    let run = app.trigger(&fixed).await;
    assert_eq!(app.finished_execution(&run).await["status"], "completed");
    let (_, stats) = app
        .get(&format!("/api/scheduler/schedules/{id}/stats"))
        .await;
    assert_eq!(stats["failed"], 2, "{stats}");
    assert_eq!(stats["completed"], 1);
    assert_eq!(stats["cancelled"], 0);
    assert_eq!(
        stats["skipped"],
        json!({"overlap": 0, "misfire": 0, "start_deadline": 0, "backlog": 0})
    );
    assert_eq!(stats["lastStatus"], "completed");
    assert_eq!(stats["consecutiveFailures"], 0);
    assert!(stats["lastSuccessAt"].is_string());
    let rate = stats["successRate"].as_f64().unwrap_or(-1.0);
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{stats}");
    assert!(
        stats["durationP50Ms"].is_number() && stats["durationP99Ms"].is_number(),
        "{stats}"
    );
    // Manual runs are not fires: no lag.
    assert!(stats["lagP50Ms"].is_null(), "{stats}");
    // A window of an hour in the past: the rule had one slot per 5 minutes in it.
    let every5 = app
        .create_schedule(shell(
            "every-5",
            "true",
            json!({"scheduleType": "cron", "scheduleConfig": {"expression": "*/5 * * * *"}}),
        ))
        .await;
    let (status, w) = app
        .get(&format!(
            "/api/scheduler/schedules/{}/stats?since=2026-01-01T10:00:00Z&until=2026-01-01T11:00:00Z",
            id_of(&every5)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(w["expected"], 12, "{w}");
    assert_eq!(w["completed"], 0);
    assert!(w["successRate"].is_null());
    for q in [
        "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
        "since=yesterday",
    ] {
        let (status, e) = app
            .get(&format!("/api/scheduler/schedules/{id}/stats?{q}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {e}");
        assert_envelope(&e, "validation_failed");
    }
    let (status, _) = app
        .get("/api/scheduler/schedules/00000000-0000-0000-0000-000000000000/stats")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn upcoming_merges_enabled_schedules_in_time_order() {
    let app = TestApp::spawn().await;
    let a = app.create_schedule(shell("hourly", "true", hourly())).await;
    let b = app
        .create_schedule(shell(
            "half-hourly",
            "true",
            json!({"scheduleType": "interval",
            "scheduleConfig": {"intervalSeconds": 1800, "startAt": "2026-01-01T00:10:00Z"}}),
        ))
        .await;
    let mut paused = shell("paused", "true", hourly());
    paused["enabled"] = json!(false);
    app.create_schedule(paused).await;
    let from = "2030-06-01T00:00:00Z";
    let until = "2030-06-01T06:00:00Z";
    let (status, up) = app
        .get(&format!(
            "/api/scheduler/upcoming?from={from}&until={until}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    let items = up["items"].as_array().cloned().unwrap_or_default();
    // 00:00 … 05:00 hourly and 00:10 … 05:40 every half hour.
    assert_eq!(items.len(), 6 + 12, "{up}");
    for w in items.windows(2) {
        assert!(time(&w[0]["at"]) <= time(&w[1]["at"]), "{up}");
    }
    for (s, n) in [(&a, 6), (&b, 12)] {
        let mine: Vec<&Value> = items
            .iter()
            .filter(|i| i["scheduleId"] == s["id"])
            .collect();
        assert_eq!(mine.len(), n);
        assert!(mine.iter().all(|i| i["name"] == s["name"]));
    }
    assert_eq!(items[0]["at"], "2030-06-01T00:00:00Z");
    assert_eq!(items[1]["at"], "2030-06-01T00:10:00Z");
    let (_, three) = app
        .get(&format!(
            "/api/scheduler/upcoming?from={from}&until={until}&limit=3"
        ))
        .await;
    assert_eq!(three["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(three["items"][2], items[2]);
    // By default: the next 24 hours from now.
    let (_, soon) = app.get("/api/scheduler/upcoming").await;
    let n = soon["items"].as_array().map(Vec::len).unwrap_or(0);
    assert!((24 + 47..=24 + 49).contains(&n), "{n}: {soon}");
    for q in [
        "limit=0",
        "from=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z",
        "until=never",
    ] {
        let (status, e) = app.get(&format!("/api/scheduler/upcoming?{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {e}");
    }
}

#[actix_web::test]
async fn detailed_previews_mark_dst_gaps_and_overlaps() {
    let app = TestApp::spawn().await;
    let body = |from: &str| {
        json!({"scheduleType": "cron", "scheduleConfig": {"expression": "30 2 * * *", "timezone": "Europe/Berlin"},
            "from": from, "count": 3, "detail": true})
    };
    // 2027-03-28: 02:30 does not exist in Berlin.
    let (status, spring) = app
        .post("/api/scheduler/preview", &body("2027-03-26T12:00:00Z"))
        .await;
    assert_eq!(status, StatusCode::OK, "{spring}");
    let d = &spring["details"];
    assert_eq!(
        d[0],
        json!({"at": "2027-03-27T01:30:00Z", "local": "2027-03-27T02:30:00+01:00", "dst": null})
    );
    assert_eq!(
        d[1],
        json!({"at": "2027-03-29T00:30:00Z", "local": "2027-03-29T02:30:00+02:00", "dst": "gap"})
    );
    assert_eq!(d[2]["dst"], Value::Null);
    // 2027-10-31: 02:30 happens twice; it runs at the first.
    let (_, autumn) = app
        .post("/api/scheduler/preview", &body("2027-10-30T12:00:00Z"))
        .await;
    assert_eq!(
        autumn["details"][0]["at"], "2027-10-31T00:30:00Z",
        "{autumn}"
    );
    assert_eq!(autumn["details"][0]["dst"], "overlap");
    assert_eq!(autumn["details"][1]["dst"], Value::Null);
    // Without detail, no details; a stored schedule answers the same with ?detail=true.
    let mut plain = body("2027-03-26T12:00:00Z");
    plain["detail"] = json!(false);
    let (_, p) = app.post("/api/scheduler/preview", &plain).await;
    assert!(p.get("details").is_none(), "{p}");
    let s = app
        .create_schedule(json!({"name": "berlin", "taskType": "shell", "taskConfig": {"command": "true"},
            "scheduleType": "cron", "scheduleConfig": {"expression": "30 2 * * *", "timezone": "Europe/Berlin"}}))
        .await;
    let (_, stored) = app
        .get(&format!(
            "/api/scheduler/schedules/{}/next-runs?count=3&from=2027-03-26T12:00:00Z&detail=true",
            id_of(&s)
        ))
        .await;
    assert_eq!(stored["details"], spring["details"]);
    let (status, bad) = app
        .get(&format!(
            "/api/scheduler/schedules/{}/next-runs?detail=yes",
            id_of(&s)
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
}
