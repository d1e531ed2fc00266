use proptest::prelude::*;
use uuid::Uuid;

use super::*;

#[test]
fn numbers_hex_ids_and_uuids_are_masked() {
    assert_eq!(mask("exit code 3"), "exit code <n>");
    assert_eq!(
        mask("GET http://127.0.0.1:8080/a took 5001 ms"),
        "GET http://<n>.<n>.<n>.<n>:<n>/a took <n> ms"
    );
    assert_eq!(
        mask("job 0b6f2a3e-8c1d-4e5f-9a0b-1c2d3e4f5a6b failed"),
        "job <uuid> failed"
    );
    assert_eq!(mask("commit 3fa9c0d2e1 at 0xFF10"), "commit <hex> at <hex>");
    // Words stay words: letters-only hex, and letters before digits.
    assert_eq!(mask("deadbeef cafe"), "deadbeef cafe");
    assert_eq!(mask("worker12 down"), "worker<n> down");
    assert_eq!(mask(""), "");
    assert_eq!(mask("naïve – ünïcode 42"), "naïve – ünïcode <n>");
}

#[test]
fn the_same_problem_shares_a_fingerprint_and_others_do_not() {
    let s = Uuid::now_v7();
    let a = fingerprint(s, ErrorType::ExitCode, "exit code 3: disk 91% full");
    assert_eq!(a.len(), 32);
    assert_eq!(
        a,
        fingerprint(s, ErrorType::ExitCode, "exit code 4: disk 97% full")
    );
    assert_ne!(
        a,
        fingerprint(s, ErrorType::Timeout, "exit code 3: disk 91% full")
    );
    assert_ne!(
        a,
        fingerprint(
            Uuid::now_v7(),
            ErrorType::ExitCode,
            "exit code 3: disk 91% full"
        )
    );
    assert_ne!(
        a,
        fingerprint(s, ErrorType::ExitCode, "exit code 3: permission denied")
    );
}

#[test]
fn a_huge_message_counts_only_its_prefix() {
    let s = Uuid::now_v7();
    let base = "x".repeat(MESSAGE_PREFIX);
    assert_eq!(
        fingerprint(s, ErrorType::Spawn, &format!("{base}tail one")),
        fingerprint(s, ErrorType::Spawn, &format!("{base}other tail"))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Masking never panics, and masking twice changes nothing more.
    #[test]
    fn masking_is_total_and_idempotent(text in "\\PC{0,200}") {
        let once = mask(&text);
        prop_assert_eq!(mask(&once), once.clone());
        prop_assert!(!once.chars().any(|c| c.is_ascii_digit()));
    }

    /// Messages that differ only in their numbers and ids share a fingerprint.
    #[test]
    fn varying_numbers_and_ids_keep_the_fingerprint(
        words in proptest::collection::vec("[a-z]{1,8}", 1..6),
        a in proptest::collection::vec(0u64..u64::MAX, 6),
        b in proptest::collection::vec(0u64..u64::MAX, 6),
    ) {
        let s = Uuid::from_u128(7);
        let render = |nums: &[u64]| {
            let mut out = String::new();
            for (i, w) in words.iter().enumerate() {
                out.push_str(&format!("{w} {} id={} ", nums[i], Uuid::from_u64_pair(nums[i], nums[5])));
            }
            out
        };
        prop_assert_eq!(
            fingerprint(s, ErrorType::HttpStatus, &render(&a)),
            fingerprint(s, ErrorType::HttpStatus, &render(&b))
        );
    }
}
