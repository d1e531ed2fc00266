//! Live output of a running shell task: what its job does while the task runs (every 100 ms one
//! `execution_output` frame of what it printed since, when anyone listens; about once a second
//! a copy in PostgreSQL for other instances) and what the actor answers about it.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::time::Instant;
use uuid::Uuid;

use super::messages::GetOutput;
use super::report::Reporter;
use super::ExecutionActor;
use crate::db::executions::ExecutionRow;
use crate::db::{DbError, DbPool};
use crate::domain::live_output::{OutputStream, Snapshot};
use crate::executors::capture::LiveOutput;
use crate::views::OutputFrame;

/// At most one frame per execution this often.
pub(super) const FRAME_EVERY: Duration = Duration::from_millis(100);
/// The copy other instances read is refreshed this often (when the output changed).
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// Follows one run's output; see the module docs.
pub(super) struct Follower {
    live: Arc<LiveOutput>,
    reporter: Reporter,
    pool: DbPool,
    execution: Uuid,
    schedule: Uuid,
    seq: u64,
    /// Bytes of text sent out (or passed over) per stream: the next frame's `offset`.
    sent: [usize; 2],
    /// Which stream goes first next time (the two take turns when both have news).
    first: OutputStream,
    last_frame: Option<Instant>,
    /// A period passed while the task ran (a shorter run shows its output in its final event).
    ticked: bool,
    /// `changes` of the output when the last frame was considered, and whether that one sent
    /// something (the other stream may still have news).
    seen: u64,
    more: bool,
    last_save: Instant,
    /// `changes` of the output in the stored copy (None: no copy stored).
    saved: Option<u64>,
    saving: Option<tokio::task::JoinHandle<()>>,
}

impl Follower {
    /// Follows `live`, the output of `row`.
    pub(super) fn new(
        live: Arc<LiveOutput>,
        reporter: &Reporter,
        pool: &DbPool,
        row: &ExecutionRow,
    ) -> Follower {
        Follower {
            live,
            reporter: reporter.clone(),
            pool: pool.clone(),
            execution: row.id,
            schedule: row.schedule_id,
            seq: 0,
            sent: [0, 0],
            first: OutputStream::Stdout,
            last_frame: None,
            ticked: false,
            seen: 0,
            more: false,
            last_save: Instant::now(),
            saved: None,
            saving: None,
        }
    }

    /// While the task runs: a frame of what is new, and now and then the stored copy.
    pub(super) fn tick(&mut self) {
        self.ticked = true;
        let changes = self.live.changes();
        if changes != self.seen || self.more {
            self.seen = changes;
            self.more = self.frame(false);
        }
        let busy = self.saving.as_ref().is_some_and(|h| !h.is_finished());
        if self.last_save.elapsed() >= SAVE_EVERY && !busy {
            self.last_save = Instant::now();
            if self.saved.unwrap_or(0) != changes {
                let (pool, id, copy) = (self.pool.clone(), self.execution, self.live.snapshot());
                self.saved = Some(changes);
                self.saving = Some(tokio::spawn(async move {
                    let at = crate::domain::clock::now();
                    if let Err(e) = crate::db::execution_output::save(&pool, id, &copy, at).await {
                        log::debug!("live output not stored: execution={id} {e}");
                    }
                }));
            }
        }
    }

    /// The task is over: the rest goes out, still one frame per [`FRAME_EVERY`], unless the
    /// run was shorter than one period (its final event shows its output).
    pub(super) async fn ended(&mut self) {
        if !self.ticked {
            return;
        }
        while self.live.pending() && self.reporter.has_audience() {
            if let Some(at) = self.last_frame {
                tokio::time::sleep_until(at + FRAME_EVERY).await;
            }
            if !self.frame(true) {
                break;
            }
        }
    }

    /// The final state is stored: the copy for other instances is not needed any more.
    pub(super) async fn forget(self) {
        if self.saved.is_none() {
            return;
        }
        if let Some(h) = self.saving {
            let _ = h.await;
        }
        if let Err(e) = crate::db::execution_output::forget(&self.pool, self.execution).await {
            log::debug!(
                "stored live output not removed: execution={} {e}",
                self.execution
            );
        }
    }

    /// Sends what is new on one stream; answers whether a frame went out. With nobody
    /// listening, the news is passed over (a late subscriber reads the rest from `/output`).
    fn frame(&mut self, ended: bool) -> bool {
        let Some((stream, chunk)) = self.live.next_piece(self.first, ended) else {
            return false;
        };
        self.first = stream.other();
        let sent = &mut self.sent[stream.index()];
        let offset = *sent;
        *sent += chunk.len();
        if !self.reporter.has_audience() {
            return false;
        }
        self.seq += 1;
        self.last_frame = Some(Instant::now());
        let frame = OutputFrame {
            execution_id: self.execution,
            stream,
            seq: self.seq,
            offset,
            chunk: &chunk,
        };
        self.reporter.output(self.schedule, &frame);
        true
    }
}

impl Handler<GetOutput> for ExecutionActor {
    type Result = ResponseFuture<Result<Option<(Snapshot, bool)>, DbError>>;

    /// Running here: straight from its capture. Elsewhere: the copy its instance stores while
    /// it runs, or, once it ended, its result.
    fn handle(&mut self, msg: GetOutput, _: &mut Context<Self>) -> Self::Result {
        let here = self.running.get(&msg.0).and_then(|r| r.live.as_ref());
        if let Some(live) = here {
            let now = live.snapshot();
            return Box::pin(async move { Ok(Some((now, true))) });
        }
        let (pool, id) = (self.services.pool.clone(), msg.0);
        Box::pin(async move {
            let Some(row) = crate::db::executions::get(&pool, id).await? else {
                return Ok(None);
            };
            if row.status.is_final() {
                return Ok(Some((Snapshot::of_result(row.result.as_ref()), false)));
            }
            let stored = crate::db::execution_output::get(&pool, id).await?;
            Ok(Some((stored.unwrap_or_default(), true)))
        })
    }
}
