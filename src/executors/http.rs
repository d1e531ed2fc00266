//! HTTP tasks through awc: connect and total timeout, accepted statuses, body captured with a cap.

use std::time::Duration;

use awc::error::{ConnectError, SendRequestError};
use serde_json::{json, Map, Value};

use super::capture::cap_bytes;
use super::{ErrorType, Outcome, RunContext};
use crate::domain::task::HttpTask;

/// Connect timeout, within the task's total timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the request and classifies the answer.
pub async fn run(t: &HttpTask, ctx: &RunContext) -> Outcome {
    let method = match awc::http::Method::from_bytes(t.method.as_bytes()) {
        Ok(m) => m,
        Err(e) => return Outcome::failed(ErrorType::Internal, format!("method {}: {e}", t.method)),
    };
    let mut req = ctx.http.request(method, &t.url).timeout(ctx.timeout);
    for (k, v) in ctx.context.headers() {
        req = req.insert_header((k, v));
    }
    for (k, v) in &t.headers {
        if let Some(v) = v.plain() {
            req = req.insert_header((k.as_str(), v));
        }
    }
    let sent = match &t.body {
        None => req.send().await,
        Some(Value::String(s)) => req.send_body(s.clone()).await,
        Some(v) => req.send_json(v).await,
    };
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => return classify(e, ctx),
    };
    let status = resp.status().as_u16();
    let headers: Map<String, Value> = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                Value::String(v.to_str().unwrap_or("<binary>").to_string()),
            )
        })
        .collect();
    // Read up to the cap (+1 to know it was cut), within the same total timeout.
    let body = match resp.body().limit(ctx.output_cap + 1).await {
        Ok(b) => b.to_vec(),
        Err(awc::error::PayloadError::Overflow) => Vec::new(),
        Err(e) => {
            return Outcome::failed(
                ErrorType::Connection,
                format!("reading the response body failed: {e}"),
            )
        }
    };
    let captured = cap_bytes(&body, ctx.output_cap);
    let body_value = serde_json::from_str::<Value>(&captured.text)
        .ok()
        .filter(|_| !captured.truncated)
        .unwrap_or(Value::String(captured.text.clone()));
    let result = json!({ "status": status, "headers": headers, "body": body_value, "truncated": captured.truncated });
    let accepted = match &t.expected_status {
        Some(list) => list.contains(&status),
        None => (200..300).contains(&status),
    };
    if accepted {
        Outcome::Completed {
            result,
            conductor: None,
        }
    } else {
        Outcome::Failed {
            error_type: ErrorType::HttpStatus,
            message: format!(
                "{} {} answered {status}",
                t.method,
                crate::domain::task::redact_url(&t.url)
            ),
            result: Some(result),
            conductor: None,
        }
    }
}

fn classify(e: SendRequestError, ctx: &RunContext) -> Outcome {
    match e {
        SendRequestError::Timeout => Outcome::failed(
            ErrorType::Timeout,
            format!("no response within {} ms", ctx.timeout.as_millis()),
        ),
        SendRequestError::Connect(ConnectError::Timeout) => Outcome::failed(
            ErrorType::Timeout,
            format!(
                "connect timed out after {} ms",
                CONNECT_TIMEOUT.min(ctx.timeout).as_millis()
            ),
        ),
        SendRequestError::Connect(c) => {
            Outcome::failed(ErrorType::Connection, format!("connection failed: {c}"))
        }
        other => Outcome::failed(ErrorType::Connection, format!("request failed: {other}")),
    }
}

/// An awc client with our connect timeout; build it on the thread that uses it (awc is !Send).
pub fn client() -> awc::Client {
    awc::Client::builder()
        .connector(awc::Connector::new().timeout(CONNECT_TIMEOUT))
        .disable_timeout()
        .finish()
}
