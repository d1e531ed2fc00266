//! The actor system (SPEC §1): a supervisor per actor, typed messages between them.

pub mod execution;
pub mod lifecycle;
pub mod recovery;
pub mod scheduler;
pub mod supervisor;
pub mod ws;

use std::sync::Arc;

use actix::{Addr, Supervisor};
use uuid::Uuid;

use crate::config::Config;
use crate::db::DbPool;

/// What every actor is built from.
#[derive(Clone)]
pub struct Services {
    /// The database pool.
    pub pool: DbPool,
    /// The loaded configuration.
    pub config: Arc<Config>,
    /// This process's id in `system_state`.
    pub instance_id: Uuid,
}

/// Addresses of the started actors; handlers talk to them only through these.
#[derive(Clone)]
pub struct Actors {
    pub scheduler: Addr<scheduler::SchedulerActor>,
    pub execution: Addr<execution::ExecutionActor>,
    pub recovery: Addr<recovery::ErrorRecoveryActor>,
    pub hub: Addr<ws::hub::WsHub>,
}

/// Starts each actor once, under its own supervisor, in flow 6's order.
pub fn start_all(services: &Services) -> Actors {
    let hub = Supervisor::start({
        let s = services.clone();
        move |_| ws::hub::WsHub::new(&s)
    });
    let execution = Supervisor::start({
        let s = services.clone();
        let hub = hub.clone();
        move |_| execution::ExecutionActor::new(s, hub)
    });
    let recovery = Supervisor::start({
        let s = services.clone();
        let hub = hub.clone();
        let execution = execution.clone();
        move |_| recovery::ErrorRecoveryActor::new(s, hub, execution)
    });
    // Failures flow execution → recovery; retries flow back by address.
    execution.do_send(execution::messages::SetFailureSink(
        recovery.clone().recipient(),
    ));
    let scheduler = Supervisor::start({
        let s = services.clone();
        let hub = hub.clone();
        let execution = execution.clone();
        move |_| scheduler::SchedulerActor::new(s, hub, execution)
    });
    Actors {
        scheduler,
        execution,
        recovery,
        hub,
    }
}
