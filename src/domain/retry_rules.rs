//! Retry rules by error: which failures retry on their own (`retryOn`), which never do
//! (`abortOn`), and how long a server's `Retry-After` asks to wait. Pure: no clock, no I/O.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::states::ErrorType;
use super::validate::{type_name, FieldErrors, Obj};

/// Failures to match: any listed error type, exit code or HTTP status (an OR across keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMatch {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_types: Vec<ErrorType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exit_codes: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_statuses: Vec<u16>,
}

/// What the rules read of one failed execution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    pub error_type: Option<ErrorType>,
    pub exit_code: Option<i64>,
    pub http_status: Option<u16>,
    /// When the server asked to be called again (`Retry-After` of a 429 or 503).
    pub retry_after: Option<DateTime<Utc>>,
}

/// The most entries one list takes.
const MAX_ITEMS: usize = 100;

impl ErrorMatch {
    /// True when the failure is of a listed type, exit code or status.
    pub fn matches(&self, f: &Failure) -> bool {
        f.error_type.is_some_and(|t| self.error_types.contains(&t))
            || f.exit_code.is_some_and(|c| self.exit_codes.contains(&c))
            || f.http_status
                .is_some_and(|s| self.http_statuses.contains(&s))
    }

    /// Validates `retryPolicy.<key>`; errors name the list and the entry.
    pub fn from_json(v: &Value, prefix: &str, errors: &mut FieldErrors) -> Option<ErrorMatch> {
        let before = errors.len();
        let obj = Obj::new(v, prefix, errors)?;
        obj.only(&["errorTypes", "exitCodes", "httpStatuses"], errors);
        let error_types = list(&obj, "errorTypes", errors, |item| {
            let s = item.as_str().ok_or("must be a string")?;
            ErrorType::parse(s)
                .ok_or_else(|| format!("must be one of {}", ErrorType::names().join(", ")))
        });
        let exit_codes = list(&obj, "exitCodes", errors, |item| {
            item.as_i64()
                .filter(|c| (0..=255).contains(c))
                .ok_or_else(|| "must be an integer between 0 and 255".to_string())
        });
        let http_statuses = list(&obj, "httpStatuses", errors, |item| {
            item.as_u64()
                .filter(|c| (100..=599).contains(c))
                .and_then(|c| u16::try_from(c).ok())
                .ok_or_else(|| "must be an integer between 100 and 599".to_string())
        });
        let m = ErrorMatch {
            error_types,
            exit_codes,
            http_statuses,
        };
        if errors.len() == before && m == ErrorMatch::default() {
            errors.add(
                prefix,
                "must list at least one of errorTypes, exitCodes, httpStatuses",
            );
        }
        (errors.len() == before).then_some(m)
    }
}

/// One list of a match, each entry checked by `item`.
fn list<T: PartialEq>(
    obj: &Obj<'_>,
    key: &str,
    errors: &mut FieldErrors,
    item: impl Fn(&Value) -> Result<T, String>,
) -> Vec<T> {
    let Some(v) = obj.get(key) else {
        return Vec::new();
    };
    let Some(items) = v.as_array() else {
        errors.add(
            obj.path(key),
            format!("must be an array, got {}", type_name(v)),
        );
        return Vec::new();
    };
    if items.len() > MAX_ITEMS {
        errors.add(obj.path(key), format!("at most {MAX_ITEMS} entries"));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, raw) in items.iter().enumerate() {
        match item(raw) {
            Ok(x) if !out.contains(&x) => out.push(x),
            Ok(_) => {}
            Err(m) => errors.add(format!("{}[{i}]", obj.path(key)), m),
        }
    }
    out
}

/// The instant a `Retry-After` value names: delta-seconds or an HTTP-date. `None` for anything
/// else (a negative, fractional or unparsable value is ignored, as RFC 9110 asks).
pub fn parse_retry_after(header: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let h = header.trim();
    if !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()) {
        // Longer than a year is as good as "a year": it is capped by backoffMaxMs anyway.
        let secs = h.parse::<i64>().unwrap_or(i64::MAX).min(366 * 86_400);
        return Some(now + Duration::seconds(secs));
    }
    DateTime::parse_from_rfc2822(h)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Failure {
    /// Reads a failure from an execution's error type and stored result (shell `exitCode`,
    /// HTTP `status` and lower-case `headers`).
    pub fn read(error_type: Option<ErrorType>, result: Option<&Value>, now: DateTime<Utc>) -> Self {
        let exit_code = result.and_then(|r| r["exitCode"].as_i64());
        let http_status = result
            .and_then(|r| r["status"].as_u64())
            .and_then(|s| u16::try_from(s).ok());
        let retry_after = result
            .and_then(|r| r["headers"]["retry-after"].as_str())
            .and_then(|h| parse_retry_after(h, now));
        Failure {
            error_type,
            exit_code,
            http_status,
            retry_after,
        }
    }

    /// The server's wait, when it is one to honour: only for 429 and 503.
    pub fn asked_wait(&self) -> Option<DateTime<Utc>> {
        matches!(self.http_status, Some(429 | 503))
            .then_some(self.retry_after)
            .flatten()
    }
}

#[cfg(test)]
mod tests;
