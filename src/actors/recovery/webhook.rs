//! Escalation notifications: `POST {"event": "error_escalated", "data": <record>}` to the
//! configured webhook, with a timeout and a few retries. Runs detached: a dead webhook never
//! blocks recovery, and each failure is logged.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

const ATTEMPTS: u32 = 3;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Sends the notification in the background (on this thread: awc is !Send).
pub(super) fn notify_escalated(url: String, id: Uuid, record: &impl Serialize) {
    let body = json!({ "event": "error_escalated", "data": record });
    actix::spawn(async move {
        let client = awc::Client::builder().timeout(TIMEOUT).finish();
        for attempt in 1..=ATTEMPTS {
            match client.post(&url).send_json(&body).await {
                Ok(resp) if resp.status().is_success() => {
                    log::info!(
                        "escalation webhook delivered: error={id} status={}",
                        resp.status().as_u16()
                    );
                    return;
                }
                Ok(resp) => log::warn!(
                    "escalation webhook refused: error={id} status={} attempt={attempt}",
                    resp.status().as_u16()
                ),
                Err(e) => log::warn!("escalation webhook failed: error={id} attempt={attempt} {e}"),
            }
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
        }
        log::error!("escalation webhook gave up after {ATTEMPTS} attempts: error={id}");
    });
}
