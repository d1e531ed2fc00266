//! `POST /api/scheduler/apply`: the plan of a `taskforge apply`, carried out or (dry run) not.

use crate::domain::apply::Step;
use crate::domain::states::ApplyAction;
use serde::Serialize;
use utoipa::ToSchema;

/// The plan, in file order, then the deletes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplyView {
    /// True: nothing was changed, this is what an apply would do.
    pub dry_run: bool,
    pub managed_by: Option<String>,
    pub plan: Vec<Step>,
    pub summary: ApplySummary,
}

/// How many schedules each action touched.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ApplySummary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl ApplyView {
    pub fn of(dry_run: bool, managed_by: Option<String>, steps: Vec<Step>) -> ApplyView {
        let mut summary = ApplySummary::default();
        for s in &steps {
            *match s.action {
                ApplyAction::Create => &mut summary.create,
                ApplyAction::Update => &mut summary.update,
                ApplyAction::Delete => &mut summary.delete,
                ApplyAction::Unchanged => &mut summary.unchanged,
            } += 1;
        }
        ApplyView {
            dry_run,
            managed_by,
            plan: steps,
            summary,
        }
    }
}
