//! The create/replace body of a schedule, validated as a whole: every problem is reported with
//! its field (`details`), the first one in the message.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::retry::RetryPolicy;
use super::rules::FireRules;
use super::schedule::ScheduleSpec;
use super::states::{ConcurrencyPolicy, MisfirePolicy, ScheduleType, Severity, TaskType};
use super::task::TaskSpec;
use super::validate::{type_name, FieldErrors, Limits, Obj};

/// Severities, lowest first.
const MAX_TAG: usize = 100;

/// A valid schedule body.
#[derive(Debug, Clone)]
pub struct ScheduleInput {
    pub name: String,
    pub description: Option<String>,
    pub task: TaskSpec,
    pub schedule_type: ScheduleType,
    pub spec: ScheduleSpec,
    pub enabled: bool,
    pub retry_policy: RetryPolicy,
    pub severity: Option<Severity>,
    pub concurrency_policy: ConcurrencyPolicy,
    pub misfire_policy: MisfirePolicy,
    pub tags: Vec<String>,
    /// Jitter, window, run limit, start deadline, catch-up limits.
    pub rules: FireRules,
    /// The schedules that run after this one's runs (`onSuccess`, `onFailure`).
    pub chain: super::chain::Chain,
    /// `webhook: {"enabled": true}`: runs on a signed `POST /api/hooks/{key}`.
    pub webhook: bool,
    /// The `taskforge apply` file that manages it (`managedBy`); `--prune` deletes only those.
    pub managed_by: Option<String>,
}

/// The fields a create or replace sets.
pub const EDITABLE: [&str; 13] = [
    "name",
    "description",
    "taskType",
    "taskConfig",
    "scheduleType",
    "scheduleConfig",
    "enabled",
    "retryPolicy",
    "severity",
    "concurrencyPolicy",
    "misfirePolicy",
    "tags",
    "managedBy",
];

/// Fields of the schedule object that the server maintains; ignored in a body.
pub const READ_ONLY: [&str; 14] = [
    "id",
    "nextRunAt",
    "lastRunAt",
    "lastExecutionId",
    "createdAt",
    "updatedAt",
    "pausedAt",
    "pausedReason",
    "pausedUntil",
    "runCount",
    "lastStatus",
    "consecutiveFailures",
    "webhookUrl",
    "webhookSecret",
];

impl ScheduleInput {
    /// `nextRunAt` when written at `now` with intervals anchored at `anchor`, after
    /// `run_count` runs.
    pub fn first_run(
        &self,
        now: DateTime<Utc>,
        anchor: DateTime<Utc>,
        run_count: i64,
    ) -> Option<DateTime<Utc>> {
        let spec = self.spec.anchored(anchor);
        super::rules::Timing {
            spec: &spec,
            name: &self.name,
            rules: &self.rules,
        }
        .first_run(now, run_count)
    }
}

/// True when `field` is one a create or replace sets (what `export` writes out; the server's
/// fields such as `id` or `nextRunAt` are not).
pub fn is_create_field(field: &str) -> bool {
    EDITABLE.contains(&field)
        || super::rules::FIELDS.contains(&field)
        || super::chain::FIELDS.contains(&field)
        || field == "webhook"
}

/// Validates a create or replace body; `now` anchors intervals without `startAt`.
pub fn validate(
    body: &Value,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<ScheduleInput, FieldErrors> {
    let mut e = FieldErrors::default();
    // PostgreSQL stores no NUL: anywhere in the body (free JSON such as an HTTP body too) it is
    // refused here, naming the field, instead of failing the write.
    if let Some(field) = super::text::nul_path(body, "") {
        e.add(field, "must not contain a NUL byte");
        return Err(e);
    }
    let Some(obj) = Obj::new(body, "", &mut e) else {
        return Err(e);
    };
    let mut allowed = EDITABLE.to_vec();
    allowed.extend_from_slice(&super::rules::FIELDS);
    allowed.extend_from_slice(&super::chain::FIELDS);
    allowed.push("webhook");
    // A schedule object read from the API can be sent back as is: its read-only fields are
    // ignored, not refused.
    allowed.extend_from_slice(&READ_ONLY);
    obj.only(&allowed, &mut e);
    let name = obj.req_str("name", &mut e).map(|n| n.trim().to_string());
    if let Some(n) = &name {
        if n.is_empty() || n.chars().count() > limits.name_max_chars {
            e.add(
                "name",
                format!("must be 1 to {} characters", limits.name_max_chars),
            );
        }
    }
    let description = obj.opt_str("description", &mut e);
    let managed_by = managed_by(&obj, limits, &mut e);
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > limits.description_max_chars)
    {
        e.add(
            "description",
            format!(
                "must be at most {} characters",
                limits.description_max_chars
            ),
        );
    }
    let mut task_type: Option<TaskType> = obj.req_state("taskType", &mut e);
    if let Some(t) = task_type.filter(|t| !limits.task_types.contains(t)) {
        e.add(
            "taskType",
            format!("task type `{t}` is disabled on this server (execution.enabled_task_types)"),
        );
        task_type = None;
    }
    let schedule_type: Option<ScheduleType> = obj.req_state("scheduleType", &mut e);
    let task = match (task_type, obj.get("taskConfig")) {
        (_, None) => {
            e.add("taskConfig", "is required");
            None
        }
        (Some(t), Some(cfg)) => TaskSpec::from_json(t, cfg, limits, &mut e),
        (None, Some(_)) => None,
    };
    let spec = match (schedule_type, obj.get("scheduleConfig")) {
        (_, None) => {
            e.add("scheduleConfig", "is required");
            None
        }
        (Some(t), Some(cfg)) => ScheduleSpec::from_json(t, cfg, now, &mut e),
        (None, Some(_)) => None,
    };
    let enabled = obj.opt_bool("enabled", &mut e).unwrap_or(true);
    let retry_policy = match obj.get("retryPolicy") {
        Some(v) => RetryPolicy::from_json(v, &mut e),
        None => Some(RetryPolicy::default()),
    };
    let severity = obj.opt_state("severity", &mut e);
    let concurrency_policy = obj
        .opt_state("concurrencyPolicy", &mut e)
        .unwrap_or(ConcurrencyPolicy::Allow);
    let misfire_policy = obj
        .opt_state("misfirePolicy", &mut e)
        .unwrap_or(MisfirePolicy::RunOnce);
    let tags = tags(&obj, limits.tags_max, &mut e);
    let rules = FireRules::from_obj(
        &obj,
        spec.as_ref(),
        Some((misfire_policy, concurrency_policy)),
        &mut e,
    );
    let chain = super::chain::Chain::from_obj(&obj, &mut e);
    let webhook = obj
        .get("webhook")
        .and_then(|v| Obj::new(v, "webhook", &mut e))
        .map(|o| {
            o.only(&["enabled"], &mut e);
            o.opt_bool("enabled", &mut e).unwrap_or(false)
        })
        .unwrap_or(false);

    match (name, task, spec, retry_policy, schedule_type) {
        (Some(name), Some(task), Some(spec), Some(retry_policy), Some(schedule_type))
            if e.is_empty() =>
        {
            Ok(ScheduleInput {
                name,
                description,
                task,
                schedule_type,
                spec,
                enabled,
                retry_policy,
                severity,
                concurrency_policy,
                misfire_policy,
                tags,
                rules,
                chain,
                webhook,
                managed_by,
            })
        }
        _ => Err(e),
    }
}

