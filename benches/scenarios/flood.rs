//! B8: WebSocket clients flooding subscribe frames (just under websocket.max_frames_per_sec)
//! while 50 schedules fire every second and an API client lists executions: API latency, and
//! whether status writes keep flowing (runs completed per second, read from PostgreSQL).

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use super::support::*;
use super::{client, migrated, post, wsclient, Ctx};

fn flooders(base: String, clients: usize, stop_at: Instant, per_sec: u32) -> usize {
    actix_web::rt::System::new().block_on(async move {
        let mut joins = Vec::new();
        for _ in 0..clients {
            let c = wsclient::connect(&base).await;
            joins.push(actix_web::rt::spawn(c.flood(stop_at, per_sec)));
        }
        let mut closed = 0;
        for j in joins {
            closed += usize::from(!j.await.unwrap_or(false));
        }
        closed
    })
}

/// Runs B8 with `clients` flooders for `secs` seconds.
pub(crate) async fn b8(ctx: &Ctx, clients: usize, secs: u64) -> String {
    let url = migrated(ctx, "b8").await;
    let svc = Service::start(&url, ctx.logs.path(), "b8", &[]);
    let c = client();
    let t0 = Utc::now() + chrono::Duration::seconds(1);
    for i in 0..50 {
        let start = t0 + chrono::Duration::milliseconds(i * 20);
        let body = json!({"name": format!("b8-{i}"), "taskType": "http", "taskConfig": {"url": ctx.stub},
            "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 1, "startAt": start.to_rfc3339()}});
        post(&c, &format!("{}/api/scheduler/schedules", svc.base), &body).await;
    }
    let per_sec = 45;
    let stop_at = Instant::now() + Duration::from_secs(secs + 10);
    let k = 2;
    let threads: Vec<_> = (0..k)
        .map(|t| {
            let base = svc.base.clone();
            let n = clients / k + (t == 0) as usize * (clients % k);
            std::thread::spawn(move || flooders(base, n, stop_at, per_sec))
        })
        .collect();
    // Measure once every flooder is connected.
    let deadline = Instant::now() + Duration::from_secs(120);
    while float(
        &url,
        "SELECT count(*)::float8 AS v FROM websocket_sessions WHERE is_active",
    )
    .await
        < clients as f64
        && Instant::now() < deadline
    {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let done = "SELECT count(*)::float8 AS v FROM task_executions WHERE status = 'completed'";
    let before = float(&url, done).await;
    let started = Instant::now();
    let mut lat = Vec::new();
    let list = format!("{}/api/executions?limit=50", svc.base);
    while started.elapsed() < Duration::from_secs(secs) {
        let t = Instant::now();
        let ok = matches!(c.get(&list).send().await, Ok(r) if r.status().is_success());
        if ok {
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let completed = float(&url, done).await - before;
    let elapsed = started.elapsed().as_secs_f64();
    let mut closed = 0;
    for t in threads {
        closed += t.join().unwrap_or(clients);
    }
    svc.stop();
    format!(
        "B8 {clients} WebSocket clients x {per_sec} subscribe frames/s for {secs} s: API list {}; runs completed {:.1}/s of 50/s due; flooders disconnected={closed}",
        summary(&mut lat),
        completed / elapsed
    )
}
