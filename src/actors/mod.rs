//! The actor system: a supervisor per actor, typed messages between them.

pub mod access;
pub mod audit;
pub mod conductor_process;
pub mod execution;
pub mod instance;
pub mod lifecycle;
pub mod recovery;
pub mod scheduler;
pub mod supervisor;
pub mod ticker;
pub mod ws;

use std::sync::Arc;

use actix::{Actor, Addr, Supervisor};
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
    /// The database URL, for connections outside the pool (LISTEN).
    pub db_url: Arc<str>,
    /// Whether the managed conductor process answers (None: no managed process).
    pub conductor_ready: Option<tokio::sync::watch::Receiver<bool>>,
    /// The key that opens stored secrets (loaded on first use).
    pub keyring: Arc<crate::db::secrets::Keyring>,
    /// Whether anyone would receive an event (see `ws::audience`).
    pub audience: ws::audience::Audience,
}

/// Addresses of the started actors; handlers talk to them only through these.
#[derive(Clone)]
pub struct Actors {
    pub scheduler: Addr<scheduler::SchedulerActor>,
    pub execution: Addr<execution::ExecutionActor>,
    pub recovery: Addr<recovery::ErrorRecoveryActor>,
    pub hub: Addr<ws::hub::WsHub>,
    pub bridge: Addr<ws::bridge::EventBridge>,
    pub instance: Addr<instance::InstanceMonitor>,
    pub access: Addr<access::AccessActor>,
    /// The managed conductor subprocess, when `conductor.command` is set.
    pub conductor: Option<Addr<conductor_process::ConductorProcess>>,
}

/// Starts each actor once, under its own supervisor, in dependency order. `conductor_ready` is
/// the sending half of `services.conductor_ready`.
pub fn start_all(
    services: &Services,
    conductor_ready: Option<tokio::sync::watch::Sender<bool>>,
) -> Actors {
    let sup = &services.config.supervisor;
    let conductor = conductor_ready.map(|ready| {
        conductor_process::ConductorProcess::new(
            services.config.conductor.command.clone(),
            services.config.conductor.base_url.clone(),
            ready,
            std::time::Duration::from_millis(sup.restart_backoff_base_ms),
            std::time::Duration::from_millis(sup.restart_backoff_max_ms),
        )
        .start()
    });
    let hub = Supervisor::start({
        let s = services.clone();
        move |_| ws::hub::WsHub::new(&s)
    });
    let bridge = Supervisor::start({
        let s = services.clone();
        let hub = hub.clone();
        move |_| ws::bridge::EventBridge::new(s, hub)
    });
    hub.do_send(ws::messages::SetBridge(bridge.clone().recipient()));
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
    let instance = Supervisor::start({
        let s = services.clone();
        let execution = execution.clone();
        move |_| instance::InstanceMonitor::new(s, execution)
    });
    let scheduler = Supervisor::start({
        let s = services.clone();
        let hub = hub.clone();
        let execution = execution.clone();
        move |_| scheduler::SchedulerActor::new(s, hub, execution)
    });
    // Completed runs with an onSuccess chain flow execution → scheduler.
    execution.do_send(execution::messages::SetChainSink(
        scheduler.clone().recipient(),
    ));
    let access = Supervisor::start({
        let s = services.clone();
        let hub = hub.clone();
        move |_| access::AccessActor::new(s, hub)
    });
    Actors {
        access,
        scheduler,
        execution,
        recovery,
        hub,
        bridge,
        instance,
        conductor,
    }
}
