//! Planning an apply: its secret references are checked (every entry, so one answer names every
//! missing secret), then the plan is read from what is stored. The apply itself is carried out
//! with the same create, replace and delete messages as the REST API's, so each change is
//! published and wakes the firing loop as any other write does.

use actix::prelude::*;

use super::messages::{PlanApply, ScheduleError};
use super::SchedulerActor;
use crate::db::schedules::{self, WriteError};
use crate::domain::apply::Step;
use crate::domain::validate::FieldErrors;

impl Handler<PlanApply> for SchedulerActor {
    type Result = ResponseFuture<Result<Vec<Step>, ScheduleError>>;

    fn handle(&mut self, msg: PlanApply, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            let mut e = FieldErrors::default();
            for input in &msg.0.inputs {
                match schedules::check_secrets(&pool, &input.task).await {
                    Ok(()) => {}
                    Err(WriteError::Invalid { field, message }) => {
                        e.add(format!("{}:{field}", input.name), message)
                    }
                    Err(WriteError::DuplicateName(n)) => {
                        return Err(ScheduleError::DuplicateName(n))
                    }
                    Err(WriteError::Db(db)) => return Err(ScheduleError::Db(db)),
                }
            }
            if !e.is_empty() {
                return Err(ScheduleError::Fields(e));
            }
            Ok(schedules::plan(&pool, &msg.0).await?)
        })
    }
}
