//! One execution's life outside the actor's mailbox: pending → running → final, each state
//! persisted before its event is published.

use std::time::Duration;

use actix::prelude::*;
use chrono::Utc;
use tokio::sync::oneshot;

use super::messages::Ended;
use super::output::{Follower, FRAME_EVERY};
use super::report::Reporter;
use super::writer::{answer_of, finish_answer_of, StatusWriter};
use crate::db::executions::{ExecutionRow, Finish};
use crate::domain::clock;
use crate::domain::redact::{redact, redact_value};
use crate::domain::states::{ExecutionStatus, Trigger};
use crate::domain::task::TaskSpec;
use crate::executors::{self, ErrorType, Outcome, RunContext};
use crate::telemetry;

/// Attempts to persist a state while the database is unreachable (about a minute in all).
const WRITE_RETRIES: u32 = 30;
/// Longest wait for a fire claimed ahead of its time (a bound against clock oddities).
const MAX_EARLY: Duration = Duration::from_secs(5);

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500 * u64::from(attempt.min(4) + 1))
}

/// Everything a running execution needs.
pub(super) struct Job {
    pub writer: StatusWriter,
    /// Told when the task is over, before its final write (frees the concurrency slot).
    pub work_done: Recipient<super::messages::WorkDone>,
    /// This instance: the owner written with the running state.
    pub instance: uuid::Uuid,
    pub reporter: Reporter,
    pub run: RunContext,
    pub default_timeout: Duration,
    /// `execution.enabled_task_types`: stored tasks of other types fail instead of running.
    pub enabled_types: Vec<crate::domain::states::TaskType>,
    /// `scheduler.misfire_threshold_ms`, to tell fires from catch-ups for the lateness metric.
    pub misfire_threshold: chrono::Duration,
    /// For opening the secrets a task refers to, when it starts.
    pub pool: crate::db::DbPool,
    pub keyring: std::sync::Arc<crate::db::secrets::Keyring>,
    /// `execution.live_output`: a shell task's output goes out while it runs.
    pub live_output: bool,
}

impl Job {
    /// Runs `row` to its end.
    pub(super) async fn execute(self, row: ExecutionRow, cancel: oneshot::Receiver<()>) {
        let live = self.run.live.clone().filter(|_| self.live_output);
        let mut follower = live.map(|l| Follower::new(l, &self.reporter, &self.pool, &row));
        self.run_to_end(row, cancel, &mut follower).await;
        if let Some(f) = follower {
            f.forget().await;
        }
    }

