//! What a run was given, put into its task's text when it starts: `{{payload}}`,
//! `{{payload.a.b}}` (a numeric step indexes an array), `{{scheduledFor}}` and
//! `{{executionId}}`, with optional spaces inside the braces.
//!
//! Substitution, not a language: there are no conditions, loops, filters or escapes. Braces
//! around any other name stay as written (a body may be a template for its receiver), and a
//! substituted value is never read again, so a payload holding `{{executionId}}` arrives as
//! written. A string value goes in as its text; any other value as compact JSON.

use serde_json::Value;

/// The values a run's placeholders stand for.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    pub payload: Option<&'a Value>,
    pub scheduled_for: &'a str,
    pub execution_id: &'a str,
}

/// A placeholder whose value this run does not have: a spawn failure naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// As written between the braces, trimmed: `payload.a.b`.
    pub placeholder: String,
    /// Why it has no value.
    pub reason: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template {{{{{}}}}}: {}", self.placeholder, self.reason)
    }
}

/// True when `name` is one of the placeholders this module substitutes.
fn known(name: &str) -> bool {
    matches!(name, "payload" | "scheduledFor" | "executionId") || name.starts_with("payload.")
}

/// `text` with every known placeholder replaced by `value(name)`; the rest as written.
fn expand(
    text: &str,
    mut value: impl FnMut(&str) -> Result<String, Missing>,
) -> Result<String, Missing> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        let name = after[..close].trim();
        if known(name) {
            out.push_str(&value(name)?);
        } else {
            out.push_str(&rest[open..open + 2 + close + 2]);
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The value at `path` (dot-separated) under `root`.
fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(root, |v, step| match v {
        Value::Object(m) => m.get(step),
        Value::Array(a) => step.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Vars<'_> {
    fn value(&self, name: &str) -> Result<String, Missing> {
        let missing = |reason: String| Missing {
            placeholder: name.to_string(),
            reason,
        };
        match name {
            "scheduledFor" => Ok(self.scheduled_for.to_string()),
            "executionId" => Ok(self.execution_id.to_string()),
            _ => {
                let payload = self
                    .payload
                    .ok_or_else(|| missing("this run was given no payload".into()))?;
                match name.strip_prefix("payload.") {
                    None => Ok(text_of(payload)),
                    Some(path) => lookup(payload, path)
                        .map(text_of)
                        .ok_or_else(|| missing(format!("the payload has no `{path}`"))),
                }
            }
        }
    }

    /// `text` with its placeholders substituted.
    pub fn render(&self, text: &str) -> Result<String, Missing> {
        expand(text, |name| self.value(name))
    }

    /// `url` with its placeholders substituted, each value percent-encoded (everything but
    /// RFC 3986's unreserved characters), so a value cannot add a path, query or host.
    pub fn render_url(&self, url: &str) -> Result<String, Missing> {
        expand(url, |name| self.value(name).map(|v| percent_encode(&v)))
    }

    /// `body` with its placeholders substituted: a string body as text, a JSON body in each
    /// string value (keys stay as written).
    pub fn render_json(&self, body: &Value) -> Result<Value, Missing> {
        Ok(match body {
            Value::String(s) => Value::String(self.render(s)?),
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|v| self.render_json(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_json(v)?)))
                    .collect::<Result<_, Missing>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// True when `text` holds a placeholder this module substitutes.
pub fn has_placeholders(text: &str) -> bool {
    // Checked for every HTTP and conductor run: text without braces costs no copy.
    if !text.contains("{{") {
        return false;
    }
    let mut found = false;
    let _ = expand(text, |_| {
        found = true;
        Ok(String::new())
    });
    found
}

/// `url` as it would be with every placeholder given a plain value: what write-time checks
/// parse, since braces are not allowed in a URL.
pub fn with_sample_values(url: &str) -> String {
    expand(url, |_| Ok("x".into())).unwrap_or_else(|_| url.to_string())
}

/// `s` with everything but unreserved characters percent-encoded (a URL path or query part).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
