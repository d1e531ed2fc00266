//! The audit entry of a successful state change, written by the route guard once the handler
//! answered (the action name comes from the route table). The entry names the resource (path
//! `{id}`/`{name}`, else the `id` or `name` of the answer) and keeps a few non-secret fields of
//! the answer as details; a token's secret is never among them.

use std::time::Duration;

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::web;
use serde_json::{Map, Value};

use super::AppState;
use crate::db::audit::NewAudit;
use crate::domain::access::Principal;

/// Fields of an answer copied into `details`.
const DETAIL_FIELDS: [&str; 13] = [
    "name",
    "role",
    "enabled",
    "status",
    "recoveryStatus",
    "executionId",
    "note",
    "affected",
    "skipped",
    "expiresAt",
    "managedBy",
    "dryRun",
    "summary",
];
/// The answer is read for its id only up to this size.
const MAX_READ: usize = 1 << 20;
/// A stuck audit write must not hold the response forever.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Appends the entry for `res` when it is a success, and hands the response back unchanged.
pub async fn record(
    action: &'static str,
    who: &Principal,
    res: ServiceResponse<BoxBody>,
) -> ServiceResponse<BoxBody> {
    if !res.status().is_success() {
        return res;
    }
    let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() else {
        return res;
    };
    let (req, resp) = res.into_parts();
    let (resp, body) = resp.into_parts();
    let bytes = match body.size() {
        actix_web::body::BodySize::Sized(n) if usize::try_from(n).is_ok_and(|n| n <= MAX_READ) => {
            body::to_bytes(body).await.unwrap_or_default()
        }
        _ => Default::default(),
    };
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let from_path = req
        .match_info()
        .get("id")
        .or_else(|| req.match_info().get("name"))
        .map(str::to_string);
    let resource_id = from_path.or_else(|| {
        ["id", "name"]
            .iter()
            .find_map(|k| answer.get(*k).and_then(Value::as_str).map(str::to_string))
    });
    let mut entry = NewAudit::new(&who.actor, who.role.as_str(), action, resource_id);
    entry.ip = req.peer_addr().map(|a| a.ip().to_string());
    let mut details = Map::new();
    for k in DETAIL_FIELDS {
        if let Some(v) = answer.get(k).filter(|v| !v.is_null()) {
            details.insert(k.to_string(), v.clone());
        }
    }
    entry.details = Value::Object(details);
    log::info!(
        "audit: action={action} actor={} role={} resource={}",
        entry.actor,
        entry.role,
        entry.resource_id.as_deref().unwrap_or("-")
    );
    match tokio::time::timeout(WRITE_TIMEOUT, state.audit.record(entry)).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => {} // logged by the writer
        Err(_) => {
            log::error!("audit entry not confirmed within {WRITE_TIMEOUT:?}: action={action}")
        }
    }
    let resp = resp.set_body(BoxBody::new(bytes));
    ServiceResponse::new(req, resp)
}
