//! The ExecutionActor's status writer: running jobs hand their state changes to it and await
//! the stored row; it writes whatever arrived together in one statement per kind (see
//! `db::status_batch`). Under load this turns thousands of commits into a few dozen, and a fast
//! task, whose final state comes within [`RUNNING_GRACE`] of its running one, costs one row write
//! instead of two.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::time::Instant;
use uuid::Uuid;

use crate::db::executions::Finish;
use crate::db::status_batch::{self, FinishItem, Written};
use crate::db::{DbError, DbPool};
use crate::domain::states::{ErrorType, ExecutionStatus};

/// Most changes written by one statement.
const MAX_BATCH: usize = 1_000;

/// What a request answers: the row's fence after the write, None when its condition no longer
/// held, or why the write failed.
pub type Answer = Result<Option<i64>, String>;
type Reply = oneshot::Sender<Answer>;
/// Where an answer arrives.
pub type Pending = oneshot::Receiver<Answer>;

/// A stored final state: the fence, and the state actually stored when the one asked for could
/// not be (see [`fallback`]).
#[derive(Debug, Clone)]
pub struct Stored {
    pub fence: i64,
    pub replaced_by: Option<Finish>,
}

/// What a final write answers.
pub type FinishAnswer = Result<Option<Stored>, String>;
type FinishReply = oneshot::Sender<FinishAnswer>;
/// Where a final write's answer arrives.
pub type PendingFinish = oneshot::Receiver<FinishAnswer>;

enum Request {
    Running {
        id: Uuid,
        at: DateTime<Utc>,
        reply: Reply,
    },
    Finish {
        item: FinishItem,
        reply: FinishReply,
    },
}

/// A handle to the writer task (cheap to clone).
#[derive(Clone)]
pub struct StatusWriter {
    tx: mpsc::UnboundedSender<Request>,
}

/// The answer of a request, or why there is none.
pub async fn answer_of(rx: Pending) -> Answer {
    rx.await
        .unwrap_or_else(|_| Err("status writer dropped the request".to_string()))
}

/// The answer of a final write, or why there is none.
pub async fn finish_answer_of(rx: PendingFinish) -> FinishAnswer {
    rx.await
        .unwrap_or_else(|_| Err("status writer dropped the request".to_string()))
}

/// What is stored instead of a final state PostgreSQL refused as data (not an outage): the
/// execution ends `failed` / `internal`, saying why, rather than staying `running`.
pub fn fallback(original: &Finish, why: &str) -> Finish {
    Finish {
        status: ExecutionStatus::Failed,
        result: None,
        error: Some(format!(
            "the task ended {} but its result could not be stored ({why}); recorded as failed",
            original.status
        )),
        error_type: Some(ErrorType::Internal),
        conductor_thread_id: None,
        conductor_status: None,
        finished_at: original.finished_at,
        duration_ms: original.duration_ms,
    }
}

impl StatusWriter {
    /// Starts the writer on the current (actix) runtime.
    pub fn start(pool: DbPool, instance: Uuid) -> StatusWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        actix::spawn(run(pool, instance, rx));
        StatusWriter { tx }
    }

    /// Queues pending → running, written after [`RUNNING_GRACE`] unless the final state comes
    /// first (then both go in one write); the answer is None when the execution is no longer
    /// pending.
    pub fn mark_running(&self, id: Uuid, at: DateTime<Utc>) -> Pending {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Running { id, at, reply });
        rx
    }

    /// Queues running → final; None when the execution was taken over (fenced). With no fence
    /// (the running write not answered yet) a running write still queued for `id` is merged
    /// into this one.
    pub fn finish(&self, id: Uuid, fence: Option<i64>, finish: Finish) -> PendingFinish {
        let (reply, rx) = oneshot::channel();
        let item = FinishItem {
            id,
            fence,
            started_at: None,
            finish,
        };
        self.send(Request::Finish { item, reply });
        rx
    }

    fn send(&self, r: Request) {
        if let Err(mpsc::error::SendError(r)) = self.tx.send(r) {
            let stopped = "status writer stopped".to_string();
            match r {
                Request::Running { reply, .. } => {
                    let _ = reply.send(Err(stopped));
                }
                Request::Finish { reply, .. } => {
                    let _ = reply.send(Err(stopped));
                }
            }
        }
    }
}

