use chrono::TimeZone;
use proptest::prelude::*;

use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap() + Duration::seconds(secs)
}

#[test]
fn a_flood_notifies_once_then_once_per_window_with_the_count() {
    let hour = Duration::hours(1);
    let mut s = Incident::default();
    let mut sent = Vec::new();
    // An escalation every 5 s for two hours.
    for i in 0..1440 {
        let (n, next) = on_escalation(s, t(i * 5), hour);
        s = next;
        if let Notice::Send { suppressed } = n {
            sent.push((i * 5, suppressed));
        }
    }
    assert_eq!(sent, vec![(0, 0), (3600, 719)]);
    assert_eq!(s.suppressed, 719);
}

#[test]
fn after_the_group_ends_the_next_escalation_is_a_new_incident() {
    let (_, open) = on_escalation(Incident::default(), t(0), Duration::hours(1));
    let (_, held) = on_escalation(open, t(10), Duration::hours(1));
    let ended = Incident::default();
    assert_eq!(held.suppressed, 1);
    let (n, _) = on_escalation(ended, t(20), Duration::hours(1));
    assert_eq!(n, Notice::Send { suppressed: 0 });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Every escalation is notified or counted in a later notification or the open count, and
    /// notifications are at least `repeat` apart.
    #[test]
    fn none_is_lost_and_none_comes_too_soon(
        gaps in proptest::collection::vec(0i64..5_000, 1..200),
        repeat in 1i64..10_000,
    ) {
        let repeat = Duration::seconds(repeat);
        let (mut s, mut now, mut sends, mut reported) = (Incident::default(), 0i64, Vec::new(), 0i64);
        for g in &gaps {
            now += g;
            let (n, next) = on_escalation(s, t(now), repeat);
            s = next;
            if let Notice::Send { suppressed } = n {
                reported += suppressed;
                sends.push(now);
            }
        }
        prop_assert_eq!(gaps.len() as i64, sends.len() as i64 + reported + s.suppressed);
        for w in sends.windows(2) {
            prop_assert!(Duration::seconds(w[1] - w[0]) >= repeat);
        }
    }
}
