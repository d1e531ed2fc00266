//! Properties of [`Timing`]: with jitter every run stays in [slot, slot + jitter) and every slot
//! fires once, what the scheduler fires equals the preview, and nothing fires outside the
//! window or past `maxRuns`.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::json;

use super::{FireRules, Timing};
use crate::domain::firing::{decide, Due};
use crate::domain::schedule::ScheduleSpec;
use crate::domain::states::{MisfirePolicy, ScheduleType};
use crate::domain::validate::FieldErrors;

const CRONS: [&str; 5] = [
    "*/5 * * * *",
    "0 * * * *",
    "30 2 * * 1-5",
    "0 9 L * *",
    "15,45 1-3 * * *",
];
const ZONES: [&str; 3] = ["UTC", "Europe/Berlin", "America/New_York"];

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

/// A cron line in a zone (odd `kind`) or an interval of `seconds` (even `kind`).
fn spec(kind: usize, seconds: i64, from: DateTime<Utc>) -> ScheduleSpec {
    let mut e = FieldErrors::default();
    let (t, cfg) = if kind.is_multiple_of(2) {
        (ScheduleType::Interval, json!({"intervalSeconds": seconds}))
    } else {
        let c = CRONS[(kind / 2) % CRONS.len()];
        let z = ZONES[(kind / 2) % ZONES.len()];
        (ScheduleType::Cron, json!({"expression": c, "timezone": z}))
    };
    ScheduleSpec::from_json(t, &cfg, from, &mut e).unwrap_or_else(|| panic!("{cfg}: {e:?}"))
}

/// What the scheduler fires from `from` on, one on-time decision after another, at most `n`.
fn fired(timing: Timing<'_>, from: DateTime<Utc>, run_count: i64, n: usize) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut next = timing.first_run(from, run_count);
    let mut runs = run_count;
    while let Some(due) = next {
        if out.len() == n {
            break;
        }
        let d = decide(
            &Due {
                timing,
                due,
                anchor: from,
                misfire: MisfirePolicy::RunOnce,
                concurrency: crate::domain::states::ConcurrencyPolicy::Allow,
                occupancy: Default::default(),
                run_count: runs,
            },
            due,
            Duration::seconds(5),
        );
        out.extend(d.fires.iter().map(|f| f.1));
        runs += d.fires.len() as i64;
        next = d.next;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn jittered_runs_stay_in_their_slot_and_previews_equal_fires(
        kind in 0..20usize,
        seconds in 2..=7_200i64,
        jitter in 0..=3_600u32,
        from_s in 1_767_225_600i64..2_082_758_400,
        name in "[a-z]{1,12}",
    ) {
        let from = at(from_s);
        let spec = spec(kind, seconds, from);
        let jitter = match spec {
            ScheduleSpec::Interval { seconds, .. } => jitter.min(u32::try_from(seconds - 1).unwrap_or(0)),
            _ => jitter,
        };
        let rules = FireRules { jitter_seconds: Some(jitter), ..FireRules::default() };
        let timing = Timing { spec: &spec, name: &name, rules: &rules };
        let preview = timing.next_runs(from, 12, 0);
        prop_assert_eq!(&fired(timing, from, 0, 12), &preview);
        for w in preview.windows(2) {
            prop_assert!(w[0] < w[1]);
        }
        // Each run is the fire of one slot within its jitter, and every slot whose fire falls in
        // the previewed span is in it once.
        let back = from - Duration::seconds(i64::from(jitter) + 1);
        let Some(last) = preview.last().copied() else { return Ok(()); };
        let mut slot = spec.next_after(back);
        let mut expected = Vec::new();
        while let Some(s) = slot.filter(|s| *s <= last) {
            let f = timing.fire_of(s);
            prop_assert!(f >= s && f < s + Duration::seconds(i64::from(jitter.max(1))));
            if f > from && f <= last {
                expected.push(f);
            }
            slot = spec.next_after(s);
        }
        expected.sort();
        expected.dedup();
        prop_assert_eq!(expected, preview);
    }

    #[test]
    fn nothing_fires_outside_the_window_or_past_max_runs(
        kind in 0..20usize,
        seconds in 60..=7_200i64,
        from_s in 1_767_225_600i64..2_082_758_400,
        start_off in -86_400i64..86_400,
        len in 1i64..(3 * 86_400),
        max_runs in proptest::option::of(1u32..30),
        ran in 0i64..10,
    ) {
        let from = at(from_s);
        let spec = spec(kind, seconds, from);
        let (active_from, active_until) = (from + Duration::seconds(start_off), from + Duration::seconds(start_off + len));
        let rules = FireRules {
            active_from: Some(active_from),
            active_until: Some(active_until),
            max_runs,
            ..FireRules::default()
        };
        let timing = Timing { spec: &spec, name: "n", rules: &rules };
        let fires = fired(timing, from, ran, 500);
        prop_assert!(fires.iter().all(|t| *t >= active_from && *t < active_until && *t > from - Duration::seconds(1)));
        if let Some(m) = max_runs {
            prop_assert!(fires.len() as i64 <= (i64::from(m) - ran).max(0));
        }
        prop_assert_eq!(&fires, &timing.next_runs(from, 500, ran));
    }
}
