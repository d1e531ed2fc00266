//! Retry policy and backoff: `min(backoffMaxMs, backoffBaseMs * 2^(attempts-1))`
//! with jitter.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::retry_rules::{ErrorMatch, Failure};
use super::validate::{FieldErrors, Obj};

/// How a failing run chain is retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Executions in the chain, the first included (1 = never retry).
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// When set, only matching failures retry on their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<ErrorMatch>,
    /// Matching failures never retry and escalate at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_on: Option<ErrorMatch>,
    /// Wait at least as long as a 429/503's `Retry-After` asks (capped at `backoffMaxMs`).
    /// Shown only when off, so the default policy reads as it always has.
    #[serde(default = "honor_by_default", skip_serializing_if = "is_on")]
    pub honor_retry_after: bool,
}

fn honor_by_default() -> bool {
    true
}

fn is_on(b: &bool) -> bool {
    *b
}

/// What the rules say of one failure, before attempts and severity are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `abortOn` matched: escalate now.
    Abort,
    /// `retryOn` matched: retry on its own whatever the severity.
    Retry,
    /// `retryOn` is set and did not match: never retry on its own.
    NoRetry,
    /// No rule speaks: severity decides.
    BySeverity,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            backoff_base_ms: 1_000,
            backoff_max_ms: 3_600_000,
            retry_on: None,
            abort_on: None,
            honor_retry_after: true,
        }
    }
}

impl RetryPolicy {
    /// Validates `retryPolicy`, each missing key taking its default.
    pub fn from_json(v: &Value, errors: &mut FieldErrors) -> Option<RetryPolicy> {
        let before = errors.len();
        let obj = Obj::new(v, "retryPolicy", errors)?;
        obj.only(
            &[
                "maxAttempts",
                "backoffBaseMs",
                "backoffMaxMs",
                "retryOn",
                "abortOn",
                "honorRetryAfter",
            ],
            errors,
        );
        let d = RetryPolicy::default();
        let max_attempts = obj
            .opt_int("maxAttempts", 1, 100, errors)
            .unwrap_or(d.max_attempts.into());
        let base = obj
            .opt_int("backoffBaseMs", 1, 86_400_000, errors)
            .unwrap_or(d.backoff_base_ms as i64);
        let max = obj
            .opt_int("backoffMaxMs", 1, 7 * 86_400_000, errors)
            .unwrap_or(d.backoff_max_ms.max(base as u64) as i64);
        if max < base {
            errors.add(
                "retryPolicy.backoffMaxMs",
                format!("must be at least backoffBaseMs ({base})"),
            );
        }
        let rule = |key: &str, errors: &mut FieldErrors| {
            let v = obj.get(key)?;
            ErrorMatch::from_json(v, &obj.path(key), errors)
        };
        let retry_on = rule("retryOn", errors);
        let abort_on = rule("abortOn", errors);
        let honor_retry_after = obj
            .opt_bool("honorRetryAfter", errors)
            .unwrap_or(d.honor_retry_after);
        (errors.len() == before).then_some(RetryPolicy {
            max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
            backoff_base_ms: base as u64,
            backoff_max_ms: max as u64,
            retry_on,
            abort_on,
            honor_retry_after,
        })
    }

    /// What `abortOn` and `retryOn` say of `failure` (abortOn wins when both match).
    pub fn verdict(&self, failure: &Failure) -> Verdict {
        if self.abort_on.as_ref().is_some_and(|m| m.matches(failure)) {
            Verdict::Abort
        } else {
            match &self.retry_on {
                Some(m) if m.matches(failure) => Verdict::Retry,
                Some(_) => Verdict::NoRetry,
                None => Verdict::BySeverity,
            }
        }
    }

    /// The retry instant after failure number `attempts`: the jittered backoff, moved later to
    /// the server's `Retry-After` when honoured, never more than `backoffMaxMs` from `now`.
    pub fn retry_at(
        &self,
        attempts: u32,
        unit: f64,
        failure: &Failure,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let mut ms = self.delay_ms(attempts, unit);
        if let Some(asked) = failure.asked_wait().filter(|_| self.honor_retry_after) {
            let wait = (asked - now).num_milliseconds().max(0) as u64;
            ms = ms.max(wait).min(self.backoff_max_ms);
        }
        now + Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// The delay before retry number `attempts` (attempts = failures so far, ≥ 1), before jitter.
    pub fn base_delay_ms(&self, attempts: u32) -> u64 {
        let exp = attempts.saturating_sub(1).min(63);
        let factor = 1u64.checked_shl(exp).unwrap_or(u64::MAX);
        self.backoff_base_ms
            .saturating_mul(factor)
            .min(self.backoff_max_ms)
    }

    /// The delay with jitter: `unit` in [0, 1) moves it within ±10 %, never above the cap.
    pub fn delay_ms(&self, attempts: u32, unit: f64) -> u64 {
        let base = self.base_delay_ms(attempts) as f64;
        let jittered = base * (0.9 + 0.2 * unit.clamp(0.0, 1.0));
        // Non-negative and finite: base is a u64 and the factor is within [0.9, 1.1].
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a rounded, non-negative delay; `as` saturates and the cap follows"
        )]
        let ms = jittered.round() as u64;
        ms.min(self.backoff_max_ms).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn delays_double_and_cap() {
        let p = RetryPolicy {
            max_attempts: 5,
            backoff_base_ms: 200,
            backoff_max_ms: 1_000,
            ..Default::default()
        };
        assert_eq!(p.base_delay_ms(1), 200);
        assert_eq!(p.base_delay_ms(2), 400);
        assert_eq!(p.base_delay_ms(3), 800);
        assert_eq!(p.base_delay_ms(4), 1_000);
        assert_eq!(p.base_delay_ms(200), 1_000);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let p = RetryPolicy {
            max_attempts: 5,
            backoff_base_ms: 1_000,
            backoff_max_ms: 3_000,
            ..Default::default()
        };
        for i in 0..=100 {
            let u = f64::from(i) / 100.0;
            let d = p.delay_ms(1, u);
            assert!((900..=1_100).contains(&d), "{u} -> {d}");
            assert!(p.delay_ms(3, u) <= 3_000);
        }
    }

    #[test]
    fn validation_names_fields_and_fills_defaults() {
        let mut e = FieldErrors::default();
        let p = RetryPolicy::from_json(&json!({"maxAttempts": 1}), &mut e);
        assert_eq!(p.map(|p| p.max_attempts), Some(1));
        let p = RetryPolicy::from_json(&json!({"maxAttempts": 0}), &mut e);
        assert!(p.is_none());
        let p = RetryPolicy::from_json(&json!({"backoffBaseMs": 500, "backoffMaxMs": 100}), &mut e);
        assert!(p.is_none());
        assert_eq!(
            e.fields(),
            vec!["retryPolicy.maxAttempts", "retryPolicy.backoffMaxMs"]
        );
    }
}
