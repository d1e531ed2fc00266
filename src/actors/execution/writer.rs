//! The ExecutionActor's status writer: running jobs hand their state changes to it and await
//! the stored row; it writes whatever arrived together in one statement per kind (see
//! `db::status_batch`). Under load this turns thousands of commits into a few dozen.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::db::executions::{ExecutionRow, Finish};
use crate::db::status_batch::{self, FinishItem};
use crate::db::{DbError, DbPool};

/// Most changes written by one statement.
const MAX_BATCH: usize = 1_000;

type Reply = oneshot::Sender<Result<Option<ExecutionRow>, String>>;

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

impl StatusWriter {
    /// Starts the writer on the current (actix) runtime.
    pub fn start(pool: DbPool, instance: Uuid) -> StatusWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        actix::spawn(run(pool, instance, rx));
        StatusWriter { tx }
    }

    /// pending → running; None when the execution is no longer pending.
    pub async fn mark_running(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Option<ExecutionRow>, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Running { id, at, reply })
            .map_err(|_| "status writer stopped".to_string())?;
        rx.await
            .map_err(|_| "status writer dropped the request".to_string())?
    }

    /// running → final; None when the execution was taken over (fenced).
    pub async fn finish(
        &self,
        id: Uuid,
        fence: i64,
        finish: Finish,
    ) -> Result<Option<ExecutionRow>, String> {
        let (reply, rx) = oneshot::channel();
        let item = FinishItem { id, fence, finish };
        self.tx
            .send(Request::Finish { item, reply })
            .map_err(|_| "status writer stopped".to_string())?;
        rx.await
            .map_err(|_| "status writer dropped the request".to_string())?
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
        let mut running = Vec::new();
        let mut finishing = Vec::new();
        for r in batch {
            match r {
                Request::Running { id, at, reply } => running.push((id, at, reply)),
                Request::Finish { item, reply } => finishing.push((item, reply)),
            }
        }
        if !running.is_empty() {
            let items: Vec<(Uuid, DateTime<Utc>)> =
                running.iter().map(|(id, at, _)| (*id, *at)).collect();
            let res = status_batch::mark_running(&pool, instance, &items).await;
            answer(res, running.into_iter().map(|(id, _, reply)| (id, reply)));
        }
        if !finishing.is_empty() {
            let items: Vec<FinishItem> = finishing.iter().map(|(i, _)| i.clone()).collect();
            let res = status_batch::finish(&pool, instance, &items).await;
            answer(res, finishing.into_iter().map(|(i, reply)| (i.id, reply)));
        }
    }
}

fn answer(res: Result<Vec<ExecutionRow>, DbError>, waiting: impl Iterator<Item = (Uuid, Reply)>) {
    match res {
        Ok(rows) => {
            // By id, moved out: a batch of 1,000 must not cost a million comparisons and clones.
            let mut by_id: HashMap<Uuid, ExecutionRow> =
                rows.into_iter().map(|r| (r.id, r)).collect();
            for (id, reply) in waiting {
                let _ = reply.send(Ok(by_id.remove(&id)));
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
