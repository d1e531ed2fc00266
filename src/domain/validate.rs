//! Field-by-field validation of JSON input, so every 400 names the field (`details` lists all).

use chrono::{DateTime, SubsecRound, Timelike, Utc};
use serde_json::{json, Map, Value};

/// Caps and policy applied to request bodies (from `[limits]` and `execution.enabled_task_types`).
#[derive(Debug, Clone)]
pub struct Limits {
    pub name_max_chars: usize,
    pub description_max_chars: usize,
    pub command_max_bytes: usize,
    pub url_max_bytes: usize,
    pub message_max_bytes: usize,
    pub tags_max: usize,
    pub note_max_chars: usize,
    /// A run's payload as JSON text.
    pub payload_max_bytes: usize,
    /// Task types this server accepts.
    pub task_types: Vec<super::states::TaskType>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            name_max_chars: 200,
            description_max_chars: 4_000,
            command_max_bytes: 65_536,
            url_max_bytes: 8_192,
            message_max_bytes: 262_144,
            tags_max: 50,
            note_max_chars: 4_000,
            payload_max_bytes: 65_536,
            task_types: super::states::TaskType::ALL.to_vec(),
        }
    }
}

/// Problems found in one request, each with its field path.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    /// Records a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    /// Records `other`'s problems with their fields under `prefix`.
    pub fn extend_under(&mut self, prefix: &str, other: FieldErrors) {
        self.0.extend(
            other
                .0
                .into_iter()
                .map(|(f, m)| (format!("{prefix}{f}"), m)),
        );
    }

    /// Number of problems recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The field paths recorded, in order.
    pub fn fields(&self) -> Vec<String> {
        self.0.iter().map(|(f, _)| f.clone()).collect()
    }

    /// `"field: message"` of the first problem (and a count of the rest).
    pub fn summary(&self) -> String {
        match self.0.as_slice() {
            [] => "invalid input".into(),
            [(f, m)] => format!("{f}: {m}"),
            [(f, m), rest @ ..] => format!("{f}: {m} (and {} more)", rest.len()),
        }
    }

    /// `[{"field", "message"}, ...]`.
    pub fn details(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|(f, m)| json!({ "field": f, "message": m }))
                .collect(),
        )
    }
}

/// A JSON object being validated, with the path prefix used in messages.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: &'a str,
}

