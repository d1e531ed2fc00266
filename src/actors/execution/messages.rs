//! Messages the ExecutionActor answers.

use actix::prelude::*;
use uuid::Uuid;

use crate::db::executions::{ExecutionRow, ListFilter, NewExecution};
use crate::db::pagination::{Cursor, Page};
use crate::db::DbError;

/// Runs executions the scheduler already inserted (pending, owned by this instance).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RunExecutions(pub Vec<ExecutionRow>);

/// Inserts one execution (manual trigger, retry) and runs it; answers the pending row.
#[derive(Message)]
#[rtype(result = "Result<ExecutionRow, DbError>")]
pub struct StartExecution(pub NewExecution);

/// Cancels a pending or running execution; answers the cancelled row.
#[derive(Message)]
#[rtype(result = "Result<ExecutionRow, CancelError>")]
pub struct CancelExecution(pub Uuid);

/// Why a cancel was refused.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("execution {0} not found")]
    NotFound(Uuid),
    #[error(
        "execution {id} is already {status}; only pending or running executions can be cancelled"
    )]
    Finished {
        id: Uuid,
        status: crate::domain::states::ExecutionStatus,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Reads one execution.
#[derive(Message)]
#[rtype(result = "Result<Option<ExecutionRow>, DbError>")]
pub struct GetExecution(pub Uuid);

/// What an execution printed so far, and whether it still runs (None: no such execution).
#[derive(Message)]
#[rtype(result = "Result<Option<(crate::domain::live_output::Snapshot, bool)>, DbError>")]
pub struct GetOutput(pub Uuid);

/// Reads a page of executions.
#[derive(Message)]
#[rtype(result = "Result<Page<ExecutionRow>, DbError>")]
pub struct ListExecutions {
    pub filter: ListFilter,
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

/// An execution that failed, or that ended a retry chain: error recovery's input.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct ExecutionEnded(pub ExecutionRow);

/// Where ended executions are reported (wired after both actors start).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetFailureSink(pub Recipient<ExecutionEnded>);

/// Where completed runs with an `onSuccess` chain go (wired after the scheduler starts).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetChainSink(pub Recipient<crate::actors::scheduler::messages::ChainCompleted>);

/// Executions waiting to start here (queued, or claimed ahead of their time) and running.
#[derive(Message)]
#[rtype(result = "(usize, usize)")]
pub struct Load;

/// Internal: a launched execution ended (its final state is persisted).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Finished(pub Uuid);

/// Internal: a launched execution's task is over (its final state may still be being written);
/// its concurrency slot is free, so the next task starts while the last results are stored.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct WorkDone(pub Uuid);

/// Shutdown: start nothing new; queued executions stay pending.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopLaunching;

/// Shutdown, grace period over: fail this instance's unfinished executions as `interrupted`
/// (fenced), kill their processes, and announce them; answers once error recovery has recorded
/// them, with how many there were.
#[derive(Message)]
#[rtype(result = "Result<usize, DbError>")]
pub struct InterruptAll;

/// Final states someone else stored (the takeover of a dead instance's runs, failures found
/// without an error record): announced and handed on like the runs that end here.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReportEnded {
    pub rows: Vec<ExecutionRow>,
    pub why: Ended,
}

/// Why an execution's final state was written, and by whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Its task ran here and its result was stored.
    Ran,
    /// Cancelled by request before it ran here (queued, or pending/running elsewhere).
    CancelledByRequest,
    /// Cancelled by a newer fire of its schedule (`concurrencyPolicy: replace`).
    Replaced,
    /// Running in the database with no task of this instance behind it.
    Settled,
    /// This instance shut down before it finished.
    Shutdown,
    /// The instance that ran it died; taken over here.
    InstanceDied,
    /// Ended earlier but its failure never reached error recovery: recorded now, not
    /// announced again.
    Unrecorded,
    /// Completed earlier but its `onSuccess` chain was not started: started now, not
    /// announced again.
    Unchained,
}

/// Runs cancelled (already stored) by `concurrencyPolicy: replace`: stop their tasks if they
/// run here, drop them from the queue, and announce them. Sent before the replacing runs.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Replaced(pub Vec<ExecutionRow>);

/// This instance was declared dead and its executions taken over: drop the queue and stop the
/// running tasks (their rows are already failed and fenced, so nothing they write counts).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AbandonAll;

/// Dashboard figures.
#[derive(Message)]
#[rtype(result = "Result<crate::db::execution_stats::Stats, DbError>")]
pub struct GetStats;
