//! A value computed at most once per time-to-live, shared by concurrent requests: unauthenticated
//! `/api/health` and `/metrics` calls must not each cost a database round trip.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// See the module docs.
pub struct Cached<T: Clone> {
    ttl: Duration,
    slot: Mutex<Option<(Instant, T)>>,
}

impl<T: Clone> Cached<T> {
    /// An empty cache keeping values for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Cached {
            ttl,
            slot: Mutex::new(None),
        }
    }

    /// The cached value, or a fresh one from `compute` (callers arriving meanwhile wait for it
    /// instead of computing their own).
    pub async fn get<F, Fut>(&self, compute: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((at, v)) = slot.as_ref() {
            if at.elapsed() < self.ttl {
                return v.clone();
            }
        }
        let v = compute().await;
        *slot = Some((Instant::now(), v.clone()));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn computes_once_per_ttl() {
        let c = Cached::new(Duration::from_secs(60));
        let mut calls = 0;
        for _ in 0..3 {
            let v = c
                .get(|| {
                    calls += 1;
                    async { 7 }
                })
                .await;
            assert_eq!(v, 7);
        }
        assert_eq!(calls, 1);
        let fresh = Cached::new(Duration::ZERO);
        assert_eq!(fresh.get(|| async { 1 }).await, 1);
        assert_eq!(fresh.get(|| async { 2 }).await, 2);
    }
}
