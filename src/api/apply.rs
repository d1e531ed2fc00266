//! `POST /api/scheduler/apply` (`taskforge apply -f FILE`): schedules as code, by name. The
//! whole file is validated first, by the same rules as a create; one problem anywhere changes
//! nothing and the 400 names every problem as `<schedule>:<field>`. Then the plan is read
//! from what is stored, and (unless a dry run) carried out step by step through the
//! scheduler's create, replace and delete, which publish and wake as any API write does.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::schedules::invalid;
use super::AppState;
use crate::actors::scheduler::messages::*;
use crate::api::error::ApiError;
use crate::domain::apply::{self, Step};
use crate::domain::clock;
use crate::domain::schedule_input::ScheduleInput;
use crate::domain::states::ApplyAction;
use crate::views::ApplyView;

/// POST /api/scheduler/apply
#[utoipa::path(post, path = "/api/scheduler/apply", tag = "schedules", request_body = crate::api::bodies::ApplyDoc, responses((status = 200, body = ApplyView), (status = 400, body = crate::api::bodies::ErrorBody), (status = 401, body = crate::api::bodies::ErrorBody), (status = 409, body = crate::api::bodies::ErrorBody), (status = 413, body = crate::api::bodies::ErrorBody), (status = 503, body = crate::api::bodies::ErrorBody)))]
pub async fn apply(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let req = Arc::new(apply::read(&body, clock::now(), &state.limits).map_err(invalid)?);
    let mut steps = state
        .actors
        .scheduler
        .send(PlanApply(req.clone()))
        .await??;
    if !req.dry_run {
        let inputs: HashMap<&str, &ScheduleInput> =
            req.inputs.iter().map(|i| (i.name.as_str(), i)).collect();
        let changes = steps
            .iter()
            .filter(|s| s.action != ApplyAction::Unchanged)
            .count();
        let mut done = 0;
        for step in &mut steps {
            carry_out(&state, step, inputs.get(step.name.as_str()).copied())
                .await
                .map_err(|e| partial(e, &step.name, done, changes))?;
            if step.action != ApplyAction::Unchanged {
                done += 1;
            }
        }
        log::info!(
            "apply: managed_by={} changes={changes} schedules={}",
            req.managed_by.as_deref().unwrap_or("-"),
            steps.len()
        );
    }
    Ok(HttpResponse::Ok().json(ApplyView::of(req.dry_run, req.managed_by.clone(), steps)))
}

/// One step, through the scheduler; a create's step learns its new id.
async fn carry_out(
    state: &AppState,
    step: &mut Step,
    input: Option<&ScheduleInput>,
) -> Result<(), ApiError> {
    let scheduler = &state.actors.scheduler;
    match (step.action, step.id, input) {
        (ApplyAction::Unchanged, ..) => {}
        (ApplyAction::Create, _, Some(input)) => {
            let row = scheduler.send(CreateSchedule(input.clone())).await??;
            step.id = Some(row.id);
        }
        (ApplyAction::Update, Some(id), Some(input)) => {
            scheduler
                .send(ReplaceSchedule {
                    id,
                    input: input.clone(),
                })
                .await??;
        }
        (ApplyAction::Delete, Some(id), _) => scheduler.send(DeleteSchedule(id)).await??,
        _ => {
            return Err(ApiError::Internal(format!(
                "apply: step {} of {} without its input",
                step.action.as_str(),
                step.name
            )))
        }
    }
    Ok(())
}

/// A step that failed after `done` of `changes` changes were made (a schedule written or
/// deleted by someone else since the plan, a chain that would close a loop): the error, naming
/// the schedule and how far the apply got.
fn partial(e: ApiError, name: &str, done: usize, changes: usize) -> ApiError {
    let after = format!("(apply stopped: {done} of {changes} changes made before it)");
    match e {
        ApiError::Validation { message, details } => {
            let details = details.map(|d| match d {
                Value::Array(items) => Value::Array(
                    items
                        .into_iter()
                        .map(|mut p| {
                            let field = p["field"].as_str().unwrap_or_default().to_string();
                            p["field"] = Value::String(format!("{name}:{field}"));
                            p
                        })
                        .collect(),
                ),
                other => other,
            });
            ApiError::Validation {
                message: format!("{name}:{message} {after}"),
                details,
            }
        }
        ApiError::NotFound(m) | ApiError::Conflict(m) => {
            ApiError::Conflict(format!("{name}: {m} {after}"))
        }
        ApiError::Unavailable(m) => ApiError::Unavailable(format!("{name}: {m} {after}")),
        other => other,
    }
}