/// How long a running state waits before it is written on its own. A task that ends within it
/// (most HTTP calls) is stored once, started and finished in one write, instead of twice; its
/// events still go out started → final, each after the write that stored it. A longer task shows
/// `running` this much later than it started (its `startedAt` is the real start).
const RUNNING_GRACE: Duration = Duration::from_millis(200);

/// Batches of final states being written at once.
const FINALS_IN_FLIGHT: u32 = 2;

/// A running state not written yet.
struct Held {
    at: DateTime<Utc>,
    reply: Reply,
}

/// What woke the writer.
enum Wake {
    Request(Request),
    /// A held running state's grace is over.
    Due,
    /// Every handle is gone: write what is held, then stop.
    Closed,
}

async fn run(pool: DbPool, instance: Uuid, mut rx: mpsc::UnboundedReceiver<Request>) {
    let in_flight = Arc::new(Semaphore::new(FINALS_IN_FLIGHT as usize));
    let mut held: HashMap<Uuid, Held> = HashMap::new();
    // When each held state is due, oldest first (entries whose state was folded are skipped).
    let mut due: VecDeque<(Instant, Uuid)> = VecDeque::new();
    let mut open = true;
    while open || !held.is_empty() {
        let wake = match (open, due.front()) {
            (false, _) => Wake::Closed,
            (true, Some(&(at, _))) => tokio::select! {
                r = rx.recv() => r.map_or(Wake::Closed, Wake::Request),
                () = tokio::time::sleep_until(at) => Wake::Due,
            },
            (true, None) => rx.recv().await.map_or(Wake::Closed, Wake::Request),
        };
        let mut batch = Vec::new();
        match wake {
            Wake::Request(r) => {
                batch.push(r);
                // Everything already queued joins this batch (no waiting: an idle system pays
                // nothing).
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
            }
            Wake::Closed => open = false,
            Wake::Due => {}
        }
        let now = Instant::now();
        let mut finishing = Vec::new();
        // Running states folded into a final write: answered by that write.
        let mut folded = Vec::new();
        for r in batch {
            match r {
                Request::Running { id, at, reply } => {
                    held.insert(id, Held { at, reply });
                    due.push_back((now + RUNNING_GRACE, id));
                }
                // A job sends its running state before its final one, so a match is held here
                // or was written by an earlier iteration (running writes are awaited in line).
                Request::Finish { mut item, reply } => {
                    if item.fence.is_none() {
                        if let Some(h) = held.remove(&item.id) {
                            item.started_at = Some(h.at);
                            folded.push((item.id, h.reply));
                        }
                    }
                    finishing.push((item, reply));
                }
            }
        }
        let mut running: HashMap<Uuid, (DateTime<Utc>, Reply)> = HashMap::new();
        while let Some(&(at, id)) = due.front() {
            if (open && at > now) || running.len() >= MAX_BATCH {
                break;
            }
            due.pop_front();
            if let Some(h) = held.remove(&id) {
                running.insert(id, (h.at, h.reply));
            }
        }
        if !running.is_empty() {
            let items: Vec<(Uuid, DateTime<Utc>)> =
                running.iter().map(|(id, (at, _))| (*id, *at)).collect();
            let res = status_batch::mark_running(&pool, instance, &items).await;
            answer(res, running.into_iter().map(|(id, (_, reply))| (id, reply)));
        }
        if !finishing.is_empty() {
            // Final writes of different executions do not depend on each other: the next batch
            // may go while one commits. A running write is awaited above, so a final state
            // never overtakes its own running write.
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                return;
            };
            let pool = pool.clone();
            actix::spawn(async move {
                write_finals(&pool, instance, finishing, folded).await;
                drop(permit);
            });
        }
    }
    // Every handle is gone: the last final writes finish before the writer does.
    let _ = in_flight.acquire_many(FINALS_IN_FLIGHT).await;
}

