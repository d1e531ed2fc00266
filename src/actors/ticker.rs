//! The claim loop the scheduler and error recovery share. Each is an actor that claims due work
//! from PostgreSQL in passes: one pass at a time (a wake-up during a pass runs one more right
//! after it), a timer armed for the next due time and capped by a fallback period (for work
//! another instance created), nothing once stopped. Before the first pass the component is
//! recorded as running in `system_state`, retried every second while the database is away;
//! [`StopWork`](super::lifecycle::StopWork) records it as stopped.

use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::supervisor::{guard_future, Restartable};
use super::Services;
use crate::db::system_state::{self, Component};
use crate::db::DbError;

/// An actor that claims work in passes.
pub trait Ticking: Restartable {
    /// Its row in `system_state`.
    const COMPONENT: Component;
    /// Its name in log lines.
    const LABEL: &'static str;

    fn ticker(&mut self) -> &mut Ticker;
    fn services(&self) -> &Services;
    /// One pass: claims what is due and, when done, calls [`Ticker::pass_done`] and
    /// [`Ticker::arm`]. Called only through [`Ticker::wake`].
    fn pass(&mut self, ctx: &mut Context<Self>);
}

/// The loop's state; lives in the actor (actix reuses the struct across restarts, so
/// [`Ticker::restarted`] forgets what died with the old context).
#[derive(Debug, Default)]
pub struct Ticker {
    /// Loaded and not stopped.
    pub running: bool,
    /// Set by `StopWork`; survives restarts so a restart during shutdown stays stopped.
    stopped: bool,
    timer: Option<SpawnHandle>,
    busy: bool,
    again: bool,
    /// The due time the timer is set for (None: only the fallback).
    armed_for: Option<DateTime<Utc>>,
}

impl Ticker {
    /// Records the component as running, then runs the first pass.
    pub fn load<A: Ticking>(act: &mut A, ctx: &mut Context<A>) {
        if act.ticker().stopped {
            return;
        }
        let pool = act.services().pool.clone();
        let instance = act.services().instance_id;
        let fut =
            async move { system_state::set_running(&pool, instance, A::COMPONENT, true).await };
        ctx.wait(guard_future(fut).map(|res, act: &mut A, ctx| match res {
            Some(Ok(())) => {
                act.ticker().running = true;
                log::info!(
                    "{} running: instance={}",
                    A::LABEL,
                    act.services().instance_id
                );
                Ticker::wake(act, ctx);
            }
            Some(Err(e)) => {
                log::warn!("{}: loading state failed, retrying in 1s: {e}", A::LABEL);
                ctx.run_later(Duration::from_secs(1), |act, ctx| Ticker::load(act, ctx));
            }
            None => {}
        }));
    }

    /// Runs a pass now, or right after the one running; nothing once stopped.
    pub fn wake<A: Ticking>(act: &mut A, ctx: &mut Context<A>) {
        let t = act.ticker();
        if t.stopped || !t.running {
            return;
        }
        if t.busy {
            t.again = true;
            return;
        }
        t.busy = true;
        if let Some(h) = t.timer.take() {
            ctx.cancel_future(h);
        }
        act.pass(ctx);
    }

    /// The pass is over (successfully or not); answers whether another was asked for meanwhile
    /// (the caller then calls [`Ticker::wake`] after arming).
    pub fn pass_done(&mut self) -> bool {
        self.busy = false;
        std::mem::take(&mut self.again)
    }

    /// Wakes the actor after `delay`, for work due at `due` (None: the fallback period).
    pub fn arm<A: Ticking>(
        act: &mut A,
        ctx: &mut Context<A>,
        due: Option<DateTime<Utc>>,
        delay: Duration,
    ) {
        let t = act.ticker();
        t.armed_for = due;
        if t.stopped {
            return;
        }
        if let Some(h) = t.timer.take() {
            ctx.cancel_future(h);
        }
        t.timer = Some(ctx.run_later(delay, |act, ctx| {
            act.ticker().timer = None;
            Ticker::wake(act, ctx);
        }));
    }

    /// Whether work due at `due` needs a wake-up now: no timer is armed, or it is armed for
    /// later than `due`.
    pub fn should_wake_for(&self, due: Option<DateTime<Utc>>) -> bool {
        self.timer.is_none() || due.is_some_and(|t| self.armed_for.is_none_or(|armed| t < armed))
    }

    /// After a restart: the old context's timer and pass are gone.
    pub fn restarted(&mut self) {
        self.running = false;
        self.busy = false;
        self.timer = None;
    }

    /// Stops the loop for good and records the component as stopped.
    pub fn stop<A: Ticking>(
        act: &mut A,
        ctx: &mut Context<A>,
    ) -> ResponseActFuture<A, Result<(), DbError>> {
        let t = act.ticker();
        t.stopped = true;
        t.running = false;
        if let Some(h) = t.timer.take() {
            ctx.cancel_future(h);
        }
        let pool = act.services().pool.clone();
        let instance = act.services().instance_id;
        log::info!("{} stopping: instance={instance}", A::LABEL);
        Box::pin(actix::fut::wrap_future(async move {
            system_state::set_running(&pool, instance, A::COMPONENT, false).await
        }))
    }
}
