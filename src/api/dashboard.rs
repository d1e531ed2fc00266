//! `GET /` and `/assets/{file}`: the dashboard, compiled into the binary (no build step, works
//! offline). It talks to the service only through the public REST API and `/ws`.

use actix_web::{web, HttpResponse};

use crate::api::error::ApiError;

const INDEX: &str = include_str!("../dashboard/index.html");

/// The dashboard's policy: its own scripts and styles only (no inline code, no eval), talks
/// only to this server, and may not be framed (clickjacking).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A dashboard module by file name.
macro_rules! js {
    ($name:literal) => {
        (
            $name,
            "text/javascript; charset=utf-8",
            include_str!(concat!("../dashboard/js/", $name)),
        )
    };
}

/// Every asset: (name, content type, text).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../dashboard/style.css"),
    ),
    js!("app.js"),
    js!("api.js"),
    js!("live.js"),
    js!("dom.js"),
    js!("session.js"),
    js!("time.js"),
    js!("view.js"),
    js!("list.js"),
    js!("confirm.js"),
    js!("backfill.js"),
    js!("audit.js"),
    js!("overview.js"),
    js!("schedules.js"),
    js!("cron_words.js"),
    js!("schedule_fields.js"),
    js!("schedule_form.js"),
    js!("schedule_text.js"),
    js!("schedule_page.js"),
    js!("timeline.js"),
    js!("executions.js"),
    js!("errors.js"),
    js!("error_groups.js"),
];

/// GET /
#[utoipa::path(get, path = "/", tag = "dashboard", security(()),
    responses((status = 200, description = "The dashboard page", content_type = "text/html")))]
pub async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(INDEX)
}

/// GET /assets/{file}
#[utoipa::path(get, path = "/assets/{file}", tag = "dashboard", security(()),
    params(("file" = String, Path, description = "asset name, e.g. app.js")),
    responses((status = 200, description = "The asset", content_type = "text/javascript"), (status = 404, body = crate::api::bodies::ErrorBody)))]
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no asset named `{file}`")))?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("Content-Security-Policy", CSP))
        .body(*body))
}
