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

/// Most changes written by one statement.
const MAX_BATCH: usize = 1_000;

/// What a request answers: the row's fence after the write, None when its condition no longer
/// held, or why the write failed.
pub type Answer = Result<Option<i64>, String>;
type Reply = oneshot::Sender<Answer>;
/// Where an answer arrives.
pub type Pending = oneshot::Receiver<Answer>;

enum Request {
    Running {
        id: Uuid,
        at: DateTime<Utc>,
        reply: Reply,
    },
    Finish {
        item: FinishItem,
        reply: Reply,
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
    pub fn finish(&self, id: Uuid, fence: Option<i64>, finish: Finish) -> Pending {
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
            let reply = match r {
                Request::Running { reply, .. } | Request::Finish { reply, .. } => reply,
            };
            let _ = reply.send(Err("status writer stopped".to_string()));
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
            let items: Vec<FinishItem> = finishing.iter().map(|(i, _)| i.clone()).collect();
            let res = status_batch::finish(&pool, instance, &items).await;
            let done = finishing.into_iter().map(|(i, reply)| (i.id, reply));
            answer(res, done.chain(folded));
        }
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
