//! Text PostgreSQL can store. A NUL byte is the one character `text` and `jsonb` refuse; in
//! what a task produced it becomes U+FFFD, in a request it is a 400 naming the field.

use std::borrow::Cow;

use serde_json::Value;

/// What a NUL becomes in stored output.
pub const REPLACEMENT: char = '\u{FFFD}';

/// `s` with every NUL replaced by U+FFFD (borrowed when there is none).
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Bytes a task produced as storable text: invalid UTF-8 and NUL bytes become U+FFFD.
pub fn lossy(bytes: Vec<u8>) -> String {
    let s = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    clean(&s).into_owned()
}

/// `v` with every string cleaned, copied only when one holds a NUL (the usual case borrows).
pub fn cleaned_value(v: &Value) -> Cow<'_, Value> {
    if has_nul(v) {
        let mut owned = v.clone();
        clean_value(&mut owned);
        Cow::Owned(owned)
    } else {
        Cow::Borrowed(v)
    }
}

/// True when a string of `v`, or an object key, holds a NUL.
fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Cleans every string of `v` in place, object keys included.
pub fn clean_value(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('\0') => *s = clean(s).into_owned(),
        Value::Array(items) => items.iter_mut().for_each(clean_value),
        Value::Object(map) if map.keys().any(|k| k.contains('\0')) => {
            let old = std::mem::take(map);
            for (k, mut v) in old {
                clean_value(&mut v);
                map.insert(clean(&k).into_owned(), v);
            }
        }
        Value::Object(map) => map.values_mut().for_each(clean_value),
        _ => {}
    }
}

/// The path (`taskConfig.body.a[2]`) of the first string or key in `v` holding a NUL.
pub fn nul_path(v: &Value, path: &str) -> Option<String> {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::String(s) if s.contains('\0') => Some(if path.is_empty() {
            "body".into()
        } else {
            path.to_string()
        }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, x)| {
            nul_path(
                x,
                &format!("{}[{i}]", if path.is_empty() { "body" } else { path }),
            )
        }),
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                Some(join(&k.replace('\0', "\\u0000")))
            } else {
                nul_path(x, &join(k))
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn nul_is_replaced_and_found_by_path() {
        let mut v = json!({"a": ["x\u{0}y", {"k\u{0}": 1}], "b": "ok"});
        assert_eq!(nul_path(&v, "taskConfig"), Some("taskConfig.a[0]".into()));
        clean_value(&mut v);
        assert_eq!(v, json!({"a": ["x\u{FFFD}y", {"k\u{FFFD}": 1}], "b": "ok"}));
        assert_eq!(nul_path(&v, ""), None);
        assert_eq!(
            nul_path(&json!({"name": "a\u{0}"}), ""),
            Some("name".into())
        );
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn cleaned_text_never_holds_a_nul(s in ".*") {
            prop_assert!(!clean(&s).contains('\0'));
            prop_assert_eq!(clean(&s).chars().count(), s.chars().count());
        }

        /// The borrowing form agrees with the in-place one, and copies only when it must.
        #[test]
        fn cleaned_value_is_clean_value_without_a_needless_copy(
            keys in proptest::collection::vec("[a-c\u{0}]{0,3}", 0..4),
            vals in proptest::collection::vec("[x\u{0}]{0,3}", 0..4),
        ) {
            let v = Value::Object(keys.into_iter().zip(vals.iter().cloned().map(Value::from)).collect());
            let v = json!({"nested": [v, vals]});
            let mut expected = v.clone();
            clean_value(&mut expected);
            let got = cleaned_value(&v);
            prop_assert_eq!(got.as_ref(), &expected);
            prop_assert_eq!(matches!(got, Cow::Borrowed(_)), nul_path(&v, "").is_none());
        }
    }
}
