//! ErrorRecoveryActor: records failures, retries with backoff, escalates.
//!
//! Like the scheduler it sleeps until the earliest `next_retry_at` (never longer than
//! `recovery.scan_interval_ms`), claims due retries with `SKIP LOCKED` and hands their
//! executions to the ExecutionActor. PostgreSQL holds every record; only timers live here.

mod auto_pause;
mod incidents;
pub mod messages;
mod operator;
mod webhook;

use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};

use self::messages::*;
use crate::actors::execution::messages::{ExecutionEnded, RunExecutions};
use crate::actors::execution::ExecutionActor;
use crate::actors::lifecycle::impl_lifecycle_handlers;
use crate::actors::lifecycle::StopWork;
use crate::actors::supervisor::{guard_future, RestartTracker};
use crate::actors::ticker::{Ticker, Ticking};
use crate::actors::ws::hub::WsHub;
use crate::actors::ws::messages::Publish;
use crate::actors::Services;
use crate::db::error_records::{self, ErrorRecordRow};
use crate::db::system_state::Component;
use crate::db::DbError;
use crate::domain::clock;
use crate::domain::event::{Event, EventKind};
use crate::domain::states::{ExecutionStatus, RecoveryStatus, Severity};

/// Name in logs and health.
pub const NAME: &str = "error_recovery";

/// Due retries claimed per transaction.
const CLAIM_BATCH: i64 = 200;

/// See the module docs.
pub struct ErrorRecoveryActor {
    services: Services,
    hub: Addr<WsHub>,
    execution: Addr<ExecutionActor>,
    tracker: RestartTracker,
    ticker: Ticker,
    restart_delay: Duration,
}

/// A uniform number in [0, 1) for retry jitter.
fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

impl ErrorRecoveryActor {
    /// Error recovery over `services`, publishing to `hub`, retrying through `execution`.
    pub fn new(services: Services, hub: Addr<WsHub>, execution: Addr<ExecutionActor>) -> Self {
        let sup = &services.config.supervisor;
        let tracker = RestartTracker::new(
            NAME,
            Duration::from_millis(sup.restart_backoff_base_ms),
            Duration::from_millis(sup.restart_backoff_max_ms),
        );
        ErrorRecoveryActor {
            services,
            hub,
            execution,
            tracker,
            ticker: Ticker::default(),
            restart_delay: Duration::ZERO,
        }
    }

    /// Claims due retries, starts their executions, sleeps until the next one.
    fn process_retries(&mut self, ctx: &mut Context<Self>) {
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        let execution = self.execution.clone();
        let hub = self.hub.clone();
        let fut = async move {
            loop {
                let claimed =
                    error_records::claim_due_retries(&pool, instance, clock::now(), CLAIM_BATCH)
                        .await?;
                let n = claimed.len();
                let mut execs = Vec::new();
                for (rec, exec) in claimed {
                    match &exec {
                        Some(e) => log::info!(
                            "retry started: error={} execution={} attempt={}",
                            rec.id,
                            e.id,
                            e.attempt
                        ),
                        None => log::info!(
                            "retry not run: error={} {}",
                            rec.id,
                            rec.note.as_deref().unwrap_or("")
                        ),
                    }
                    hub.do_send(Publish(Event::new(
                        EventKind::ErrorUpdated,
                        Some(rec.schedule_id),
                        crate::views::ErrorRecordView::from(&rec),
                    )));
                    execs.extend(exec);
                }
                if !execs.is_empty() {
                    execution.do_send(RunExecutions(execs));
                }
                if (n as i64) < CLAIM_BATCH {
                    break;
                }
            }
            error_records::earliest_retry(&pool).await
        };
        ctx.spawn(guard_future(fut).map(|res, act: &mut Self, ctx| {
            let again = act.ticker.pass_done();
            match res {
                Some(Ok(earliest)) => act.arm(ctx, earliest),
                Some(Err(e)) => {
                    log::warn!(
                        "error recovery: claiming retries failed, retrying at the next scan: {e}"
                    );
                    act.arm(ctx, None);
                }
                None => return,
            }
            if again {
                Ticker::wake(act, ctx);
            }
        }));
    }

    fn arm(&mut self, ctx: &mut Context<Self>, earliest: Option<DateTime<Utc>>) {
        let scan = Duration::from_millis(self.services.config.recovery.scan_interval_ms);
        let delay = match earliest {
            Some(t) if t <= clock::now() => Duration::from_millis(25),
            Some(t) => (t - clock::now()).to_std().unwrap_or(Duration::ZERO),
            None => scan,
        }
        .min(scan);
        Ticker::arm(self, ctx, earliest, delay);
    }

    /// Publishes a record change; escalations are logged and notified once per incident, and a
    /// record that closes its group's incident notifies its end.
    pub(super) fn announce(&self, rec: &ErrorRecordRow, created: bool) {
        let kind = if created {
            EventKind::ErrorRecorded
        } else {
            EventKind::ErrorUpdated
        };
        self.hub.do_send(Publish(Event::new(
            kind,
            Some(rec.schedule_id),
            crate::views::ErrorRecordView::from(rec),
        )));
        if rec.recovery_status == RecoveryStatus::Escalated {
            self.escalated(rec);
        } else if rec.recovery_status.is_final() {
            incidents::maybe_ended(&self.services, rec);
        }
    }

