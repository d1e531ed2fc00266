//! Conductor tasks: `POST {base}/api/threads/{threadId}/messages` with
//! `{"message", "timeout"}`; the reply `{threadId, status, result}` becomes the execution's
//! result, `conductorThreadId` and `conductorStatus`.

use awc::error::SendRequestError;
use serde_json::{json, Value};

use super::{ErrorType, Outcome, RunContext};
use crate::domain::task::ConductorTask;

use crate::domain::states::CONDUCTOR_FAILED as FAILED_STATUSES;

/// Sends the message and waits for the conductor's reply.
pub async fn run(t: &ConductorTask, ctx: &RunContext) -> Outcome {
    let thread_id = t
        .thread_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let url = format!(
        "{}/api/threads/{thread_id}/messages",
        ctx.conductor_url.trim_end_matches('/')
    );
    let timeout_ms = u64::try_from(ctx.timeout.as_millis()).unwrap_or(u64::MAX);
    if let Some(ready) = &ctx.conductor_ready {
        // A managed conductor that is (re)starting gets the task's timeout to come up.
        let mut ready = ready.clone();
        if tokio::time::timeout(ctx.timeout, ready.wait_for(|r| *r))
            .await
            .is_err()
        {
            return Outcome::failed(
                ErrorType::Conductor,
                format!("conductor process not ready within {timeout_ms} ms"),
            );
        }
    }
    let mut req = ctx.http.post(&url).timeout(ctx.timeout);
    for (k, v) in ctx.context.headers() {
        req = req.insert_header((k, v));
    }
    let sent = req
        .send_json(&json!({ "message": t.message, "timeout": timeout_ms }))
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(SendRequestError::Timeout) => {
            return Outcome::Failed {
                error_type: ErrorType::Timeout,
                message: format!("conductor did not answer within {timeout_ms} ms"),
                result: None,
                conductor: Some((thread_id, "timeout".into())),
            }
        }
        Err(e) => {
            return Outcome::failed(
                ErrorType::Conductor,
                format!("conductor unreachable at {url}: {e}"),
            )
        }
    };
    let status = resp.status();
    let body: Value = match resp.body().limit(ctx.output_cap.max(1 << 20)).await {
        Ok(b) => serde_json::from_slice(&b)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&b).into_owned())),
        Err(e) => {
            return Outcome::failed(
                ErrorType::Conductor,
                format!("reading the conductor reply failed: {e}"),
            )
        }
    };
    let reply_thread = body["threadId"]
        .as_str()
        .map(str::to_string)
        .unwrap_or(thread_id);
    let reply_status = body["status"].as_str().unwrap_or("unknown").to_string();
    let result = body.get("result").cloned().unwrap_or(Value::Null);
    let conductor = Some((reply_thread, reply_status.clone()));
    if !status.is_success() {
        return Outcome::Failed {
            error_type: ErrorType::Conductor,
            message: format!("conductor answered HTTP {}", status.as_u16()),
            result: Some(body),
            conductor,
        };
    }
    if FAILED_STATUSES.contains(&reply_status.to_ascii_lowercase().as_str()) {
        return Outcome::Failed {
            error_type: ErrorType::Conductor,
            message: format!("conductor reported status `{reply_status}`"),
            result: Some(result),
            conductor,
        };
    }
    Outcome::Completed { result, conductor }
}
