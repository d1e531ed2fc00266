//! `taskforge export [--format toml|json]`: every schedule of a running service with the fields
//! a create takes, by name, as `[[schedules]]` (TOML) or `{"schedules": [...]}` (JSON). Secret
//! references stay references (`{"$secret": "name"}`); the service never shows their values.

use serde_json::{Map, Value};

use super::{Api, Failure};
use crate::domain::schedule_input::is_create_field;

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Toml,
    Json,
}

/// A schedule as the API shows it, cut to its create fields; nulls left out (TOML has none,
/// and a missing field means the same as null to a create).
fn entry(schedule: &Value) -> Value {
    let kept: Map<String, Value> = schedule
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| is_create_field(k) && !v.is_null())
        .map(|(k, v)| (k.clone(), without_nulls(v)))
        .collect();
    Value::Object(kept)
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

/// See the module docs.
pub(super) async fn export(api: &Api, format: Format) -> Result<String, Failure> {
    let doc = serde_json::json!({ "schedules": all(api).await? });
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
    }
}
