//! SchedulerActor: owns the cache of when the next schedule is due and fires due schedules
//! (flows 1 and 8). PostgreSQL is the truth; the cache is rebuilt on every (re)start.

pub mod messages;

use std::time::Duration;

use actix::prelude::*;

use crate::actors::execution::ExecutionActor;
use crate::actors::lifecycle::StopWork;
use crate::actors::supervisor::{guard_future, RestartTracker};
use crate::actors::ws::hub::WsHub;
use crate::actors::Services;
use crate::db::system_state::{self, Component};
use crate::db::DbError;
use crate::impl_lifecycle_handlers;

/// Name in logs and health.
pub const NAME: &str = "scheduler";

/// See the module docs.
pub struct SchedulerActor {
    services: Services,
    #[allow(dead_code)]
    hub: Addr<WsHub>,
    #[allow(dead_code)]
    execution: Addr<ExecutionActor>,
    tracker: RestartTracker,
    /// True once state is loaded and until flow 7 stops the scheduler.
    running: bool,
    /// Set by [`StopWork`]; survives restarts so a restart during shutdown stays stopped.
    stopped: bool,
    restart_delay: Duration,
}

impl SchedulerActor {
    /// A scheduler over `services`, publishing to `hub` and running through `execution`.
    pub fn new(services: Services, hub: Addr<WsHub>, execution: Addr<ExecutionActor>) -> Self {
        let sup = &services.config.supervisor;
        let tracker = RestartTracker::new(
            NAME,
            Duration::from_millis(sup.restart_backoff_base_ms),
            Duration::from_millis(sup.restart_backoff_max_ms),
        );
        SchedulerActor {
            services,
            hub,
            execution,
            tracker,
            running: false,
            stopped: false,
            restart_delay: Duration::ZERO,
        }
    }

    /// Reloads state from PostgreSQL and marks the scheduler running; retried on failure
    /// instead of crash-looping while the database is away.
    fn load(&mut self, ctx: &mut Context<Self>) {
        if self.stopped {
            return;
        }
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        let fut = async move {
            system_state::set_running(&pool, instance, Component::Scheduler, true).await
        };
        ctx.wait(guard_future(fut).map(|res, act: &mut Self, ctx| match res {
            Some(Ok(())) => {
                act.running = true;
                log::info!("scheduler running: instance={}", act.services.instance_id);
            }
            Some(Err(e)) => {
                log::warn!("scheduler: loading state failed, retrying in 1s: {e}");
                ctx.run_later(Duration::from_secs(1), |act, ctx| act.load(ctx));
            }
            None => {}
        }));
    }
}

impl Actor for SchedulerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let delay = std::mem::take(&mut self.restart_delay);
        if !delay.is_zero() {
            ctx.wait(actix::fut::wrap_future(tokio::time::sleep(delay)));
        }
        self.load(ctx);
    }
}

impl Supervised for SchedulerActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.running = false;
        self.restart_delay = self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(SchedulerActor);

impl Handler<StopWork> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<(), DbError>>;

    fn handle(&mut self, _: StopWork, _: &mut Context<Self>) -> Self::Result {
        self.stopped = true;
        self.running = false;
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        log::info!("scheduler stopping: instance={instance}");
        Box::pin(actix::fut::wrap_future(async move {
            system_state::set_running(&pool, instance, Component::Scheduler, false).await
        }))
    }
}
