//! InstanceMonitor: this instance's heartbeat, retention, and the takeover of work left by dead
//! instances. Executions a dead instance left pending/running are failed as `interrupted` and
//! reported through the ExecutionActor (which hands them to error recovery, where interrupted
//! runs are retried); failures whose error record was never written are recorded.

use std::time::Duration;

use actix::prelude::*;

use crate::actors::execution::messages::{AbandonAll, Ended, ReportEnded};

use crate::actors::execution::ExecutionActor;
use crate::actors::lifecycle::impl_lifecycle_handlers;
use crate::actors::supervisor::{guard_future, RestartTracker};
use crate::actors::Services;
use crate::db::system_state::Beat;
use crate::db::{orphans, system_state};
use crate::domain::clock;

/// Name in logs.
pub const NAME: &str = "instance";

/// A failure younger than this may still be on its way to error recovery.
const SETTLE: i64 = 10;

/// Test hook (feature `testing`): run the retention job now; answers what it deleted.
#[cfg(feature = "testing")]
#[derive(Message)]
#[rtype(result = "Result<crate::db::retention::Pruned, crate::db::DbError>")]
pub struct PruneNow;

/// Test hook (feature `testing`): run an orphan scan now.
#[cfg(feature = "testing")]
#[derive(Message)]
#[rtype(result = "()")]
pub struct ScanNow;

/// See the module docs.
pub struct InstanceMonitor {
    services: Services,
    execution: Addr<ExecutionActor>,
    pruning: bool,
    hostname: String,
    scanning: bool,
    tracker: RestartTracker,
    running: bool,
    restart_delay: Duration,
}

fn pid_alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty()
        && stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            != Some("Z")
}

impl InstanceMonitor {
    /// A monitor for this instance.
    pub fn new(services: Services, execution: Addr<ExecutionActor>) -> Self {
        let sup = &services.config.supervisor;
        let tracker = RestartTracker::new(
            NAME,
            Duration::from_millis(sup.restart_backoff_base_ms),
            Duration::from_millis(sup.restart_backoff_max_ms),
        );
        InstanceMonitor {
            services,
            execution,
            pruning: false,
            hostname: system_state::hostname(),
            scanning: false,
            tracker,
            running: false,
            restart_delay: Duration::ZERO,
        }
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        let pool = self.services.pool.clone();
        let me = self.services.instance_id;
        ctx.spawn(
            guard_future(async move { system_state::heartbeat(&pool, me).await }).map(
                move |res, act: &mut Self, ctx| match res {
                    Some(Ok(Beat::Alive)) => {}
                    Some(Ok(Beat::DeclaredDead)) => act.fenced(ctx),
                    Some(Err(e)) => log::warn!("heartbeat not recorded: instance={me} {e}"),
                    None => {}
                },
            ),
        );
    }

    /// Another instance declared this one dead (its heartbeats did not arrive in time) and took
    /// its executions over: whatever it still runs would be a second run, so it stops that,
    /// then registers again and carries on with new work.
    fn fenced(&mut self, ctx: &mut Context<Self>) {
        let me = self.services.instance_id;
        log::error!("this instance was declared dead by another instance and its executions were taken over; stopping its running work and registering again: instance={me}");
        self.execution.do_send(AbandonAll);
        let pool = self.services.pool.clone();
        ctx.spawn(
            guard_future(async move {
                match system_state::reregister(&pool, me, true).await {
                    Ok(()) => log::warn!(
                        "instance registered again after being declared dead: instance={me}"
                    ),
                    Err(e) => log::warn!(
                        "re-registering failed, retrying at the next heartbeat: instance={me} {e}"
                    ),
                }
            })
            .map(|_, _, _| ()),
        );
    }

    /// Retention, every `retention.interval_secs` (one pass at a time).
    fn prune(&mut self, ctx: &mut Context<Self>) {
        if self.pruning {
            return;
        }
        self.pruning = true;
        let (pool, cfg) = (
            self.services.pool.clone(),
            self.services.config.retention.clone(),
        );
        ctx.spawn(
            guard_future(
                async move { crate::db::retention::prune(&pool, &cfg, clock::now()).await },
            )
            .map(|res, act: &mut Self, _| {
                act.pruning = false;
                match res {
                    Some(Ok(p)) if p.total() > 0 => log::info!(
                        "retention: deleted executions={} error_records={} error_groups={} sessions={} audit={} webhook_deliveries={}",
                        p.executions,
                        p.error_records,
                        p.error_groups,
                        p.sessions,
                        p.audit,
                        p.deliveries
                    ),
                    Some(Ok(_)) | None => {}
                    Some(Err(e)) => {
                        log::warn!("retention pass failed, retrying at the next one: {e}")
                    }
                }
            }),
        );
    }

