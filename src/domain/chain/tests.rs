use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::*;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n + 1)
}

#[test]
fn lists_are_read_field_by_field() {
    let body =
        json!({"onSuccess": [id(1).to_string(), "nope", id(1).to_string()], "onFailure": "x"});
    let mut e = FieldErrors::default();
    let chain = Obj::new(&body, "", &mut e).map(|o| Chain::from_obj(&o, &mut e));
    assert_eq!(chain.map(|c| c.on_success), Some(vec![id(1)]));
    assert_eq!(e.fields(), ["onSuccess[1]", "onSuccess[2]", "onFailure"]);
    let many: Vec<String> = (0..51).map(|n| id(n).to_string()).collect();
    let mut e = FieldErrors::default();
    let body = json!({ "onSuccess": many });
    if let Some(o) = Obj::new(&body, "", &mut e) {
        Chain::from_obj(&o, &mut e);
    }
    assert_eq!(e.fields(), ["onSuccess"]);
}

#[test]
fn a_loop_is_found_through_the_written_schedule_only() {
    let mut edges = HashMap::new();
    edges.insert(id(1), vec![id(2)]);
    edges.insert(id(2), vec![id(3), id(4)]);
    edges.insert(id(4), vec![id(1)]);
    assert_eq!(
        cycle_through(&edges, id(1)),
        Some(vec![id(1), id(2), id(4), id(1)])
    );
    assert_eq!(cycle_through(&edges, id(3)), None);
    edges.insert(id(5), vec![id(5)]);
    assert_eq!(cycle_through(&edges, id(5)), Some(vec![id(5), id(5)]));
    // A diamond is not a loop.
    let mut diamond = HashMap::new();
    diamond.insert(id(1), vec![id(2), id(3)]);
    diamond.insert(id(2), vec![id(4)]);
    diamond.insert(id(3), vec![id(4)]);
    assert_eq!(cycle_through(&diamond, id(1)), None);
}

/// Brute force: `start` reaches itself in 1..=n steps.
fn reaches_itself(edges: &HashMap<Uuid, Vec<Uuid>>, start: Uuid, n: usize) -> bool {
    let mut frontier = vec![start];
    for _ in 0..n {
        let next: Vec<Uuid> = frontier
            .iter()
            .flat_map(|f| edges.get(f).cloned().unwrap_or_default())
            .collect();
        if next.contains(&start) {
            return true;
        }
        frontier = next;
        frontier.sort();
        frontier.dedup();
    }
    false
}

proptest! {
    // On random graphs of up to 8 schedules, a loop is reported exactly when one exists, and
    // the path reported is made of real edges from start back to start.
    #[test]
    fn loops_match_brute_force(raw in proptest::collection::vec((0u128..8, 0u128..8), 0..20), start in 0u128..8) {
        let mut edges: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (a, b) in raw {
            edges.entry(id(a)).or_default().push(id(b));
        }
        let found = cycle_through(&edges, id(start));
        prop_assert_eq!(found.is_some(), reaches_itself(&edges, id(start), 8));
        if let Some(path) = found {
            prop_assert_eq!(path.first(), Some(&id(start)));
            prop_assert_eq!(path.last(), Some(&id(start)));
            for w in path.windows(2) {
                prop_assert!(edges.get(&w[0]).is_some_and(|n| n.contains(&w[1])));
            }
        }
    }
}
