//! A running task's output as it is captured and sent out in pieces: one [`Tail`] per stream
//! keeps the first `cap` bytes and remembers how far they were sent. A piece never ends inside
//! a UTF-8 character and never shows a secret, even one the task printed in two writes: the
//! last `longest secret − 1` bytes wait for the next piece until the stream ends.

use serde::Serialize;

use super::text::lossy;

/// Which stream of a task a piece of output comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

impl OutputStream {
    /// 0 for stdout, 1 for stderr.
    pub fn index(self) -> usize {
        match self {
            OutputStream::Stdout => 0,
            OutputStream::Stderr => 1,
        }
    }

    /// The other one.
    pub fn other(self) -> OutputStream {
        match self {
            OutputStream::Stdout => OutputStream::Stderr,
            OutputStream::Stderr => OutputStream::Stdout,
        }
    }
}

/// What a task printed so far, secrets masked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub stdout: String,
    pub stderr: String,
    pub truncated: bool,
}

impl Snapshot {
    /// The output kept in a final result: a shell result's `stdout`, `stderr` and
    /// `truncated`; empty for tasks that print nothing.
    pub fn of_result(result: Option<&serde_json::Value>) -> Snapshot {
        let text = |k: &str| {
            result
                .and_then(|r| r.get(k))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        Snapshot {
            stdout: text("stdout"),
            stderr: text("stderr"),
            truncated: result
                .and_then(|r| r.get("truncated"))
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        }
    }
}

/// What replaces a secret in output that is shown.
const MASK: &[u8] = b"***";

/// One stream: its captured head and how much of it went out.
#[derive(Debug, Clone)]
pub struct Tail {
    bytes: Vec<u8>,
    cap: usize,
    truncated: bool,
    sent: usize,
}

impl Tail {
    /// An empty stream keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Tail {
        Tail {
            bytes: Vec::new(),
            cap,
            truncated: false,
            sent: 0,
        }
    }

