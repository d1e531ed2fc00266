use super::*;
use crate::domain::rules::FireRules;
use crate::domain::validate::FieldErrors;
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn every_minute() -> ScheduleSpec {
    let mut e = FieldErrors::default();
    ScheduleSpec::from_json(
        crate::domain::states::ScheduleType::Cron,
        &json!({"expression": "* * * * *"}),
        Utc::now(),
        &mut e,
    )
    .unwrap_or_else(|| panic!("{e:?}"))
}

static NO_RULES: FireRules = FireRules {
    catchup_max: None,
    catchup_window_seconds: None,
    jitter_seconds: None,
    active_from: None,
    active_until: None,
    max_runs: None,
    start_deadline_seconds: None,
    max_concurrent: None,
    auto_pause_after_failures: None,
};

fn due<'a>(spec: &'a ScheduleSpec, due: &str) -> Due<'a> {
    with_rules(spec, due, &NO_RULES)
}

fn with_rules<'a>(spec: &'a ScheduleSpec, due: &str, rules: &'a FireRules) -> Due<'a> {
    Due {
        timing: Timing {
            spec,
            name: "n",
            rules,
        },
        due: t(due),
        anchor: t("2026-01-01T00:00:00Z"),
        misfire: MisfirePolicy::RunOnce,
        concurrency: ConcurrencyPolicy::Allow,
        occupancy: Occupancy::default(),
        run_count: 0,
    }
}

const TH: Duration = Duration::seconds(5);

#[test]
fn on_time_fires_and_advances() {
    let s = every_minute();
    let d = decide(
        &due(&s, "2026-11-26T10:00:00Z"),
        t("2026-11-26T10:00:00.002Z"),
        TH,
    );
    assert_eq!(
        d.fires,
        vec![(Trigger::Schedule, t("2026-11-26T10:00:00Z"))]
    );
    assert_eq!(d.next, Some(t("2026-11-26T10:01:00Z")));
}

#[test]
fn missed_fires_catch_up_once_or_skip() {
    let s = every_minute();
    let now = t("2026-11-26T12:30:30Z");
    let d = decide(&due(&s, "2026-11-26T10:00:00Z"), now, TH);
    assert_eq!(d.fires, vec![(Trigger::CatchUp, t("2026-11-26T12:30:00Z"))]);
    assert_eq!(d.next, Some(t("2026-11-26T12:31:00Z")));
    // 10:00 … 12:29 did not run: 150 slots, each accounted for, oldest first.
    assert_eq!(d.skipped.len(), 150);
    assert_eq!(
        d.skipped[0],
        (t("2026-11-26T10:00:00Z"), SkipReason::Misfire)
    );
    assert_eq!(
        d.skipped[149],
        (t("2026-11-26T12:29:00Z"), SkipReason::Misfire)
    );
    let mut skip = due(&s, "2026-11-26T10:00:00Z");
    skip.misfire = MisfirePolicy::Skip;
    let d = decide(&skip, now, TH);
    assert!(d.fires.is_empty());
    assert_eq!(d.skipped.len(), 151);
    assert!(d.skipped.iter().all(|(_, r)| *r == SkipReason::Misfire));
    assert_eq!(d.next, Some(t("2026-11-26T12:31:00Z")));
    // Blocked: the slot that would have caught up is an overlap.
    let mut busy = due(&s, "2026-11-26T12:00:00Z");
    busy.concurrency = ConcurrencyPolicy::Forbid;
    busy.occupancy.active = 1;
    let d = decide(&busy, now, TH);
    assert!(d.fires.is_empty());
    assert_eq!(
        d.skipped.last(),
        Some(&(t("2026-11-26T12:30:00Z"), SkipReason::Overlap))
    );
    assert_eq!(d.skipped.len(), 31);
}

#[test]
fn a_long_outage_records_the_newest_slots_and_counts_the_rest() {
    let s = every_minute();
    // 20 days of minutes: 28,800 slots.
    let d = decide(
        &due(&s, "2026-11-01T00:00:00Z"),
        t("2026-11-20T23:59:30Z"),
        TH,
    );
    assert_eq!(d.skipped.len() + 1, MAX_RECORDED_SKIPS);
    assert_eq!(d.skipped.len() + 1 + d.unrecorded, 20 * 1440);
    assert_eq!(d.fires, vec![(Trigger::CatchUp, t("2026-11-20T23:59:00Z"))]);
    for w in d.skipped.windows(2) {
        assert!(w[0].0 < w[1].0);
    }
}

