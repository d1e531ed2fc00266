//! B7: sustained load. Many interval schedules firing every second for minutes, with the
//! execution history growing all the while: firing lateness, missed slots, the service's memory
//! over time and whether the connection pool ever ran dry.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use crate::support::*;
use crate::{client, migrated, post, Ctx};

/// The value of the series `series` (its name with labels, if any) on the service's /metrics
/// page; None when the page or the series is missing.
async fn metric(c: &awc::Client, base: &str, series: &str) -> Option<f64> {
    let mut r = c.get(format!("{base}/metrics")).send().await.ok()?;
    let page = r.body().limit(1 << 22).await.ok()?;
    String::from_utf8_lossy(&page)
        .lines()
        .find(|l| {
            l.strip_prefix(series)
                .is_some_and(|rest| rest.starts_with(' '))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// B7: `n` interval schedules at 1 s (spread evenly over the second) for `secs` seconds.
pub(crate) async fn b7(ctx: &Ctx, n: usize, secs: u64) -> String {
    let db = "b7";
    let url = migrated(ctx, db).await;
    let svc = Service::start(&url, ctx.logs.path(), db, &[]);
    let c = client();
    // Whole seconds from here on hold exactly one slot of every schedule.
    let t0 = Utc::now() + chrono::Duration::seconds(3 + n as i64 / 1000);
    let step_us = 1_000_000 / n as i64;
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let posts = chunk.iter().map(|i| {
            let start = t0 + chrono::Duration::microseconds(*i as i64 * step_us);
            let body = json!({"name": format!("b7-{i}"), "taskType": "http", "taskConfig": {"url": ctx.stub},
                "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 1, "startAt": start.to_rfc3339()}});
            let (c, url) = (c.clone(), format!("{}/api/scheduler/schedules", svc.base));
            async move { post(&c, &url, &body).await }
        });
        for s in futures_util::future::join_all(posts).await {
            assert_eq!(s, 201, "create failed");
        }
    }
    assert!(
        Utc::now() < t0,
        "creating the schedules took longer than the lead"
    );
    // Memory and pool, sampled every 10 s (every second in a tiny run) after a warm-up.
    let warmup = if secs >= 120 { 60 } else { 1 };
    let every = if secs >= 120 { 10 } else { 1 };
    let start = Instant::now() + (t0 - Utc::now()).to_std().unwrap_or_default();
    let end = start + Duration::from_secs(secs);
    let mut rss = Vec::new();
    let mut waiting_seen = 0.0f64;
    let mut next = start + Duration::from_secs(warmup);
    // Checkouts that found the pool busy, counted from the end of the warm-up (the creates
    // above, 50 at once, are setup and reported apart).
    actix_web::rt::time::sleep_until(next.into()).await;
    let exhausted_before = metric(&c, &svc.base, "taskforge_db_pool_exhausted_total")
        .await
        .unwrap_or(f64::NAN);
    while Instant::now() < end {
        actix_web::rt::time::sleep_until(next.into()).await;
        next += Duration::from_secs(every);
        rss.push(svc.usage().1 as f64 / 1e6);
        let waiting = metric(
            &c,
            &svc.base,
            "taskforge_db_pool_connections{state=\"waiting\"}",
        )
        .await;
        waiting_seen = waiting_seen.max(waiting.unwrap_or(0.0));
    }
    // The last slots still run: measure whole seconds from after the warm-up to 2 s before the end.
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    let exhausted = metric(&c, &svc.base, "taskforge_db_pool_exhausted_total")
        .await
        .unwrap_or(f64::NAN)
        - exhausted_before;
    let (from, to) = (
        t0 + chrono::Duration::seconds(warmup as i64),
        t0 + chrono::Duration::seconds(secs as i64 - 2),
    );
    let window = format!(
        "scheduled_for >= '{}' AND scheduled_for < '{}'",
        from.to_rfc3339(),
        to.to_rfc3339()
    );
    let mut late = floats(&url, &format!(
        "SELECT (EXTRACT(EPOCH FROM (started_at - scheduled_for)) * 1000)::float8 AS v FROM task_executions WHERE {window} AND started_at IS NOT NULL")).await;
    let slots = (to - from).num_seconds() as f64 * n as f64;
    let ran = float(
        &url,
        &format!("SELECT count(*)::float8 AS v FROM task_executions WHERE {window}"),
    )
    .await;
    let failed = float(&url, &format!("SELECT count(*)::float8 AS v FROM task_executions WHERE {window} AND status <> 'completed'")).await;
    let rows = float(&url, "SELECT count(*)::float8 AS v FROM task_executions").await;
    svc.stop();
    let (lo, hi) = rss
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    format!(
        "B7 {n} interval schedules at 1 s for {secs} s ({rows:.0} executions stored): lateness {} over {slots:.0} slots; missed slots {:.0}; not completed {failed:.0}; RSS after warm-up {lo:.1}–{hi:.1} MB ({:+.1} %, first {:.1}, last {:.1}); pool exhausted {exhausted:.0} times after the warm-up ({exhausted_before:.0} before it, creates included), most waiting {waiting_seen:.0}; RSS samples (MB) {}",
        summary(&mut late),
        slots - ran,
        (hi - lo) / lo * 100.0,
        rss.first().copied().unwrap_or(0.0),
        rss.last().copied().unwrap_or(0.0),
        rss.iter()
            .map(|v| format!("{v:.1}"))
            .collect::<Vec<_>>()
            .join(" "),
    )
}
