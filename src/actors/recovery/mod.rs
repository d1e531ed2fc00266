//! ErrorRecoveryActor: owns the error records' retry timers, records failures, retries with
//! backoff and escalates (flows 2, 4 and 8). PostgreSQL is the truth; timers are rebuilt on
//! every (re)start.

use std::time::Duration;

use actix::prelude::*;

use crate::actors::lifecycle::StopWork;
use crate::actors::supervisor::{guard_future, RestartTracker};
use crate::actors::ws::hub::WsHub;
use crate::actors::Services;
use crate::db::system_state::{self, Component};
use crate::db::DbError;
use crate::impl_lifecycle_handlers;

/// Name in logs and health.
pub const NAME: &str = "error_recovery";

/// See the module docs.
pub struct ErrorRecoveryActor {
    services: Services,
    #[allow(dead_code)]
    hub: Addr<WsHub>,
    tracker: RestartTracker,
    /// True once state is loaded and until flow 7 stops error recovery.
    running: bool,
    /// Set by [`StopWork`]; survives restarts so a restart during shutdown stays stopped.
    stopped: bool,
    restart_delay: Duration,
}

impl ErrorRecoveryActor {
    /// Error recovery over `services`, publishing to `hub`.
    pub fn new(services: Services, hub: Addr<WsHub>) -> Self {
        let sup = &services.config.supervisor;
        let tracker = RestartTracker::new(
            NAME,
            Duration::from_millis(sup.restart_backoff_base_ms),
            Duration::from_millis(sup.restart_backoff_max_ms),
        );
        ErrorRecoveryActor {
            services,
            hub,
            tracker,
            running: false,
            stopped: false,
            restart_delay: Duration::ZERO,
        }
    }

    /// Reloads state from PostgreSQL and marks error recovery running; retried on failure
    /// instead of crash-looping while the database is away.
    fn load(&mut self, ctx: &mut Context<Self>) {
        if self.stopped {
            return;
        }
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        let fut = async move {
            system_state::set_running(&pool, instance, Component::ErrorRecovery, true).await
        };
        ctx.wait(guard_future(fut).map(|res, act: &mut Self, ctx| match res {
            Some(Ok(())) => {
                act.running = true;
                log::info!(
                    "error recovery running: instance={}",
                    act.services.instance_id
                );
            }
            Some(Err(e)) => {
                log::warn!("error recovery: loading state failed, retrying in 1s: {e}");
                ctx.run_later(Duration::from_secs(1), |act, ctx| act.load(ctx));
            }
            None => {}
        }));
    }
}

impl Actor for ErrorRecoveryActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let delay = std::mem::take(&mut self.restart_delay);
        if !delay.is_zero() {
            ctx.wait(actix::fut::wrap_future(tokio::time::sleep(delay)));
        }
        self.load(ctx);
    }
}

impl Supervised for ErrorRecoveryActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.running = false;
        self.restart_delay = self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(ErrorRecoveryActor);

impl Handler<StopWork> for ErrorRecoveryActor {
    type Result = ResponseActFuture<Self, Result<(), DbError>>;

    fn handle(&mut self, _: StopWork, _: &mut Context<Self>) -> Self::Result {
        self.stopped = true;
        self.running = false;
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        log::info!("error recovery stopping: instance={instance}");
        Box::pin(actix::fut::wrap_future(async move {
            system_state::set_running(&pool, instance, Component::ErrorRecovery, false).await
        }))
    }
}