/// Writes a batch of final states. When PostgreSQL refuses the batch as data (not an outage),
/// each row is written on its own so one bad row cannot hold the others, and a row refused on
/// its own is stored as [`fallback`].
async fn write_finals(
    pool: &DbPool,
    instance: Uuid,
    finishing: Vec<(FinishItem, FinishReply)>,
    folded: Vec<(Uuid, Reply)>,
) {
    // Split, not cloned: a result can be a large JSON value.
    let (items, replies): (Vec<FinishItem>, Vec<FinishReply>) = finishing.into_iter().unzip();
    let res = status_batch::finish(pool, instance, &items).await;
    let rows = match res {
        Ok(rows) => rows,
        Err(e) if e.is_unavailable() || items.len() == 1 && is_last_resort(&items[0]) => {
            let msg = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(msg.clone()));
            }
            for (_, reply) in folded {
                let _ = reply.send(Err(msg.clone()));
            }
            return;
        }
        Err(e) => {
            log::warn!(
                "a batch of {} final states was refused, writing them one by one: {e}",
                items.len()
            );
            let finishing = items.into_iter().zip(replies).collect();
            return write_one_by_one(pool, instance, finishing, folded).await;
        }
    };
    let by_id: HashMap<Uuid, i64> = rows.into_iter().map(|r| (r.id, r.fence)).collect();
    for (item, reply) in items.iter().zip(replies) {
        let stored = by_id.get(&item.id).map(|f| Stored {
            fence: *f,
            replaced_by: None,
        });
        let _ = reply.send(Ok(stored));
    }
    for (id, reply) in folded {
        let _ = reply.send(Ok(by_id.get(&id).copied()));
    }
}

/// A fallback state that still fails is not retried as another fallback.
fn is_last_resort(item: &FinishItem) -> bool {
    item.finish.error_type == Some(ErrorType::Internal) && item.finish.result.is_none()
}

async fn write_one_by_one(
    pool: &DbPool,
    instance: Uuid,
    finishing: Vec<(FinishItem, FinishReply)>,
    folded: Vec<(Uuid, Reply)>,
) {
    let mut fences: HashMap<Uuid, Result<Option<i64>, String>> = HashMap::new();
    for (mut item, reply) in finishing {
        let mut answer = status_batch::finish(pool, instance, std::slice::from_ref(&item))
            .await
            .map(|rows| {
                rows.first().map(|r| Stored {
                    fence: r.fence,
                    replaced_by: None,
                })
            });
        if let Err(e) = &answer {
            if !e.is_unavailable() {
                log::error!(
                    "final state refused by the database, storing it as failed: execution={} {e}",
                    item.id
                );
                let replacement = fallback(&item.finish, "the database refused it as data");
                item.finish = replacement.clone();
                answer = status_batch::finish(pool, instance, std::slice::from_ref(&item))
                    .await
                    .map(|rows| {
                        rows.first().map(|r| Stored {
                            fence: r.fence,
                            replaced_by: Some(replacement),
                        })
                    });
            }
        }
        let answer = answer.map_err(|e| e.to_string());
        fences.insert(item.id, answer.clone().map(|s| s.map(|s| s.fence)));
        let _ = reply.send(answer);
    }
    for (id, reply) in folded {
        let _ = reply.send(fences.remove(&id).unwrap_or(Ok(None)));
    }
}

fn answer(res: Result<Vec<Written>, DbError>, waiting: impl Iterator<Item = (Uuid, Reply)>) {
    match res {
        Ok(rows) => {
            // By id: a batch of 1,000 must not cost a million comparisons.
            let by_id: HashMap<Uuid, i64> = rows.into_iter().map(|r| (r.id, r.fence)).collect();
            for (id, reply) in waiting {
                let _ = reply.send(Ok(by_id.get(&id).copied()));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for (_, reply) in waiting {
                let _ = reply.send(Err(msg.clone()));
            }
        }
    }
}
