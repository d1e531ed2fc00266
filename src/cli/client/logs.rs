//! `taskforge runs logs ID [--follow]`: what a run printed, its stdout to stdout and its stderr
//! to stderr. Following, the session subscribes to `execution:<id>` first and reads `/output`
//! second, so nothing printed in between is lost; each frame's `offset` says which part of it
//! was already shown. When the run ends, the rest comes from its final output.

use std::io::Write;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Api, Failure};
use crate::domain::states::{ExecutionStatus, RecoveryStatus};

/// `GET /api/executions/{id}/output`.
#[derive(serde::Deserialize)]
struct Output {
    stdout: String,
    stderr: String,
    running: bool,
}

/// How much of each stream was printed (UTF-8 bytes of its text).
#[derive(Default)]
struct Printed([usize; 2]);

impl Printed {
    /// Prints the part of `text`, which starts at `offset` of stream `index`, not printed yet.
    /// False when it starts past what was printed (a piece is missing).
    fn take(&mut self, index: usize, offset: usize, text: &str) -> bool {
        let done = self.0[index];
        if offset > done {
            return false;
        }
        let Some(new) = text.get(done - offset..) else {
            return offset + text.len() <= done;
        };
        if !new.is_empty() {
            let _ = if index == 0 {
                std::io::stdout().write_all(new.as_bytes())
            } else {
                std::io::stderr().write_all(new.as_bytes())
            };
            self.0[index] = offset + text.len();
        }
        true
    }

    /// Prints what `/output` has beyond what was printed; answers whether the run goes on.
    async fn catch_up(&mut self, api: &Api, id: Uuid) -> Result<bool, Failure> {
        let out = api
            .call("GET", &format!("/api/executions/{id}/output"), None)
            .await?;
        let out: Output = serde_json::from_value(out)
            .map_err(|e| Failure(format!("unexpected /output answer: {e}")))?;
        self.take(0, 0, &out.stdout);
        self.take(1, 0, &out.stderr);
        let _ = std::io::stdout().flush();
        Ok(out.running)
    }
}

fn ws_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}/ws"),
        Some((_, rest)) => format!("ws://{rest}/ws"),
        None => format!("ws://{base}/ws"),
    }
}

/// See the module docs.
pub(super) async fn logs(api: &Api, id: Uuid, follow: bool) -> Result<String, Failure> {
    let mut printed = Printed::default();
    if !follow {
        printed.catch_up(api, id).await?;
        return Ok(String::new());
    }
    let mut protocols = vec!["taskforge".to_string()];
    if let Some(t) = &api.conn.token {
        protocols.push(format!("bearer.{t}"));
    }
    let (_, mut ws) = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish()
        .ws(ws_url(&api.conn.url))
        .protocols(protocols)
        .connect()
        .await
        .map_err(|e| Failure(format!("{}/ws: {e}", api.conn.url)))?;
    let subscribe = json!({"type": "subscribe", "subscriptions": [format!("execution:{id}")]});
    ws.send(awc::ws::Message::Text(subscribe.to_string().into()))
        .await
        .map_err(|e| Failure(format!("/ws: {e}")))?;
    let mut subscribed = false;
    while let Some(frame) = ws.next().await {
        let text = match frame.map_err(|e| Failure(format!("/ws: {e}")))? {
            awc::ws::Frame::Text(t) => t,
            awc::ws::Frame::Ping(p) => {
                let _ = ws.send(awc::ws::Message::Pong(p)).await;
                continue;
            }
            awc::ws::Frame::Close(_) => break,
            _ => continue,
        };
        let Ok(msg) = serde_json::from_slice::<Value>(&text) else {
            continue;
        };
        let data = &msg["data"];
        match msg["type"].as_str() {
            Some("subscribed") if !subscribed => {
                subscribed = true;
                if !printed.catch_up(api, id).await? {
                    let _ = ws.send(close()).await;
                    return outcome(api, id).await;
                }
            }
            Some("execution_output") if subscribed && data["executionId"] == id.to_string() => {
                let index = usize::from(data["stream"] == "stderr");
                let offset = data["offset"].as_u64().unwrap_or(0);
                let offset = usize::try_from(offset).unwrap_or(usize::MAX);
                let chunk = data["chunk"].as_str().unwrap_or_default();
                if !printed.take(index, offset, chunk) {
                    printed.catch_up(api, id).await?;
                }
                let _ = std::io::stdout().flush();
            }
            Some("execution_completed" | "execution_failed" | "execution_cancelled")
                if data["id"] == id.to_string() =>
            {
                printed.catch_up(api, id).await?;
                let _ = ws.send(close()).await;
                return outcome(api, id).await;
            }
            Some("server_shutdown") => break,
            _ => {}
        }
    }
    // The connection ended before the run did: show what there is.
    printed.catch_up(api, id).await?;
    Err(Failure(format!(
        "the WebSocket connection closed before execution {id} ended"
    )))
}

