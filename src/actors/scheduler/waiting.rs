//! Starting fires that waited for a place (`concurrencyPolicy: queue`, `maxConcurrent`): a
//! release every [`RELEASE_EVERY`] gives the oldest waiting fire of each schedule a place as
//! soon as one of its runs ends (on any instance), and records the ones past their start
//! deadline as skipped. With nothing waiting, a release is one probe of an empty index.

use std::time::Duration;

use actix::prelude::*;

use super::{announce_skipped, SchedulerActor};
use crate::actors::execution::messages::RunExecutions;
use crate::actors::supervisor::guard_future;
use crate::db::waiting;
use crate::domain::clock;

/// How often waiting fires are looked at: the most a queued fire starts after the run before
/// it ended.
pub(super) const RELEASE_EVERY: Duration = Duration::from_millis(250);

impl SchedulerActor {
    pub(super) fn release_waiting(&mut self, ctx: &mut Context<Self>) {
        if self.releasing || !self.ticker.running {
            return;
        }
        self.releasing = true;
        let pool = self.services.pool.clone();
        let me = self.services.instance_id;
        let execution = self.execution.clone();
        let (hub, audience) = (self.hub.clone(), self.services.audience.clone());
        let fut = async move {
            let released = waiting::release(&pool, me, clock::now()).await?;
            for row in &released.started {
                log::info!(
                    "waiting fire starts: execution={} schedule={} scheduled_for={}",
                    row.id,
                    row.schedule_id,
                    row.scheduled_for
                );
            }
            for row in &released.expired {
                log::info!(
                    "waiting fire skipped (start deadline passed): execution={} schedule={} scheduled_for={}",
                    row.id,
                    row.schedule_id,
                    row.scheduled_for
                );
            }
            announce_skipped(&hub, &audience, &released.expired);
            if !released.started.is_empty() {
                execution.do_send(RunExecutions(released.started));
            }
            Ok::<_, crate::db::DbError>(())
        };
        ctx.spawn(guard_future(fut).map(|res, act: &mut Self, _| {
            act.releasing = false;
            if let Some(Err(e)) = res {
                log::warn!("releasing waiting fires failed, retrying: {e}");
            }
        }));
    }
}
