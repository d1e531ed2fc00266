//! One notification per incident: an escalation is notified (log line at ERROR and webhook)
//! only when its group's incident decides so (`db::error_groups::escalated`), and the end of
//! an incident (every record of the group resolved or ignored) is notified once as
//! `error_group_resolved`. Both decisions are taken under the group's row lock, so several
//! instances send one notification per incident in total. Runs detached: the database or the
//! webhook being slow never holds up recovery.

use serde_json::json;

use super::webhook;
use crate::actors::Services;
use crate::db::error_groups;
use crate::db::error_records::ErrorRecordRow;
use crate::domain::clock;
use crate::domain::incident::Notice;
use crate::views::{ErrorGroupView, ErrorRecordView};

/// An escalation of `rec`: notified, or held back with a line at INFO.
pub(super) fn escalated(services: &Services, rec: &ErrorRecordRow) {
    let pool = services.pool.clone();
    let cfg = services.config.notifications.clone();
    let rec = rec.clone();
    actix::spawn(async move {
        let repeat = chrono::Duration::seconds(cfg.repeat_after_secs as i64);
        let notice =
            match error_groups::escalated(&pool, &rec.fingerprint, clock::now(), repeat).await {
                Ok(n) => n,
                Err(e) => {
                    // Better one notification too many than a lost one.
                    log::warn!("incident state unreadable, notifying: error={} {e}", rec.id);
                    Notice::Send { suppressed: 0 }
                }
            };
        match notice {
            Notice::Send { suppressed } => {
                log::error!(
                    "error escalated: error={} schedule={} execution={} fingerprint={} severity={} attempts={}/{} error_type={} suppressed={suppressed} message={}",
                    rec.id, rec.schedule_id, rec.last_execution_id, rec.fingerprint, rec.severity, rec.attempts, rec.max_attempts, rec.error_type, rec.message
                );
                if !cfg.webhook_url.is_empty() {
                    let body = json!({
                        "event": "error_escalated",
                        "data": ErrorRecordView::from(&rec),
                        "suppressed": suppressed,
                    });
                    webhook::notify(
                        cfg.webhook_url,
                        format!("event=error_escalated error={}", rec.id),
                        body,
                    );
                }
            }
            Notice::Hold => log::info!(
                "error escalated, notification held back (its incident was notified): error={} schedule={} fingerprint={}",
                rec.id,
                rec.schedule_id,
                rec.fingerprint
            ),
        }
    });
}

/// `rec` was resolved or ignored: when that ends its group's incident, notify it.
pub(super) fn maybe_ended(services: &Services, rec: &ErrorRecordRow) {
    let pool = services.pool.clone();
    let url = services.config.notifications.webhook_url.clone();
    let fingerprint = rec.fingerprint.clone();
    actix::spawn(async move {
        match error_groups::end_if_resolved(&pool, &fingerprint).await {
            Ok(Some(group)) => {
                log::info!(
                    "error group resolved: fingerprint={} schedule={} count={}",
                    group.fingerprint,
                    group.schedule_id,
                    group.count
                );
                if !url.is_empty() {
                    let body = json!({
                        "event": "error_group_resolved",
                        "data": ErrorGroupView::of(&group, 0),
                    });
                    webhook::notify(
                        url,
                        format!("event=error_group_resolved fingerprint={fingerprint}"),
                        body,
                    );
                }
            }
            Ok(None) => {}
            Err(e) => log::warn!("incident end not checked: fingerprint={fingerprint} {e}"),
        }
    });
}
