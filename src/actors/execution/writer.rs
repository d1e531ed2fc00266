//! The ExecutionActor's status writer: running jobs hand their state changes to it and await
//! the stored row; it writes whatever arrived together in one statement per kind (see
//! `db::status_batch`). Under load this turns thousands of commits into a few dozen, and a fast
//! task whose running and final states meet in the queue costs one row write instead of two.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
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

    /// Queues pending → running; the answer is None when the execution is no longer pending.
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

async fn run(pool: DbPool, instance: Uuid, mut rx: mpsc::UnboundedReceiver<Request>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        // Everything already queued joins this batch (no waiting: an idle system pays nothing).
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let mut running: HashMap<Uuid, (DateTime<Utc>, Reply)> = HashMap::new();
        let mut finishing = Vec::new();
        // Running requests folded into a final write: answered by that write.
        let mut folded = Vec::new();
        for r in batch {
            match r {
                Request::Running { id, at, reply } => {
                    running.insert(id, (at, reply));
                }
                // A job sends its running state before its final one, so a match is in this
                // batch or was written by an earlier one.
                Request::Finish { mut item, reply } => {
                    if item.fence.is_none() {
                        if let Some((at, run_reply)) = running.remove(&item.id) {
                            item.started_at = Some(at);
                            folded.push((item.id, run_reply));
                        }
                    }
                    finishing.push((item, reply));
                }
            }
        }
        if !running.is_empty() {
            let items: Vec<(Uuid, DateTime<Utc>)> =
                running.iter().map(|(id, (at, _))| (*id, *at)).collect();
            let res = status_batch::mark_running(&pool, instance, &items).await;
            answer(res, running.into_iter().map(|(id, (_, reply))| (id, reply)));
        }
        if !finishing.is_empty() {
            write_finals(&pool, instance, finishing, folded).await;
        }
    }
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
    let items: Vec<FinishItem> = finishing.iter().map(|(i, _)| i.clone()).collect();
    let res = status_batch::finish(pool, instance, &items).await;
    let rows = match res {
        Ok(rows) => rows,
        Err(e) if e.is_unavailable() || items.len() == 1 && is_last_resort(&items[0]) => {
            let msg = e.to_string();
            for (_, reply) in finishing {
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
            return write_one_by_one(pool, instance, finishing, folded).await;
        }
    };
    let by_id: HashMap<Uuid, i64> = rows.into_iter().map(|r| (r.id, r.fence)).collect();
    for (item, reply) in finishing {
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
