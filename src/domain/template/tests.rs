use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn vars(payload: Option<&Value>) -> Vars<'_> {
    Vars {
        payload,
        scheduled_for: "2027-01-15T08:00:00.000000Z",
        execution_id: "0190-e",
    }
}

#[test]
fn placeholders_take_the_run_values() {
    let p = json!({"a": {"b": "deep", "n": 7}, "list": [{"id": "first"}], "t": true, "z": null});
    let v = vars(Some(&p));
    assert_eq!(
        v.render("{{executionId}} at {{ scheduledFor }}"),
        Ok("0190-e at 2027-01-15T08:00:00.000000Z".into())
    );
    assert_eq!(v.render("{{payload.a.b}}"), Ok("deep".into()));
    assert_eq!(v.render("n={{payload.a.n}}"), Ok("n=7".into()));
    assert_eq!(v.render("{{payload.list.0.id}}"), Ok("first".into()));
    assert_eq!(
        v.render("{{payload.t}}/{{payload.z}}"),
        Ok("true/null".into())
    );
    assert_eq!(
        v.render("{{payload.a}}"),
        Ok(r#"{"b":"deep","n":7}"#.into())
    );
    assert_eq!(
        v.render("{{payload}}"),
        Ok(serde_json::to_string(&p).unwrap_or_default())
    );
}

#[test]
fn a_missing_value_names_its_placeholder() {
    let p = json!({"a": {"b": 1}, "list": []});
    let v = vars(Some(&p));
    for (text, placeholder) in [
        ("x {{payload.a.c}}", "payload.a.c"),
        ("{{ payload.list.0 }}", "payload.list.0"),
        ("{{payload.a.b.c}}", "payload.a.b.c"),
        ("{{payload.list.x}}", "payload.list.x"),
    ] {
        let e = v.render(text).err().unwrap_or_else(|| panic!("{text}"));
        assert_eq!(e.placeholder, placeholder);
        assert!(
            e.to_string().contains(&format!("{{{{{placeholder}}}}}")),
            "{e}"
        );
    }
    let none = vars(None);
    let e = none.render("{{payload}}").err();
    assert!(e.is_some_and(|e| e.reason.contains("no payload")));
    assert!(none.render("{{payload.a}}").is_err());
    assert_eq!(none.render("{{executionId}}"), Ok("0190-e".into()));
}

#[test]
fn other_braces_stay_as_written() {
    let v = vars(None);
    for text in [
        "{{name}} {{ user.id }}",
        "{{payload",
        "}} {{",
        "{{}}",
        "{ {executionId} }",
        "{{payloadx}}",
    ] {
        assert_eq!(v.render(text), Ok(text.to_string()), "{text}");
    }
    assert_eq!(
        v.render("{\"a\": {{executionId}}}"),
        Ok("{\"a\": 0190-e}".into())
    );
}

#[test]
fn urls_get_encoded_values_and_bodies_their_string_values() {
    let p = json!({"q": "a b&c=d/../#x", "n": 3});
    let v = vars(Some(&p));
    assert_eq!(
        v.render_url("http://127.0.0.1/s?q={{payload.q}}&at={{scheduledFor}}"),
        Ok(
            "http://127.0.0.1/s?q=a%20b%26c%3Dd%2F..%2F%23x&at=2027-01-15T08%3A00%3A00.000000Z"
                .into()
        )
    );
    let body = json!({"{{executionId}}": "id {{executionId}}", "n": "{{payload.n}}", "list": ["{{payload.q}}", 5]});
    assert_eq!(
        v.render_json(&body),
        Ok(json!({"{{executionId}}": "id 0190-e", "n": "3", "list": ["a b&c=d/../#x", 5]}))
    );
    assert!(v
        .render_json(&json!({"x": ["{{payload.missing}}"]}))
        .is_err());
    assert!(has_placeholders("a {{ payload.x }}"));
    assert!(!has_placeholders("a {{ other }}"));
    assert_eq!(
        with_sample_values("http://h/{{payload.p}}?{{name}}"),
        "http://h/x?{{name}}"
    );
}

proptest! {
    // Text without a placeholder comes back unchanged, whatever it holds.
    #[test]
    fn text_without_placeholders_is_unchanged(s in "\\PC*") {
        prop_assume!(!has_placeholders(&s));
        prop_assert_eq!(vars(None).render(&s), Ok(s.clone()));
    }

    // One pass: a payload value lands verbatim, even when it looks like a placeholder.
    #[test]
    fn values_are_never_read_again(pre in "[^{}]*", s in "\\PC*", post in "[^{}]*") {
        let p = json!({"k": s.clone()});
        let out = vars(Some(&p)).render(&format!("{pre}{{{{payload.k}}}}{post}"));
        prop_assert_eq!(out, Ok(format!("{pre}{s}{post}")));
    }

    // An encoded value holds only unreserved characters and %XX, so it cannot change the URL's
    // shape.
    #[test]
    fn url_values_cannot_add_structure(s in "\\PC*") {
        let p = json!({"k": s});
        let out = vars(Some(&p)).render_url("{{payload.k}}").unwrap_or_default();
        prop_assert!(out.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)), "{}", out);
    }

    // Rendering any text never panics and fails only by naming a placeholder it holds.
    #[test]
    fn any_text_renders_or_names_what_is_missing(s in "(\\{\\{|\\}\\}|payload|\\.|a|0| )*") {
        let p = json!({"a": [1]});
        if let Err(e) = vars(Some(&p)).render(&s) {
            prop_assert!(s.contains(&e.placeholder));
        }
    }
}
