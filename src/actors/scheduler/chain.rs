//! Starting a completed run's `onSuccess` chain: the chained runs are created (once, see
//! [`crate::db::chains`]) and handed to the ExecutionActor. Failures start their `onFailure`
//! chain in error recovery, where "no retry left" is decided.

use actix::prelude::*;

use super::messages::ChainCompleted;
use super::SchedulerActor;
use crate::actors::execution::messages::RunExecutions;
use crate::domain::chain::ChainOn;
use crate::domain::clock;

impl Handler<ChainCompleted> for SchedulerActor {
    type Result = ();

    fn handle(&mut self, msg: ChainCompleted, ctx: &mut Context<Self>) {
        let (pool, instance) = (self.services.pool.clone(), self.services.instance_id);
        let execution = self.execution.clone();
        let from = msg.0;
        ctx.spawn(actix::fut::wrap_future(async move {
            let payload = crate::views::chain_payload(&from);
            let on = ChainOn::Success;
            match crate::db::chains::start_next(&pool, &from, on, &payload, instance, clock::now())
                .await
            {
                Ok(rows) if rows.is_empty() => {}
                Ok(rows) => execution.do_send(RunExecutions(rows)),
                // Not lost: the orphan scan starts chains still marked as not started.
                Err(e) => log::warn!(
                    "chain not started yet, the orphan scan will: execution={} {e}",
                    from.id
                ),
            }
        }));
    }
}
