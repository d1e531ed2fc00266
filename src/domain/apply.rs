//! Schedules as code: the body of `POST /api/scheduler/apply` (what `taskforge apply -f FILE`
//! sends) validated as a whole, and the plan that turns a file into creates, updates, deletes
//! and schedules left alone. Every entry is checked by the same [`schedule_input::validate`]
//! as a create; a problem anywhere fails the whole apply, each named `<schedule>:<field>`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::schedule_input::{self, ScheduleInput};
use super::states::ApplyAction;
use super::validate::{FieldErrors, Limits, Obj};

/// The most schedules one apply takes.
pub const MAX_ENTRIES: usize = 5_000;

/// A valid apply.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    /// Stored on every schedule the apply writes; what `prune` deletes by.
    pub managed_by: Option<String>,
    /// In file order, names unique.
    pub inputs: Vec<ScheduleInput>,
    pub prune: bool,
    pub dry_run: bool,
}

/// Validates `{managedBy, schedules, prune, dryRun}`; `now` anchors intervals as a create does.
pub fn read(
    body: &Value,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<ApplyRequest, FieldErrors> {
    let mut e = FieldErrors::default();
    let Some(obj) = Obj::new(body, "", &mut e) else {
        return Err(e);
    };
    obj.only(&["managedBy", "schedules", "prune", "dryRun"], &mut e);
    let managed_by = schedule_input::managed_by(&obj, limits, &mut e);
    let prune = obj.opt_bool("prune", &mut e).unwrap_or(false);
    let dry_run = obj.opt_bool("dryRun", &mut e).unwrap_or(false);
    if prune && managed_by.is_none() {
        e.add(
            "managedBy",
            "is required with prune (it says which schedules the file owns)",
        );
    }
    let entries = match obj.get("schedules") {
        None => Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_ENTRIES => items.clone(),
        Some(Value::Array(_)) => {
            e.add("schedules", format!("at most {MAX_ENTRIES} schedules"));
            Vec::new()
        }
        Some(other) => {
            e.add(
                "schedules",
                format!(
                    "must be an array, got {}",
                    super::validate::type_name(other)
                ),
            );
            Vec::new()
        }
    };
    let mut inputs = Vec::with_capacity(entries.len());
    let mut seen = HashSet::new();
    for (i, mut entry) in entries.into_iter().enumerate() {
        if !entry.is_object() {
            e.add(format!("schedules[{i}]"), "must be an object");
            continue;
        }
        let Some(name) = entry.get("name").and_then(Value::as_str).map(str::trim) else {
            e.add(
                format!("schedules[{i}]:name"),
                "is required, as a string (entries are keyed by name)",
            );
            continue;
        };
        let name = name.to_string();
        if !seen.insert(name.clone()) {
            e.add(format!("{name}:name"), "appears more than once in the file");
            continue;
        }
        if let (Some(file), Some(own)) = (&managed_by, entry.get("managedBy")) {
            if own.as_str() != Some(file.as_str()) && !own.is_null() {
                e.add(
                    format!("{name}:managedBy"),
                    format!("differs from the file's managedBy `{file}`"),
                );
                continue;
            }
        }
        if let (Some(file), Value::Object(m)) = (&managed_by, &mut entry) {
            m.insert("managedBy".into(), Value::String(file.clone()));
        }
        match schedule_input::validate(&entry, now, limits) {
            Ok(input) => inputs.push(input),
            Err(errors) => e.extend_under(&format!("{name}:"), errors),
        }
    }
    if !e.is_empty() {
        return Err(e);
    }
    Ok(ApplyRequest {
        managed_by,
        inputs,
        prune,
        dry_run,
    })
}

/// A stored schedule as the plan sees it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: Uuid,
    pub name: String,
    pub managed_by: Option<String>,
}

/// One line of the plan (as the API shows it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub name: String,
    pub action: ApplyAction,
    /// The schedule's id (of a create: once created; null in a dry run).
    pub id: Option<Uuid>,
    /// For an update, the API fields that change (`taskConfig.command`, `tags`, ...).
    pub fields: Vec<String>,
}

/// The plan: one step per entry of the file in its order (`matched[i]` is the stored schedule
/// of `names[i]`, if any, with the fields the entry changes on it), then, with `prune`, one
/// delete per stored schedule managed by `managed_by` whose name the file lacks, by name.
pub fn plan(
    names: &[&str],
    matched: Vec<Option<(Uuid, Vec<String>)>>,
    stored: &[Stored],
    managed_by: Option<&str>,
    prune: bool,
) -> Vec<Step> {
    let mut steps: Vec<Step> = names
        .iter()
        .zip(matched)
        .map(|(name, m)| {
            let (action, id, fields) = match m {
                None => (ApplyAction::Create, None, Vec::new()),
                Some((id, f)) if f.is_empty() => (ApplyAction::Unchanged, Some(id), f),
                Some((id, f)) => (ApplyAction::Update, Some(id), f),
            };
            Step {
                name: name.to_string(),
                action,
                id,
                fields,
            }
        })
        .collect();
    if let (true, Some(owner)) = (prune, managed_by) {
        let in_file: HashSet<&str> = names.iter().copied().collect();
        let mut gone: Vec<&Stored> = stored
            .iter()
            .filter(|s| {
                s.managed_by.as_deref() == Some(owner) && !in_file.contains(s.name.as_str())
            })
            .collect();
        gone.sort_by(|a, b| a.name.cmp(&b.name));
        steps.extend(gone.into_iter().map(|s| Step {
            name: s.name.clone(),
            action: ApplyAction::Delete,
            id: Some(s.id),
            fields: Vec::new(),
        }));
    }
    steps
}

#[cfg(test)]
#[path = "apply/tests.rs"]
mod tests;
