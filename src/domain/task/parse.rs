//! `taskConfig` validated into a [`TaskSpec`]: every bad field named under `taskConfig.*`.

use serde_json::Value;

use super::*;
use crate::domain::validate::{type_name, FieldErrors, Limits, Obj};

/// Longest accepted task timeout: one day.
const MAX_TIMEOUT_MS: i64 = 86_400_000;

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
                Some(name) if crate::domain::sealed::valid_name(name) => out.push((
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
                    // Placeholders ({{payload.id}}) are filled when the task starts.
                    || crate::domain::template::with_sample_values(&url)
                        .parse::<awc::http::Uri>()
                        .is_err()
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
                    if !crate::domain::sealed::valid_name(name) {
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
        match item
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
            .filter(|c| (100..=599).contains(c))
        {
            Some(c) => out.push(c),
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