/// `managedBy`: a name of 1 to `name_max_chars` characters, or absent (one rule for a schedule
/// body and an apply file).
pub fn managed_by(obj: &Obj<'_>, limits: &Limits, e: &mut FieldErrors) -> Option<String> {
    let m = obj.opt_str("managedBy", e);
    if m.as_ref()
        .is_some_and(|m| m.trim().is_empty() || m.chars().count() > limits.name_max_chars)
    {
        e.add(
            "managedBy",
            format!("must be 1 to {} characters", limits.name_max_chars),
        );
    }
    m
}

fn tags(obj: &Obj<'_>, max: usize, e: &mut FieldErrors) -> Vec<String> {
    let Some(v) = obj.get("tags") else {
        return Vec::new();
    };
    let Value::Array(items) = v else {
        e.add(
            "tags",
            format!("must be an array of strings, got {}", type_name(v)),
        );
        return Vec::new();
    };
    if items.len() > max {
        e.add("tags", format!("at most {max} tags"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(t) if !t.is_empty() && t.chars().count() <= MAX_TAG => {
                if !out.iter().any(|x| x == t) {
                    out.push(t.to_string());
                }
            }
            _ => e.add(
                format!("tags[{i}]"),
                format!("must be a string of 1 to {MAX_TAG} characters"),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({
            "name": "nightly",
            "taskType": "shell",
            "taskConfig": {"command": "echo hi"},
            "scheduleType": "cron",
            "scheduleConfig": {"expression": "0 2 * * *"}
        })
    }

    #[test]
    fn minimal_body_gets_defaults() {
        let s =
            validate(&good(), Utc::now(), &Limits::default()).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(s.enabled);
        assert_eq!(s.retry_policy, RetryPolicy::default());
        assert_eq!(s.concurrency_policy, ConcurrencyPolicy::Allow);
        assert_eq!(s.misfire_policy, MisfirePolicy::RunOnce);
    }

    #[test]
    fn every_bad_field_is_listed() {
        let mut b = good();
        b["name"] = json!("");
        b["taskType"] = json!("python");
        b["scheduleConfig"] = json!({"expression": "bad"});
        b["severity"] = json!("urgent");
        b["tags"] = json!(["ok", 3]);
        b["enabled"] = json!("yes");
        let e = validate(&b, Utc::now(), &Limits::default())
            .err()
            .unwrap_or_default();
        assert_eq!(
            e.fields(),
            vec![
                "name",
                "taskType",
                "scheduleConfig.expression",
                "enabled",
                "severity",
                "tags[1]"
            ]
        );
        assert!(e.summary().starts_with("name: "));
    }

    #[test]
    fn disabled_task_types_are_refused_by_name() {
        let limits = Limits {
            task_types: vec![TaskType::Http],
            ..Limits::default()
        };
        let e = validate(&good(), Utc::now(), &limits)
            .err()
            .unwrap_or_default();
        assert_eq!(e.fields(), vec!["taskType"]);
        assert!(
            e.summary().contains("`shell` is disabled"),
            "{}",
            e.summary()
        );
    }

    #[test]
    fn missing_parts_are_required() {
        let e = validate(&json!({}), Utc::now(), &Limits::default())
            .err()
            .unwrap_or_default();
        assert_eq!(
            e.fields(),
            vec![
                "name",
                "taskType",
                "scheduleType",
                "taskConfig",
                "scheduleConfig"
            ]
        );
        let e = validate(&json!([1]), Utc::now(), &Limits::default())
            .err()
            .unwrap_or_default();
        assert_eq!(e.fields(), vec!["body"]);
    }
}
