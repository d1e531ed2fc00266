use proptest::prelude::*;
use serde_json::json;

use super::*;

fn entry(name: &str) -> Value {
    json!({"name": name, "taskType": "shell", "taskConfig": {"command": "true"},
           "scheduleType": "interval", "scheduleConfig": {"intervalSeconds": 60}})
}

fn errors_of(body: Value) -> Vec<String> {
    read(&body, Utc::now(), &Limits::default())
        .err()
        .map(|e| e.fields())
        .unwrap_or_default()
}

#[test]
fn the_file_stamps_its_managed_by_on_every_entry() {
    let body =
        json!({"managedBy": "team-a", "schedules": [entry("a"), entry("b")], "dryRun": true});
    let r = read(&body, Utc::now(), &Limits::default()).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(r.dry_run && !r.prune);
    assert_eq!(r.inputs.len(), 2);
    assert!(r
        .inputs
        .iter()
        .all(|i| i.managed_by.as_deref() == Some("team-a")));
    // Without a file-level managedBy an entry keeps its own (what an export of mixed owners has).
    let mut own = entry("c");
    own["managedBy"] = json!("team-b");
    let r = read(
        &json!({"schedules": [own, entry("d")]}),
        Utc::now(),
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(r.inputs[0].managed_by.as_deref(), Some("team-b"));
    assert_eq!(r.inputs[1].managed_by, None);
}

#[test]
fn every_problem_is_named_by_schedule_and_field() {
    let mut bad = entry("broken");
    bad["scheduleConfig"] = json!({"intervalSeconds": -5});
    bad["tags"] = json!([1]);
    let mut foreign = entry("foreign");
    foreign["managedBy"] = json!("someone-else");
    let fields = errors_of(json!({"managedBy": "me", "schedules": [
        entry("fine"), bad, entry("fine"), {"taskType": "shell"}, 7, foreign
    ], "extra": 1}));
    assert_eq!(
        fields,
        [
            "extra",
            "broken:scheduleConfig.intervalSeconds",
            "broken:tags[0]",
            "fine:name",
            "schedules[3]:name",
            "schedules[4]",
            "foreign:managedBy"
        ]
    );
    assert_eq!(
        errors_of(json!({"schedules": [], "prune": true})),
        ["managedBy"]
    );
    assert_eq!(errors_of(json!({"schedules": {"a": 1}})), ["schedules"]);
    assert_eq!(
        errors_of(json!({"managedBy": " ", "schedules": []})),
        ["managedBy"]
    );
    assert_eq!(errors_of(json!([])), ["body"]);
}

fn stored(n: usize, owner: Option<&str>) -> Stored {
    Stored {
        id: Uuid::from_u128(n as u128 + 1),
        name: format!("s{n}"),
        managed_by: owner.map(str::to_string),
    }
}

#[test]
fn plan_lists_the_file_in_order_then_the_deletes_by_name() {
    let all = [
        stored(1, Some("me")),
        stored(2, Some("me")),
        stored(3, None),
        stored(4, Some("you")),
    ];
    let names = ["new", "s1"];
    let matched = vec![None, Some((all[0].id, vec!["tags".to_string()]))];
    let steps = plan(&names, matched.clone(), &all, Some("me"), true);
    let actions: Vec<(&str, ApplyAction)> =
        steps.iter().map(|s| (s.name.as_str(), s.action)).collect();
    assert_eq!(
        actions,
        [
            ("new", ApplyAction::Create),
            ("s1", ApplyAction::Update),
            ("s2", ApplyAction::Delete)
        ]
    );
    assert_eq!(steps[1].fields, ["tags"]);
    // Without prune nothing is deleted.
    assert_eq!(plan(&names, matched, &all, Some("me"), false).len(), 2);
}

proptest! {
    /// Every entry gets exactly one step, in file order; a delete only ever hits a schedule the
    /// file's owner manages and the file lacks; nothing is deleted without prune.
    #[test]
    fn plan_deletes_only_what_the_owner_manages_and_the_file_lacks(
        owners in proptest::collection::vec(proptest::option::of(0u8..3), 0..12),
        in_file in proptest::collection::vec(any::<bool>(), 12),
        changed in proptest::collection::vec(any::<bool>(), 12),
        prune in any::<bool>(),
    ) {
        let all: Vec<Stored> = owners
            .iter()
            .enumerate()
            .map(|(i, o)| stored(i, o.map(|o| if o == 0 { "me" } else { "you" })))
            .collect();
        let mut names: Vec<String> = all.iter().zip(&in_file).filter(|(_, f)| **f).map(|(s, _)| s.name.clone()).collect();
        names.push("brand-new".into());
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let matched = name_refs.iter().enumerate().map(|(i, n)| {
            all.iter().find(|s| s.name == *n).map(|s| (s.id, if changed[i % 12] { vec!["tags".to_string()] } else { vec![] }))
        }).collect();
        let steps = plan(&name_refs, matched, &all, Some("me"), prune);
        for (step, name) in steps.iter().zip(&name_refs) {
            prop_assert_eq!(step.name.as_str(), *name);
            prop_assert_ne!(step.action, ApplyAction::Delete);
        }
        for step in &steps[name_refs.len()..] {
            prop_assert!(prune);
            prop_assert_eq!(step.action, ApplyAction::Delete);
            let s = all.iter().find(|s| Some(s.id) == step.id);
            prop_assert!(s.is_some_and(|s| s.managed_by.as_deref() == Some("me") && !name_refs.contains(&s.name.as_str())));
        }
        let expected_deletes = if prune {
            all.iter().filter(|s| s.managed_by.as_deref() == Some("me") && !name_refs.contains(&s.name.as_str())).count()
        } else { 0 };
        prop_assert_eq!(steps.len(), name_refs.len() + expected_deletes);
    }
}
