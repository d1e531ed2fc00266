//! Every route in one table: method, path, who may call it, and the audit action it records.
//! The router, the role guard, the open-route allowlist and the role-matrix test all read this
//! table, so a route cannot exist without an access rule.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpMessage, ResponseError};

use super::*;
use crate::api::error::ApiError;
use crate::domain::access::{Access, Principal, Role};

const OPEN: Access = Access::Open;
const METRICS: Access = Access::Metrics;
const VIEWER: Access = Access::Role(Role::Viewer);
const OPERATOR: Access = Access::Role(Role::Operator);
const ADMIN: Access = Access::Role(Role::Admin);

/// One route of the table.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// Lower-case method name (`get`, `post`, ...).
    pub method: &'static str,
    /// The actix pattern (`/api/executions/{id}`).
    pub path: &'static str,
    pub access: Access,
    /// The audit-log action a successful call records (state changes only).
    pub action: Option<&'static str>,
}

macro_rules! route_table {
    ($( $path:literal => [ $( $method:ident $access:ident $action:expr => $handler:path ),+ $(,)? ] ),+ $(,)?) => {
        /// Every route (see the module docs).
        pub const ROUTES: &[RouteSpec] = &[
            $( $( RouteSpec { method: stringify!($method), path: $path, access: $access, action: $action }, )+ )+
        ];

        /// Mounts every route, each behind its role guard.
        pub fn routes(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    web::resource($path)
                        $( .route(web::$method().to($handler).wrap(from_fn(
                            |req: ServiceRequest, next: Next<BoxBody>| authorize($access, $action, req, next),
                        ))) )+
                );
            )+
        }
    };
}

route_table! {
    "/api/health" => [get OPEN None => health::health],
    "/metrics" => [get METRICS None => metrics::metrics],
    "/api/openapi.json" => [get VIEWER None => openapi::openapi_json],
    "/api/whoami" => [get VIEWER None => access::whoami],
    "/api/scheduler/schedules" => [
        post ADMIN Some("schedule.create") => schedules::create,
        get VIEWER None => schedules::list,
    ],
    "/api/scheduler/schedules/{id}" => [
        get VIEWER None => schedules::get,
        put ADMIN Some("schedule.update") => schedules::replace,
        delete ADMIN Some("schedule.delete") => schedules::delete,
    ],
    "/api/scheduler/schedules/{id}/pause" => [post OPERATOR Some("schedule.pause") => schedules::pause],
    "/api/scheduler/schedules/{id}/resume" => [post OPERATOR Some("schedule.resume") => schedules::resume],
    "/api/scheduler/schedules/{id}/trigger" => [post OPERATOR Some("schedule.trigger") => schedules::trigger],
    "/api/scheduler/schedules/{id}/next-runs" => [get VIEWER None => schedules::next_runs],
    "/api/scheduler/schedules/{id}/stats" => [get VIEWER None => insight::stats],
    "/api/scheduler/schedules/{id}/backfill" => [post OPERATOR Some("schedule.backfill") => insight::backfill],
    "/api/scheduler/schedules/{id}/webhook/rotate" => [post ADMIN Some("schedule.webhook_rotate") => hooks::rotate],
    // No token: the key finds the schedule and the body's signature proves the caller.
    "/api/hooks/{key}" => [post OPEN Some("webhook.deliver") => hooks::deliver],
    "/api/scheduler/apply" => [post ADMIN Some("schedule.apply") => apply::apply],
    "/api/scheduler/upcoming" => [get VIEWER None => insight::upcoming],
    // A computation over an unsaved schedule: reads nothing, changes nothing.
    "/api/scheduler/preview" => [post VIEWER None => schedules::preview],
    "/api/stats" => [get VIEWER None => executions::stats],
    "/" => [get OPEN None => dashboard::index],
    "/assets/{file}" => [get OPEN None => dashboard::asset],
    "/api/executions" => [get VIEWER None => executions::list],
    "/api/executions/{id}" => [get VIEWER None => executions::get],
    "/api/executions/{id}/output" => [get VIEWER None => executions::output],
    "/api/executions/{id}/cancel" => [post OPERATOR Some("execution.cancel") => executions::cancel],
    "/api/errors/errors" => [get VIEWER None => errors::list],
    "/api/errors/groups" => [get VIEWER None => error_groups::list],
    "/api/errors/bulk" => [post OPERATOR Some("error.bulk") => errors::bulk],
    "/api/errors/errors/{id}" => [get VIEWER None => errors::get],
    "/api/errors/errors/{id}/retry" => [post OPERATOR Some("error.retry") => errors::retry],
    "/api/errors/errors/{id}/resolve" => [post OPERATOR Some("error.resolve") => errors::resolve],
    "/api/errors/errors/{id}/ignore" => [post OPERATOR Some("error.ignore") => errors::ignore],
    "/api/errors/errors/{id}/escalate" => [post OPERATOR Some("error.escalate") => errors::escalate],
    "/api/tokens" => [
        post ADMIN Some("token.create") => access::create_token,
        get ADMIN None => access::list_tokens,
    ],
    "/api/tokens/{id}" => [delete ADMIN Some("token.revoke") => access::revoke_token],
    "/api/audit" => [get ADMIN None => access::list_audit],
    "/api/secrets" => [
        post ADMIN Some("secret.create") => secrets::create,
        get ADMIN None => secrets::list,
    ],
    "/api/secrets/{name}" => [
        put ADMIN Some("secret.update") => secrets::update,
        delete ADMIN Some("secret.delete") => secrets::delete,
    ],
    "/ws" => [get VIEWER None => ws::connect],
}

