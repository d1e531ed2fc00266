//! A lean WebSocket client for B4: a handshake, then frames parsed in place from one reused
//! buffer (no allocation per frame). A thousand of these share the machine with the server,
//! so a heavier client (awc's codec plus a JSON parse per frame) measured mostly itself.

use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The event's `timestamp` (set when the server publishes it), read without parsing the frame.
pub(crate) fn event_time(frame: &[u8]) -> Option<chrono::DateTime<Utc>> {
    const KEY: &[u8] = b"\"timestamp\":\"";
    let at = frame.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let rest = &frame[at..];
    let end = rest.iter().position(|b| *b == b'"')?;
    let text = std::str::from_utf8(&rest[..end]).ok()?;
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A connected session: the socket and bytes already read past the handshake.
pub(crate) struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Connects to `base` (`http://host:port`) and upgrades `/ws`.
pub(crate) async fn connect(base: &str) -> Client {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{addr}: {e}"));
    let _ = stream.set_nodelay(true);
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream
        .write_all(req.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        assert!(n > 0, "connection closed during the WebSocket handshake");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            assert!(
                buf.starts_with(b"HTTP/1.1 101"),
                "no upgrade: {}",
                String::from_utf8_lossy(&buf)
            );
            buf.drain(..end + 4);
            return Client { stream, buf };
        }
    }
}

impl Client {
    /// Sends one text frame (masked with a zero mask, as a client must).
    pub(crate) async fn send_text(&mut self, text: &str) {
        let payload = text.as_bytes();
        assert!(payload.len() < 126, "short frames only");
        let mut f = vec![0x81, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        f.extend_from_slice(payload);
        self.stream
            .write_all(&f)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Reads frames until `stop_at`, answering pings; each text frame's delivery latency goes
    /// to `lat`. False when the server closed the session.
    pub(crate) async fn run(mut self, stop_at: Instant, lat: &mut Vec<f64>) -> bool {
        let mut chunk = vec![0u8; 64 * 1024];
        while Instant::now() < stop_at {
            let n = match tokio::time::timeout(Duration::from_secs(1), self.stream.read(&mut chunk))
                .await
            {
                Err(_) => continue,
                Ok(Ok(0)) | Ok(Err(_)) => return false,
                Ok(Ok(n)) => n,
            };
            let now = Utc::now();
            self.buf.extend_from_slice(&chunk[..n]);
            let mut at = 0;
            while let Some((opcode, start, end)) = frame(&self.buf[at..]) {
                let payload = &self.buf[at + start..at + end];
                match opcode {
                    0x1 => {
                        if let Some(ts) = event_time(payload) {
                            lat.push((now - ts).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                        }
                    }
                    0x9 => {
                        // Pong with the ping's payload; a client frame is masked (zero mask).
                        let mut pong = vec![0x8A, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                        pong.extend_from_slice(payload);
                        if self.stream.write_all(&pong).await.is_err() {
                            return false;
                        }
                    }
                    0x8 => return false,
                    _ => {}
                }
                at += end;
            }
            self.buf.drain(..at);
        }
        true
    }
}

/// The first complete server frame in `b`: (opcode, payload start, payload end).
fn frame(b: &[u8]) -> Option<(u8, usize, usize)> {
    if b.len() < 2 {
        return None;
    }
    let opcode = b[0] & 0x0f;
    let (len, head) = match b[1] & 0x7f {
        126 => (u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) as usize, 4),
        127 => {
            let bytes: [u8; 8] = b.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes) as usize, 10)
        }
        n => (n as usize, 2),
    };
    (b.len() >= head + len).then_some((opcode, head, head + len))
}

impl Client {
    /// Sends `per_sec` subscribe frames a second until `stop_at` while reading (and answering
    /// pings); false when the server closed the session.
    pub(crate) async fn flood(mut self, stop_at: Instant, per_sec: u32) -> bool {
        let every = Duration::from_secs_f64(1.0 / f64::from(per_sec.max(1)));
        let topics = [
            r#"{"type":"subscribe","subscriptions":["executions"]}"#,
            r#"{"type":"subscribe","subscriptions":["errors","schedules"]}"#,
        ];
        let mut chunk = vec![0u8; 64 * 1024];
        let mut next = Instant::now();
        let mut k = 0;
        while Instant::now() < stop_at {
            if Instant::now() >= next {
                let payload = topics[k % 2].as_bytes();
                k += 1;
                let mut f = vec![0x81, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                f.extend_from_slice(payload);
                if self.stream.write_all(&f).await.is_err() {
                    return false;
                }
                // Behind (a starved client thread): skip rather than burst past the limit.
                next = (next + every).max(Instant::now());
            }
            let wait = next
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            let n = match tokio::time::timeout(wait, self.stream.read(&mut chunk)).await {
                Err(_) => continue,
                Ok(Ok(0)) | Ok(Err(_)) => return false,
                Ok(Ok(n)) => n,
            };
            self.buf.extend_from_slice(&chunk[..n]);
            let mut at = 0;
            while let Some((opcode, start, end)) = frame(&self.buf[at..]) {
                let payload = self.buf[at + start..at + end].to_vec();
                match opcode {
                    0x9 => {
                        let mut pong = vec![0x8A, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                        pong.extend_from_slice(&payload);
                        if self.stream.write_all(&pong).await.is_err() {
                            return false;
                        }
                    }
                    0x8 => return false,
                    _ => {}
                }
                at += end;
            }
            self.buf.drain(..at);
        }
        true
    }
}
