//! Tables for people: one row per item, columns picked from the API's JSON.

use comfy_table::{presets, ContentArrangement, Table};
use serde_json::Value;

/// The text of one cell: strings as they are, null as `-`, the rest as JSON.
pub(super) fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A column: its heading and how an item fills its cell.
pub(super) type Column<'a> = (&'a str, fn(&Value) -> String);

/// A table of `items` with one column per `(heading, cell)`.
pub(super) fn rows(items: &[Value], columns: &[Column<'_>]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(columns.iter().map(|(h, _)| *h));
    for item in items {
        t.add_row(columns.iter().map(|(_, f)| f(item)));
    }
    format!("{t}\n")
}

/// `field  value` lines for one item.
pub(super) fn fields(item: &Value, names: &[(&str, &str)]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    for (label, key) in names {
        t.add_row([label.to_string(), cell(&item[*key])]);
    }
    format!("{t}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_show_headings_and_cells() {
        let items = [json!({"id": "a", "n": 1}), json!({"id": "b", "n": null})];
        let text = rows(
            &items,
            &[("ID", |v| cell(&v["id"])), ("N", |v| cell(&v["n"]))],
        );
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["ID", "N"]);
        assert_eq!(lines[2].split_whitespace().collect::<Vec<_>>(), ["b", "-"]);
        assert!(fields(&items[0], &[("Id", "id")]).contains('a'));
    }
}
