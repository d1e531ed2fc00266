//! `taskforge apply -f FILE [--dry-run] [--prune]`: a file of schedules (TOML, or JSON when it
//! ends in `.json` or starts with `{`) sent whole to `POST /api/scheduler/apply`, which checks
//! every entry with the create's rules before it changes anything. The answer is the plan:
//! one line per schedule (create, update with the fields it changes, delete, unchanged).
//! Problems are printed one per line as `FILE:schedule:field: message`.

use std::path::Path;

use serde_json::{json, Value};

use super::table::{cell, rows};
use super::{message_of, Api, Failure};

/// The file as the API's apply body: `{managedBy?, schedules: [...]}` plus the flags.
pub(super) fn body_of(
    name: &str,
    text: &str,
    dry_run: bool,
    prune: bool,
) -> Result<Value, Failure> {
    let trimmed = text.trim_start();
    let doc: Value = if name.ends_with(".json") || trimmed.starts_with('{') {
        serde_json::from_str(text).map_err(|e| Failure(format!("{name}: not valid JSON: {e}")))?
    } else {
        let t: toml::Value =
            toml::from_str(text).map_err(|e| Failure(format!("{name}: not valid TOML: {e}")))?;
        serde_json::to_value(t).map_err(|e| Failure(format!("{name}: {e}")))?
    };
    let Value::Object(mut doc) = doc else {
        return Err(Failure(format!(
            "{name}: must be a table with [[schedules]] (JSON: an object with \"schedules\")"
        )));
    };
    doc.insert("dryRun".into(), json!(dry_run));
    doc.insert("prune".into(), json!(prune));
    Ok(Value::Object(doc))
}

/// The plan as lines for people, with a count per action.
fn plan_text(answer: &Value) -> String {
    let steps: Vec<Value> = answer["plan"].as_array().cloned().unwrap_or_default();
    let mut out = if steps.is_empty() {
        String::from("no schedules in the file\n")
    } else {
        rows(
            &steps,
            &[
                ("ACTION", |v| cell(&v["action"])),
                ("SCHEDULE", |v| cell(&v["name"])),
                ("CHANGED FIELDS", |v| {
                    let fields: Vec<String> = v["fields"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(cell)
                        .collect();
                    fields.join(", ")
                }),
            ],
        )
    };
    let n = |k: &str| answer["summary"][k].as_u64().unwrap_or(0);
    let verb = if answer["dryRun"].as_bool() == Some(true) {
        "dry run, nothing changed:"
    } else {
        "applied:"
    };
    out.push_str(&format!(
        "{verb} {} to create, {} to update, {} to delete, {} unchanged\n",
        n("create"),
        n("update"),
        n("delete"),
        n("unchanged")
    ));
    out
}

/// See the module docs.
pub(super) async fn apply(
    api: &Api,
    file: &Path,
    dry_run: bool,
    prune: bool,
) -> Result<String, Failure> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| Failure(format!("{name}: {e}")))?;
    let body = body_of(&name, &text, dry_run, prune)?;
    let (status, answer) = api
        .send("POST", "/api/scheduler/apply", Some(&body))
        .await?;
    if (200..300).contains(&status) {
        return Ok(if api.conn.json {
            format!(
                "{}\n",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            )
        } else {
            plan_text(&answer)
        });
    }
    let problems: Vec<String> = answer["error"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| format!("{name}:{}: {}", cell(&d["field"]), cell(&d["message"])))
        .collect();
    Err(Failure(match problems.as_slice() {
        [] => format!("{name}: {} ({status})", message_of(&answer, status)),
        _ => format!(
            "{name}: nothing applied ({status})\n{}",
            problems.join("\n")
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_files_become_the_same_body() {
        let toml = "managedBy = \"ops\"\n[[schedules]]\nname = \"a\"\ntags = [\"x\"]\n";
        let json = r#"{"managedBy": "ops", "schedules": [{"name": "a", "tags": ["x"]}]}"#;
        let a = body_of("s.toml", toml, true, false).unwrap_or_default();
        let b = body_of("s.json", json, true, false).unwrap_or_default();
        assert_eq!(a, b);
        assert_eq!(a["dryRun"], json!(true));
        let bad = body_of("s.toml", "[[schedules]\n", false, false).err();
        assert!(bad.is_some_and(|Failure(m)| m.starts_with("s.toml: not valid TOML")));
        assert!(body_of("s.json", "[1]", false, false).is_err());
    }
}
