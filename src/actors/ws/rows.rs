//! Session rows written together: each session reports its subscriptions and liveness at most
//! once a second, and whatever arrived meanwhile from all sessions is one UPDATE. A thousand
//! clients sending subscribe frames cost the database a statement a second, not a thousand,
//! and cannot starve the pool the status writer needs.

use std::collections::HashMap;

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::db::{ws_sessions, DbPool};

/// One session's change since its last report: new subscriptions, or only "still here".
pub struct RowUpdate {
    pub session_id: Uuid,
    pub subscriptions: Option<Vec<String>>,
}

/// A handle to the writer task (cheap to clone).
#[derive(Clone)]
pub struct SessionRows {
    tx: mpsc::UnboundedSender<RowUpdate>,
}

impl SessionRows {
    /// Starts the writer on the current (actix) runtime.
    pub fn start(pool: DbPool) -> SessionRows {
        let (tx, rx) = mpsc::unbounded_channel();
        actix::spawn(run(pool, rx));
        SessionRows { tx }
    }

    /// Queues a session's change (dropped silently when the writer is gone: rows are a record,
    /// not the sessions' state).
    pub fn report(&self, update: RowUpdate) {
        let _ = self.tx.send(update);
    }
}

async fn run(pool: DbPool, mut rx: mpsc::UnboundedReceiver<RowUpdate>) {
    while let Some(first) = rx.recv().await {
        let mut latest: HashMap<Uuid, Option<Vec<String>>> = HashMap::new();
        let add = |latest: &mut HashMap<Uuid, Option<Vec<String>>>, u: RowUpdate| {
            let entry = latest.entry(u.session_id).or_default();
            if u.subscriptions.is_some() {
                *entry = u.subscriptions;
            }
        };
        add(&mut latest, first);
        while latest.len() < 5_000 {
            match rx.try_recv() {
                Ok(u) => add(&mut latest, u),
                Err(_) => break,
            }
        }
        let items: Vec<(Uuid, Option<Vec<String>>)> = latest.into_iter().collect();
        if let Err(e) = ws_sessions::update_many(&pool, &items).await {
            log::warn!("ws session rows not updated: count={} {e}", items.len());
        }
    }
}
