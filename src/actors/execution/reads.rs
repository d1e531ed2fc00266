//! Reads answered straight from PostgreSQL.

use actix::prelude::*;

use super::messages::*;
use super::ExecutionActor;
use crate::db::executions::{self, ExecutionRow};
use crate::db::DbError;

impl Handler<GetExecution> for ExecutionActor {
    type Result = ResponseFuture<Result<Option<ExecutionRow>, DbError>>;

    fn handle(&mut self, msg: GetExecution, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move { executions::get(&pool, msg.0).await })
    }
}

impl Handler<ListExecutions> for ExecutionActor {
    type Result = ResponseFuture<Result<crate::db::pagination::Page<ExecutionRow>, DbError>>;

    fn handle(&mut self, msg: ListExecutions, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move { executions::list(&pool, &msg.filter, msg.limit, msg.cursor).await })
    }
}

impl Handler<GetStats> for ExecutionActor {
    type Result = ResponseFuture<Result<crate::db::execution_stats::Stats, DbError>>;

    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move { crate::db::execution_stats::stats(&pool).await })
    }
}
