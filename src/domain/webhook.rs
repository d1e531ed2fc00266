//! Inbound webhooks: the signature a caller sends (`X-Taskforge-Signature: sha256=<hex of
//! HMAC-SHA256 of the body under the schedule's secret>`), checked in constant time, and the
//! per-key rate limit (a token bucket).

use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Taskforge-Signature";
/// Longest `Idempotency-Key` kept.
pub const IDEMPOTENCY_KEY_MAX: usize = 200;
/// How long a delivery's `Idempotency-Key` answers with its first run.
pub const IDEMPOTENCY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

fn mac(secret: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    m.update(body);
    Some(m)
}

/// The header value a caller holding `secret` sends with `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let tag = mac(secret, body)
        .map(|m| m.finalize().into_bytes().to_vec())
        .unwrap_or_default();
    format!("sha256={}", super::access::hex(&tag))
}

/// True when `header` is `sha256=<hex>` of `body` under `secret`. The comparison takes the
/// same time wherever the first difference is.
pub fn verify(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(tag) = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .and_then(unhex)
    else {
        return false;
    };
    mac(secret, body).is_some_and(|m| m.verify_slice(&tag).is_ok())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

/// A token bucket: `burst` calls at once, refilled at `per_sec`.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn full(burst: u32, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            at: now,
        }
    }

    /// Takes one call; when none is left, how long until one is.
    pub fn take(&mut self, per_sec: f64, burst: u32, now: Instant) -> Result<(), Duration> {
        let per_sec = per_sec.max(1e-3);
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_sec).min(f64::from(burst));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / per_sec))
        }
    }
}

#[cfg(test)]
mod tests;