    fn scan(&mut self, ctx: &mut Context<Self>) {
        if self.scanning {
            return;
        }
        self.scanning = true;
        let pool = self.services.pool.clone();
        let me = self.services.instance_id;
        let my_pid = std::process::id() as i32;
        let host = self.hostname.clone();
        let dead_after_secs = self.services.config.instance.dead_after_secs;
        let fut = async move {
            let now = clock::now();
            let others = orphans::live_others(&pool, me, dead_after_secs).await?;
            let dead: Vec<_> = others
                .iter()
                .filter(|i| {
                    i.expired || (i.hostname == host && i.pid != my_pid && !pid_alive(i.pid))
                })
                .collect();
            // Task processes a dead instance left on this host are killed before their
            // executions are recorded as interrupted (and retried).
            let local: Vec<_> = dead
                .iter()
                .filter(|i| i.hostname == host)
                .map(|i| i.instance_id)
                .collect();
            let left_running = orphans::running_of(&pool, &local).await?;
            let killed = crate::executors::shell::kill_leftovers(&left_running);
            if killed > 0 {
                log::warn!("killed {killed} task processes left by a dead instance on this host");
            }
            let dead: Vec<_> = dead.iter().map(|i| i.instance_id).collect();
            let interrupted = orphans::reap(&pool, &dead, me, now).await?;
            let unrecorded =
                orphans::unrecorded(&pool, now, chrono::Duration::seconds(SETTLE), 200).await?;
            let settled = now - chrono::Duration::seconds(SETTLE);
            let unchained = crate::db::chains::unstarted(&pool, settled, 200).await?;
            Ok::<_, crate::db::DbError>((interrupted, unrecorded, unchained))
        };
        ctx.spawn(guard_future(fut).map(|res, act: &mut Self, _| {
            act.scanning = false;
            match res {
                Some(Ok((interrupted, unrecorded, unchained))) => {
                    for (rows, why) in [
                        (interrupted, Ended::InstanceDied),
                        (unrecorded, Ended::Unrecorded),
                        (unchained, Ended::Unchained),
                    ] {
                        if !rows.is_empty() {
                            act.execution.do_send(ReportEnded { rows, why });
                        }
                    }
                }
                Some(Err(e)) => log::warn!("orphan scan failed, retrying at the next scan: {e}"),
                None => {}
            }
        }));
    }
}

impl Actor for InstanceMonitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let delay = std::mem::take(&mut self.restart_delay);
        if !delay.is_zero() {
            ctx.wait(actix::fut::wrap_future(tokio::time::sleep(delay)));
        }
        self.running = true;
        let cfg = &self.services.config.instance;
        ctx.run_interval(Duration::from_secs(cfg.heartbeat_secs), |act, ctx| {
            act.heartbeat(ctx)
        });
        ctx.run_interval(Duration::from_secs(cfg.orphan_scan_secs), |act, ctx| {
            act.scan(ctx)
        });
        self.scan(ctx);
        let every = Duration::from_secs(self.services.config.retention.interval_secs);
        ctx.run_interval(every, |act, ctx| act.prune(ctx));
    }
}

impl Supervised for InstanceMonitor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.running = false;
        self.scanning = false;
        self.pruning = false;
        self.restart_delay = self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(InstanceMonitor);

#[cfg(feature = "testing")]
impl Handler<ScanNow> for InstanceMonitor {
    type Result = ();

    fn handle(&mut self, _: ScanNow, ctx: &mut Context<Self>) {
        self.scan(ctx);
    }
}

#[cfg(feature = "testing")]
impl Handler<PruneNow> for InstanceMonitor {
    type Result = ResponseFuture<Result<crate::db::retention::Pruned, crate::db::DbError>>;

    fn handle(&mut self, _: PruneNow, _: &mut Context<Self>) -> Self::Result {
        let (pool, cfg) = (
            self.services.pool.clone(),
            self.services.config.retention.clone(),
        );
        Box::pin(async move { crate::db::retention::prune(&pool, &cfg, clock::now()).await })
    }
}
