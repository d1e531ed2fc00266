//! Keeping secrets out of what is stored, shown and logged: known secret values masked in text
//! and JSON, and the credentials part of URLs.

use serde_json::Value;

/// `text` with every secret replaced by `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), "***"))
}

/// Every string inside `value` (keys too) with every secret replaced by `***`.
pub fn redact_value(value: &mut Value, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    match value {
        Value::String(s) if secrets.iter().any(|x| s.contains(x.as_str())) => {
            *s = redact(s, secrets);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, secrets)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut v) in old {
                redact_value(&mut v, secrets);
                map.insert(redact(&k, secrets), v);
            }
        }
        _ => {}
    }
}

/// A URL without its `user:password@` part, for messages.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(redact_url("https://u:pw@host/p?q"), "https://***@host/p?q");
        assert_eq!(redact_url("http://host/a@b"), "http://host/a@b");
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://***@h:5432/db"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn json_keys_and_values_are_masked() {
        let mut v = serde_json::json!({"k-abc": ["x abc y", 1], "n": "abc"});
        redact_value(&mut v, &["abc".to_string()]);
        assert_eq!(v, serde_json::json!({"k-***": ["x *** y", 1], "n": "***"}));
    }

    proptest! {
        #[test]
        fn a_password_never_survives(user in "[a-z]{1,8}", pw in "[A-Z0-9]{4,12}",
                                     host in "[a-z]{1,8}(:[0-9]{1,5})?", path in "(/[a-z@]{0,6}){0,3}") {
            let url = format!("postgres://{user}:{pw}@{host}{path}");
            let shown = redact_url(&url);
            prop_assert!(!shown.contains(&pw), "{shown}");
            prop_assert!(shown.ends_with(&format!("{host}{path}")), "{shown}");
        }
    }
}
