use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

fn occ(active: i64, waiting: i64) -> Occupancy {
    Occupancy { active, waiting }
}

#[test]
fn allow_without_a_cap_always_runs() {
    let mut o = occ(500, 0);
    assert_eq!(admit(ConcurrencyPolicy::Allow, None, &mut o), Admit::Run);
    assert_eq!(o.active, 501);
}

#[test]
fn max_concurrent_makes_excess_fires_wait_then_backlog() {
    let mut o = occ(2, 0);
    assert_eq!(
        admit(ConcurrencyPolicy::Allow, Some(2), &mut o),
        Admit::Wait
    );
    // A place is free but a fire already waits: the new one does not overtake it.
    let mut o = occ(1, 1);
    assert_eq!(
        admit(ConcurrencyPolicy::Allow, Some(2), &mut o),
        Admit::Wait
    );
    let mut o = occ(2, MAX_WAITING);
    assert_eq!(
        admit(ConcurrencyPolicy::Allow, Some(2), &mut o),
        Admit::Skip(SkipReason::Backlog)
    );
}

#[test]
fn queue_keeps_one_waiting_and_skips_the_rest_as_overlap() {
    let mut o = occ(1, 0);
    assert_eq!(admit(ConcurrencyPolicy::Queue, None, &mut o), Admit::Wait);
    assert_eq!(
        admit(ConcurrencyPolicy::Queue, None, &mut o),
        Admit::Skip(SkipReason::Overlap)
    );
    assert_eq!(o, occ(1, 1));
    let mut idle = occ(0, 0);
    assert_eq!(admit(ConcurrencyPolicy::Queue, None, &mut idle), Admit::Run);
}

#[test]
fn replace_cancels_what_runs() {
    let mut o = occ(3, 0);
    assert_eq!(
        admit(ConcurrencyPolicy::Replace, None, &mut o),
        Admit::Replace
    );
    assert_eq!(o.active, 1);
    let mut idle = occ(0, 0);
    assert_eq!(
        admit(ConcurrencyPolicy::Replace, None, &mut idle),
        Admit::Run
    );
}

#[test]
fn forbid_skips_while_running() {
    let mut o = occ(1, 0);
    assert_eq!(
        admit(ConcurrencyPolicy::Forbid, None, &mut o),
        Admit::Skip(SkipReason::Overlap)
    );
}

#[test]
fn release_fills_free_places_oldest_first_and_expires_late_ones() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let waiting = [
        (1, t0),
        (2, t0 + Duration::seconds(50)),
        (3, t0 + Duration::seconds(55)),
    ];
    let now = t0 + Duration::seconds(60);
    let r = release(2, 1, &waiting, Some(Duration::seconds(30)), now);
    assert_eq!(r.expired, vec![1]);
    assert_eq!(r.start, vec![2]);
    let r = release(1, 1, &waiting, None, now);
    assert!(r.start.is_empty() && r.expired.is_empty());
    // More running than places (a manual run): nothing starts, nothing underflows.
    let r = release(1, 5, &waiting, None, now);
    assert!(r.start.is_empty());
}

#[derive(Debug, Clone)]
enum Step {
    Fire,
    Finish,
}

fn policy() -> impl Strategy<Value = (ConcurrencyPolicy, Option<u32>)> {
    prop_oneof![
        Just((ConcurrencyPolicy::Allow, None)),
        (1u32..5).prop_map(|n| (ConcurrencyPolicy::Allow, Some(n))),
        Just((ConcurrencyPolicy::Forbid, None)),
        Just((ConcurrencyPolicy::Queue, None)),
        Just((ConcurrencyPolicy::Replace, None)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Fires and finishes in any order, with the waiting fires released after each finish:
    /// never more running than the places, at most one waiting under queue, and every fire is
    /// run, waiting, skipped or replacing (none lost).
    #[test]
    fn places_are_never_exceeded(
        (policy, cap) in policy(),
        steps in proptest::collection::vec(prop_oneof![Just(Step::Fire), Just(Step::Finish)], 1..80),
    ) {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut o = Occupancy::default();
        let (mut fires, mut started, mut skipped, mut waiting) = (0i64, 0i64, 0i64, Vec::new());
        for (i, step) in steps.into_iter().enumerate() {
            let at = t0 + Duration::seconds(i as i64);
            match step {
                Step::Fire => {
                    fires += 1;
                    match admit(policy, cap, &mut o) {
                        Admit::Run | Admit::Replace => started += 1,
                        Admit::Wait => waiting.push((fires, at)),
                        Admit::Skip(_) => skipped += 1,
                    }
                }
                Step::Finish => o.active = (o.active - 1).max(0),
            }
            let r = release(places(policy, cap), o.active, &waiting, None, at);
            o.active += r.start.len() as i64;
            started += r.start.len() as i64;
            waiting.retain(|(id, _)| !r.start.contains(id));
            o.waiting = waiting.len() as i64;
            prop_assert!(o.active <= places(policy, cap));
            if policy == ConcurrencyPolicy::Queue {
                prop_assert!(o.waiting <= 1);
            }
            if policy != ConcurrencyPolicy::Allow || cap.is_none() {
                // Only a capped allow queues more than one.
                prop_assert!(o.waiting <= 1);
            }
            prop_assert_eq!(fires, started + skipped + o.waiting);
        }
    }
}