    fn escalated(&self, rec: &ErrorRecordRow) {
        metrics::counter!(crate::telemetry::ESCALATIONS).increment(1);
        self.hub.do_send(Publish(Event::new(
            EventKind::ErrorEscalated,
            Some(rec.schedule_id),
            crate::views::ErrorRecordView::from(rec),
        )));
        incidents::escalated(&self.services, rec);
    }
}

impl Actor for ErrorRecoveryActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let delay = std::mem::take(&mut self.restart_delay);
        if !delay.is_zero() {
            ctx.wait(actix::fut::wrap_future(tokio::time::sleep(delay)));
        }
        Ticker::load(self, ctx);
    }
}

impl Supervised for ErrorRecoveryActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.ticker.restarted();
        self.restart_delay = self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(ErrorRecoveryActor, ticker.running);

impl Handler<StopWork> for ErrorRecoveryActor {
    type Result = ResponseActFuture<Self, Result<(), DbError>>;

    fn handle(&mut self, _: StopWork, ctx: &mut Context<Self>) -> Self::Result {
        Ticker::stop(self, ctx)
    }
}

impl Ticking for ErrorRecoveryActor {
    const COMPONENT: Component = Component::ErrorRecovery;
    const LABEL: &'static str = "error recovery";

    fn ticker(&mut self) -> &mut Ticker {
        &mut self.ticker
    }

    fn services(&self) -> &Services {
        &self.services
    }

    fn pass(&mut self, ctx: &mut Context<Self>) {
        self.process_retries(ctx);
    }
}

impl Handler<ExecutionEnded> for ErrorRecoveryActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, msg: ExecutionEnded, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let (instance, execution) = (self.services.instance_id, self.execution.clone());
        let exec = msg.0;
        Box::pin(
            guard_future(async move {
                let now = clock::now();
                match exec.status {
                    ExecutionStatus::Failed => {
                        let payload = exec.chain_next.then(|| crate::views::chain_payload(&exec));
                        let on_failure = payload
                            .as_ref()
                            .map(|payload| error_records::OnFailure { payload, instance });
                        error_records::record_failure(&pool, &exec, now, jitter(), on_failure)
                            .await
                            .map(|r| {
                                r.map(|r| {
                                    if !r.chained.is_empty() {
                                        execution.do_send(RunExecutions(r.chained));
                                    }
                                    (r.record, r.created)
                                })
                            })
                    }
                    ExecutionStatus::Completed => error_records::record_retry_end(
                        &pool,
                        &exec,
                        error_records::RetryEnd::Succeeded,
                        now,
                    )
                    .await
                    .map(|r| r.map(|r| (r, false))),
                    ExecutionStatus::Cancelled => error_records::record_retry_end(
                        &pool,
                        &exec,
                        error_records::RetryEnd::Cancelled,
                        now,
                    )
                    .await
                    .map(|r| r.map(|r| (r, false))),
                    _ => Ok(None),
                }
                .map_err(|e| (exec.id, e))
            })
            .map(|res, act: &mut Self, ctx| match res {
                Some(Ok(Some((rec, created)))) => {
                    log::info!(
                        "error {}: error={} execution={} status={} severity={} attempts={}/{}",
                        if created { "recorded" } else { "updated" },
                        rec.id,
                        rec.last_execution_id,
                        rec.recovery_status,
                        rec.severity,
                        rec.attempts,
                        rec.max_attempts
                    );
                    act.announce(&rec, created);
                    match rec.recovery_status {
                        RecoveryStatus::RetryScheduled => Ticker::wake(act, ctx),
                        RecoveryStatus::Escalated | RecoveryStatus::Unresolved => {
                            auto_pause::check(&act.services, &act.hub, rec.schedule_id);
                        }
                        _ => {}
                    }
                }
                Some(Ok(None)) => {}
                // Not lost: orphan recovery re-examines failed executions without a record.
                Some(Err((id, e))) => log::error!("failure not recorded: execution={id} {e}"),
                None => {}
            }),
        )
    }
}

impl Handler<GetError> for ErrorRecoveryActor {
    type Result = ResponseFuture<Result<Option<ErrorDetail>, DbError>>;

    fn handle(&mut self, msg: GetError, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            let Some(rec) = error_records::get(&pool, msg.0).await? else {
                return Ok(None);
            };
            let attempts = error_records::attempts(&pool, &rec).await?;
            let history = error_records::history::of(&pool, rec.id).await?;
            Ok(Some((rec, attempts, history)))
        })
    }
}

impl Handler<ListErrors> for ErrorRecoveryActor {
    type Result = ResponseFuture<Result<crate::db::pagination::Page<ErrorRecordRow>, DbError>>;

    fn handle(&mut self, msg: ListErrors, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(
            async move { error_records::list(&pool, &msg.filter, msg.limit, msg.cursor).await },
        )
    }
}

impl Handler<ErrorCounts> for ErrorRecoveryActor {
    type Result = ResponseFuture<Result<Vec<(RecoveryStatus, Severity, i64)>, DbError>>;

    fn handle(&mut self, _: ErrorCounts, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move { error_records::counts(&pool).await })
    }
}
