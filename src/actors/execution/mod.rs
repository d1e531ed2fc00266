//! ExecutionActor: creates executions and runs them (shell, HTTP, conductor) as futures and
//! processes it owns, persisting each transition before publishing its event (flows 1, 2, 5).

use std::time::Duration;

use actix::prelude::*;

use crate::actors::supervisor::RestartTracker;
use crate::actors::ws::hub::WsHub;
use crate::actors::Services;
use crate::impl_lifecycle_handlers;

/// Name in logs and health.
pub const NAME: &str = "execution";

/// See the module docs.
pub struct ExecutionActor {
    #[allow(dead_code)]
    services: Services,
    #[allow(dead_code)]
    hub: Addr<WsHub>,
    tracker: RestartTracker,
    running: bool,
    restart_delay: Duration,
}

impl ExecutionActor {
    /// An execution engine over `services`, publishing to `hub`.
    pub fn new(services: Services, hub: Addr<WsHub>) -> Self {
        let sup = &services.config.supervisor;
        let tracker = RestartTracker::new(
            NAME,
            Duration::from_millis(sup.restart_backoff_base_ms),
            Duration::from_millis(sup.restart_backoff_max_ms),
        );
        ExecutionActor {
            services,
            hub,
            tracker,
            running: false,
            restart_delay: Duration::ZERO,
        }
    }
}

impl Actor for ExecutionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let delay = std::mem::take(&mut self.restart_delay);
        if !delay.is_zero() {
            ctx.wait(actix::fut::wrap_future(tokio::time::sleep(delay)));
        }
        self.running = true;
    }
}

impl Supervised for ExecutionActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.running = false;
        self.restart_delay = self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(ExecutionActor);
