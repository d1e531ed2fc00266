//! Schedules are named by people: a client command takes a schedule's name or its id.

use serde_json::Value;
use uuid::Uuid;

use super::{Api, Failure};
use crate::domain::template::percent_encode;

/// The id of the schedule `name_or_id` names: an id as it is, else the schedule of exactly that
/// name (the API's search matches substrings and tags, so every page is looked through).
pub(super) async fn schedule_id(api: &Api, name_or_id: &str) -> Result<Uuid, Failure> {
    if let Ok(id) = Uuid::parse_str(name_or_id) {
        return Ok(id);
    }
    let base = format!(
        "/api/scheduler/schedules?limit=500&q={}",
        percent_encode(name_or_id)
    );
    let mut path = base.clone();
    loop {
        let page = api.call("GET", &path, None).await?;
        let items = page["items"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(id) = items
            .iter()
            .find(|s| s["name"] == name_or_id)
            .and_then(|s| s["id"].as_str())
            .and_then(|id| Uuid::parse_str(id).ok())
        {
            return Ok(id);
        }
        match page["nextCursor"].as_str() {
            Some(c) => path = format!("{base}&cursor={}", percent_encode(c)),
            None => return Err(Failure(format!("no schedule named `{name_or_id}` (404)"))),
        }
    }
}

/// `--quiet`: only the ids the answer is about, one per line (a list's items, the execution a
/// trigger or retry started, else the item's own id).
pub(super) fn ids(v: &Value) -> String {
    let ids: Vec<&str> = match v["items"].as_array() {
        Some(items) => items.iter().filter_map(|i| i["id"].as_str()).collect(),
        None => [&v["executionId"], &v["id"]]
            .into_iter()
            .find_map(Value::as_str)
            .into_iter()
            .collect(),
    };
    ids.iter().map(|id| format!("{id}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quiet_prints_the_ids_the_answer_is_about() {
        assert_eq!(ids(&json!({"items": [{"id": "a"}, {"id": "b"}]})), "a\nb\n");
        assert_eq!(ids(&json!({"executionId": "x", "id": "y"})), "x\n");
        assert_eq!(ids(&json!({"id": "y"})), "y\n");
        assert_eq!(ids(&json!({"items": []})), "");
    }
}
