//! How schedules run: one schedule's stats over a window, and the runs coming up.

use actix_web::{web, HttpResponse};

use super::params::{self, Query};
use super::AppState;
use crate::actors::scheduler::messages::{Backfill, ScheduleStats, UpcomingRuns};
use crate::api::error::ApiError;
use crate::domain::clock;
use crate::domain::validate::{FieldErrors, Obj};
use crate::views::{BackfillView, ScheduleStatsView, UpcomingView};

/// Most items `upcoming` answers.
const MAX_UPCOMING: i64 = 5_000;

/// A window from `since`/`from` to `until`, `default` long when unset; the end after the start.
fn window(
    q: &Query,
    start: &str,
    default: chrono::Duration,
    back: bool,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), ApiError> {
    let now = clock::now();
    let since = params::opt_time(q, start)?;
    let until = params::opt_time(q, "until")?;
    let (since, until) = match (since, until, back) {
        (Some(s), Some(u), _) => (s, u),
        (Some(s), None, true) => (s, now),
        (Some(s), None, false) => (s, s + default),
        (None, Some(u), true) => (u - default, u),
        (None, Some(u), false) => (now, u),
        (None, None, true) => (now - default, now),
        (None, None, false) => (now, now + default),
    };
    if until <= since {
        return Err(ApiError::invalid("until", format!("must be after {start}")));
    }
    Ok((since, until))
}

/// GET /api/scheduler/schedules/{id}/stats?since=&until=
#[utoipa::path(get, path = "/api/scheduler/schedules/{id}/stats", tag = "schedules", params(("id" = uuid::Uuid, Path, description = "UUID"), ("since" = Option<String>, Query, format = DateTime, description = "RFC 3339, default 24 h before until"), ("until" = Option<String>, Query, format = DateTime, description = "RFC 3339, default now")), responses((status = 200, body = ScheduleStatsView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn stats(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    let (since, until) = window(&q, "since", chrono::Duration::hours(24), true)?;
    let view = state
        .actors
        .scheduler
        .send(ScheduleStats { id, since, until })
        .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// GET /api/scheduler/upcoming?from=&until=&limit=
#[utoipa::path(get, path = "/api/scheduler/upcoming", tag = "schedules", params(("from" = Option<String>, Query, format = DateTime, description = "RFC 3339, default now"), ("until" = Option<String>, Query, format = DateTime, description = "RFC 3339, default 24 h after from"), ("limit" = Option<i64>, Query, description = "1..=5000, default 500")), responses((status = 200, body = UpcomingView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn upcoming(
    state: web::Data<AppState>,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let (from, until) = window(&q, "from", chrono::Duration::hours(24), false)?;
    let limit = params::opt_int(&q, "limit", 1, MAX_UPCOMING)?.unwrap_or(500);
    let view = state
        .actors
        .scheduler
        .send(UpcomingRuns {
            from,
            until,
            limit: usize::try_from(limit).unwrap_or(500),
        })
        .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// POST /api/scheduler/schedules/{id}/backfill {"from", "to", "dryRun"?, "maxRuns"?, "order"?}
#[utoipa::path(post, path = "/api/scheduler/schedules/{id}/backfill", tag = "schedules", params(("id" = uuid::Uuid, Path, description = "UUID")), request_body = crate::api::bodies::BackfillDoc, responses((status = 200, description = "Dry run: the plan", body = BackfillView), (status = 202, description = "Runs one at a time", body = BackfillView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 404, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn backfill(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let id = params::path_id(&id)?;
    let mut e = FieldErrors::default();
    let msg = Obj::new(&body, "", &mut e).and_then(|o| {
        o.only(&["from", "to", "dryRun", "maxRuns", "order"], &mut e);
        let from = o.req_time("from", &mut e);
        let to = o.req_time("to", &mut e);
        let dry_run = o.opt_bool("dryRun", &mut e).unwrap_or(false);
        let max_runs = o.opt_int("maxRuns", 1, 10_000, &mut e).unwrap_or(1_000);
        let order = o.opt_enum("order", &["asc", "desc"], &mut e);
        let (from, to) = (from?, to?);
        if to <= from {
            e.add("to", "must be after from");
        }
        Some(Backfill {
            id,
            from,
            to,
            dry_run,
            max_runs: usize::try_from(max_runs).unwrap_or(1_000),
            newest_first: order.as_deref() == Some("desc"),
        })
    });
    let msg = match msg {
        Some(m) if e.is_empty() => m,
        _ => return Err(super::schedules::invalid(e)),
    };
    let dry = msg.dry_run;
    let view = state.actors.scheduler.send(msg).await??;
    Ok(if dry {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Accepted().json(view)
    })
}
