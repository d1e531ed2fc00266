//! Query-string and path parameters, parsed by hand so each 400 names the parameter.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::api::error::ApiError;
use crate::db::pagination::{Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use crate::domain::states::TextEnum;
use crate::domain::validate::{parse_time, FieldErrors, Obj};

/// The raw query string as a map.
pub type Query = HashMap<String, String>;

/// A UUID from the path.
pub fn path_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::invalid("id", format!("`{raw}` is not a valid UUID")))
}

/// `limit` (default 50, 1..=500) and `cursor`.
pub fn paging(q: &Query) -> Result<(i64, Option<Cursor>), ApiError> {
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    format!("must be an integer from 1 to {MAX_LIMIT}, got `{s}`"),
                ))
            }
        },
    };
    let cursor = match q.get("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(Cursor::decode(c).map_err(|m| ApiError::invalid("cursor", m))?),
    };
    Ok((limit, cursor))
}

/// An optional UUID parameter.
pub fn opt_uuid(q: &Query, key: &str) -> Result<Option<Uuid>, ApiError> {
    q.get(key)
        .map(|s| {
            Uuid::parse_str(s)
                .map_err(|_| ApiError::invalid(key, format!("`{s}` is not a valid UUID")))
        })
        .transpose()
}

/// An optional RFC 3339 parameter.
pub fn opt_time(q: &Query, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    q.get(key)
        .map(|s| parse_time(s).map_err(|m| ApiError::invalid(key, m)))
        .transpose()
}

/// An optional free-text parameter. PostgreSQL cannot store or compare a NUL byte, so one is
/// refused here, naming the parameter, instead of failing the query.
pub fn opt_text(q: &Query, key: &str) -> Result<Option<String>, ApiError> {
    match q.get(key) {
        Some(s) if s.contains('\0') => Err(ApiError::invalid(key, "must not contain a NUL byte")),
        other => Ok(other.cloned()),
    }
}

/// An optional parameter restricted to `choices`.
pub fn opt_choice(q: &Query, key: &str, choices: &[&str]) -> Result<Option<String>, ApiError> {
    match q.get(key) {
        None => Ok(None),
        Some(s) if choices.contains(&s.as_str()) => Ok(Some(s.clone())),
        Some(s) => Err(ApiError::invalid(
            key,
            format!("must be one of {}, got `{s}`", choices.join(", ")),
        )),
    }
}

/// An optional state name (`?status=failed`).
pub fn opt_state<T: TextEnum>(q: &Query, key: &str) -> Result<Option<T>, ApiError> {
    q.get(key)
        .map(|s| {
            T::from_text(s).ok_or_else(|| {
                ApiError::invalid(
                    key,
                    format!("must be one of {}, got `{s}`", T::all_names().join(", ")),
                )
            })
        })
        .transpose()
}

/// An optional comma list of state names (`?recoveryStatus=unresolved,escalated`).
pub fn state_list<T: TextEnum>(q: &Query, key: &str) -> Result<Vec<T>, ApiError> {
    let Some(raw) = q.get(key) else {
        return Ok(vec![]);
    };
    raw.split(',')
        .map(str::trim)
        .map(|s| {
            T::from_text(s).ok_or_else(|| {
                ApiError::invalid(
                    key,
                    format!(
                        "must be a comma list of {}, got `{s}`",
                        T::all_names().join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// An optional boolean parameter.
pub fn opt_bool(q: &Query, key: &str) -> Result<Option<bool>, ApiError> {
    match q.get(key).map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(s) => Err(ApiError::invalid(
            key,
            format!("must be true or false, got `{s}`"),
        )),
    }
}

/// An optional integer parameter within `min..=max`.
pub fn opt_int(q: &Query, key: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    match q.get(key) {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::invalid(
                key,
                format!("must be an integer from {min} to {max}, got `{s}`"),
            )),
        },
    }
}

/// A body that is any JSON value, or nothing (empty, or `null`): a webhook's payload. Malformed
/// JSON is a 400 on `field`; a NUL anywhere is a 400 naming where.
pub fn optional_json(
    body: &[u8],
    field: &str,
    max: usize,
) -> Result<Option<serde_json::Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(field, format!("malformed JSON: {e}")))?;
    let mut wrapped = serde_json::Map::new();
    wrapped.insert(field.to_string(), value);
    let wrapped = serde_json::Value::Object(wrapped);
    let mut e = crate::domain::validate::FieldErrors::default();
    let got = Obj::new(&wrapped, "", &mut e).and_then(|o| o.opt_payload(field, max, &mut e));
    if e.is_empty() {
        Ok(got)
    } else {
        Err(ApiError::Validation {
            message: e.summary(),
            details: Some(e.details()),
        })
    }
}

/// An optional small JSON object body (empty means none): `read` takes its fields, adding a
/// problem per bad field; any problem is a 400 naming them all.
pub fn optional_body<T>(
    body: &[u8],
    read: impl FnOnce(&Obj<'_>, &mut FieldErrors) -> T,
) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("body", format!("malformed JSON: {e}")))?;
    let mut e = FieldErrors::default();
    let out = Obj::new(&value, "", &mut e).map(|o| read(&o, &mut e));
    if e.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::Validation {
            message: e.summary(),
            details: Some(e.details()),
        })
    }
}
