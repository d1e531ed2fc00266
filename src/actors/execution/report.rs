//! The one place where "an execution ended" is announced. Whoever stored the final state (the
//! job that ran it, a cancel of a queued run, the shutdown that interrupts what is left, the
//! takeover of a dead instance's runs, the settle pass) hands the stored row here with the
//! reason; the reporter writes the log line, counts it, publishes its event and hands failures
//! (and the ends of retry chains) to error recovery.

use actix::prelude::*;
use uuid::Uuid;

use super::messages::{Ended, ExecutionEnded};
use crate::actors::scheduler::messages::ChainCompleted;
use crate::actors::ws::audience::Audience;
use crate::actors::ws::hub::WsHub;
use crate::actors::ws::messages::Publish;
use crate::db::executions::ExecutionRow;
use crate::domain::event::{Event, EventKind};
use crate::domain::states::ExecutionStatus;
use crate::telemetry;

impl Ended {
    /// Interruptions are warnings; a run that ended by itself, or on request, is news.
    fn is_interruption(self) -> bool {
        matches!(self, Ended::Settled | Ended::Shutdown | Ended::InstanceDied)
    }

    fn why(self) -> &'static str {
        match self {
            Ended::Ran => "",
            Ended::CancelledByRequest => " (by request)",
            Ended::Replaced => " (replaced by a newer run)",
            Ended::Settled => " (running, but no task of this instance behind it)",
            Ended::Shutdown => " (this instance shut down)",
            Ended::InstanceDied => " (its instance died)",
            Ended::Unrecorded => " (its failure had no error record; recording it)",
            Ended::Unchained => " (its onSuccess chain was not started; starting it)",
        }
    }
}

/// See the module docs. Cheap to clone: each running job holds one.
#[derive(Clone)]
pub struct Reporter {
    hub: Addr<WsHub>,
    audience: Audience,
    recovery: Option<Recipient<ExecutionEnded>>,
    chains: Option<Recipient<ChainCompleted>>,
}

impl Reporter {
    /// Announces to `hub`; failures go nowhere until [`Reporter::set_recovery`].
    pub fn new(hub: Addr<WsHub>, audience: Audience) -> Self {
        Reporter {
            hub,
            audience,
            recovery: None,
            chains: None,
        }
    }

    /// Where failures are handed (wired once both actors run).
    pub fn set_recovery(&mut self, recovery: Recipient<ExecutionEnded>) {
        self.recovery = Some(recovery);
    }

    /// Where completed runs with an `onSuccess` chain are handed (wired once both run).
    pub fn set_chains(&mut self, chains: Recipient<ChainCompleted>) {
        self.chains = Some(chains);
    }

    /// The running state is stored.
    pub fn started(&self, row: &ExecutionRow) {
        self.publish(EventKind::ExecutionStarted, row);
    }

    /// A final state is stored: announced, and failures handed to error recovery.
    pub fn ended(&self, row: ExecutionRow, why: Ended) {
        self.chain(&row);
        if let Some(recovery) = self.announce(&row, why) {
            recovery.do_send(ExecutionEnded(row));
        }
    }

    /// A completed run whose schedule had an `onSuccess` chain starts it.
    fn chain(&self, row: &ExecutionRow) {
        if !(row.chain_next && row.status == ExecutionStatus::Completed) {
            return;
        }
        match &self.chains {
            Some(chains) => chains.do_send(ChainCompleted(row.clone())),
            None => log::warn!(
                "no chain handler wired; chain left to the orphan scan: execution={}",
                row.id
            ),
        }
    }

    /// As [`Reporter::ended`], but waits until error recovery has recorded the failure (at
    /// shutdown, before the pool closes).
    pub async fn ended_and_recorded(&self, row: ExecutionRow, why: Ended) {
        let id = row.id;
        self.chain(&row);
        if let Some(recovery) = self.announce(&row, why) {
            if let Err(e) = recovery.send(ExecutionEnded(row)).await {
                log::warn!("ended execution not handed to error recovery: execution={id} {e}");
            }
        }
    }

    /// Logs, counts and publishes; answers where the row must go next, if anywhere.
    fn announce(&self, row: &ExecutionRow, why: Ended) -> Option<&Recipient<ExecutionEnded>> {
        let again = matches!(why, Ended::Unrecorded | Ended::Unchained);
        let level = if why.is_interruption() || again {
            log::Level::Warn
        } else {
            log::Level::Info
        };
        // The line is built only when it is written: a burst writes thousands.
        if log::log_enabled!(level) {
            log::log!(level, "{}", log_line(row, why));
        }
        if !again {
            count(row);
            self.publish(event_kind(row.status), row);
        }
        let to_recovery = why != Ended::Unchained
            && (row.status == ExecutionStatus::Failed || row.error_record_id.is_some());
        let recovery = self.recovery.as_ref().filter(|_| to_recovery);
        if to_recovery && recovery.is_none() {
            log::warn!(
                "no error recovery wired; failure left to the orphan scan: execution={}",
                row.id
            );
        }
        recovery
    }

    fn publish(&self, kind: EventKind, row: &ExecutionRow) {
        // Nobody would receive it: no session here and no other instance.
        if !self.audience.anyone() {
            return;
        }
        self.hub.do_send(Publish(
            Event::new(
                kind,
                Some(row.schedule_id),
                crate::views::ExecutionView::from(row),
            )
            .of_execution(row.id),
        ));
    }

    /// True when an event published now could reach someone.
    pub fn has_audience(&self) -> bool {
        self.audience.anyone()
    }

    /// A piece of a running task's output.
    pub fn output(&self, schedule: Uuid, frame: &crate::views::OutputFrame<'_>) {
        let execution = frame.execution_id;
        self.hub.do_send(Publish(
            Event::new(EventKind::ExecutionOutput, Some(schedule), frame).of_execution(execution),
        ));
    }
}

fn event_kind(status: ExecutionStatus) -> EventKind {
    match status {
        ExecutionStatus::Completed => EventKind::ExecutionCompleted,
        ExecutionStatus::Cancelled => EventKind::ExecutionCancelled,
        _ => EventKind::ExecutionFailed,
    }
}

fn count(row: &ExecutionRow) {
    metrics::counter!(telemetry::EXECUTIONS, "task_type" => row.task_type.as_str(), "status" => row.status.as_str()).increment(1);
    if let Some(ms) = row.duration_ms {
        metrics::histogram!(telemetry::EXECUTION_DURATION, "task_type" => row.task_type.as_str())
            .record(ms as f64 / 1e3);
    }
}

/// One line per ended execution, with its ids and, for failures, the error.
fn log_line(row: &ExecutionRow, why: Ended) -> String {
    let error = row
        .error
        .as_deref()
        .map(|e| {
            let kind = row.error_type.map(|t| t.as_str()).unwrap_or("-");
            format!(" error_type={kind} error={e}")
        })
        .unwrap_or_default();
    format!(
        "execution {}{}: execution={} schedule={} duration_ms={}{error}",
        row.status,
        why.why(),
        row.id,
        row.schedule_id,
        row.duration_ms.unwrap_or(0),
    )
}
