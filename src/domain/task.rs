//! What a schedule runs: shell, HTTP or conductor tasks, validated from `taskConfig`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::{type_name, FieldErrors, Limits, Obj};

pub use super::states::TaskType;

/// Longest accepted task timeout: one day.
const MAX_TIMEOUT_MS: i64 = 86_400_000;

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

/// A message to the conductor (flow 5).
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

    pub fn serialize<S: Serializer>(v: &[(String, Param)], s: S) -> Result<S::Ok, S::Error> {
        let m: std::collections::BTreeMap<&String, &Param> =
            v.iter().map(|(k, v)| (k, v)).collect();
        m.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Param)>, D::Error> {
        let m = std::collections::BTreeMap::<String, Param>::deserialize(d)?;
        Ok(m.into_iter().collect())
    }
}

/// An optional object of [`Param`] values (`env`, `headers`); problems go to `errors`.
fn param_map(obj: &Obj<'_>, key: &str, errors: &mut FieldErrors) -> Vec<(String, Param)> {
    let Some(v) = obj.get(key) else {
        return vec![];
    };
    let Value::Object(m) = v else {
        errors.add(
            obj.path(key),
            format!("must be an object of strings, got {}", type_name(v)),
        );
        return vec![];
    };
    let mut out = Vec::with_capacity(m.len());
    for (k, v) in m {
        let field = format!("{}.{k}", obj.path(key));
        match v {
            Value::String(s) if s.contains('\0') => {
                errors.add(field, "must not contain a NUL byte")
            }
            Value::String(s) => out.push((k.clone(), Param::Plain(s.clone()))),
            Value::Object(_) => match body_secret(v) {
                Some(name) if super::sealed::valid_name(name) => out.push((
                    k.clone(),
                    Param::Secret {
                        secret: name.to_string(),
                    },
                )),
                _ => errors.add(
                    field,
                    "must be a string or {\"$secret\": \"<name>\"} (letters, digits, _ - .)",
                ),
            },
            other => errors.add(
                field,
                format!(
                    "must be a string or a secret reference, got {}",
                    type_name(other)
                ),
            ),
        }
    }
    out
}

