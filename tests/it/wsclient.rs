//! A WebSocket test client over awc, with bounded waits everywhere.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

/// One connected client.
pub(crate) struct WsClient {
    framed: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
    /// The `sessionId` from the `connected` frame.
    pub(crate) session_id: String,
    /// Every JSON frame received so far.
    pub(crate) seen: Vec<Value>,
    /// Frames read while waiting for another one, not yet returned.
    pending: VecDeque<Value>,
}

impl WsClient {
    /// Connects to `{base}/ws` and reads the `connected` frame.
    pub(crate) async fn connect(base: &str) -> WsClient {
        match Self::connect_with(base, &[]).await {
            Ok((c, _)) => c,
            Err(e) => panic!("ws connect: {e}"),
        }
    }

    /// Connects offering `protocols` (the dashboard's `taskforge` + `bearer.<token>`); returns
    /// the client and the subprotocol the server selected, or the refusal.
    pub(crate) async fn connect_with(
        base: &str,
        protocols: &[&str],
    ) -> Result<(WsClient, Option<String>), awc::error::WsClientError> {
        let mut req = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish()
            .ws(format!("{base}/ws"));
        if !protocols.is_empty() {
            req = req.protocols(protocols);
        }
        let (resp, framed) = req.connect().await?;
        let selected = resp
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok((Self::greeted(framed).await, selected))
    }

    async fn greeted(framed: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>) -> WsClient {
        let mut c = WsClient {
            framed,
            session_id: String::new(),
            seen: Vec::new(),
            pending: VecDeque::new(),
        };
        let hello = c
            .recv(Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("no connected frame"));
        assert_eq!(hello["type"], "connected", "{hello}");
        c.session_id = hello["sessionId"].as_str().unwrap_or_default().to_string();
        c
    }

    /// True when the server closes the connection within `timeout` (frames before the close
    /// are kept).
    pub(crate) async fn closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.framed.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(awc::ws::Frame::Close(_)))) => {
                    return true
                }
                Ok(Some(Ok(awc::ws::Frame::Text(t)))) => {
                    let v: Value = serde_json::from_slice(&t).unwrap_or(Value::Null);
                    self.seen.push(v);
                }
                Ok(Some(Ok(_))) => {}
            }
        }
        false
    }

    /// Sends a JSON text frame.
    pub(crate) async fn send(&mut self, v: &Value) {
        self.send_text(&v.to_string()).await;
    }

    /// Sends a raw text frame.
    pub(crate) async fn send_text(&mut self, t: &str) {
        self.framed
            .send(awc::ws::Message::Text(t.to_string().into()))
            .await
            .unwrap_or_else(|e| panic!("ws send: {e}"));
    }

    /// Sends a binary frame.
    pub(crate) async fn send_binary(&mut self, b: &[u8]) {
        self.framed
            .send(awc::ws::Message::Binary(b.to_vec().into()))
            .await
            .unwrap_or_else(|e| panic!("ws send: {e}"));
    }

    /// Sends a close frame.
    pub(crate) async fn close(&mut self) {
        let _ = self.framed.send(awc::ws::Message::Close(None)).await;
    }

    /// The next JSON frame within `timeout`; None on timeout or close.
    pub(crate) async fn recv(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(v);
        }
        self.read(timeout).await
    }

    async fn read(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = tokio::time::timeout(left, self.framed.next())
                .await
                .ok()??;
            match frame {
                Ok(awc::ws::Frame::Text(t)) => {
                    let v: Value = serde_json::from_slice(&t).unwrap_or(Value::Null);
                    self.seen.push(v.clone());
                    return Some(v);
                }
                Ok(awc::ws::Frame::Ping(p)) => {
                    let _ = self.framed.send(awc::ws::Message::Pong(p)).await;
                }
                Ok(awc::ws::Frame::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Reads until a frame satisfies `pred` (bounded); returns it.
    /// Frames that do not match stay available to later waits, in order.
    pub(crate) async fn recv_until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&pred) {
            if let Some(v) = self.pending.remove(i) {
                return v;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read(left).await {
                Some(v) if pred(&v) => return v,
                Some(v) => self.pending.push_back(v),
                None => panic!("no `{what}` frame (seen: {:?})", self.types()),
            }
        }
    }

    /// `type` of every frame seen.
    pub(crate) fn types(&self) -> Vec<String> {
        self.seen
            .iter()
            .map(|v| v["type"].as_str().unwrap_or("?").to_string())
            .collect()
    }
}

/// `type == t` and, when given, `data.id == id`.
pub(crate) fn is_event(v: &Value, t: &str, id: Option<&str>) -> bool {
    v["type"] == t && id.is_none_or(|id| v["data"]["id"] == id)
}
