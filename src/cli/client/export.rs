//! `taskforge export [--format toml|json]`: every schedule of a running service with the fields
//! a create takes, by name, as `[[schedules]]` (TOML) or `{"schedules": [...]}` (JSON), in the
//! form `taskforge apply` reads. Secret references stay references (`{"$secret": "name"}`);
//! the service never shows their values.

use serde_json::{Map, Value};

use super::{Api, Failure};
use crate::domain::schedule_input::is_create_field;

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Toml,
    Json,
}

/// A schedule as the API shows it, cut to its create fields; nulls left out (a missing field
/// means the same as null to a create), except inside an HTTP task's `body`, which is the
/// user's own JSON and is kept as it is.
fn entry(schedule: &Value) -> Value {
    let kept: Map<String, Value> = schedule
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| is_create_field(k) && !v.is_null())
        .map(|(k, v)| (k.clone(), without_nulls(v)))
        .collect();
    let mut e = Value::Object(kept);
    if let Some(body) = schedule["taskConfig"].get("body").filter(|b| !b.is_null()) {
        e["taskConfig"]["body"] = body.clone();
    }
    e
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// TOML has no null: a schedule whose HTTP body holds one can only be exported as JSON.
fn check_toml(entries: &[Value]) -> Result<(), Failure> {
    fn has_null(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(items) => items.iter().any(has_null),
            Value::Object(m) => m.values().any(has_null),
            _ => false,
        }
    }
    match entries.iter().find(|e| has_null(e)) {
        Some(e) => Err(Failure(format!(
            "schedule `{}`: taskConfig.body holds a null, which TOML cannot write (use --format json)",
            e["name"].as_str().unwrap_or_default()
        ))),
        None => Ok(()),
    }
}

/// Every schedule, page by page, sorted by name.
async fn all(api: &Api) -> Result<Vec<Value>, Failure> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/scheduler/schedules?limit=500&cursor={c}"),
            None => "/api/scheduler/schedules?limit=500".to_string(),
        };
        let page = api.call("GET", &path, None).await?;
        out.extend(page["items"].as_array().into_iter().flatten().map(entry));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(crate::domain::template::percent_encode(c)),
            None => break,
        }
    }
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Ok(out)
}

/// The file: when every schedule has the same `managedBy`, it is the file's (and not repeated
/// per entry), so applying the export stamps and prunes by it.
fn document(mut entries: Vec<Value>) -> Value {
    let first = entries.first().map(|e| e["managedBy"].clone());
    let shared = first.filter(|m| m.is_string() && entries.iter().all(|e| e["managedBy"] == *m));
    let Some(owner) = shared else {
        return serde_json::json!({ "schedules": entries });
    };
    for e in &mut entries {
        if let Value::Object(m) = e {
            m.remove("managedBy");
        }
    }
    serde_json::json!({ "managedBy": owner, "schedules": entries })
}

/// See the module docs.
pub(super) async fn export(api: &Api, format: Format) -> Result<String, Failure> {
    let entries = all(api).await?;
    if format == Format::Toml {
        check_toml(&entries)?;
    }
    let doc = document(entries);
    match format {
        Format::Json => Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )),
        Format::Toml => toml::to_string(&doc).map_err(|e| Failure(format!("as TOML: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_create_fields_without_nulls_and_toml_reads_back() {
        let view = json!({"id": "x", "name": "n", "nextRunAt": "2026-01-01T00:00:00Z", "description": null,
            "taskType": "shell", "taskConfig": {"command": "true", "workingDir": null, "env": {"P": {"$secret": "pw"}}},
            "webhook": {"enabled": true}, "webhookSecret": "s", "onSuccess": [], "jitterSeconds": null});
        let e = entry(&view);
        assert_eq!(
            e,
            json!({"name": "n", "taskType": "shell", "taskConfig": {"command": "true", "env": {"P": {"$secret": "pw"}}},
                   "webhook": {"enabled": true}, "onSuccess": []})
        );
        let text = toml::to_string(&json!({"schedules": [e.clone()]})).unwrap_or_default();
        let back: Value = toml::from_str(&text).unwrap_or_default();
        assert_eq!(back["schedules"][0], e, "{text}");
        // The user's own JSON keeps its nulls (and TOML refuses it).
        let with_body = entry(
            &json!({"name": "h", "taskConfig": {"url": "u", "headers": null, "body": {"a": null}}}),
        );
        assert_eq!(
            with_body["taskConfig"],
            json!({"url": "u", "body": {"a": null}})
        );
        assert!(check_toml(&[with_body]).is_err());
        assert!(check_toml(&[e]).is_ok());
    }

    #[test]
    fn a_shared_owner_is_the_files_and_mixed_owners_stay_per_entry() {
        let doc = document(vec![
            json!({"name": "a", "managedBy": "ops"}),
            json!({"name": "b", "managedBy": "ops"}),
        ]);
        assert_eq!(
            doc,
            json!({"managedBy": "ops", "schedules": [{"name": "a"}, {"name": "b"}]})
        );
        let mixed = vec![
            json!({"name": "a", "managedBy": "ops"}),
            json!({"name": "b"}),
        ];
        assert_eq!(document(mixed.clone()), json!({ "schedules": mixed }));
        assert_eq!(document(vec![]), json!({"schedules": []}));
    }
}