/// The JSON type name of a value, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Obj<'a> {
    /// `value` as an object, or an error on `prefix`.
    pub fn new(value: &'a Value, prefix: &'a str, errors: &mut FieldErrors) -> Option<Obj<'a>> {
        match value {
            Value::Object(map) => Some(Obj { map, prefix }),
            other => {
                let name = if prefix.is_empty() { "body" } else { prefix };
                errors.add(name, format!("must be an object, got {}", type_name(other)));
                None
            }
        }
    }

    /// The full path of `key`.
    pub fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// The raw value of `key`, treating `null` as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Rejects keys outside `allowed` (typos should not be silently ignored).
    pub fn only(&self, allowed: &[&str], errors: &mut FieldErrors) {
        for key in self.map.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.add(
                    self.path(key),
                    format!("unknown field (allowed: {})", allowed.join(", ")),
                );
            }
        }
    }

    /// A required string.
    pub fn req_str(&self, key: &str, errors: &mut FieldErrors) -> Option<String> {
        match self.get(key) {
            None => {
                errors.add(self.path(key), "is required");
                None
            }
            Some(_) => self.opt_str(key, errors),
        }
    }

    /// An optional string.
    pub fn opt_str(&self, key: &str, errors: &mut FieldErrors) -> Option<String> {
        match self.get(key)? {
            // PostgreSQL cannot store a NUL in text: refuse it here, by name.
            Value::String(s) if s.contains('\0') => {
                errors.add(self.path(key), "must not contain a NUL byte");
                None
            }
            Value::String(s) => Some(s.clone()),
            other => {
                errors.add(
                    self.path(key),
                    format!("must be a string, got {}", type_name(other)),
                );
                None
            }
        }
    }

    /// A required integer within `min..=max`.
    pub fn req_int(&self, key: &str, min: i64, max: i64, errors: &mut FieldErrors) -> Option<i64> {
        if self.get(key).is_none() {
            errors.add(self.path(key), "is required");
            return None;
        }
        self.opt_int(key, min, max, errors)
    }

    /// An optional integer within `min..=max`.
    pub fn opt_int(&self, key: &str, min: i64, max: i64, errors: &mut FieldErrors) -> Option<i64> {
        let v = self.get(key)?;
        match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(n) => {
                errors.add(
                    self.path(key),
                    format!("must be between {min} and {max}, got {n}"),
                );
                None
            }
            None => {
                errors.add(
                    self.path(key),
                    format!("must be an integer, got {}", type_name(v)),
                );
                None
            }
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&self, key: &str, errors: &mut FieldErrors) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                errors.add(
                    self.path(key),
                    format!("must be a boolean, got {}", type_name(other)),
                );
                None
            }
        }
    }

    /// A required RFC 3339 timestamp.
    pub fn req_time(&self, key: &str, errors: &mut FieldErrors) -> Option<DateTime<Utc>> {
        if self.get(key).is_none() {
            errors.add(self.path(key), "is required");
            return None;
        }
        self.opt_time(key, errors)
    }

    /// An optional RFC 3339 timestamp.
    pub fn opt_time(&self, key: &str, errors: &mut FieldErrors) -> Option<DateTime<Utc>> {
        let s = self.opt_str(key, errors)?;
        match parse_time(&s) {
            Ok(t) => Some(t),
            Err(m) => {
                errors.add(self.path(key), m);
                None
            }
        }
    }

    /// One of a state enum's names.
    pub fn opt_state<T: super::states::TextEnum>(
        &self,
        key: &str,
        errors: &mut FieldErrors,
    ) -> Option<T> {
        let s = self.opt_str(key, errors)?;
        let v = T::from_text(&s);
        if v.is_none() {
            errors.add(
                self.path(key),
                format!("must be one of {}, got `{s}`", T::all_names().join(", ")),
            );
        }
        v
    }

    /// A required state name.
    pub fn req_state<T: super::states::TextEnum>(
        &self,
        key: &str,
        errors: &mut FieldErrors,
    ) -> Option<T> {
        if self.get(key).is_none() {
            errors.add(
                self.path(key),
                format!("is required (one of {})", T::all_names().join(", ")),
            );
            return None;
        }
        self.opt_state(key, errors)
    }

    /// One of `choices`.
    pub fn opt_enum(
        &self,
        key: &str,
        choices: &[&str],
        errors: &mut FieldErrors,
    ) -> Option<String> {
        let s = self.opt_str(key, errors)?;
        if choices.contains(&s.as_str()) {
            Some(s)
        } else {
            errors.add(
                self.path(key),
                format!("must be one of {}, got `{s}`", choices.join(", ")),
            );
            None
        }
    }
}

impl Obj<'_> {
    /// A run's `payload`: any JSON up to `max` bytes as text, with no NUL (PostgreSQL's
    /// `jsonb` cannot hold one). A JSON `null` is no payload.
    pub fn opt_payload(&self, key: &str, max: usize, errors: &mut FieldErrors) -> Option<Value> {
        let v = self.get(key).filter(|v| !v.is_null())?;
        let path = self.path(key);
        if let Some(at) = super::text::nul_path(v, &path) {
            errors.add(at, "must not contain a NUL byte");
            return None;
        }
        let len = v.to_string().len();
        if len > max {
            errors.add(
                path,
                format!("must be at most {max} bytes as JSON, got {len}"),
            );
            return None;
        }
        Some(v.clone())
    }
}

/// Parses an RFC 3339 timestamp into UTC, at PostgreSQL's precision (microseconds): a
/// nanosecond `startAt` would otherwise sit just after the stored `next_run_at` it produced,
/// and an interval schedule would compute that same fire again instead of the next one.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(6))
        .map_err(|e| {
            format!("must be an RFC 3339 timestamp such as 2026-11-26T10:00:00Z, got `{s}` ({e})")
        })?;
    // A leap second (`23:59:60`) is the first instant of the next second, as PostgreSQL stores
    // it: 9999-12-31T23:59:60Z is year 10000.
    let t = match t.nanosecond().checked_sub(1_000_000_000) {
        Some(ns) => t
            .with_nanosecond(ns)
            .map_or(t, |t| t + chrono::Duration::seconds(1)),
        None => t,
    };
    // An offset can push a 9999-12-31 local time past the end of what can be written back.
    if !super::clock::in_range(t) {
        return Err(format!(
            "must be between years 0000 and 9999 in UTC, got `{s}`"
        ));
    }
    Ok(t)
}
