use super::*;
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    super::super::validate::parse_time(s).unwrap_or_default()
}

fn interval(seconds: i64) -> ScheduleSpec {
    ScheduleSpec::Interval {
        seconds,
        start_at: Some(t("2026-11-26T10:00:00Z")),
        anchor: t("2026-11-26T10:00:00Z"),
    }
}

fn read(body: serde_json::Value, spec: &ScheduleSpec, misfire: MisfirePolicy) -> FieldErrors {
    let mut e = FieldErrors::default();
    let Some(obj) = Obj::new(&body, "", &mut e) else {
        return e;
    };
    FireRules::from_obj(
        &obj,
        Some(spec),
        Some((misfire, ConcurrencyPolicy::Allow)),
        &mut e,
    );
    e
}

#[test]
fn the_jitter_is_a_function_of_name_and_slot() {
    let slot = t("2026-11-26T10:00:00Z");
    let a = jitter_offset("backup", slot, 30);
    assert_eq!(a, jitter_offset("backup", slot, 30));
    assert!(a >= Duration::zero() && a < Duration::seconds(30));
    assert_eq!(jitter_offset("backup", slot, 0), Duration::zero());
    // Renaming moves it (for some of a handful of slots at least).
    let moved = (0..10).any(|i| {
        let s = slot + Duration::minutes(i);
        jitter_offset("backup", s, 30) != jitter_offset("backup-2", s, 30)
    });
    assert!(moved);
}

#[test]
fn jittered_runs_stay_in_their_slot_and_come_in_order() {
    let spec = interval(60);
    let rules = FireRules {
        jitter_seconds: Some(45),
        ..FireRules::default()
    };
    let timing = Timing {
        spec: &spec,
        name: "n",
        rules: &rules,
    };
    let runs = timing.next_runs(t("2026-11-26T10:00:00Z") - Duration::seconds(1), 50, 0);
    assert_eq!(runs.len(), 50);
    for (k, run) in runs.iter().enumerate() {
        let slot = t("2026-11-26T10:00:00Z") + Duration::minutes(k as i64);
        assert!(
            *run >= slot && *run < slot + Duration::seconds(45),
            "{k}: {run}"
        );
        assert_eq!(*run, timing.fire_of(slot));
    }
}

#[test]
fn the_window_and_max_runs_cut_the_runs() {
    let spec = interval(60);
    let rules = FireRules {
        active_from: Some(t("2026-11-26T10:05:00Z")),
        active_until: Some(t("2026-11-26T10:08:00Z")),
        ..FireRules::default()
    };
    let timing = Timing {
        spec: &spec,
        name: "n",
        rules: &rules,
    };
    let runs = timing.next_runs(t("2026-11-26T09:00:00Z"), 10, 0);
    assert_eq!(
        runs,
        vec![
            t("2026-11-26T10:05:00Z"),
            t("2026-11-26T10:06:00Z"),
            t("2026-11-26T10:07:00Z")
        ]
    );
    let limited = FireRules {
        max_runs: Some(4),
        ..FireRules::default()
    };
    let timing = Timing {
        spec: &spec,
        name: "n",
        rules: &limited,
    };
    assert_eq!(timing.next_runs(t("2026-11-26T09:00:00Z"), 10, 0).len(), 4);
    assert_eq!(timing.next_runs(t("2026-11-26T09:00:00Z"), 10, 3).len(), 1);
    assert_eq!(timing.first_run(t("2026-11-26T09:00:00Z"), 4), None);
}

#[test]
fn bad_rules_name_their_field() {
    let spec = interval(60);
    let cases = [
        (
            json!({"catchupMax": 0}),
            MisfirePolicy::RunAll,
            "catchupMax",
        ),
        (
            json!({"catchupMax": 5}),
            MisfirePolicy::RunOnce,
            "catchupMax",
        ),
        (
            json!({"catchupWindowSeconds": 60}),
            MisfirePolicy::Skip,
            "catchupWindowSeconds",
        ),
        (
            json!({"jitterSeconds": 60}),
            MisfirePolicy::RunOnce,
            "jitterSeconds",
        ),
        (
            json!({"jitterSeconds": -1}),
            MisfirePolicy::RunOnce,
            "jitterSeconds",
        ),
        (
            json!({"jitterSeconds": 3601}),
            MisfirePolicy::RunOnce,
            "jitterSeconds",
        ),
        (
            json!({"activeFrom": "2026-11-27T00:00:00Z", "activeUntil": "2026-11-26T00:00:00Z"}),
            MisfirePolicy::RunOnce,
            "activeUntil",
        ),
        (
            json!({"activeFrom": "soon"}),
            MisfirePolicy::RunOnce,
            "activeFrom",
        ),
        (json!({"maxRuns": 0}), MisfirePolicy::RunOnce, "maxRuns"),
        (json!({"maxRuns": 1e20}), MisfirePolicy::RunOnce, "maxRuns"),
        (
            json!({"startDeadlineSeconds": 0}),
            MisfirePolicy::RunOnce,
            "startDeadlineSeconds",
        ),
    ];
    for (body, misfire, field) in cases {
        let e = read(body.clone(), &spec, misfire);
        assert_eq!(e.fields(), vec![field], "{body}");
    }
    assert!(read(json!({"catchupMax": 5}), &spec, MisfirePolicy::RunAll).is_empty());
    let mut e = FieldErrors::default();
    let body = json!({});
    if let Some(obj) = Obj::new(&body, "", &mut e) {
        FireRules::from_obj(
            &obj,
            None,
            Some((MisfirePolicy::RunAll, ConcurrencyPolicy::Forbid)),
            &mut e,
        );
    }
    assert_eq!(e.fields(), vec!["misfirePolicy"]);
}

#[test]
fn stored_rules_round_trip_and_leave_unset_fields_out() {
    let rules = FireRules {
        jitter_seconds: Some(5),
        active_until: Some(t("2027-01-01T00:00:00Z")),
        ..FireRules::default()
    };
    let v = rules.to_json();
    assert_eq!(
        v,
        json!({"jitterSeconds": 5, "activeUntil": "2027-01-01T00:00:00Z"})
    );
    assert_eq!(FireRules::from_stored(&v), rules);
    assert_eq!(FireRules::from_stored(&json!({})), FireRules::default());
}
