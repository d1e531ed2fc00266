//! Graceful shutdown: stop claiming, tell WebSocket clients, refuse new requests, drain what
//! runs for up to the grace period, interrupt what is left (recorded as failures that whoever
//! runs next retries), stop HTTP, close the pool.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::RunningApp;
use crate::actors::conductor_process::StopConductor;
use crate::actors::execution::messages::{InterruptAll, Load, StopLaunching};
use crate::actors::lifecycle::StopWork;
use crate::actors::ws::messages::ShutdownSessions;
use crate::db::{system_state, ws_sessions};

impl RunningApp {
    /// Stop scheduler and retries, tell WebSocket clients, 503 new requests, drain
    /// in-flight requests for up to the grace period, stop HTTP, close the pool.
    pub async fn shutdown(self) {
        let state = &self.state;
        let services = &state.services;
        let grace = services.config.shutdown_grace();
        log::info!(
            "shutdown started: instance={} grace_secs={}",
            services.instance_id,
            grace.as_secs()
        );
        state.shutting_down.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + grace;

        for (name, res) in [
            ("scheduler", state.actors.scheduler.send(StopWork).await),
            ("error_recovery", state.actors.recovery.send(StopWork).await),
        ] {
            match res {
                Ok(Ok(())) => log::info!("shutdown: {name} stopped"),
                Ok(Err(e)) => log::warn!("shutdown: {name} stopped, state not recorded: {e}"),
                Err(e) => log::warn!("shutdown: {name} unavailable: {e}"),
            }
        }
        state.actors.execution.do_send(StopLaunching);
        let sessions = state.actors.hub.send(ShutdownSessions).await.unwrap_or(0);
        log::info!("shutdown: server_shutdown sent to {sessions} websocket sessions");

        // In-flight requests and running executions share the grace period.
        loop {
            let requests = state.in_flight.load(Ordering::SeqCst);
            let (_, executions) = state.actors.execution.send(Load).await.unwrap_or((0, 0));
            if requests == 0 && executions == 0 {
                break;
            }
            if Instant::now() >= deadline {
                log::warn!("shutdown: grace period over with {requests} requests and {executions} executions still running");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.interrupt_unfinished().await;
        if let Some(conductor) = &state.actors.conductor {
            let _ = conductor.send(StopConductor).await;
        }

        // Session actors write their own rows as they stop; this catches any that could not.
        match ws_sessions::mark_instance_inactive(&services.pool, services.instance_id).await {
            Ok(n) if n > 0 => log::info!("shutdown: {n} websocket session rows marked inactive"),
            Ok(_) => {}
            Err(e) => log::warn!("shutdown: websocket session rows not updated: {e}"),
        }
        if let Err(e) = system_state::mark_stopped(&services.pool, services.instance_id).await {
            log::warn!("shutdown: system_state not updated: {e}");
        }
        self.server.stop(true).await;
        match self.server_task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::warn!("shutdown: HTTP server ended with an error: {e}"),
            Err(e) => log::warn!("shutdown: HTTP server task failed: {e}"),
        }
        services.pool.close();
        log::info!("shutdown complete: instance={}", services.instance_id);
    }
}

impl RunningApp {
    /// Records this instance's unfinished executions as `interrupted` failures and has error
    /// recovery record them before the pool closes (they are retried by whoever runs next).
    async fn interrupt_unfinished(&self) {
        let actors = &self.state.actors;
        match actors.execution.send(InterruptAll).await {
            Ok(Ok(n)) if n > 0 => log::warn!("shutdown: {n} unfinished executions interrupted"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => log::warn!(
                "shutdown: unfinished executions not recorded (orphan recovery will): {e}"
            ),
            Err(e) => log::warn!("shutdown: execution actor unavailable: {e}"),
        }
    }
}

#[cfg(feature = "testing")]
impl RunningApp {
    /// Test hook (feature `testing`): stops at once without waiting for anything, for a test
    /// app dropped without [`RunningApp::shutdown`]: nothing new is claimed, running tasks are
    /// killed, sessions closed, the HTTP server stopped.
    pub fn stop_now(self) {
        let actors = &self.state.actors;
        self.state.shutting_down.store(true, Ordering::SeqCst);
        actors.scheduler.do_send(StopWork);
        actors.recovery.do_send(StopWork);
        actors
            .execution
            .do_send(crate::actors::execution::messages::AbandonAll);
        actors.hub.do_send(ShutdownSessions);
        if let Some(conductor) = &actors.conductor {
            conductor.do_send(StopConductor);
        }
        // The stop command is sent when called; its completion is not awaited.
        drop(self.server.stop(false));
        self.server_task.abort();
    }
}
