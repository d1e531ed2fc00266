//! Supervision shared by every long-lived actor.
//!
//! actix restarts a supervised actor only when it *stops*; a panic inside a handler would
//! silently drop the actor instead. So handlers run their bodies through [`guard`] (and futures
//! through [`guard_future`]), which turn a panic into a recorded cause plus `ctx.stop()`. The
//! supervisor then calls `Supervised::restarting`, where the actor calls
//! [`RestartTracker::on_restart`]: one WARN line with name, count and cause, and the backoff the
//! actor waits before reloading its state from PostgreSQL.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::FutureExt;

use crate::logging::panic_message;

/// Consecutive failures further apart than this start the backoff again from the base.
const CALM_PERIOD: Duration = Duration::from_secs(60);

/// Restart bookkeeping kept inside each supervised actor (it survives restarts: actix reuses
/// the same struct).
#[derive(Debug)]
pub struct RestartTracker {
    name: &'static str,
    restarts: u64,
    consecutive: u32,
    last_failure_at: Option<Instant>,
    cause: Option<String>,
    base: Duration,
    max: Duration,
}

impl RestartTracker {
    /// A tracker for actor `name` with the configured backoff.
    pub fn new(name: &'static str, base: Duration, max: Duration) -> Self {
        RestartTracker {
            name,
            restarts: 0,
            consecutive: 0,
            last_failure_at: None,
            cause: None,
            base,
            max,
        }
    }

    /// The actor's name as it appears in logs.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Total restarts since the process started.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Records why the actor is about to stop.
    pub fn record_failure(&mut self, cause: String) {
        log::error!("actor failed: actor={} cause={}", self.name, cause);
        let now = Instant::now();
        let calm = self
            .last_failure_at
            .is_none_or(|t| now.duration_since(t) > CALM_PERIOD);
        self.consecutive = if calm { 1 } else { self.consecutive + 1 };
        self.last_failure_at = Some(now);
        self.cause = Some(cause);
    }

    /// Called from `Supervised::restarting`: logs the restart and returns how long to wait
    /// before serving again (bounded exponential backoff against restart storms).
    pub fn on_restart(&mut self) -> Duration {
        self.restarts += 1;
        metrics::counter!(crate::telemetry::ACTOR_RESTARTS, "actor" => self.name).increment(1);
        let delay = backoff(self.base, self.max, self.consecutive);
        log::warn!(
            "actor restarted by supervisor: actor={} restart={} cause={} backoff_ms={}",
            self.name,
            self.restarts,
            self.cause.as_deref().unwrap_or("stopped"),
            delay.as_millis()
        );
        delay
    }
}

/// `base * 2^(n-1)`, capped at `max`; 0 for n = 0.
pub fn backoff(base: Duration, max: Duration, consecutive: u32) -> Duration {
    if consecutive == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32
        .checked_shl(consecutive.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

/// Implemented by actors that use [`guard`].
pub trait Restartable: Actor<Context = Context<Self>> {
    /// The actor's restart bookkeeping.
    fn tracker(&mut self) -> &mut RestartTracker;
}

/// Runs a handler body; a panic is recorded as the cause and stops the actor so its supervisor
/// restarts it. Returns `None` when the body panicked.
pub fn guard<A, R>(
    act: &mut A,
    ctx: &mut Context<A>,
    body: impl FnOnce(&mut A, &mut Context<A>) -> R,
) -> Option<R>
where
    A: Restartable,
{
    match std::panic::catch_unwind(AssertUnwindSafe(|| body(act, ctx))) {
        Ok(r) => Some(r),
        Err(payload) => {
            fail(act, ctx, panic_message(payload.as_ref()));
            None
        }
    }
}

/// Stops the actor for a fatal error so the supervisor restarts it.
pub fn fail<A: Restartable>(act: &mut A, ctx: &mut Context<A>, cause: String) {
    act.tracker().record_failure(cause);
    ctx.stop();
}

/// Wraps a future run on the actor's context: a panic inside it fails the actor like [`guard`].
pub fn guard_future<A, F>(fut: F) -> impl ActorFuture<A, Output = Option<F::Output>>
where
    A: Restartable,
    F: Future + 'static,
{
    actix::fut::wrap_future::<_, A>(AssertUnwindSafe(fut).catch_unwind()).map(
        |res, act: &mut A, ctx: &mut Context<A>| match res {
            Ok(v) => Some(v),
            Err(payload) => {
                fail(act, ctx, panic_message(payload.as_ref()));
                None
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Duration::from_millis(100);
        let m = Duration::from_secs(1);
        assert_eq!(backoff(b, m, 0), Duration::ZERO);
        assert_eq!(backoff(b, m, 1), Duration::from_millis(100));
        assert_eq!(backoff(b, m, 2), Duration::from_millis(200));
        assert_eq!(backoff(b, m, 4), Duration::from_millis(800));
        assert_eq!(backoff(b, m, 5), m);
        assert_eq!(backoff(b, m, 200), m);
    }
}
