//! One execution's life outside the actor's mailbox: pending → running → final, each state
//! persisted before its event is published.

use std::time::Duration;

use actix::prelude::*;
use chrono::Utc;
use tokio::sync::oneshot;

use super::messages::ExecutionEnded;
use super::writer::StatusWriter;
use crate::actors::ws::hub::{Publish, WsHub};
use crate::db::executions::{ExecutionRow, Finish};
use crate::domain::clock;
use crate::domain::event::{Event, EventKind};
use crate::domain::task::{redact, TaskSpec};
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
pub struct Job {
    pub writer: StatusWriter,
    pub hub: Addr<WsHub>,
    pub failure_sink: Option<Recipient<ExecutionEnded>>,
    pub run: RunContext,
    pub default_timeout: Duration,
    /// `execution.enabled_task_types`: stored tasks of other types fail instead of running.
    pub enabled_types: Vec<String>,
    /// `scheduler.misfire_threshold_ms`, to tell fires from catch-ups for the lateness metric.
    pub misfire_threshold: chrono::Duration,
}

impl Job {
    /// Runs `row` to its end.
    pub async fn execute(self, row: ExecutionRow, cancel: oneshot::Receiver<()>) {
        let id = row.id;
        // Fires are claimed a little ahead of their time (scheduler.claim_ahead_ms) so the
        // claim's commit is off the critical path: start exactly on time.
        if matches!(row.trigger.as_str(), "schedule" | "catch_up") {
            if let Ok(wait) = (row.scheduled_for - Utc::now()).to_std() {
                tokio::time::sleep(wait.min(MAX_EARLY)).await;
            }
        }
        let started_at = clock::now();
        let task = TaskSpec::from_stored(&row.task_type, &row.task_config);
        let secrets = task.as_ref().map(TaskSpec::secrets).unwrap_or_default();

        // The task starts now; its running state is written alongside (batched with other
        // executions') and the started event goes out once that write is done. If the write
        // finds the execution no longer pending (cancelled, taken over), the task is stopped.
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
        let running = async {
            let mut abort = Some(abort_tx);
            for attempt in 0..=WRITE_RETRIES {
                match self.writer.mark_running(id, started_at).await {
                    Ok(Some(r)) => {
                        self.on_started(&r);
                        return Some(r);
                    }
                    Ok(None) => {
                        log::info!("execution not started (no longer pending): execution={id}");
                        break;
                    }
                    Err(e) => {
                        log::warn!(
                            "running state not saved yet (attempt {}): execution={id} {e}",
                            attempt + 1
                        );
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                }
            }
            if let Some(tx) = abort.take() {
                let _ = tx.send(());
            }
            None
        };
        let work = async {
            match &task {
                Ok(t) if !self.enabled_types.iter().any(|x| x == t.type_name()) => Outcome::failed(
                    ErrorType::Internal,
                    format!(
                        "task type `{}` is disabled on this server (execution.enabled_task_types)",
                        t.type_name()
                    ),
                ),
                Ok(t) => {
                    let mut run = self.run.clone();
                    run.timeout = t
                        .timeout_ms()
                        .map(Duration::from_millis)
                        .unwrap_or(self.default_timeout);
                    executors::run(t, &run, stop_rx).await
                }
                Err(e) => Outcome::failed(ErrorType::Internal, e.clone()),
            }
        };
        let (started, outcome) = futures_util::join!(running, work);
        let Some(started) = started else { return };
        let mut finish = finish_of(outcome, &started);
        // The error text is logged here and by error recovery: keep env and header values out.
        finish.error = finish.error.map(|e| redact(&e, &secrets));
        self.persist(&started, finish).await;
    }

    fn on_started(&self, started: &ExecutionRow) {
        log::info!(
            "execution started: execution={} schedule={} trigger={} attempt={}",
            started.id,
            started.schedule_id,
            started.trigger,
            started.attempt
        );
        self.publish(EventKind::ExecutionStarted, started);
        // Lateness of fires only: a catch-up, or a one-time schedule created with a past runAt,
        // was never meant to start at its scheduledFor.
        let fired_on_time_slot =
            started.created_at - started.scheduled_for < self.misfire_threshold;
        if started.trigger == "schedule" && fired_on_time_slot {
            if let Some(at) = started.started_at {
                let late = (at - started.scheduled_for)
                    .num_microseconds()
                    .unwrap_or(0)
                    .max(0);
                metrics::histogram!(telemetry::FIRING_LATENESS).record(late as f64 / 1e6);
            }
        }
        if started.trigger == "retry" {
            metrics::counter!(telemetry::RETRIES).increment(1);
        }
    }

    async fn persist(&self, started: &ExecutionRow, finish: Finish) {
        let id = started.id;
        for attempt in 0..=WRITE_RETRIES {
            match self.writer.finish(id, started.fence, finish.clone()).await {
                Ok(Some(row)) => {
                    log::info!(
                        "execution {}: execution={id} schedule={} duration_ms={}{}",
                        row.status,
                        row.schedule_id,
                        row.duration_ms.unwrap_or(0),
                        row.error
                            .as_deref()
                            .map(|e| format!(
                                " error_type={} error={e}",
                                row.error_type.as_deref().unwrap_or("-")
                            ))
                            .unwrap_or_default()
                    );
                    metrics::counter!(telemetry::EXECUTIONS, "task_type" => row.task_type.clone(), "status" => row.status.clone()).increment(1);
                    if let Some(ms) = row.duration_ms {
                        metrics::histogram!(telemetry::EXECUTION_DURATION, "task_type" => row.task_type.clone()).record(ms as f64 / 1e3);
                    }
                    let kind = match row.status.as_str() {
                        "completed" => EventKind::ExecutionCompleted,
                        "cancelled" => EventKind::ExecutionCancelled,
                        _ => EventKind::ExecutionFailed,
                    };
                    self.publish(kind, &row);
                    if row.status == "failed" || row.error_record_id.is_some() {
                        if let Some(sink) = &self.failure_sink {
                            sink.do_send(ExecutionEnded(row));
                        }
                    }
                    return;
                }
                Ok(None) => {
                    // Fenced: cancelled or recovered as interrupted by someone else meanwhile.
                    log::info!(
                        "late execution result ignored (execution was taken over): execution={id}"
                    );
                    return;
                }
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

    fn publish(&self, kind: EventKind, row: &ExecutionRow) {
        self.hub
            .do_send(Publish(Event::new(kind, Some(row.schedule_id), row.view())));
    }
}

fn finish_of(outcome: Outcome, started: &ExecutionRow) -> Finish {
    let now = clock::now();
    let duration_ms = started
        .started_at
        .map(|s| (now - s).num_milliseconds().max(0));
    let split = |c: Option<(String, String)>| match c {
        Some((t, s)) => (Some(t), Some(s)),
        None => (None, None),
    };
    match outcome {
        Outcome::Completed { result, conductor } => {
            let (thread, status) = split(conductor);
            Finish {
                status: "completed",
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
                status: "failed",
                result,
                error: Some(message),
                error_type: Some(error_type.as_str()),
                conductor_thread_id: thread,
                conductor_status: status,
                finished_at: now,
                duration_ms,
            }
        }
        Outcome::Cancelled { result } => Finish {
            status: "cancelled",
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
