use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

#[test]
fn a_signature_verifies_only_for_its_body_and_secret() {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    let body = b"what do ya want for nothing?";
    let good = sign("Jefe", body);
    assert_eq!(
        good,
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert!(verify("Jefe", body, Some(&good)));
    assert!(verify(
        "Jefe",
        body,
        Some(&good.to_uppercase().replace("SHA256=", "sha256="))
    ));
    for bad in [
        None,
        Some(""),
        Some("sha256="),
        Some("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        Some("sha1=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        Some("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec384"),
        Some("sha256=zz"),
    ] {
        assert!(!verify("Jefe", body, bad), "{bad:?}");
    }
    assert!(!verify("jefe", body, Some(&good)));
    assert!(!verify(
        "Jefe",
        b"what do ya want for nothing!",
        Some(&good)
    ));
}

#[test]
fn the_bucket_allows_a_burst_then_its_rate() {
    let t0 = Instant::now();
    let mut b = Bucket::full(3, t0);
    for _ in 0..3 {
        assert!(b.take(2.0, 3, t0).is_ok());
    }
    let wait = b.take(2.0, 3, t0).err().unwrap_or_default();
    assert!(
        wait > Duration::from_millis(400) && wait <= Duration::from_millis(500),
        "{wait:?}"
    );
    assert!(b.take(2.0, 3, t0 + Duration::from_millis(500)).is_ok());
    // A long pause refills to the burst, not beyond.
    let later = t0 + Duration::from_secs(3600);
    for _ in 0..3 {
        assert!(b.take(2.0, 3, later).is_ok());
    }
    assert!(b.take(2.0, 3, later).is_err());
}

proptest! {
    // Any body and secret: the signature made verifies; any one byte changed does not.
    #[test]
    fn signatures_round_trip_and_catch_any_change(secret in "\\PC{1,40}", body in proptest::collection::vec(any::<u8>(), 0..200), flip in any::<prop::sample::Index>()) {
        let sig = sign(&secret, &body);
        prop_assert!(verify(&secret, &body, Some(&sig)));
        if !body.is_empty() {
            let mut changed = body.clone();
            let i = flip.index(changed.len());
            changed[i] ^= 1;
            prop_assert!(!verify(&secret, &changed, Some(&sig)));
        }
    }

    // However calls arrive, no more than burst + rate × elapsed are let through.
    #[test]
    fn the_bucket_never_lets_more_through_than_its_rate(gaps in proptest::collection::vec(0u64..500, 1..200), per_sec in 1u32..50, burst in 1u32..20) {
        let t0 = Instant::now();
        let mut b = Bucket::full(burst, t0);
        let mut now = t0;
        let mut passed = 0u32;
        for g in gaps {
            now += Duration::from_millis(g);
            if b.take(f64::from(per_sec), burst, now).is_ok() {
                passed += 1;
            }
        }
        let allowed = f64::from(burst) + f64::from(per_sec) * now.duration_since(t0).as_secs_f64();
        prop_assert!(f64::from(passed) <= allowed + 1e-6, "{} > {}", passed, allowed);
    }
}
