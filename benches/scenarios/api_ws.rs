//! B6 (schedule creation through the API) and B4 (WebSocket fan-out to many clients).

use super::support::*;
use super::{client, migrated, post, wsclient, Ctx};
use chrono::Utc;
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// B6: schedule creation through the API with 8 concurrent clients.
pub(crate) async fn b6(ctx: &Ctx, secs: u64) -> String {
    let url = migrated(ctx, "b6").await;
    let svc = Service::start(&url, ctx.logs.path(), "b6", &[]);
    let count = Rc::new(RefCell::new((0usize, 0usize)));
    let cpu0 = (svc.usage().0, harness_cpu(), postgres_cpu(&ctx.pg));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut joins = Vec::new();
    for w in 0..8 {
        let (count, base) = (count.clone(), svc.base.clone());
        joins.push(actix_web::rt::spawn(async move {
            let c = client();
            let mut i = 0;
            while Instant::now() < end {
                let body = json!({"name": format!("b6-{w}-{i}"), "taskType": "shell", "taskConfig": {"command": "true"},
                    "scheduleType": "cron", "scheduleConfig": {"expression": "0 0 1 1 *"}});
                let s = post(&c, &format!("{base}/api/scheduler/schedules"), &body).await;
                let mut n = count.borrow_mut();
                if s == 201 { n.0 += 1 } else { n.1 += 1 }
                i += 1;
            }
        }));
    }
    for j in joins {
        let _ = j.await;
    }
    let (ok, bad) = *count.borrow();
    let per = |now: f64, then: f64| (now - then) * 1e6 / ok.max(1) as f64;
    let (svc_us, gen_us, pg_us) = (
        per(svc.usage().0, cpu0.0),
        per(harness_cpu(), cpu0.1),
        per(postgres_cpu(&ctx.pg), cpu0.2),
    );
    svc.stop();
    format!(
        "B6 schedule creation, 8 clients for {secs} s: {:.0} creates/s (created={ok}, failed={bad}); CPU per create: service {svc_us:.0} us, load generator {gen_us:.0} us, PostgreSQL {pg_us:.0} us",
        ok as f64 / secs as f64
    )
}

/// `clients` WebSocket clients on their own thread and event loop until `stop_at`: delivery
/// latencies and how many were disconnected.
fn ws_clients(base: String, clients: usize, stop_at: Instant) -> (Vec<f64>, usize) {
    actix_web::rt::System::new().block_on(async move {
        let mut joins = Vec::new();
        for _ in 0..clients {
            let client = wsclient::connect(&base).await;
            joins.push(actix_web::rt::spawn(async move {
                let mut lat = Vec::new();
                let open = client.run(stop_at, &mut lat).await;
                (lat, open)
            }));
        }
        let mut lat = Vec::new();
        let mut closed = 0;
        for j in joins {
            match j.await {
                Ok((l, open)) => {
                    lat.extend(l);
                    closed += usize::from(!open);
                }
                Err(_) => closed += 1,
            }
        }
        (lat, closed)
    })
}

/// B4: WebSocket fan-out to many clients: delivery latency, drops, memory per session.
pub(crate) async fn b4(ctx: &Ctx, clients: usize, secs: u64) -> String {
    let url = migrated(ctx, "b4").await;
    let svc = Service::start(
        &url,
        ctx.logs.path(),
        "b4",
        &[("TASKFORGE__WEBSOCKET__HEARTBEAT_INTERVAL_SECS", "5")],
    );
    let (_, rss0) = svc.usage();
    let stop_at = Instant::now() + Duration::from_secs(secs + 5);
    // Two client threads (one per core): one thread alone queued frames behind each other.
    let k = 2;
    let threads: Vec<_> = (0..k)
        .map(|t| {
            let base = svc.base.clone();
            let n = clients / k + (t == 0) as usize * (clients % k);
            std::thread::spawn(move || ws_clients(base, n, stop_at))
        })
        .collect();
    // Wait until every client is connected (each session is a row), then measure memory.
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
    let (_, rss1) = svc.usage();
    // 50 schedules firing every second: started + completed = 100 events/s.
    let c = client();
    let t0 = Utc::now() + chrono::Duration::seconds(1);
    for i in 0..50 {
        let start = t0 + chrono::Duration::milliseconds(i * 20);
        let body = json!({"name": format!("b4-{i}"), "taskType": "http", "taskConfig": {"url": ctx.stub},
            "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 1, "startAt": start.to_rfc3339()}});
        post(&c, &format!("{}/api/scheduler/schedules", svc.base), &body).await;
    }
    // Who used the two cores while events flowed: the service, this harness (the 1,000
    // clients are its threads, so a client-bound figure shows here) and PostgreSQL.
    let cpu0 = (
        svc.usage().0,
        harness_cpu(),
        postgres_cpu(&ctx.pg),
        Instant::now(),
    );
    let mut lat = Vec::new();
    let mut closed = 0;
    for t in threads {
        let (l, c) = t
            .join()
            .unwrap_or_else(|_| panic!("client thread panicked"));
        lat.extend(l);
        closed += c;
    }
    let wall = cpu0.3.elapsed().as_secs_f64().max(1e-9);
    let share = |now: f64, then: f64| 100.0 * (now - then) / wall;
    let (svc_cpu, gen_cpu, pg_cpu) = (
        share(svc.usage().0, cpu0.0),
        share(harness_cpu(), cpu0.1),
        share(postgres_cpu(&ctx.pg), cpu0.2),
    );
    svc.stop();
    let per_client = lat.len() as f64 / clients as f64;
    format!(
        "B4 {clients} WebSocket clients, ~100 events/s for {secs} s: delivery {}; events per client {per_client:.0}; disconnected={closed}; RSS per session {:.1} KB; CPU (% of one core) service {svc_cpu:.0}, load generator {gen_cpu:.0}, PostgreSQL {pg_cpu:.0}",
        summary(&mut lat),
        (rss1.saturating_sub(rss0)) as f64 / clients as f64 / 1024.0
    )
}
