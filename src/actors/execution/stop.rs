//! Ending runs early: a cancel by request, the interrupt at shutdown (after the grace period)
//! and the abandon when another instance has taken this one's work over.

use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::messages::*;
use super::ExecutionActor;
use crate::db::executions::{self, ExecutionRow};
use crate::db::DbError;
use crate::domain::clock;

impl Handler<CancelExecution> for ExecutionActor {
    type Result = ResponseActFuture<Self, Result<ExecutionRow, CancelError>>;

    fn handle(&mut self, msg: CancelExecution, _: &mut Context<Self>) -> Self::Result {
        let id = msg.0;
        let pool = self.services.pool.clone();
        let reporter = self.reporter.clone();
        // Running here: signal it and wait until its final state is persisted.
        if let Some(r) = self.running.get_mut(&id) {
            if let Some(tx) = r.cancel.take() {
                let _ = tx.send(());
            }
            let (tx, rx) = oneshot::channel();
            r.waiters.push(tx);
            return Box::pin(actix::fut::wrap_future(async move {
                let _ = tokio::time::timeout(Duration::from_secs(30), rx).await;
                let row = executions::get(&pool, id)
                    .await?
                    .ok_or(CancelError::NotFound(id))?;
                match row.status {
                    crate::domain::states::ExecutionStatus::Cancelled => Ok(row),
                    _ => Err(CancelError::Finished {
                        id,
                        status: row.status,
                    }),
                }
            }));
        }
        // Queued here, or pending/running elsewhere: a conditional update decides.
        self.queue.retain(|q| q.id != id);
        self.queued.remove(&id);
        Box::pin(actix::fut::wrap_future(async move {
            match executions::cancel(&pool, id, clock::now()).await? {
                Some(row) => {
                    reporter.ended(row.clone(), Ended::CancelledByRequest);
                    Ok(row)
                }
                None => match executions::get(&pool, id).await? {
                    None => Err(CancelError::NotFound(id)),
                    Some(row) => Err(CancelError::Finished {
                        id,
                        status: row.status,
                    }),
                },
            }
        }))
    }
}

impl Handler<Replaced> for ExecutionActor {
    type Result = ();

    fn handle(&mut self, msg: Replaced, _: &mut Context<Self>) {
        for row in msg.0 {
            self.stop_ended(row.id);
            self.reporter.ended(row, Ended::Replaced);
        }
    }
}

impl ExecutionActor {
    /// An execution whose row is already final (cancelled elsewhere, replaced): its task is
    /// stopped if it runs here, and it leaves the queue.
    pub(super) fn stop_ended(&mut self, id: uuid::Uuid) {
        if let Some(r) = self.running.get_mut(&id) {
            if let Some(tx) = r.cancel.take() {
                log::info!("execution ended elsewhere, stopping its task: execution={id}");
                let _ = tx.send(());
            }
        }
        if self.queued.remove(&id) {
            self.queue.retain(|q| q.id != id);
        }
    }
}

impl Handler<StopLaunching> for ExecutionActor {
    type Result = ();

    fn handle(&mut self, _: StopLaunching, _: &mut Context<Self>) {
        self.draining = true;
    }
}

impl Handler<InterruptAll> for ExecutionActor {
    type Result = ResponseActFuture<Self, Result<usize, DbError>>;

    fn handle(&mut self, _: InterruptAll, _: &mut Context<Self>) -> Self::Result {
        self.draining = true;
        self.queue.clear();
        self.queued.clear();
        let pool = self.services.pool.clone();
        let me = self.services.instance_id;
        let launched: Vec<_> = self.running.keys().copied().collect();
        Box::pin(
            actix::fut::wrap_future(async move {
                crate::db::orphans::interrupt_own(&pool, me, &launched, clock::now()).await
            })
            .then(|res, act: &mut Self, _| {
                // The rows are fenced first, so the killed tasks' own results are ignored.
                for r in act.running.values_mut() {
                    if let Some(tx) = r.cancel.take() {
                        let _ = tx.send(());
                    }
                }
                let reporter = act.reporter.clone();
                actix::fut::wrap_future(async move {
                    let rows = res?;
                    let n = rows.len();
                    for row in rows {
                        reporter.ended_and_recorded(row, Ended::Shutdown).await;
                    }
                    Ok(n)
                })
            }),
        )
    }
}

impl Handler<AbandonAll> for ExecutionActor {
    type Result = ();

    fn handle(&mut self, _: AbandonAll, _: &mut Context<Self>) {
        let (queued, running) = (self.queued.len(), self.running.len());
        self.queue.clear();
        self.queued.clear();
        for r in self.running.values_mut() {
            if let Some(tx) = r.cancel.take() {
                let _ = tx.send(());
            }
        }
        log::warn!("executions abandoned (taken over by another instance): queued={queued} running={running}");
    }
}
