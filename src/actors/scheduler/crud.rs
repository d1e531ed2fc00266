//! Schedule reads and writes: each write is published as an event and wakes the firing loop
//! when the schedule is due sooner than the loop would wake anyway.

use actix::prelude::*;
use uuid::Uuid;

use super::messages::*;
use super::SchedulerActor;
use crate::actors::execution::messages::StartExecution;
use crate::actors::ticker::Ticker;
use crate::actors::ws::messages::Publish;
use crate::db::executions::NewExecution;
use crate::db::schedules::{self, ScheduleRow, WriteError};
use crate::db::DbError;
use crate::domain::clock;
use crate::domain::event::{Event, EventKind};
use crate::domain::states::Trigger;

impl SchedulerActor {
    /// Publishes the schedule with how its runs went: a new schedule has had none; for any
    /// other change they are read first (off the actor, so the write's answer does not wait).
    pub(super) fn publish(&self, kind: EventKind, row: &ScheduleRow) {
        let view = crate::views::ScheduleView::from(row);
        let (hub, id) = (self.hub.clone(), row.id);
        if kind == EventKind::ScheduleCreated {
            hub.do_send(Publish(Event::new(kind, Some(id), view.with_health(None))));
            return;
        }
        let pool = self.services.pool.clone();
        actix::spawn(async move {
            let health = crate::db::schedule_health::health(&pool, &[id])
                .await
                .unwrap_or_else(|e| {
                    log::warn!("schedule health unreadable for its event: schedule={id} {e}");
                    Default::default()
                });
            let view = view.with_health(health.get(&id));
            hub.do_send(Publish(Event::new(kind, Some(id), view)));
        });
    }

    /// Maps a write's result, publishing `kind` and waking the timer on success.
    pub(super) fn after_write(
        &mut self,
        ctx: &mut Context<Self>,
        res: Result<Option<ScheduleRow>, WriteError>,
        id: Uuid,
        kind: EventKind,
    ) -> Result<ScheduleRow, ScheduleError> {
        match res {
            Ok(Some(row)) => {
                log::info!(
                    "schedule {}: schedule={} name={}",
                    event_verb(kind),
                    row.id,
                    row.name
                );
                self.publish(kind, &row);
                // Wake only when this schedule is due before the timer would wake anyway:
                // creating thousands of far-off schedules costs no claim queries.
                let pause_end = row.paused_until.filter(|_| !row.enabled);
                if pause_end.is_some_and(|t| self.resume_at.is_none_or(|r| t < r)) {
                    self.resume_at = pause_end;
                }
                if self
                    .ticker
                    .should_wake_for(row.next_run_at.filter(|_| row.enabled).or(pause_end))
                {
                    Ticker::wake(self, ctx);
                }
                Ok(row)
            }
            Ok(None) => Err(ScheduleError::NotFound(id)),
            Err(WriteError::DuplicateName(n)) => Err(ScheduleError::DuplicateName(n)),
            Err(WriteError::Invalid { field, message }) => {
                Err(ScheduleError::Invalid { field, message })
            }
            Err(WriteError::Db(e)) => Err(ScheduleError::Db(e)),
        }
    }
}

fn event_verb(kind: EventKind) -> &'static str {
    match kind {
        EventKind::ScheduleCreated => "created",
        EventKind::ScheduleDeleted => "deleted",
        _ => "updated",
    }
}

impl Handler<CreateSchedule> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<ScheduleRow, ScheduleError>>;

    fn handle(&mut self, msg: CreateSchedule, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let keyring = self.services.keyring.clone();
        let id = Uuid::now_v7();
        Box::pin(
            actix::fut::wrap_future(async move {
                schedules::check_secrets(&pool, &msg.0.task).await?;
                schedules::insert(&pool, &keyring, id, &msg.0, clock::now())
                    .await
                    .map(Some)
            })
            .map(move |res, act: &mut Self, ctx| {
                act.after_write(ctx, res, id, EventKind::ScheduleCreated)
            }),
        )
    }
}

