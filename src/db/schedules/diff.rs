//! Which fields a create-or-replace body would change on a stored schedule, by their API names:
//! the one decision behind both "a replace equal to what is stored writes nothing" and the plan
//! of `taskforge apply`.

use chrono::Utc;
use serde_json::Value;

use super::{Editable, ScheduleRow};
use crate::domain::schedule_input::ScheduleInput;

/// The API fields (`taskConfig.command`, `jitterSeconds`, ...) `input` would change on `old`;
/// empty when writing it would leave the schedule as it is.
pub fn changes(input: &ScheduleInput, old: &ScheduleRow) -> Vec<String> {
    let new = Editable::of(input, None, None, Utc::now());
    let mut out = Vec::new();
    let mut whole = |field: &str, same: bool| {
        if !same {
            out.push(field.to_string());
        }
    };
    whole("name", new.name == old.name);
    whole("description", new.description == old.description.as_deref());
    whole("taskType", new.task_type == old.task_type);
    whole("scheduleType", new.schedule_type == old.schedule_type);
    whole("enabled", new.enabled == old.enabled);
    whole("severity", new.severity == old.severity);
    whole(
        "concurrencyPolicy",
        new.concurrency_policy == old.concurrency_policy,
    );
    whole("misfirePolicy", new.misfire_policy == old.misfire_policy);
    whole("tags", new.tags == old.tags.as_slice());
    whole("onSuccess", new.on_success == old.on_success.as_slice());
    whole("onFailure", new.on_failure == old.on_failure.as_slice());
    whole("webhook", input.webhook == old.webhook_key.is_some());
    whole("managedBy", new.managed_by == old.managed_by.as_deref());
    keys("taskConfig.", &new.task_config, &old.task_config, &mut out);
    keys(
        "scheduleConfig.",
        &new.schedule_config,
        &old.schedule_config,
        &mut out,
    );
    keys(
        "retryPolicy.",
        &new.retry_policy,
        &old.retry_policy,
        &mut out,
    );
    // The rules are flattened into the schedule object: their keys are API fields.
    keys("", &new.fire_rules, &old.fire_rules, &mut out);
    out
}

/// The keys of two JSON objects whose values differ (absent counts as null), prefixed; a value
/// that is not an object on either side is compared whole, under the prefix without its dot.
fn keys(prefix: &str, new: &Value, old: &Value, out: &mut Vec<String>) {
    let (Value::Object(n), Value::Object(o)) = (new, old) else {
        if new != old {
            out.push(prefix.trim_end_matches('.').to_string());
        }
        return;
    };
    let mut names: Vec<&String> = n.keys().chain(o.keys()).collect();
    names.sort();
    names.dedup();
    for k in names {
        let (a, b) = (
            n.get(k).unwrap_or(&Value::Null),
            o.get(k).unwrap_or(&Value::Null),
        );
        if a != b {
            out.push(format!("{prefix}{k}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differing_keys_are_named_absent_is_null() {
        let mut out = Vec::new();
        keys(
            "taskConfig.",
            &json!({"command": "a", "env": {"A": "1"}, "workingDir": null}),
            &json!({"command": "b", "env": {"A": "1"}, "timeoutMs": 5}),
            &mut out,
        );
        assert_eq!(out, vec!["taskConfig.command", "taskConfig.timeoutMs"]);
        let mut out = Vec::new();
        keys("", &json!({"jitterSeconds": 5}), &json!({}), &mut out);
        assert_eq!(out, vec!["jitterSeconds"]);
        let mut out = Vec::new();
        keys(
            "retryPolicy.",
            &json!(1),
            &json!({"maxRetries": 1}),
            &mut out,
        );
        assert_eq!(out, vec!["retryPolicy"]);
    }
}