#[test]
fn forbid_skips_while_running() {
    let s = every_minute();
    let mut b = due(&s, "2026-11-26T10:00:00Z");
    b.concurrency = ConcurrencyPolicy::Forbid;
    b.occupancy.active = 1;
    let d = decide(&b, t("2026-11-26T10:00:00.5Z"), TH);
    assert!(d.fires.is_empty());
    assert_eq!(
        d.skipped,
        vec![(t("2026-11-26T10:00:00Z"), SkipReason::Overlap)]
    );
    assert_eq!(d.next, Some(t("2026-11-26T10:01:00Z")));
}

#[test]
fn once_runs_once_even_when_late() {
    let s = ScheduleSpec::Once {
        run_at: t("2026-11-26T10:00:00Z"),
    };
    let d = decide(
        &due(&s, "2026-11-26T10:00:00Z"),
        t("2026-11-26T11:00:00Z"),
        TH,
    );
    assert_eq!(d.fires, vec![(Trigger::CatchUp, t("2026-11-26T10:00:00Z"))]);
    assert_eq!(d.next, None);
    // Created with a past runAt: runs now, as an ordinary fire.
    let mut past = due(&s, "2026-11-26T10:00:00Z");
    past.anchor = t("2026-11-26T10:59:59Z");
    past.misfire = MisfirePolicy::Skip;
    let d = decide(&past, t("2026-11-26T11:00:00Z"), TH);
    assert_eq!(
        d.fires,
        vec![(Trigger::Schedule, t("2026-11-26T10:00:00Z"))]
    );
}

#[test]
fn run_all_runs_the_newest_within_its_limits_oldest_first() {
    let s = every_minute();
    let now = t("2026-11-26T12:30:30Z");
    let rules = FireRules {
        catchup_max: Some(5),
        ..NO_RULES
    };
    let mut d = with_rules(&s, "2026-11-26T10:00:00Z", &rules);
    d.misfire = MisfirePolicy::RunAll;
    let out = decide(&d, now, TH);
    // 151 slots: the newest 5 run, oldest first; the 146 before them are recorded.
    let runs: Vec<_> = out.fires.iter().map(|f| f.1).collect();
    assert_eq!(
        runs,
        (26..=30)
            .map(|m| t(&format!("2026-11-26T12:{m}:00Z")))
            .collect::<Vec<_>>()
    );
    assert!(out.fires.iter().all(|f| f.0 == Trigger::CatchUp));
    assert_eq!(out.skipped.len(), 146);
    assert!(out.skipped.iter().all(|(_, r)| *r == SkipReason::Misfire));
    assert_eq!(out.next, Some(t("2026-11-26T12:31:00Z")));
    // The window is tighter than the limit: only slots newer than 10 minutes run.
    let rules = FireRules {
        catchup_window_seconds: Some(600),
        ..NO_RULES
    };
    let mut d = with_rules(&s, "2026-11-26T10:00:00Z", &rules);
    d.misfire = MisfirePolicy::RunAll;
    let out = decide(&d, now, TH);
    assert_eq!(out.fires.len(), 10);
    assert_eq!(out.fires[0].1, t("2026-11-26T12:21:00Z"));
    assert_eq!(out.skipped.len() + out.fires.len(), 151);
}

#[test]
fn a_fire_past_its_start_deadline_is_skipped() {
    let s = every_minute();
    let rules = FireRules {
        start_deadline_seconds: Some(2),
        ..NO_RULES
    };
    // On time but 3 s late (under the misfire threshold): too late to start.
    let d = with_rules(&s, "2026-11-26T10:00:00Z", &rules);
    let out = decide(&d, t("2026-11-26T10:00:03Z"), TH);
    assert!(out.fires.is_empty());
    assert_eq!(
        out.skipped,
        vec![(t("2026-11-26T10:00:00Z"), SkipReason::StartDeadline)]
    );
    assert_eq!(out.next, Some(t("2026-11-26T10:01:00Z")));
    // Within it: runs.
    let out = decide(&d, t("2026-11-26T10:00:01Z"), TH);
    assert_eq!(out.fires.len(), 1);
    // After downtime, the catch-up slot is past its deadline too.
    let out = decide(&d, t("2026-11-26T10:05:30Z"), TH);
    assert!(out.fires.is_empty());
    assert_eq!(
        out.skipped.last(),
        Some(&(t("2026-11-26T10:05:00Z"), SkipReason::StartDeadline))
    );
    assert_eq!(out.skipped.len(), 6);
}

