//! Benchmark scenarios B1–B8, printed as figures. Full run (numbers in BENCHMARKS.md):
//!     cargo bench --bench scenarios
//! CI runs every scenario once at a tiny size so the harness cannot rot:
//!     cargo bench --bench scenarios -- --tiny
//! One scenario: `-- b2` (names: b1 b2 b3 b4 b5 b6 b7 b8 b9). B7 runs 10 minutes in a full run.
#![expect(
    clippy::cast_possible_truncation,
    reason = "harness arithmetic on its own counters, percentiles and frame sizes, never on outside input"
)]

mod api_ws;
mod flood;
mod output;
mod support;
mod sustained;
mod wsclient;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use support::*;

/// Latencies of the plain list, of the filtered list, and the error count.
type Latencies = (Vec<f64>, Vec<f64>, usize);

pub(crate) struct Ctx {
    pg: Pg,
    stub: String,
    tiny: bool,
    logs: tempfile::TempDir,
}

pub(crate) fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .connector(awc::Connector::new().limit(0))
        .finish()
}

pub(crate) async fn post(c: &awc::Client, url: &str, body: &serde_json::Value) -> u16 {
    // The answer is read to its end: a response dropped unread closes its connection, and
    // every request would then pay for a new one (connect, accept, shutdown).
    match c.post(url).send_json(body).await {
        Ok(mut r) => match r.body().limit(10 << 20).await {
            Ok(_) => r.status().as_u16(),
            Err(_) => 0,
        },
        Err(_) => 0,
    }
}