/// A normal close, so the server logs a client that left rather than a broken connection.
fn close() -> awc::ws::Message {
    awc::ws::Message::Close(Some(awc::ws::CloseCode::Normal.into()))
}

/// How long a follower waits, after a run failed, for its error record to be written.
const RECORD_WAIT: Duration = Duration::from_secs(10);

/// After following a run to its end: one line on stderr with how it ended and, when it has an
/// error record, the record's status once the run's end is recorded in it (failures are
/// recorded just after the run ends; waited for up to [`RECORD_WAIT`]), so the next command
/// (`errors get`, `errors list`) sees it.
async fn outcome(api: &Api, id: Uuid) -> Result<String, Failure> {
    let path = format!("/api/executions/{id}");
    let deadline = tokio::time::Instant::now() + RECORD_WAIT;
    let pause = || tokio::time::sleep(Duration::from_millis(100));
    let mut run = api.call("GET", &path, None).await?;
    let status =
        |run: &Value| serde_json::from_value::<ExecutionStatus>(run["status"].clone()).ok();
    while status(&run) == Some(ExecutionStatus::Failed)
        && run["errorRecordId"].is_null()
        && tokio::time::Instant::now() < deadline
    {
        pause().await;
        run = api.call("GET", &path, None).await?;
    }
    let mut line = format!(
        "taskforge: execution {id} {}",
        run["status"].as_str().unwrap_or("ended")
    );
    if let Some(e) = run["error"].as_str() {
        line.push_str(&format!(": {e}"));
    }
    if let Some(r) = run["errorRecordId"].as_str() {
        let record_path = format!("/api/errors/errors/{r}");
        let mut record = api.call("GET", &record_path, None).await?;
        // A retry's end moves its record out of `retrying`.
        let retrying = |r: &Value| {
            serde_json::from_value::<RecoveryStatus>(r["recoveryStatus"].clone()).ok()
                == Some(RecoveryStatus::Retrying)
        };
        while retrying(&record) && tokio::time::Instant::now() < deadline {
            pause().await;
            record = api.call("GET", &record_path, None).await?;
        }
        let status = record["recoveryStatus"].as_str().unwrap_or("?");
        line.push_str(&format!(" (error record {r}: {status})"));
    }
    let _ = std::io::stdout().flush();
    let _ = writeln!(std::io::stderr(), "{line}");
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_already_printed_are_skipped() {
        let mut p = Printed::default();
        assert!(p.take(0, 0, "abc"));
        assert!(p.take(0, 1, "bcde"), "overlap: only `de` is new");
        assert_eq!(p.0[0], 5);
        assert!(p.take(0, 2, "cd"), "all seen");
        assert_eq!(p.0[0], 5);
        assert!(!p.take(0, 9, "x"), "a gap");
        assert!(p.take(1, 0, "err"));
        assert_eq!(p.0, [5, 3]);
        assert_eq!(ws_url("https://h:1/"), "wss://h:1/ws");
        assert_eq!(ws_url("http://h"), "ws://h/ws");
    }
}
