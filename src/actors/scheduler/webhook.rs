//! Webhook deliveries and key rotation. The API checks the signature and the rate; here the
//! run is created (once per `Idempotency-Key` within 24 hours) and handed to the
//! ExecutionActor.

use actix::prelude::*;

use super::messages::{DeliverWebhook, RotateWebhook, ScheduleError};
use super::SchedulerActor;
use crate::actors::execution::messages::RunExecutions;
use crate::db::schedules::{self, ScheduleRow, WebhookCreds, WriteError};
use crate::db::{webhooks, DbError};
use crate::domain::clock;
use crate::domain::event::EventKind;

impl Handler<DeliverWebhook> for SchedulerActor {
    type Result = ResponseFuture<Result<webhooks::Delivered, ScheduleError>>;

    fn handle(&mut self, msg: DeliverWebhook, _: &mut Context<Self>) -> Self::Result {
        let (pool, instance) = (self.services.pool.clone(), self.services.instance_id);
        let execution = self.execution.clone();
        Box::pin(async move {
            let now = clock::now();
            let key = msg.idempotency_key.as_deref();
            let d =
                webhooks::deliver(&pool, &msg.schedule, key, msg.payload, instance, now).await?;
            if d.fresh {
                schedules::record_run(&pool, msg.schedule.id, d.execution.id, now).await?;
                log::info!(
                    "schedule triggered by webhook: schedule={} execution={}",
                    msg.schedule.id,
                    d.execution.id
                );
                execution.do_send(RunExecutions(vec![d.execution.clone()]));
            } else {
                log::info!(
                    "webhook delivery repeated, answered with its first run: schedule={} execution={}",
                    msg.schedule.id,
                    d.execution.id
                );
            }
            Ok(d)
        })
    }
}

impl Handler<RotateWebhook> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<ScheduleRow, ScheduleError>>;

    fn handle(&mut self, msg: RotateWebhook, _: &mut Context<Self>) -> Self::Result {
        let (pool, keyring) = (self.services.pool.clone(), self.services.keyring.clone());
        let id = msg.0;
        Box::pin(
            actix::fut::wrap_future(async move {
                let creds = WebhookCreds::fresh(&keyring, id).map_err(DbError::Unavailable)?;
                let rotated = webhooks::rotate(&pool, id, &creds, clock::now()).await?;
                if rotated.is_some() {
                    return Ok(rotated);
                }
                match schedules::get(&pool, id).await? {
                    None => Ok(None),
                    Some(_) => Err(WriteError::Invalid {
                        field: "webhook".into(),
                        message: "this schedule has no webhook: set webhook.enabled first".into(),
                    }),
                }
            })
            .map(move |res, act: &mut Self, ctx| {
                let res = act.after_write(ctx, res, id, EventKind::ScheduleUpdated);
                if res.is_ok() {
                    log::info!("webhook key and secret rotated: schedule={id}");
                }
                res
            }),
        )
    }
}