    async fn run_to_end(
        &self,
        row: ExecutionRow,
        cancel: oneshot::Receiver<()>,
        follower: &mut Option<Follower>,
    ) {
        let id = row.id;
        // Fires are claimed ahead of their time (scheduler.claim_ahead_ms, prefetch_ms) so the
        // claim's commit is off the critical path: start exactly on time.
        if row.trigger.is_fire() {
            if let Ok(wait) = (row.scheduled_for - clock::now()).to_std() {
                tokio::time::sleep(wait.min(MAX_EARLY)).await;
            }
        }
        let started_at = clock::now();
        let task = TaskSpec::from_stored(row.task_type, &row.task_config);
        // The writer answers fences only; the rows for events are built from this one.
        let started_row = |fence: i64| ExecutionRow {
            status: ExecutionStatus::Running,
            started_at: Some(started_at),
            owner_instance: Some(self.instance),
            fence,
            ..row.clone()
        };
        // The running state is stored: its row, with the started event published.
        let announce = |fence: i64| {
            let row = started_row(fence);
            self.on_started(&row);
            row
        };
        let mut secrets = task.as_ref().map(TaskSpec::secrets).unwrap_or_default();

        // The task starts now; its running state is written alongside (batched with other
        // executions') and the started event goes out once that write is done. If the write
        // finds the execution no longer pending (cancelled, taken back), the task is stopped.
        let (abort_tx, abort_rx) = oneshot::channel::<()>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        actix::spawn(async move {
            tokio::select! {
                Ok(()) = cancel => {}
                Ok(()) = abort_rx => {}
                else => return,
            }
            let _ = stop_tx.send(());
        });
        let work = async {
            match &task {
                Ok(t) if !self.enabled_types.contains(&t.task_type()) => (
                    Outcome::failed(
                        ErrorType::Internal,
                        format!(
                            "task type `{}` is disabled on this server (execution.enabled_task_types)",
                            t.task_type()
                        ),
                    ),
                    vec![],
                ),
                // The opened secret values come back with the outcome, to be masked in it.
                Ok(t) => match super::prepare::prepared(t, &row, &self.pool, &self.keyring).await {
                    Ok((t, opened)) => {
                        if let Some(live) = &self.run.live {
                            live.set_secrets(opened.iter().filter(|v| v.len() >= 3).cloned().collect());
                        }
                        let mut run = self.run.clone();
                        run.timeout = t
                            .timeout_ms()
                            .map(Duration::from_millis)
                            .unwrap_or(self.default_timeout);
                        (executors::run(&t, &run, stop_rx).await, opened)
                    }
                    Err(failed) => (failed, vec![]),
                },
                Err(e) => (Outcome::failed(ErrorType::Internal, e.clone()), vec![]),
            }
        };
        tokio::pin!(work);
        let mut running = self.writer.mark_running(id, started_at);
        let mut answered: Option<Result<Option<ExecutionRow>, String>> = None;
        let mut abort = Some(abort_tx);
        // While the database is away the running write is retried alongside the task.
        let retry = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(retry);
        let (mut retry_armed, mut attempt) = (false, 0);
        let mut frames =
            tokio::time::interval_at(tokio::time::Instant::now() + FRAME_EVERY, FRAME_EVERY);
        frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (outcome, mut opened) = loop {
            tokio::select! {
                _ = frames.tick(), if follower.is_some() && answered.is_some() => {
                    if let Some(f) = follower.as_mut() {
                        f.tick();
                    }
                }
                r = &mut running, if answered.is_none() && !retry_armed => {
                    match r.unwrap_or_else(|_| Err("status writer dropped the request".into())) {
                        Ok(Some(fence)) => answered = Some(Ok(Some(announce(fence)))),
                        Ok(None) => {
                            log_not_started(id);
                            if let Some(tx) = abort.take() {
                                let _ = tx.send(());
                            }
                            answered = Some(Ok(None));
                        }
                        Err(e) => {
                            attempt += 1;
                            log::warn!("running state not saved yet (attempt {attempt}): execution={id} {e}");
                            retry.as_mut().reset(tokio::time::Instant::now() + backoff(attempt));
                            retry_armed = true;
                        }
                    }
                }
                () = &mut retry, if retry_armed => {
                    retry_armed = false;
                    running = self.writer.mark_running(id, started_at);
                }
                o = &mut work => break o,
            }
        };
        if retry_armed {
            answered = Some(Err("database unreachable".into()));
        }
        self.work_done.do_send(super::messages::WorkDone(id));
        // The last frames go out before the final state's event.
        if let Some(f) = follower.as_mut() {
            f.ended().await;
        }
        let mut finish = finish_of(outcome, started_at);
        opened.retain(|v| v.len() >= 3);
        secrets.extend(opened.iter().cloned());
        // The error text is logged here and by error recovery: keep env and header values out.
        finish.error = finish.error.map(|e| redact(&e, &secrets));
        // Secret values never reach storage, whatever the task printed or answered.
        if let Some(result) = finish.result.as_mut() {
            redact_value(result, &opened);
        }
        let finish = finish.cleaned();
        let started = match answered {
            Some(Ok(Some(row))) => row,
            Some(Ok(None)) => return,
            Some(Err(_)) => match self.retry_running(id, started_at, attempt).await {
                Some(fence) => announce(fence),
                None => return,
            },
            None => {
                // Done before the running write was answered (a fast task while the writer is
                // busy): the final state goes out now and the writer folds both into one write
                // when the running one is still queued. Events still go started → final.
                let done = self.writer.finish(id, None, finish.clone());
                match answer_of(running).await {
                    Ok(Some(fence)) => {
                        let row = announce(fence);
                        match finish_answer_of(done).await {
                            Ok(Some(stored)) => {
                                let finish = stored.replaced_by.unwrap_or(finish);
                                return self.reporter.ended(ended_row(row, finish), Ended::Ran);
                            }
                            Ok(None) => return log_fenced(id),
                            Err(_) => row,
                        }
                    }
                    Ok(None) => {
                        log_not_started(id);
                        return;
                    }
                    Err(e) => {
                        log::warn!("running state not saved yet: execution={id} {e}");
                        match self.retry_running(id, started_at, attempt + 1).await {
                            Some(fence) => announce(fence),
                            None => return,
                        }
                    }
                }
            }
        };
        self.persist(started, finish).await;
    }