impl Handler<ReplaceSchedule> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<ScheduleRow, ScheduleError>>;

    fn handle(&mut self, msg: ReplaceSchedule, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let keyring = self.services.keyring.clone();
        let id = msg.id;
        Box::pin(
            actix::fut::wrap_future(async move {
                schedules::check_secrets(&pool, &msg.input.task).await?;
                schedules::replace(&pool, &keyring, id, &msg.input, clock::now()).await
            })
            .map(move |res, act: &mut Self, ctx| match res {
                // Nothing changed: no write happened, so no event and no wake-up.
                Ok(Some(r)) if !r.changed => Ok(r.row),
                other => act.after_write(
                    ctx,
                    other.map(|r| r.map(|r| r.row)),
                    id,
                    EventKind::ScheduleUpdated,
                ),
            }),
        )
    }
}

impl Handler<SetEnabled> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<ScheduleRow, ScheduleError>>;

    fn handle(&mut self, msg: SetEnabled, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let SetEnabled { id, toggle } = msg;
        Box::pin(
            actix::fut::wrap_future(async move {
                schedules::set_enabled(&pool, id, toggle, clock::now())
                    .await
                    .map_err(WriteError::Db)
            })
            .map(move |res, act: &mut Self, ctx| {
                act.after_write(ctx, res, id, EventKind::ScheduleUpdated)
            }),
        )
    }
}

impl Handler<DeleteSchedule> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<(), ScheduleError>>;

    fn handle(&mut self, msg: DeleteSchedule, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let id = msg.0;
        Box::pin(
            actix::fut::wrap_future(
                async move { schedules::delete(&pool, id, clock::now()).await },
            )
            .map(move |res, act: &mut Self, ctx| {
                let (row, unchained) = match res {
                    Ok(d) => (Ok(d.row), d.unchained),
                    Err(e) => (Err(WriteError::Db(e)), Vec::new()),
                };
                act.after_write(ctx, row, id, EventKind::ScheduleDeleted)?;
                // The schedules that named it in a chain list changed too.
                for r in &unchained {
                    act.publish(EventKind::ScheduleUpdated, r);
                }
                Ok(())
            }),
        )
    }
}

impl Handler<GetSchedule> for SchedulerActor {
    type Result = ResponseFuture<Result<ScheduleRow, ScheduleError>>;

    fn handle(&mut self, msg: GetSchedule, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            schedules::get(&pool, msg.0)
                .await?
                .ok_or(ScheduleError::NotFound(msg.0))
        })
    }
}

impl Handler<ListSchedules> for SchedulerActor {
    type Result = ResponseFuture<Result<crate::db::pagination::Page<ScheduleRow>, DbError>>;

    fn handle(&mut self, msg: ListSchedules, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move { schedules::list(&pool, &msg.filter, msg.limit, msg.cursor).await })
    }
}

impl Handler<NextRuns> for SchedulerActor {
    type Result = ResponseFuture<Result<crate::views::RunsView, ScheduleError>>;

    fn handle(&mut self, msg: NextRuns, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            let row = schedules::get(&pool, msg.id)
                .await?
                .ok_or(ScheduleError::NotFound(msg.id))?;
            let (runs, spec) = row
                .next_runs(msg.from, msg.count)
                .map_err(|e| ScheduleError::Db(DbError::Unavailable(e)))?;
            let details = crate::views::run_details(&spec, msg.from, &runs);
            Ok(crate::views::RunsView {
                runs,
                details: Some(details),
            })
        })
    }
}

impl Handler<TriggerNow> for SchedulerActor {
    type Result = ResponseFuture<Result<crate::db::executions::ExecutionRow, ScheduleError>>;

    fn handle(&mut self, msg: TriggerNow, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        let execution = self.execution.clone();
        Box::pin(async move {
            let row = schedules::get(&pool, msg.id)
                .await?
                .ok_or(ScheduleError::NotFound(msg.id))?;
            let now = clock::now();
            let new = NewExecution {
                payload: msg.payload,
                ..NewExecution::of(&row, Trigger::Manual, 1, now, now, instance)
            };
            let exec = execution
                .send(StartExecution(new))
                .await
                .map_err(|e| ScheduleError::Db(DbError::Unavailable(e.to_string())))??;
            schedules::record_run(&pool, row.id, exec.id, now).await?;
            log::info!(
                "schedule triggered manually: schedule={} execution={}",
                row.id,
                exec.id
            );
            Ok(exec)
        })
    }
}
