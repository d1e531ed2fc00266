//! Error fingerprints: failures that are "the same problem" share one, so an operator sees one
//! group (and gets one notification) per problem rather than one per failed run. The same
//! schedule, error type and message up to its numbers, hex ids and UUIDs give the same
//! fingerprint on every instance and every version.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::states::ErrorType;

/// Longest message prefix that counts (a huge stderr tail must not make every run unique).
const MESSAGE_PREFIX: usize = 2_000;

/// The message with what varies between runs of the same problem masked: UUIDs as `<uuid>`,
/// hex ids (8 or more hex digits, or `0x…`) as `<hex>`, other digit runs as `<n>`.
pub fn mask(message: &str) -> String {
    let text: String = message.chars().take(MESSAGE_PREFIX).collect();
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        // Only at the start of a word: "abc123" keeps "abc" and masks the digits.
        let at_word_start = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if at_word_start {
            if let Some(n) = uuid_at(&chars[i..]) {
                out.push_str("<uuid>");
                i += n;
                continue;
            }
            if let Some(n) = hex_at(&chars[i..]) {
                out.push_str("<hex>");
                i += n;
                continue;
            }
        }
        if chars[i].is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            out.push_str("<n>");
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Length of a UUID (8-4-4-4-12 hex) at the start of `s`, ending at a word boundary.
fn uuid_at(s: &[char]) -> Option<usize> {
    const LEN: usize = 36;
    if s.len() < LEN || s.get(LEN).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let text: String = s[..LEN].iter().collect();
    Uuid::parse_str(&text)
        .ok()
        .filter(|_| text.as_bytes()[8] == b'-')
        .map(|_| LEN)
}

/// Length of a hex id at the start of `s`: `0x` and hex digits, or 8+ hex digits with at
/// least one decimal digit (so "deadbeef" stays a word, "3fa9c0d2" is masked).
fn hex_at(s: &[char]) -> Option<usize> {
    let word = s.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    let w = &s[..word];
    if word > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X') {
        return w[2..].iter().all(char::is_ascii_hexdigit).then_some(word);
    }
    let hex = w.iter().all(char::is_ascii_hexdigit);
    let has_digit = w.iter().any(char::is_ascii_digit);
    let has_letter = w.iter().any(char::is_ascii_alphabetic);
    (word >= 8 && hex && has_digit && has_letter).then_some(word)
}

/// The fingerprint: 32 hex characters of SHA-256 over (schedule, error type, masked message).
pub fn fingerprint(schedule_id: Uuid, error_type: ErrorType, message: &str) -> String {
    let mut h = Sha256::new();
    h.update(schedule_id.as_bytes());
    h.update([0]);
    h.update(error_type.as_str().as_bytes());
    h.update([0]);
    h.update(mask(message).as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
