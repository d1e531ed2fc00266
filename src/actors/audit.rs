//! The audit writer: requests that changed state hand their audit entry to it and await the
//! commit; whatever arrived together is appended in one INSERT, so the audit log costs a busy
//! API a few statements per second rather than one commit per request.

use tokio::sync::{mpsc, oneshot};

use crate::db::audit::{self, NewAudit};
use crate::db::DbPool;

/// Most entries appended by one statement.
const MAX_BATCH: usize = 500;

type Reply = oneshot::Sender<Result<(), String>>;

/// A handle to the writer task (cheap to clone).
#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::UnboundedSender<(NewAudit, Reply)>,
}

impl AuditWriter {
    /// Starts the writer on the current (actix) runtime.
    pub fn start(pool: DbPool) -> AuditWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        actix::spawn(run(pool, rx));
        AuditWriter { tx }
    }

    /// Appends `entry`; resolves once it is committed (or why it was not).
    pub async fn record(&self, entry: NewAudit) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((entry, reply))
            .map_err(|_| "audit writer stopped".to_string())?;
        rx.await
            .unwrap_or_else(|_| Err("audit writer dropped the entry".to_string()))
    }
}

async fn run(pool: DbPool, mut rx: mpsc::UnboundedReceiver<(NewAudit, Reply)>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let (rows, replies): (Vec<NewAudit>, Vec<Reply>) = batch.into_iter().unzip();
        let res = audit::insert(&pool, &rows).await.map_err(|e| e.to_string());
        if let Err(e) = &res {
            // The change itself is done; its trail is what is missing, and that must be loud.
            for r in &rows {
                log::error!(
                    "audit entry not stored: action={} actor={} resource={} {e}",
                    r.action,
                    r.actor,
                    r.resource_id.as_deref().unwrap_or("-")
                );
            }
        }
        for reply in replies {
            let _ = reply.send(res.clone());
        }
    }
}
