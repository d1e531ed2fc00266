//! Chains between schedules: `onSuccess` and `onFailure` list the schedules that run once after
//! a run of this one completes, or ends failed with no retry left. The rules here are pure: the
//! lists as written, and whether a set of lists loops back on itself.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use uuid::Uuid;

use super::validate::{type_name, FieldErrors, Obj};

/// Steps a chain may take from the run that started it; the next one is not run (a warning).
pub const MAX_DEPTH: i32 = 20;
/// Schedules one list may name.
pub const MAX_TARGETS: usize = 50;
/// The body fields.
pub const FIELDS: [&str; 2] = ["onSuccess", "onFailure"];

/// Which end of a run starts the next ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainOn {
    Success,
    Failure,
}

/// A schedule's two lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    pub on_success: Vec<Uuid>,
    pub on_failure: Vec<Uuid>,
}

impl Chain {
    /// True when neither list names a schedule.
    pub fn is_empty(&self) -> bool {
        self.on_success.is_empty() && self.on_failure.is_empty()
    }

    /// Every schedule either list names, each once.
    pub fn targets(&self) -> Vec<Uuid> {
        let mut seen = HashSet::new();
        self.on_success
            .iter()
            .chain(&self.on_failure)
            .copied()
            .filter(|id| seen.insert(*id))
            .collect()
    }

    /// The two lists of a body; each problem named by its field (`onSuccess[2]`).
    pub fn from_obj(obj: &Obj<'_>, e: &mut FieldErrors) -> Chain {
        Chain {
            on_success: ids(obj, "onSuccess", e),
            on_failure: ids(obj, "onFailure", e),
        }
    }
}

fn ids(obj: &Obj<'_>, key: &str, e: &mut FieldErrors) -> Vec<Uuid> {
    let Some(v) = obj.get(key) else {
        return vec![];
    };
    let path = obj.path(key);
    let Value::Array(items) = v else {
        e.add(
            path,
            format!("must be a list of schedule ids, got {}", type_name(v)),
        );
        return vec![];
    };
    if items.len() > MAX_TARGETS {
        e.add(path, format!("at most {MAX_TARGETS} schedules"));
        return vec![];
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str().map(Uuid::parse_str) {
            Some(Ok(id)) if out.contains(&id) => {
                e.add(format!("{path}[{i}]"), format!("lists {id} twice"));
            }
            Some(Ok(id)) => out.push(id),
            _ => e.add(
                format!("{path}[{i}]"),
                format!("must be a schedule id (UUID), got {item}"),
            ),
        }
    }
    out
}

/// A path from `start` back to itself through `edges` (schedule → the schedules its lists
/// name), if there is one: `[start, …, start]`. Any other loop in `edges` is not reported:
/// writes are checked one at a time, so only the written schedule can close a new one.
pub fn cycle_through(edges: &HashMap<Uuid, Vec<Uuid>>, start: Uuid) -> Option<Vec<Uuid>> {
    // Depth first, with the path kept for the message; each schedule is entered once.
    let mut seen = HashSet::new();
    let mut stack = vec![(start, 0usize)];
    let mut path: Vec<Uuid> = Vec::new();
    while let Some((node, depth)) = stack.pop() {
        path.truncate(depth);
        path.push(node);
        for next in edges.get(&node).into_iter().flatten() {
            if *next == start {
                let mut found = path.clone();
                found.push(start);
                return Some(found);
            }
            if seen.insert(*next) {
                stack.push((*next, depth + 1));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