/// True when `method path` (the routed path) is an open route: no token needed.
pub fn is_open(method: &str, path: &str, metrics_open: bool) -> bool {
    ROUTES.iter().any(|r| {
        let open = match r.access {
            Access::Open => true,
            Access::Metrics => metrics_open,
            Access::Role(_) => false,
        };
        open && r.method.eq_ignore_ascii_case(method) && pattern_matches(r.path, path)
    })
}

/// `/assets/{file}` matches `/assets/app.js`: each `{..}` is one non-empty segment.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                if g.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// Route guard: the caller's role against the route's access rule (403 when too small).
async fn authorize(
    access: Access,
    action: Option<&'static str>,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let require_metrics_token = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.services.config.server.metrics_require_token);
    let access = match access {
        Access::Metrics if require_metrics_token => VIEWER,
        other => other,
    };
    let principal = req.extensions().get::<Principal>().cloned();
    let denied = match (&principal, access) {
        (_, Access::Open | Access::Metrics) => None,
        (Some(p), a) if p.may(a) => None,
        (Some(p), Access::Role(min)) => Some(ApiError::Forbidden(format!(
            "role `{}` may not {} {}: it needs `{min}`",
            p.role,
            req.method(),
            req.match_info().as_str()
        ))),
        (_, _) => Some(ApiError::Unauthorized("authentication required".into())),
    };
    if let Some(e) = denied {
        return Ok(req.into_response(e.error_response()));
    }
    let res = next.call(req).await?;
    // An open route that changes state (a webhook call) is recorded as its caller.
    let principal = match access {
        Access::Open => action.map(|_| Principal::webhook()),
        _ => principal,
    };
    match (action, principal) {
        (Some(action), Some(p)) => Ok(super::audit_trail::record(action, &p, res).await),
        _ => Ok(res),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments() {
        assert!(pattern_matches("/assets/{file}", "/assets/app.js"));
        assert!(!pattern_matches("/assets/{file}", "/assets/"));
        assert!(!pattern_matches("/assets/{file}", "/assets/a/b"));
        assert!(pattern_matches("/api/health", "/api/health"));
        assert!(!pattern_matches("/api/health", "/api/health/"));
        assert!(!pattern_matches("/", "/api"));
    }

    #[test]
    fn only_the_allowlist_is_open() {
        assert!(is_open("GET", "/api/health", true));
        assert!(!is_open("POST", "/api/health", true));
        assert!(is_open("GET", "/", true));
        assert!(is_open("GET", "/assets/app.js", true));
        assert!(is_open("GET", "/metrics", true));
        assert!(!is_open("GET", "/metrics", false));
        for closed in [
            "/ws",
            "/api/executions",
            "/api/nope",
            "/api%2Fhealth",
            "/%61pi/health",
        ] {
            assert!(!is_open("GET", closed, true), "{closed}");
        }
    }

    #[test]
    fn every_state_change_is_audited_and_no_read_is() {
        for r in ROUTES {
            let reads = r.method == "get" || r.path == "/api/scheduler/preview";
            assert_eq!(r.action.is_none(), reads, "{} {}", r.method, r.path);
        }
    }
}
