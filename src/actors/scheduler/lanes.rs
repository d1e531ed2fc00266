//! Claiming a burst in lanes: one claim looks first; when it comes back full (more is due than
//! one claim takes), `scheduler.claim_lanes` claim loops run at once, each its own transaction
//! on its own connection. `FOR UPDATE SKIP LOCKED` gives them disjoint schedules and the fire
//! key keeps one execution per slot, so a lane never waits for another: while one commits,
//! another's rows are read and a third's executions start.

use actix::prelude::*;
use uuid::Uuid;

use super::messages::FireStats;
use crate::actors::execution::messages::{Load, Replaced, RunExecutions};
use crate::actors::execution::ExecutionActor;
use crate::actors::ws::audience::Audience;
use crate::actors::ws::hub::WsHub;
use crate::db::{fires, DbError, DbPool};
use crate::domain::clock;

/// Everything a lane needs (cheap to clone).
#[derive(Clone)]
pub(super) struct Claimer {
    pub pool: DbPool,
    pub instance: Uuid,
    pub leads: fires::Leads,
    pub threshold: chrono::Duration,
    /// Rows per claim.
    pub batch: i64,
    /// Claim loops in a burst (at least 1).
    pub lanes: usize,
    pub max_pending: usize,
    pub execution: Addr<ExecutionActor>,
    pub hub: Addr<WsHub>,
    pub audience: Audience,
}

/// What the lanes did together.
#[derive(Debug, Default)]
pub(super) struct Claimed {
    pub stats: FireStats,
    /// Executions waiting to start when claiming stopped for backpressure.
    pub backlog: Option<usize>,
}

/// One claim's outcome for its lane.
enum Step {
    /// As many rows as asked: more may be due.
    Full,
    /// Fewer: nothing more is due that this lane can lock.
    Short,
    /// The execution queue is full (`execution.max_pending`).
    Backlogged(usize),
}

impl Claimer {
    /// Claims every due fire (see the module docs).
    pub(super) async fn claim_all(&self) -> Result<Claimed, DbError> {
        let mut out = Claimed::default();
        match self.step(1, &mut out.stats).await? {
            Step::Full => {}
            Step::Short => return Ok(out),
            Step::Backlogged(n) => {
                out.backlog = Some(n);
                return Ok(out);
            }
        }
        let lanes = (0..self.lanes).map(|_| self.lane());
        for lane in futures_util::future::join_all(lanes).await {
            let (stats, backlog) = lane?;
            out.stats += stats;
            out.backlog = out.backlog.max(backlog);
        }
        Ok(out)
    }

    /// Claims until a claim comes back short or the queue is full.
    async fn lane(&self) -> Result<(FireStats, Option<usize>), DbError> {
        let mut stats = FireStats::default();
        loop {
            match self.step(self.lanes, &mut stats).await? {
                Step::Full => continue,
                Step::Short => return Ok((stats, None)),
                Step::Backlogged(n) => return Ok((stats, Some(n))),
            }
        }
    }

    /// One claim sized to the queue's room shared among `sharing` lanes, its executions handed
    /// to the ExecutionActor as soon as it commits.
    async fn step(&self, sharing: usize, stats: &mut FireStats) -> Result<Step, DbError> {
        // Backpressure: claim no more than the execution queue may still take.
        let waiting = self.execution.send(Load).await.map(|(q, _)| q).unwrap_or(0);
        if waiting >= self.max_pending {
            return Ok(Step::Backlogged(waiting));
        }
        let room = ((self.max_pending - waiting) / sharing).max(1);
        let limit = self.batch.min(room as i64);
        let report = fires::claim_due(
            &self.pool,
            self.instance,
            clock::now(),
            self.leads,
            limit,
            self.threshold,
        )
        .await?;
        *stats += FireStats {
            fired: report.executions.len() as u64,
            skipped_running: report.skipped_running as u64,
            skipped_misfire: report.skipped_misfire as u64,
        };
        // Replaced runs stop before the ones replacing them start.
        if !report.replaced.is_empty() {
            self.execution.do_send(Replaced(report.replaced));
        }
        let full = report.claimed as i64 >= limit;
        if !report.executions.is_empty() {
            self.execution.do_send(RunExecutions(report.executions));
        }
        super::announce_skipped(&self.hub, &self.audience, &report.skipped);
        Ok(if full { Step::Full } else { Step::Short })
    }
}