impl TaskSpec {
    /// Validates `taskConfig` for `task_type`; problems go to `errors` under `taskConfig.*`.
    pub fn from_json(
        task_type: TaskType,
        config: &Value,
        limits: &Limits,
        errors: &mut FieldErrors,
    ) -> Option<TaskSpec> {
        let before = errors.len();
        let obj = Obj::new(config, "taskConfig", errors)?;
        let timeout_ms = obj
            .opt_int("timeoutMs", 1, MAX_TIMEOUT_MS, errors)
            .map(|t| t as u64);
        let spec = match task_type {
            TaskType::Shell => {
                obj.only(&["command", "workingDir", "env", "timeoutMs"], errors);
                let command = non_empty(&obj, "command", errors)?;
                max_bytes(
                    errors,
                    "taskConfig.command",
                    &command,
                    limits.command_max_bytes,
                );
                let working_dir = obj.opt_str("workingDir", errors);
                if working_dir.as_deref().is_some_and(|d| !d.starts_with('/')) {
                    errors.add("taskConfig.workingDir", "must be an absolute path");
                }
                let env = param_map(&obj, "env", errors);
                for (k, _) in &env {
                    if k.is_empty() || k.contains('=') || k.contains('\0') {
                        errors.add(
                            format!("taskConfig.env.{k}"),
                            "is not a valid variable name",
                        );
                    }
                }
                Some(TaskSpec::Shell(ShellTask {
                    command,
                    working_dir,
                    env,
                    timeout_ms,
                }))
            }
            TaskType::Http => {
                obj.only(
                    &[
                        "method",
                        "url",
                        "headers",
                        "body",
                        "expectedStatus",
                        "timeoutMs",
                        "followRedirects",
                    ],
                    errors,
                );
                let follow_redirects = obj.opt_bool("followRedirects", errors).unwrap_or(false);
                let method = obj
                    .opt_str("method", errors)
                    .unwrap_or_else(|| "GET".into())
                    .to_ascii_uppercase();
                if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                    .contains(&method.as_str())
                {
                    errors.add(
                        "taskConfig.method",
                        format!("unsupported HTTP method `{method}`"),
                    );
                }
                let url = obj.req_str("url", errors)?;
                max_bytes(errors, "taskConfig.url", &url, limits.url_max_bytes);
                if !(url.starts_with("http://") || url.starts_with("https://"))
                    || url.parse::<awc::http::Uri>().is_err()
                {
                    errors.add(
                        "taskConfig.url",
                        format!("must be an http:// or https:// URL, got `{url}`"),
                    );
                }
                let headers = param_map(&obj, "headers", errors);
                for (k, v) in &headers {
                    if awc::http::header::HeaderName::from_bytes(k.as_bytes()).is_err()
                        || v.plain()
                            .is_some_and(|v| awc::http::header::HeaderValue::from_str(v).is_err())
                    {
                        errors.add(
                            format!("taskConfig.headers.{k}"),
                            "is not a valid HTTP header",
                        );
                    }
                }
                let expected_status = expected_status(&obj, errors);
                let body = obj.get("body").cloned();
                if let Some(name) = body.as_ref().and_then(body_secret) {
                    if !super::sealed::valid_name(name) {
                        errors.add("taskConfig.body.$secret", "is not a secret name");
                    }
                }
                Some(TaskSpec::Http(HttpTask {
                    method,
                    url,
                    headers,
                    body,
                    expected_status,
                    timeout_ms,
                    follow_redirects,
                }))
            }
            TaskType::Conductor => {
                obj.only(&["message", "threadId", "timeoutMs"], errors);
                let message = non_empty(&obj, "message", errors)?;
                max_bytes(
                    errors,
                    "taskConfig.message",
                    &message,
                    limits.message_max_bytes,
                );
                let thread_id = obj.opt_str("threadId", errors);
                if thread_id.as_deref().is_some_and(|t| {
                    t.is_empty()
                        || !t
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                }) {
                    errors.add(
                        "taskConfig.threadId",
                        "may only hold letters, digits, '-', '_' and '.'",
                    );
                }
                Some(TaskSpec::Conductor(ConductorTask {
                    message,
                    thread_id,
                    timeout_ms,
                }))
            }
        };
        spec.filter(|_| errors.len() == before)
    }

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

fn max_bytes(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
    if value.len() > max {
        errors.add(
            field,
            format!("must be at most {max} bytes, got {}", value.len()),
        );
    }
}

fn non_empty(obj: &Obj<'_>, key: &str, errors: &mut FieldErrors) -> Option<String> {
    let s = obj.req_str(key, errors)?;
    if s.trim().is_empty() {
        errors.add(obj.path(key), "must not be empty");
        return None;
    }
    Some(s)
}

fn expected_status(obj: &Obj<'_>, errors: &mut FieldErrors) -> Option<Vec<u16>> {
    let v = obj.get("expectedStatus")?;
    let Value::Array(items) = v else {
        errors.add(
            "taskConfig.expectedStatus",
            format!("must be an array of status codes, got {}", type_name(v)),
        );
        return None;
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_u64().filter(|c| (100..=599).contains(c)) {
            Some(c) => out.push(c as u16),
            None => errors.add(
                format!("taskConfig.expectedStatus[{i}]"),
                "must be a status code 100-599",
            ),
        }
    }
    if out.is_empty() && items.is_empty() {
        errors.add(
            "taskConfig.expectedStatus",
            "must not be empty (omit it to accept any 2xx)",
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(t: TaskType, v: Value) -> Vec<String> {
        let mut e = FieldErrors::default();
        let r = TaskSpec::from_json(t, &v, &Limits::default(), &mut e);
        assert!(r.is_none(), "{v} accepted");
        e.fields()
    }

    #[test]
    fn valid_tasks_round_trip() {
        let mut e = FieldErrors::default();
        for (t, v) in [
            (
                TaskType::Shell,
                json!({"command": "echo hi", "workingDir": "/tmp", "env": {"K": "V"}, "timeoutMs": 500}),
            ),
            (
                TaskType::Http,
                json!({"method": "post", "url": "http://127.0.0.1:1/x", "headers": {"X-A": "b"}, "body": {"a": 1}, "expectedStatus": [200, 201]}),
            ),
            (
                TaskType::Conductor,
                json!({"message": "hello", "threadId": "t-1"}),
            ),
        ] {
            let spec = TaskSpec::from_json(t, &v, &Limits::default(), &mut e)
                .unwrap_or_else(|| panic!("{v}: {e:?}"));
            assert_eq!(TaskSpec::from_stored(t, &spec.to_json()), Ok(spec.clone()));
            assert_eq!(spec.task_type(), t);
        }
    }

    #[test]
    fn secret_references_are_kept_and_resolved_at_run_time() {
        let mut e = FieldErrors::default();
        let v = json!({"method": "GET", "url": "http://127.0.0.1:1/x", "headers": {"Authorization": {"$secret": "api-key"}, "X-Plain": "p"},
                       "body": {"$secret": "payload"}});
        let spec = TaskSpec::from_json(TaskType::Http, &v, &Limits::default(), &mut e)
            .unwrap_or_else(|| panic!("{e:?}"));
        assert_eq!(spec.to_json(), v, "stored as given: references, not values");
        assert_eq!(
            TaskSpec::from_stored(TaskType::Http, &spec.to_json()),
            Ok(spec.clone())
        );
        assert_eq!(
            spec.secret_refs(),
            vec![
                (
                    "taskConfig.headers.Authorization".to_string(),
                    "api-key".to_string()
                ),
                ("taskConfig.body".to_string(), "payload".to_string())
            ]
        );
        let done = spec.resolved(&[
            ("api-key".into(), "Bearer s3".into()),
            ("payload".into(), "{}".into()),
        ]);
        let TaskSpec::Http(h) = done else {
            panic!("type changed")
        };
        assert_eq!(h.headers[0].1.plain(), Some("Bearer s3"));
        assert_eq!(h.body, Some(Value::String("{}".into())));
        assert_eq!(
            spec.secrets(),
            vec!["p".to_string()]
                .into_iter()
                .filter(|s| s.len() >= 3)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let t = ShellTask {
            command: "x".into(),
            working_dir: None,
            env: vec![("TOKEN".into(), Param::Plain("abc123".into()))],
            timeout_ms: None,
        };
        let s = TaskSpec::Shell(t).secrets();
        assert_eq!(
            crate::domain::redact::redact("value abc123 leaked", &s),
            "value *** leaked"
        );
    }

    #[test]
    fn invalid_tasks_name_the_field() {
        assert_eq!(
            fields(TaskType::Shell, json!({})),
            vec!["taskConfig.command"]
        );
        assert_eq!(
            fields(TaskType::Shell, json!({"command": "  "})),
            vec!["taskConfig.command"]
        );
        assert_eq!(
            fields(
                TaskType::Shell,
                json!({"command": "x", "workingDir": "rel"})
            ),
            vec!["taskConfig.workingDir"]
        );
        assert_eq!(
            fields(TaskType::Shell, json!({"command": "x", "env": {"A": 1}})),
            vec!["taskConfig.env.A"]
        );
        assert_eq!(
            fields(
                TaskType::Shell,
                json!({"command": "x", "env": {"A": {"$secret": "bad name"}}})
            ),
            vec!["taskConfig.env.A"]
        );
        assert_eq!(
            fields(
                TaskType::Shell,
                json!({"command": "x", "env": {"A": {"$secret": "ok", "x": 1}}})
            ),
            vec!["taskConfig.env.A"]
        );
        assert_eq!(
            fields(TaskType::Shell, json!({"command": "a\u{0}b"})),
            vec!["taskConfig.command"]
        );
        assert_eq!(
            fields(TaskType::Shell, json!({"command": "x", "timeoutMs": 0})),
            vec!["taskConfig.timeoutMs"]
        );
        assert_eq!(
            fields(TaskType::Shell, json!({"command": "x", "cmd": "y"})),
            vec!["taskConfig.cmd"]
        );
        assert_eq!(
            fields(TaskType::Http, json!({"url": "ftp://x"})),
            vec!["taskConfig.url"]
        );
        assert_eq!(
            fields(TaskType::Http, json!({"url": "http://x", "method": "BREW"})),
            vec!["taskConfig.method"]
        );
        assert_eq!(
            fields(
                TaskType::Http,
                json!({"url": "http://x", "expectedStatus": [99]})
            ),
            vec!["taskConfig.expectedStatus[0]"]
        );
        assert_eq!(
            fields(
                TaskType::Http,
                json!({"url": "http://x", "headers": {"bad header": "v"}})
            ),
            vec!["taskConfig.headers.bad header"]
        );
        assert_eq!(
            fields(
                TaskType::Conductor,
                json!({"message": "m", "threadId": "a/b"})
            ),
            vec!["taskConfig.threadId"]
        );
        assert_eq!(
            fields(TaskType::Conductor, json!("text")),
            vec!["taskConfig"]
        );
        let long = "x".repeat(Limits::default().command_max_bytes + 1);
        assert_eq!(
            fields(TaskType::Shell, json!({"command": long})),
            vec!["taskConfig.command"]
        );
    }
}
