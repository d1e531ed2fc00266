//! Notifications: `POST {"event": ..., "data": ...}` to the configured webhook, with a timeout
//! and a few retries. Runs detached: a dead webhook never blocks recovery, each failure is
//! logged, and at most [`MAX_IN_FLIGHT`] deliveries wait at once (beyond that a notification is
//! dropped with a log line rather than piling up behind a dead endpoint).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

const ATTEMPTS: u32 = 3;
const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_IN_FLIGHT: usize = 64;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Sends `body` in the background (on this thread: awc is !Send). `what` names it in the logs
/// (an event and an id, never a secret).
pub(super) fn notify(url: String, what: String, body: Value) {
    if IN_FLIGHT.fetch_add(1, Ordering::SeqCst) >= MAX_IN_FLIGHT {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        log::error!("webhook dropped ({MAX_IN_FLIGHT} deliveries already waiting): {what}");
        return;
    }
    actix::spawn(async move {
        deliver(&url, &what, &body).await;
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    });
}

async fn deliver(url: &str, what: &str, body: &Value) {
    let client = awc::Client::builder().timeout(TIMEOUT).finish();
    for attempt in 1..=ATTEMPTS {
        match client.post(url).send_json(body).await {
            Ok(resp) if resp.status().is_success() => {
                log::info!(
                    "webhook delivered: {what} status={}",
                    resp.status().as_u16()
                );
                return;
            }
            Ok(resp) => log::warn!(
                "webhook refused: {what} status={} attempt={attempt}",
                resp.status().as_u16()
            ),
            Err(e) => log::warn!("webhook failed: {what} attempt={attempt} {e}"),
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
    }
    log::error!("webhook gave up after {ATTEMPTS} attempts: {what}");
}