pub(crate) async fn migrated(ctx: &Ctx, name: &str) -> String {
    let url = ctx.pg.database(name).await;
    taskforge::db::migrate::run_pending(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    url
}

/// B1: schedules whose fire times are spread over a window; firing lateness.
async fn b1(
    ctx: &Ctx,
    n: usize,
    window_ms: u64,
    db: &str,
    svc_db: Option<(&str, &Service)>,
) -> String {
    let owned: Option<Service>;
    let (url, svc) = match svc_db {
        Some((u, s)) => {
            owned = None;
            (u.to_string(), s)
        }
        None => {
            let u = migrated(ctx, db).await;
            owned = Some(Service::start(&u, ctx.logs.path(), db, &[]));
            let s = owned.as_ref().unwrap_or_else(|| unreachable!());
            (u, s)
        }
    };
    let c = client();
    let t0 = Utc::now() + chrono::Duration::seconds(3);
    let step = window_ms as f64 / n as f64;
    for i in 0..n {
        let start = t0 + chrono::Duration::microseconds((i as f64 * step * 1000.0) as i64);
        let body = json!({"name": format!("{db}-b1-{i}"), "taskType": "http", "taskConfig": {"url": ctx.stub},
            "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 3600, "startAt": start.to_rfc3339()}});
        let s = post(&c, &format!("{}/api/scheduler/schedules", svc.base), &body).await;
        assert_eq!(s, 201, "create failed");
    }
    let wait = Duration::from_millis(3_000 + window_ms + 3_000);
    actix_web::rt::time::sleep(wait).await;
    let mut late = floats(&url, &format!(
        "SELECT (EXTRACT(EPOCH FROM (e.started_at - e.scheduled_for)) * 1000)::float8 AS v FROM task_executions e \
         JOIN task_schedules s ON s.id = e.schedule_id WHERE s.name LIKE '{db}-b1-%' AND e.started_at IS NOT NULL")).await;
    let fired = late.len();
    let line = format!(
        "B1 lateness, {n} schedules over {:.0} s: {} fired={fired}/{n}",
        window_ms as f64 / 1000.0,
        summary(&mut late)
    );
    if let Some(s) = owned {
        s.stop();
    }
    line
}

/// B2: N once-schedules due at the same instant; time until all are completed and persisted.
async fn b2(ctx: &Ctx, n: usize) -> String {
    let db = format!("b2_{n}");
    let url = migrated(ctx, &db).await;
    let exp: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("TF_EXPERIMENT") || k.starts_with("TASKFORGE__"))
        .collect();
    let exp: Vec<(&str, &str)> = exp.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let svc = Service::start(&url, ctx.logs.path(), &db, &exp);
    // Room to insert the burst before it is due (100k rows take a few seconds).
    let due = Utc::now() + chrono::Duration::milliseconds(4_000 + n as i64 / 20);
    exec(&url, &format!(
        "INSERT INTO task_schedules (id, name, task_type, task_config, schedule_type, schedule_config, retry_policy, next_run_at, anchor_at) \
         SELECT gen_random_uuid(), 'b2-' || g, 'http', jsonb_build_object('url', '{stub}', 'method', 'GET'), 'once', \
                jsonb_build_object('runAt', '{due}'), '{{\"maxAttempts\": 1, \"backoffBaseMs\": 1000, \"backoffMaxMs\": 3600000}}', '{due}', now() \
         FROM generate_series(1, {n}) g", stub = ctx.stub, due = due.to_rfc3339())).await;
    let (cpu0, pg0) = (svc.usage().0, postgres_cpu(&ctx.pg));
    let deadline = Instant::now() + Duration::from_secs(600);
    // One connection for the whole wait: a connection per poll would fork a backend each
    // time and bill the harness's own work to PostgreSQL's CPU figure.
    let mut poll = conn(&url).await;
    // The observer's measure: when this poller first sees all N rows final in PostgreSQL.
    let observed = loop {
        // Work not yet durably finished: schedules not yet fired plus executions pending or
        // running. Both are read through small partial indexes, so the poll costs the same
        // at every burst size (a count of finished rows would scan a growing table).
        let left = float_on(&mut poll, "SELECT ((SELECT count(*) FROM task_schedules WHERE enabled AND next_run_at IS NOT NULL) \
             + (SELECT count(*) FROM task_executions WHERE status IN ('pending', 'running')))::float8 AS v").await;
        if left == 0.0 || Instant::now() > deadline {
            break (Utc::now() - due).num_microseconds().unwrap_or(0) as f64 / 1e6;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    };
    // The service's own stamp of its last finish, printed beside it.
    let secs = float(&url, &format!("SELECT EXTRACT(EPOCH FROM (max(finished_at) - '{}'::timestamptz))::float8 AS v FROM task_executions", due.to_rfc3339())).await;
    let failed = float(
        &url,
        "SELECT count(*)::float8 AS v FROM task_executions WHERE status <> 'completed'",
    )
    .await;
    let d = due.to_rfc3339();
    let phase = |col: &str| {
        format!("SELECT EXTRACT(EPOCH FROM (max({col}) - '{d}'::timestamptz))::float8 AS v FROM task_executions")
    };
    let (claimed, started) = (
        float(&url, &phase("created_at")).await,
        float(&url, &phase("started_at")).await,
    );
    // Service CPU per execution: steadier than wall time on a shared machine (includes idle
    // polling before the due instant, a few milliseconds).
    let (cpu1, pg1) = (svc.usage().0, postgres_cpu(&ctx.pg));
    svc.stop();
    format!(
        "B2 burst of {n}: all {n} rows seen final by a poller {observed:.3} s after the due instant -> {:.0} executions/s (polled every 20 ms; by the service's own max(finished_at): {secs:.3} s -> {:.0}/s; not completed: {failed}; last claimed at {claimed:+.3} s, last started at {started:+.3} s; CPU per execution: service {:.0} us, PostgreSQL {:.0} us)",
        n as f64 / observed,
        n as f64 / secs,
        (cpu1 - cpu0) * 1e6 / n as f64,
        (pg1 - pg0) * 1e6 / n as f64
    )
}

/// B3: many stored schedules, few due: idle CPU, RSS, and B1 lateness on top.
async fn b3(ctx: &Ctx, n: usize) -> String {
    let db = format!("b3_{n}");
    let url = migrated(ctx, &db).await;
    let chunk = 200_000;
    let mut done = 0;
    while done < n {
        let k = chunk.min(n - done);
        exec(&url, &format!(
            "INSERT INTO task_schedules (id, name, task_type, task_config, schedule_type, schedule_config, retry_policy, next_run_at, anchor_at) \
             SELECT gen_random_uuid(), 'b3-' || g, 'shell', '{{\"command\": \"true\"}}', 'cron', '{{\"expression\": \"0 0 1 1 *\", \"timezone\": \"UTC\"}}', \
                    '{{\"maxAttempts\": 1, \"backoffBaseMs\": 1000, \"backoffMaxMs\": 3600000}}', now() + interval '300 days', now() \
             FROM generate_series({}, {}) g", done + 1, done + k)).await;
        done += k;
    }
    exec(&url, "ANALYZE").await;
    let svc = Service::start(&url, ctx.logs.path(), &db, &[]);
    actix_web::rt::time::sleep(Duration::from_secs(3)).await;
    let span = if ctx.tiny { 2 } else { 10 };
    let (cpu0, _) = svc.usage();
    actix_web::rt::time::sleep(Duration::from_secs(span)).await;
    let (cpu1, rss) = svc.usage();
    let idle = (cpu1 - cpu0) / span as f64 * 100.0;
    let lateness = b1(
        ctx,
        if ctx.tiny { 10 } else { 100 },
        if ctx.tiny { 1_000 } else { 5_000 },
        &db,
        Some((&url, &svc)),
    )
    .await;
    svc.stop();
    format!(
        "B3 {n} stored schedules: idle CPU {idle:.2}% of a core, RSS {:.1} MB; {lateness}",
        rss as f64 / 1e6
    )
}

/// B5: list latency over many stored executions at a fixed request rate.
async fn b5(ctx: &Ctx, rows: usize, rate: u64, secs: u64) -> String {
    let db = "b5";
    let url = migrated(ctx, db).await;
    let sid = uuid::Uuid::new_v4();
    let chunk = 250_000;
    let mut done = 0;
    while done < rows {
        let k = chunk.min(rows - done);
        exec(&url, &format!(
            "INSERT INTO task_executions (id, schedule_id, status, trigger, scheduled_for, task_type, task_config, created_at, started_at, finished_at, duration_ms, result) \
             SELECT gen_random_uuid(), CASE WHEN g % 100 = 0 THEN '{sid}'::uuid ELSE gen_random_uuid() END, 'completed', 'schedule', \
                    now() - (g || ' seconds')::interval, 'http', '{{\"url\": \"http://x\"}}', now() - (g || ' seconds')::interval, \
                    now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval, 3, '{{\"status\": 200}}' \
             FROM generate_series({}, {}) g", done + 1, done + k)).await;
        done += k;
    }
    exec(&url, "ANALYZE").await;
    let svc = Service::start(&url, ctx.logs.path(), db, &[]);
    let lat: Rc<RefCell<Latencies>> = Rc::new(RefCell::new((Vec::new(), Vec::new(), 0)));
    let c = client();
    let start = Instant::now();
    let total = rate * secs;
    let mut joins = Vec::new();
    for i in 0..total {
        let at = start + Duration::from_micros(i * 1_000_000 / rate);
        let (c, lat, base) = (c.clone(), lat.clone(), svc.base.clone());
        let path = if i % 2 == 0 {
            "/api/executions?limit=50".to_string()
        } else {
            format!("/api/executions?limit=50&scheduleId={sid}")
        };
        joins.push(actix_web::rt::spawn(async move {
            actix_web::rt::time::sleep_until(at.into()).await;
            let t = Instant::now();
            let ok = match c.get(format!("{base}{path}")).send().await {
                Ok(mut r) => r.status().is_success() && r.body().limit(10 << 20).await.is_ok(),
                Err(_) => false,
            };
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let mut l = lat.borrow_mut();
            if !ok {
                l.2 += 1;
            } else if i % 2 == 0 {
                l.0.push(ms);
            } else {
                l.1.push(ms);
            }
        }));
    }
    for j in joins {
        let _ = j.await;
    }
    // Idle cost with that many executions stored (orphan scans, retention checks, heartbeats).
    let span = if ctx.tiny { 2 } else { 12 };
    let (cpu0, _) = svc.usage();
    actix_web::rt::time::sleep(Duration::from_secs(span)).await;
    let (cpu1, rss) = svc.usage();
    let pg_idle = (cpu1 - cpu0) / span as f64 * 100.0;
    svc.stop();
    let mut l = lat.borrow_mut();
    let errors = l.2;
    let a = summary(&mut l.0);
    let b = summary(&mut l.1);
    format!(
        "B5 {rows} executions at {rate} req/s for {secs} s: list {a}; with scheduleId {b}; errors={errors}; then idle CPU {pg_idle:.2}% of a core, RSS {:.1} MB",
        rss as f64 / 1e6
    )
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let tiny = args.iter().any(|a| a == "--tiny");
    let only: Vec<&str> = args
        .iter()
        .filter(|a| a.starts_with('b'))
        .map(String::as_str)
        .collect();
    let want = |s: &str| only.is_empty() || only.contains(&s);
    let sys = actix_web::rt::System::new();
    sys.block_on(async move {
        let ctx = Ctx {
            pg: Pg::start(),
            stub: stub(),
            tiny,
            logs: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        };
        let mut lines = Vec::new();
        let mut say = |l: String| {
            eprintln!("{l}");
            lines.push(l);
        };
        if want("b1") {
            say(if tiny {
                b1(&ctx, 20, 2_000, "b1", None).await
            } else {
                b1(&ctx, 1_000, 60_000, "b1", None).await
            });
        }
        if want("b2") {
            // B2_SIZES=50000 runs chosen sizes only (profiling).
            let custom: Vec<usize> = std::env::var("B2_SIZES")
                .ok()
                .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
                .unwrap_or_default();
            let sizes: Vec<usize> = if !custom.is_empty() {
                custom
            } else if tiny {
                vec![200]
            } else {
                vec![1_000, 10_000, 50_000, 100_000]
            };
            for n in sizes {
                say(b2(&ctx, n).await);
            }
        }
        if want("b3") {
            let sizes: &[usize] = if tiny {
                &[1_000]
            } else {
                &[1_000, 10_000, 100_000, 1_000_000]
            };
            for &n in sizes {
                say(b3(&ctx, n).await);
            }
        }
        if want("b4") {
            say(if tiny {
                api_ws::b4(&ctx, 20, 2).await
            } else {
                api_ws::b4(&ctx, 1_000, 30).await
            });
        }
        if want("b5") {
            say(if tiny {
                b5(&ctx, 10_000, 50, 2).await
            } else {
                b5(&ctx, 1_000_000, 500, 10).await
            });
        }
        if want("b6") {
            say(api_ws::b6(&ctx, if tiny { 1 } else { 10 }).await);
        }
        if want("b7") {
            // B7_SECS=60 shortens the full run (10 minutes) by hand.
            let secs = std::env::var("B7_SECS").ok().and_then(|v| v.parse().ok());
            say(if tiny {
                sustained::b7(&ctx, 50, 6).await
            } else {
                sustained::b7(&ctx, 2_000, secs.unwrap_or(600)).await
            });
        }
        if want("b8") {
            say(if tiny {
                flood::b8(&ctx, 20, 2).await
            } else {
                flood::b8(&ctx, 1_000, 20).await
            });
        }
        if want("b9") {
            if tiny {
                say(output::b9(&ctx, 1, 1_000_000, 65_536).await);
            } else {
                say(output::b9(&ctx, 10, 10_000_000, 65_536).await);
                say(output::b9(&ctx, 10, 10_000_000, 16 << 20).await);
            }
        }
        eprintln!("\n== figures ==");
        for l in &lines {
            eprintln!("{l}");
        }
        eprintln!("{} passed, 0 failed", lines.len());
    });
}
