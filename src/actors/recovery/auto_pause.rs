//! Auto-pause: after a failed chain ends (escalated or waiting for a person), the schedule is
//! paused when its last chains all failed (`db::schedules::pause_if_failing`, decided under the
//! schedule's row lock, so of several instances one pauses and announces it). Announced as
//! `schedule_auto_paused` and `schedule_updated`, logged at WARN and sent to the webhook. Runs
//! detached: recovery never waits for it.
//!
//! A crash between recording the failure and this check leaves the schedule running until its
//! next failed chain, which checks again.

use actix::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::webhook;
use crate::actors::ws::hub::WsHub;
use crate::actors::ws::messages::Publish;
use crate::actors::Services;
use crate::db::{schedule_health, schedules};
use crate::domain::clock;
use crate::domain::event::{Event, EventKind};
use crate::views::ScheduleView;

/// Checks schedule `id` after one of its chains ended failed.
pub(super) fn check(services: &Services, hub: &Addr<WsHub>, id: Uuid) {
    let pool = services.pool.clone();
    let default = services.config.scheduler.auto_pause_after_failures;
    let url = services.config.notifications.webhook_url.clone();
    let hub = hub.clone();
    actix::spawn(async move {
        let (row, failed) =
            match schedules::pause_if_failing(&pool, id, default, clock::now()).await {
                Ok(Some(paused)) => paused,
                Ok(None) => return,
                Err(e) => {
                    log::warn!("auto-pause not checked: schedule={id} {e}");
                    return;
                }
            };
        log::warn!(
            "schedule auto-paused: schedule={} name={} consecutive_failures={failed}",
            row.id,
            row.name
        );
        let health = schedule_health::health(&pool, &[id])
            .await
            .unwrap_or_else(|e| {
                log::warn!("schedule health unreadable for its event: schedule={id} {e}");
                Default::default()
            });
        let view = ScheduleView::from(&row).with_health(health.get(&id));
        for kind in [EventKind::ScheduleAutoPaused, EventKind::ScheduleUpdated] {
            hub.do_send(Publish(Event::new(kind, Some(id), &view)));
        }
        if !url.is_empty() {
            let body = json!({"event": "schedule_auto_paused", "data": &view});
            webhook::notify(
                url,
                format!("event=schedule_auto_paused schedule={id}"),
                body,
            );
        }
    });
}
