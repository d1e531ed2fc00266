//! What a schedule runs: shell, HTTP or conductor tasks, validated from `taskConfig`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::states::TaskType;

mod parse;

/// A validated task. Stored as `taskConfig` JSON (camelCase) and snapshotted on each execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TaskSpec {
    Shell(ShellTask),
    Http(HttpTask),
    Conductor(ConductorTask),
}

/// `/bin/sh -c command`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShellTask {
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "pairs")]
    pub env: Vec<(String, Param)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// An HTTP request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpTask {
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "pairs")]
    pub headers: Vec<(String, Param)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_status: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Follow 3xx answers (at most 10); the task's headers are dropped on a hop to another
    /// origin. Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow_redirects: bool,
}

/// A message to the conductor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConductorTask {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// A shell `env` value or an HTTP header value: given inline, or a reference to a stored secret
/// (`{"$secret": "name"}`), resolved only when the task starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Param {
    Secret {
        #[serde(rename = "$secret")]
        secret: String,
    },
    Plain(String),
}

impl Param {
    /// The value, once resolved (None for a reference still unresolved).
    pub fn plain(&self) -> Option<&str> {
        match self {
            Param::Plain(v) => Some(v),
            Param::Secret { .. } => None,
        }
    }
}

/// The secret a whole HTTP `body` of `{"$secret": "name"}` refers to.
pub fn body_secret(body: &Value) -> Option<&str> {
    match body {
        Value::Object(m) if m.len() == 1 => m.get("$secret").and_then(Value::as_str),
        _ => None,
    }
}

/// Name/value pairs as a JSON object (keeps the order the user gave).
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Param;

    pub(super) fn serialize<S: Serializer>(v: &[(String, Param)], s: S) -> Result<S::Ok, S::Error> {
        let m: std::collections::BTreeMap<&String, &Param> =
            v.iter().map(|(k, v)| (k, v)).collect();
        m.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, Param)>, D::Error> {
        let m = std::collections::BTreeMap::<String, Param>::deserialize(d)?;
        Ok(m.into_iter().collect())
    }
}

impl TaskSpec {
    /// The stored `taskConfig`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads back a stored `taskConfig` of `task_type`.
    pub fn from_stored(task_type: TaskType, config: &Value) -> Result<TaskSpec, String> {
        let r = match task_type {
            TaskType::Shell => serde_json::from_value(config.clone()).map(TaskSpec::Shell),
            TaskType::Http => serde_json::from_value(config.clone()).map(TaskSpec::Http),
            TaskType::Conductor => serde_json::from_value(config.clone()).map(TaskSpec::Conductor),
        };
        r.map_err(|e| format!("stored taskConfig is unreadable: {e}"))
    }

    /// This task's type.
    pub fn task_type(&self) -> TaskType {
        match self {
            TaskSpec::Shell(_) => TaskType::Shell,
            TaskSpec::Http(_) => TaskType::Http,
            TaskSpec::Conductor(_) => TaskType::Conductor,
        }
    }

    /// Values that must never reach a log line: shell `env` values and HTTP header values.
    pub fn secrets(&self) -> Vec<String> {
        self.params()
            .iter()
            .filter_map(|(_, p)| p.plain())
            .filter(|v| v.len() >= 3)
            .map(str::to_string)
            .collect()
    }

    fn params(&self) -> Vec<(String, &Param)> {
        match self {
            TaskSpec::Shell(t) => t
                .env
                .iter()
                .map(|(k, v)| (format!("taskConfig.env.{k}"), v))
                .collect(),
            TaskSpec::Http(t) => t
                .headers
                .iter()
                .map(|(k, v)| (format!("taskConfig.headers.{k}"), v))
                .collect(),
            TaskSpec::Conductor(_) => vec![],
        }
    }

    /// Every secret the task refers to: (field, secret name).
    pub fn secret_refs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .params()
            .into_iter()
            .filter_map(|(field, p)| match p {
                Param::Secret { secret } => Some((field, secret.clone())),
                Param::Plain(_) => None,
            })
            .collect();
        if let TaskSpec::Http(t) = self {
            if let Some(name) = t.body.as_ref().and_then(body_secret) {
                out.push(("taskConfig.body".into(), name.to_string()));
            }
        }
        out
    }

    /// True when the task's HTTP `url` or `body` or conductor `message` holds a placeholder.
    pub fn has_placeholders(&self) -> bool {
        use crate::domain::template::has_placeholders as has;
        fn in_json(v: &Value) -> bool {
            match v {
                Value::String(s) => has(s),
                Value::Array(a) => a.iter().any(in_json),
                Value::Object(m) => m.values().any(in_json),
                _ => false,
            }
        }
        match self {
            TaskSpec::Shell(_) => false,
            TaskSpec::Http(t) => has(&t.url) || t.body.as_ref().is_some_and(in_json),
            TaskSpec::Conductor(t) => has(&t.message),
        }
    }

    /// The task with the run's values put into its HTTP `url` and `body` or its conductor
    /// `message` (see [`crate::domain::template`]); shell tasks get them as variables instead.
    /// Done before secrets are opened: a secret's value is never read as a template, and a
    /// body that is a secret reference is left alone.
    pub fn rendered(&self, vars: &crate::domain::template::Vars) -> Result<TaskSpec, String> {
        let fail = |e: crate::domain::template::Missing| e.to_string();
        Ok(match self {
            TaskSpec::Shell(_) => self.clone(),
            TaskSpec::Http(t) => {
                let body = match &t.body {
                    Some(b) if body_secret(b).is_none() => Some(vars.render_json(b).map_err(fail)?),
                    other => other.clone(),
                };
                TaskSpec::Http(HttpTask {
                    url: vars.render_url(&t.url).map_err(fail)?,
                    body,
                    ..t.clone()
                })
            }
            TaskSpec::Conductor(t) => TaskSpec::Conductor(ConductorTask {
                message: vars.render(&t.message).map_err(fail)?,
                ..t.clone()
            }),
        })
    }

    /// The task with every secret reference replaced by its value (`values`: name → value).
    /// A reference without a value is left as is (callers check [`TaskSpec::secret_refs`]).
    pub fn resolved(&self, values: &[(String, String)]) -> TaskSpec {
        let value = |name: &str| {
            values
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let resolve = |pairs: &[(String, Param)]| -> Vec<(String, Param)> {
            pairs
                .iter()
                .map(|(k, p)| {
                    let p = match p {
                        Param::Secret { secret } => {
                            value(secret).map(Param::Plain).unwrap_or_else(|| p.clone())
                        }
                        Param::Plain(_) => p.clone(),
                    };
                    (k.clone(), p)
                })
                .collect()
        };
        match self {
            TaskSpec::Shell(t) => TaskSpec::Shell(ShellTask {
                env: resolve(&t.env),
                ..t.clone()
            }),
            TaskSpec::Http(t) => {
                let body = match t.body.as_ref().and_then(body_secret) {
                    Some(name) => value(name).map(Value::String).or_else(|| t.body.clone()),
                    None => t.body.clone(),
                };
                TaskSpec::Http(HttpTask {
                    headers: resolve(&t.headers),
                    body,
                    ..t.clone()
                })
            }
            TaskSpec::Conductor(_) => self.clone(),
        }
    }

    /// The task's own timeout, if it set one.
    pub fn timeout_ms(&self) -> Option<u64> {
        match self {
            TaskSpec::Shell(t) => t.timeout_ms,
            TaskSpec::Http(t) => t.timeout_ms,
            TaskSpec::Conductor(t) => t.timeout_ms,
        }
    }
}

#[cfg(test)]
mod tests;