#[test]
fn max_runs_ends_the_schedule() {
    let s = every_minute();
    let rules = FireRules {
        max_runs: Some(3),
        ..NO_RULES
    };
    let mut d = with_rules(&s, "2026-11-26T10:00:00Z", &rules);
    d.run_count = 2;
    let out = decide(&d, t("2026-11-26T10:00:00Z"), TH);
    assert_eq!(out.fires.len(), 1);
    assert_eq!(out.next, None, "the third run was the last");
    d.run_count = 3;
    assert_eq!(
        decide(&d, t("2026-11-26T10:00:00Z"), TH),
        Decision::default()
    );
    // run_all stops at the limit too.
    d.run_count = 1;
    d.misfire = MisfirePolicy::RunAll;
    let out = decide(&d, t("2026-11-26T10:30:00Z"), TH);
    assert_eq!(out.fires.len(), 2);
    assert_eq!(out.next, None);
}

#[test]
fn the_window_ends_the_schedule() {
    let s = every_minute();
    let rules = FireRules {
        active_until: Some(t("2026-11-26T10:02:00Z")),
        ..NO_RULES
    };
    let d = with_rules(&s, "2026-11-26T10:01:00Z", &rules);
    let out = decide(&d, t("2026-11-26T10:01:00Z"), TH);
    assert_eq!(out.fires.len(), 1);
    assert_eq!(out.next, None, "10:02 is outside [activeFrom, activeUntil)");
}

#[test]
fn queue_waits_behind_the_running_one() {
    let s = every_minute();
    let mut q = due(&s, "2026-11-26T10:00:00Z");
    q.concurrency = ConcurrencyPolicy::Queue;
    q.occupancy.active = 1;
    let d = decide(&q, t("2026-11-26T10:00:00.5Z"), TH);
    assert!(d.fires.is_empty() && d.skipped.is_empty());
    assert_eq!(
        d.waits,
        vec![(Trigger::Schedule, t("2026-11-26T10:00:00Z"))]
    );
    // One already waits: this one is an overlap.
    q.occupancy.waiting = 1;
    let d = decide(&q, t("2026-11-26T10:00:00.5Z"), TH);
    assert!(d.waits.is_empty());
    assert_eq!(
        d.skipped,
        vec![(t("2026-11-26T10:00:00Z"), SkipReason::Overlap)]
    );
}

#[test]
fn replace_fires_and_says_so() {
    let s = every_minute();
    let mut r = due(&s, "2026-11-26T10:00:00Z");
    r.concurrency = ConcurrencyPolicy::Replace;
    r.occupancy.active = 1;
    let d = decide(&r, t("2026-11-26T10:00:00.5Z"), TH);
    assert!(d.replace);
    assert_eq!(
        d.fires,
        vec![(Trigger::Schedule, t("2026-11-26T10:00:00Z"))]
    );
}

#[test]
fn run_all_under_max_concurrent_runs_some_and_queues_the_rest_in_order() {
    let s = every_minute();
    let rules = FireRules {
        max_concurrent: Some(2),
        ..FireRules::default()
    };
    let mut d = with_rules(&s, "2026-11-26T10:00:00Z", &rules);
    d.misfire = MisfirePolicy::RunAll;
    let out = decide(&d, t("2026-11-26T10:04:30Z"), TH);
    assert_eq!(out.fires.len(), 2);
    assert_eq!(out.waits.len(), 3);
    assert!(out.fires[1].1 < out.waits[0].1);
    // maxRuns counts the waiting ones too.
    let capped = FireRules {
        max_concurrent: Some(2),
        max_runs: Some(3),
        ..FireRules::default()
    };
    let mut d = with_rules(&s, "2026-11-26T10:00:00Z", &capped);
    d.misfire = MisfirePolicy::RunAll;
    let out = decide(&d, t("2026-11-26T10:04:30Z"), TH);
    assert_eq!((out.fires.len(), out.waits.len(), out.next), (2, 1, None));
}