    /// Appends what the task wrote; beyond the cap it is dropped and the stream is truncated.
    pub fn push(&mut self, data: &[u8]) {
        let room = self.cap.saturating_sub(self.bytes.len());
        if data.len() > room {
            self.truncated = true;
        }
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// Everything kept so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True once something was dropped at the cap.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// What may be shown while the task runs: everything kept, secrets masked, without the
    /// bytes that could still turn out to be the start of a secret.
    pub fn shown(&self, secrets: &[String]) -> String {
        lossy(self.scan(0, secrets, false).0)
    }

    /// True when bytes are waiting to be sent.
    pub fn pending(&self) -> bool {
        self.sent < self.bytes.len()
    }

    /// The next piece: what came since the last one, secrets masked, as text. `ended` says no
    /// more bytes will come (then nothing is held back). None when there is nothing to send.
    pub fn next_chunk(&mut self, secrets: &[String], ended: bool) -> Option<String> {
        let (out, end) = self.scan(self.sent, secrets, ended);
        if end <= self.sent {
            return None;
        }
        self.sent = end;
        Some(lossy(out))
    }

    /// The bytes from `from` that may go out now, secrets masked, and where they end.
    fn scan(&self, from: usize, secrets: &[String], ended: bool) -> (Vec<u8>, usize) {
        let secrets: Vec<&[u8]> = secrets
            .iter()
            .map(|s| s.as_bytes())
            .filter(|s| !s.is_empty())
            .collect();
        // A full buffer grows no more: what it holds is final.
        let done = ended || self.bytes.len() >= self.cap;
        let limit = if done {
            self.bytes.len()
        } else {
            let hold = secrets.iter().map(|s| s.len()).max().unwrap_or(1) - 1;
            char_start_at_or_before(&self.bytes, self.bytes.len().saturating_sub(hold))
        };
        if secrets.is_empty() {
            let end = limit.max(from);
            return (self.bytes[from.min(end)..end].to_vec(), end);
        }
        let mut out = Vec::with_capacity(limit.saturating_sub(from));
        let mut i = from;
        while i < limit {
            let rest = &self.bytes[i..];
            match secrets.iter().find(|s| rest.starts_with(s)) {
                Some(s) => {
                    out.extend_from_slice(MASK);
                    i += s.len();
                }
                None => {
                    out.push(rest[0]);
                    i += 1;
                }
            }
        }
        (out, i.max(from))
    }
}

/// The largest `i <= at` that does not cut a UTF-8 sequence which is still complete-able: when
/// the bytes before `at` end in the first part of a character, `at` moves back to its start.
fn char_start_at_or_before(bytes: &[u8], at: usize) -> usize {
    let at = at.min(bytes.len());
    // A character is at most 4 bytes: look back over the last 3 for its leading byte.
    for back in 1..=3.min(at) {
        let b = bytes[at - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: its leader is further back
        }
        let width = match b {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1, // not a leader: invalid, cut anywhere
        };
        return if width > back { at - back } else { at };
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Everything kept, as a run's result stores it (masked by its job).
    fn stored(t: &Tail, secrets: &[String]) -> String {
        crate::domain::redact::redact(&lossy(t.bytes().to_vec()), secrets)
    }

    /// Feeds `data` in pieces cut at `cuts`, taking a chunk after each; then the end.
    fn streamed(data: &[u8], cuts: &[usize], cap: usize, secrets: &[String]) -> (String, Tail) {
        let mut t = Tail::new(cap);
        let mut out = String::new();
        let mut from = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        for c in cuts.into_iter().chain([data.len()]) {
            t.push(&data[from..c]);
            from = c;
            if let Some(piece) = t.next_chunk(secrets, false) {
                out.push_str(&piece);
            }
        }
        if let Some(piece) = t.next_chunk(secrets, true) {
            out.push_str(&piece);
        }
        (out, t)
    }

    #[test]
    fn a_split_character_waits_for_its_last_byte() {
        let mut t = Tail::new(100);
        t.push("aé".as_bytes().split_at(2).0);
        assert_eq!(t.next_chunk(&[], false).as_deref(), Some("a"));
        assert_eq!(t.next_chunk(&[], false), None);
        t.push(&"é".as_bytes()[1..]);
        assert_eq!(t.next_chunk(&[], false).as_deref(), Some("é"));
    }

    #[test]
    fn a_secret_written_in_two_parts_is_masked() {
        let secrets = vec!["hunter2".to_string()];
        let mut t = Tail::new(100);
        t.push(b"pw=hun");
        let first = t.next_chunk(&secrets, false).unwrap_or_default();
        assert_eq!(
            t.shown(&secrets),
            first,
            "the start of a secret is held back"
        );
        t.push(b"ter2 ok");
        let rest = t.next_chunk(&secrets, true).unwrap_or_default();
        assert_eq!(format!("{first}{rest}"), "pw=*** ok");
    }

    #[test]
    fn the_cap_truncates_and_ends_the_stream() {
        let mut t = Tail::new(4);
        t.push(b"abcdef");
        assert!(t.truncated());
        assert_eq!(t.next_chunk(&["zz".into()], false).as_deref(), Some("abcd"));
        assert!(!t.pending());
    }

    proptest! {
        #[test]
        fn pieces_add_up_to_the_whole(text in "[a-zé€😀\n\0 ]{0,60}",
                                      cuts in proptest::collection::vec(0usize..200, 0..8)) {
            let (out, t) = streamed(text.as_bytes(), &cuts, 1000, &[]);
            prop_assert_eq!(&out, &stored(&t, &[]));
            prop_assert_eq!(out, crate::domain::text::clean(&text).into_owned());
        }

        #[test]
        fn no_piece_shows_a_secret(pre in "[e-h ]{0,20}", post in "[e-h ]{0,20}",
                                   secret in "[a-d]{3,8}",
                                   cuts in proptest::collection::vec(0usize..200, 0..8)) {
            let data = format!("{pre}{secret}{post}{secret}");
            let secrets = vec![secret.clone()];
            let (out, t) = streamed(data.as_bytes(), &cuts, 1000, &secrets);
            prop_assert!(!out.contains(&secret), "{out}");
            prop_assert_eq!(out.matches("***").count() >= 2, true);
            prop_assert!(!stored(&t, &secrets).contains(&secret));
            // Part way, what is shown holds no more than a secret's first letters at its end.
            let mut half = Tail::new(1000);
            half.push(&data.as_bytes()[..data.len() - 1]);
            prop_assert!(!half.shown(&secrets).contains(&secret[..secret.len() - 1]));
        }

        #[test]
        fn never_more_than_the_cap(data in proptest::collection::vec(any::<u8>(), 0..300),
                                   cap in 0usize..200,
                                   cuts in proptest::collection::vec(0usize..400, 0..8)) {
            let (out, t) = streamed(&data, &cuts, cap, &[]);
            prop_assert!(t.bytes().len() <= cap);
            prop_assert_eq!(t.truncated(), data.len() > cap);
            prop_assert!(!out.contains('\0'));
        }
    }
}