    /// The running write again while the database is away: the fence, or None when the
    /// execution is no longer pending or the retries ran out (orphan recovery records it then).
    /// The caller publishes the started event.
    async fn retry_running(
        &self,
        id: uuid::Uuid,
        started_at: chrono::DateTime<Utc>,
        tried: u32,
    ) -> Option<i64> {
        for attempt in tried..=WRITE_RETRIES {
            tokio::time::sleep(backoff(attempt)).await;
            match answer_of(self.writer.mark_running(id, started_at)).await {
                Ok(Some(fence)) => return Some(fence),
                Ok(None) => {
                    log_not_started(id);
                    return None;
                }
                Err(e) => log::warn!(
                    "running state not saved yet (attempt {}): execution={id} {e}",
                    attempt + 1
                ),
            }
        }
        log::error!("running state lost after {WRITE_RETRIES} retries: execution={id}; it stays pending and is reloaded when the database is back");
        None
    }

    fn on_started(&self, started: &ExecutionRow) {
        log::info!(
            "execution started: execution={} schedule={} trigger={} attempt={}",
            started.id,
            started.schedule_id,
            started.trigger,
            started.attempt
        );
        self.reporter.started(started);
        // Lateness of fires only: a catch-up, or a one-time schedule created with a past runAt,
        // was never meant to start at its scheduledFor.
        let fired_on_time_slot =
            started.created_at - started.scheduled_for < self.misfire_threshold;
        if started.trigger == Trigger::Schedule && fired_on_time_slot {
            if let Some(at) = started.started_at {
                let late = (at - started.scheduled_for)
                    .num_microseconds()
                    .unwrap_or(0)
                    .max(0);
                metrics::histogram!(telemetry::FIRING_LATENESS).record(late as f64 / 1e6);
            }
        }
        if started.trigger == Trigger::Retry {
            metrics::counter!(telemetry::RETRIES).increment(1);
        }
    }

    async fn persist(&self, started: ExecutionRow, finish: Finish) {
        let id = started.id;
        for attempt in 0..=WRITE_RETRIES {
            let written = self.writer.finish(id, Some(started.fence), finish.clone());
            match finish_answer_of(written).await {
                Ok(Some(stored)) => {
                    let finish = stored.replaced_by.unwrap_or(finish);
                    return self.reporter.ended(ended_row(started, finish), Ended::Ran);
                }
                Ok(None) => return log_fenced(id),
                Err(e) => {
                    log::warn!(
                        "execution result not saved yet (attempt {}): execution={id} {e}",
                        attempt + 1
                    );
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
        log::error!("execution result lost after {WRITE_RETRIES} retries: execution={id}; orphan recovery will record it");
    }
}

/// The row as stored by a final write over `started` (both moved in: no copy of the task or
/// the result).
fn ended_row(started: ExecutionRow, f: Finish) -> ExecutionRow {
    ExecutionRow {
        status: f.status,
        finished_at: Some(f.finished_at),
        duration_ms: f.duration_ms,
        result: f.result,
        error: f.error,
        error_type: f.error_type,
        conductor_thread_id: f.conductor_thread_id,
        conductor_status: f.conductor_status,
        ..started
    }
}

/// The running write found the row no longer pending: cancelled or taken back before it began.
fn log_not_started(id: uuid::Uuid) {
    log::info!("execution not started (no longer pending): execution={id}");
}

/// Fenced: cancelled or recovered as interrupted by someone else meanwhile.
fn log_fenced(id: uuid::Uuid) {
    log::info!("late execution result ignored (execution was taken over): execution={id}");
}

fn finish_of(outcome: Outcome, started_at: chrono::DateTime<Utc>) -> Finish {
    let now = clock::now();
    let duration_ms = Some((now - started_at).num_milliseconds().max(0));
    let split = |c: Option<(String, String)>| match c {
        Some((t, s)) => (Some(t), Some(s)),
        None => (None, None),
    };
    match outcome {
        Outcome::Completed { result, conductor } => {
            let (thread, status) = split(conductor);
            Finish {
                status: ExecutionStatus::Completed,
                result: Some(result),
                error: None,
                error_type: None,
                conductor_thread_id: thread,
                conductor_status: status,
                finished_at: now,
                duration_ms,
            }
        }
        Outcome::Failed {
            error_type,
            message,
            result,
            conductor,
        } => {
            let (thread, status) = split(conductor);
            Finish {
                status: ExecutionStatus::Failed,
                result,
                error: Some(message),
                error_type: Some(error_type),
                conductor_thread_id: thread,
                conductor_status: status,
                finished_at: now,
                duration_ms,
            }
        }
        Outcome::Cancelled { result } => Finish {
            status: ExecutionStatus::Cancelled,
            result,
            error: Some("cancelled by request".into()),
            error_type: None,
            conductor_thread_id: None,
            conductor_status: None,
            finished_at: now,
            duration_ms,
        },
    }
}
