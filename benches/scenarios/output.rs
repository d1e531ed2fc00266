//! B9: a shell task writing 10 MB at full speed, a line per write, with live output on (and a WebSocket client
//! following every frame) and off, interleaved run by run on two services of the same build.
//! Each run is timed from outside, from the trigger until a poller sees its row stored as
//! completed, and by its own `finished_at − started_at`; peak RSS is the service's VmHWM.

use std::time::{Duration, Instant};

use serde_json::json;

use super::support::*;
use super::{client, migrated, post, wsclient, Ctx};

/// Peak resident memory of `svc` (VmHWM), in MiB.
fn peak_mib(svc: &Service) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", svc.pid())).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// One run of `schedule` on `svc`: (its duration as stored, `finished_at − started_at`; the
/// time from the trigger until a poller sees the row stored as completed), in ms.
async fn one_run(c: &awc::Client, svc: &Service, url: &str, schedule: &str) -> (f64, f64) {
    let path = format!("{}/api/scheduler/schedules/{schedule}/trigger", svc.base);
    let asked = Instant::now();
    assert_eq!(post(c, &path, &json!({})).await, 202);
    let sql = format!(
        "SELECT COALESCE((SELECT extract(epoch FROM finished_at - started_at) * 1000          FROM task_executions WHERE schedule_id = '{schedule}' AND status = 'completed'          AND id = (SELECT id FROM task_executions WHERE schedule_id = '{schedule}'          ORDER BY created_at DESC LIMIT 1)), -1)::float8 AS v"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ms = float(url, &sql).await;
        if ms >= 0.0 {
            return (ms, asked.elapsed().as_secs_f64() * 1000.0);
        }
        assert!(Instant::now() < deadline, "the run did not complete");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The line the B9 task prints, 64 bytes with its number and newline.
const LINE: &str = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij";

/// A schedule printing about `bytes` of text a line at a time as fast as the shell can (one
/// write per line, like a chatty task; `yes | head` would be done in one pipe-full in 10 ms,
/// before the first frame); answers its id.
async fn writer(c: &awc::Client, svc: &Service, bytes: usize) -> String {
    let lines = bytes / (LINE.len() + 8);
    let body = json!({"name": "b9", "taskType": "shell", "scheduleType": "cron",
        "scheduleConfig": {"expression": "0 0 1 1 *"},
        "taskConfig": {"command": format!("i=0; while [ $i -lt {lines} ]; do printf '%07d {LINE}\\n' $i; i=$((i+1)); done")}});
    let mut r = c
        .post(format!("{}/api/scheduler/schedules", svc.base))
        .send_json(&body)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
    v["id"].as_str().unwrap_or_default().to_string()
}

/// B9 with `cap` bytes kept per stream (`execution.output_cap_bytes`).
pub(crate) async fn b9(ctx: &Ctx, runs: usize, bytes: usize, cap: usize) -> String {
    let cap_text = cap.to_string();
    let cap_env = ("TASKFORGE__EXECUTION__OUTPUT_CAP_BYTES", cap_text.as_str());
    let on_url = migrated(ctx, "b9on").await;
    let off_url = migrated(ctx, "b9off").await;
    let on = Service::start(&on_url, ctx.logs.path(), "b9on", &[cap_env]);
    let off = Service::start(
        &off_url,
        ctx.logs.path(),
        "b9off",
        &[cap_env, ("TASKFORGE__EXECUTION__LIVE_OUTPUT", "false")],
    );
    let c = client();
    let (s_on, s_off) = (writer(&c, &on, bytes).await, writer(&c, &off, bytes).await);
    // A follower of every frame on the streaming service (frames are built only for listeners).
    let stop_at = Instant::now() + Duration::from_secs(3600);
    let mut follower = wsclient::connect(&on.base).await;
    follower
        .send_text(r#"{"type":"subscribe","subscriptions":["output","executions"]}"#)
        .await;
    let frames = actix_web::rt::spawn(async move {
        let mut lat = Vec::new();
        follower.run(stop_at, &mut lat).await;
        lat.len()
    });
    let (mut d_on, mut d_off) = (Vec::new(), Vec::new());
    let (mut w_on, mut w_off) = (Vec::new(), Vec::new());
    for i in 0..runs {
        // Alternate which goes first, so neither always runs on a warmer machine.
        for on_first in [i % 2 == 0, i % 2 != 0] {
            let (d, w) = if on_first {
                (&mut d_on, &mut w_on)
            } else {
                (&mut d_off, &mut w_off)
            };
            let (svc, url, s) = if on_first {
                (&on, &on_url, &s_on)
            } else {
                (&off, &off_url, &s_off)
            };
            let (stored, seen) = one_run(&c, svc, url, s).await;
            d.push(stored);
            w.push(seen);
        }
    }
    let (peak_on, peak_off) = (peak_mib(&on), peak_mib(&off));
    let sent = float(
        &on_url,
        "SELECT count(*)::float8 AS v FROM execution_output",
    )
    .await;
    frames.abort();
    on.stop();
    off.stop();
    let ratio = pct(&mut d_on, 50.0) / pct(&mut d_off, 50.0);
    let seen_ratio = pct(&mut w_on, 50.0) / pct(&mut w_off, 50.0);
    format!(
        "B9 {} MB of shell output x {runs} runs, cap {} KiB: trigger to completed row seen by a poller: on {}, off {}, median on/off {seen_ratio:.3}; stored durations: on {}, off {}, median on/off {ratio:.3}; peak RSS on {peak_on:.1} MiB, off {peak_off:.1} MiB; stored copies left {sent}",
        bytes / 1_000_000,
        cap / 1024,
        summary(&mut w_on),
        summary(&mut w_off),
        summary(&mut d_on),
        summary(&mut d_off),
    )
}
