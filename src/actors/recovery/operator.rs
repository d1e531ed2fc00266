//! Operator actions on error records: one record (retry, resolve, ignore, escalate) or every
//! record a filter matches (bulk: a record whose status forbids the action is skipped, not an
//! error), and the grouped list.

use actix::prelude::*;
use uuid::Uuid;

use super::messages::*;
use super::ErrorRecoveryActor;
use crate::actors::execution::messages::RunExecutions;
use crate::db::error_records::{self, bulk, ActionError, By};
use crate::db::{DbError, DbPool};
use crate::domain::clock;
use crate::domain::recovery::Action;

async fn apply_one(
    pool: &DbPool,
    instance: Uuid,
    id: Uuid,
    action: Action,
    by: By,
) -> Result<ActionOutcome, ActionError> {
    let now = clock::now();
    match action {
        Action::Retry => error_records::start_manual_retry(pool, id, instance, by, now)
            .await
            .map(|(record, exec)| ActionOutcome {
                record,
                execution: Some(exec),
            }),
        other => error_records::apply_action(pool, id, other, by, now)
            .await
            .map(|record| ActionOutcome {
                record,
                execution: None,
            }),
    }
}

impl ErrorRecoveryActor {
    /// Announces what an action changed and starts the retry it created.
    fn acted(&self, action: Action, out: &ActionOutcome, actor: &str) {
        log::info!(
            "error {}: error={} by={actor}",
            action.target(),
            out.record.id
        );
        self.announce(&out.record, false);
        if let Some(exec) = &out.execution {
            self.execution.do_send(RunExecutions(vec![exec.clone()]));
        }
    }
}

impl Handler<ApplyAction> for ErrorRecoveryActor {
    type Result = ResponseActFuture<Self, Result<ActionOutcome, ActionError>>;

    fn handle(&mut self, msg: ApplyAction, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        let ApplyAction { id, action, by } = msg;
        let actor = by.actor.clone();
        Box::pin(
            actix::fut::wrap_future(
                async move { apply_one(&pool, instance, id, action, by).await },
            )
            .map(move |res, act: &mut Self, _| {
                if let Ok(out) = &res {
                    act.acted(action, out, &actor);
                }
                res
            }),
        )
    }
}

impl Handler<BulkAction> for ErrorRecoveryActor {
    type Result = ResponseActFuture<Self, Result<BulkOutcome, DbError>>;

    fn handle(&mut self, msg: BulkAction, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        let BulkAction { action, filter, by } = msg;
        let actor = by.actor.clone();
        Box::pin(
            actix::fut::wrap_future(async move {
                let ids = bulk::matching(&pool, &filter).await?;
                let (mut done, mut skipped) = (Vec::new(), 0);
                for id in ids {
                    match apply_one(&pool, instance, id, action, by.clone()).await {
                        Ok(out) => done.push(out),
                        // Its status forbids the action, or it was deleted meanwhile.
                        Err(ActionError::Conflict(_) | ActionError::NotFound(_)) => skipped += 1,
                        Err(ActionError::Db(e)) => return Err(e),
                    }
                }
                Ok((done, skipped))
            })
            .map(move |res, act: &mut Self, _| {
                let (done, skipped) = res?;
                for out in &done {
                    act.acted(action, out, &actor);
                }
                log::info!(
                    "bulk {}: affected={} skipped={skipped} by={actor}",
                    action.target(),
                    done.len()
                );
                Ok(BulkOutcome {
                    affected: done.len(),
                    skipped,
                })
            }),
        )
    }
}

impl Handler<ListErrorGroups> for ErrorRecoveryActor {
    type Result = ResponseFuture<
        Result<crate::db::pagination::Page<crate::db::error_groups::GroupListed>, DbError>,
    >;

    fn handle(&mut self, msg: ListErrorGroups, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            crate::db::error_groups::list(
                &pool,
                msg.open_only,
                msg.schedule_id,
                msg.limit,
                msg.cursor,
            )
            .await
        })
    }
}
