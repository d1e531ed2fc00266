//! Reading a task's output while keeping at most `cap` bytes, so a chatty task cannot exhaust
//! memory. Shell output goes into a shared [`LiveOutput`] as it is read, where the API and the
//! live frames see it while the task runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::domain::live_output::{OutputStream, Snapshot, Tail};
use crate::domain::text::lossy;

/// Captured output.
#[derive(Debug, Default, Clone)]
pub struct Captured {
    pub text: String,
    pub truncated: bool,
}

/// A running shell task's two streams, shared by their readers and whoever shows them, and the
/// secret values to mask in what is shown (set when the task's secrets are opened).
#[derive(Debug)]
pub struct LiveOutput {
    stdout: Mutex<Tail>,
    stderr: Mutex<Tail>,
    secrets: Mutex<Arc<[String]>>,
    /// Counts the writes that changed what is kept: a follower with nothing new skips its turn.
    changes: AtomicU64,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A reader that panicked mid-push leaves a consistent Vec: keep using it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LiveOutput {
    /// Empty streams keeping `cap` bytes each.
    pub fn new(cap: usize) -> Arc<LiveOutput> {
        Arc::new(LiveOutput {
            stdout: Mutex::new(Tail::new(cap)),
            stderr: Mutex::new(Tail::new(cap)),
            secrets: Mutex::new(Arc::from(Vec::new())),
            changes: AtomicU64::new(0),
        })
    }

    fn tail(&self, stream: OutputStream) -> MutexGuard<'_, Tail> {
        match stream {
            OutputStream::Stdout => locked(&self.stdout),
            OutputStream::Stderr => locked(&self.stderr),
        }
    }

    /// The values to mask from now on.
    pub fn set_secrets(&self, secrets: Vec<String>) {
        *locked(&self.secrets) = Arc::from(secrets);
    }

    /// Keeps what the task wrote on `stream` (up to the cap).
    pub fn push(&self, stream: OutputStream, data: &[u8]) {
        let changed = {
            let mut t = self.tail(stream);
            let before = (t.bytes().len(), t.truncated());
            t.push(data);
            before != (t.bytes().len(), t.truncated())
        };
        if changed {
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many writes changed the output so far.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// What may be shown of the output so far (see [`Tail::shown`]).
    pub fn snapshot(&self) -> Snapshot {
        let secrets = locked(&self.secrets).clone();
        let (out, err) = (
            self.tail(OutputStream::Stdout),
            self.tail(OutputStream::Stderr),
        );
        Snapshot {
            stdout: out.shown(&secrets),
            stderr: err.shown(&secrets),
            truncated: out.truncated() || err.truncated(),
        }
    }

    /// The next piece to send out: from `first` when it has one, else from the other stream.
    pub fn next_piece(&self, first: OutputStream, ended: bool) -> Option<(OutputStream, String)> {
        let secrets = locked(&self.secrets).clone();
        [first, first.other()].into_iter().find_map(|s| {
            self.tail(s)
                .next_chunk(&secrets, ended)
                .map(|chunk| (s, chunk))
        })
    }

    /// True when either stream has bytes not sent out yet.
    pub fn pending(&self) -> bool {
        self.tail(OutputStream::Stdout).pending() || self.tail(OutputStream::Stderr).pending()
    }

    /// One stream as it stands, unmasked (the run's result is masked by its job).
    pub fn captured(&self, stream: OutputStream) -> Captured {
        let t = self.tail(stream);
        Captured {
            text: lossy(t.bytes().to_vec()),
            truncated: t.truncated(),
        }
    }
}

/// Reads `r` into `live`'s `stream` until its end or until `stop` fires (a pipe held open by
/// a process that escaped its group must not keep the run going). Past the cap the rest is
/// read and dropped, so the task never blocks on a full pipe.
pub async fn read_into<R: AsyncRead + Unpin>(
    mut r: R,
    live: Arc<LiveOutput>,
    stream: OutputStream,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut buf = [0u8; 8192];
    loop {
        let read = tokio::select! {
            read = r.read(&mut buf) => read,
            _ = &mut stop => break,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => live.push(stream, &buf[..n]),
        }
    }
}

/// Keeps the first `cap` bytes of `bytes`.
pub fn cap_bytes(bytes: &[u8], cap: usize) -> Captured {
    Captured {
        text: lossy(bytes[..bytes.len().min(cap)].to_vec()),
        truncated: bytes.len() > cap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_head_and_flags_the_rest() {
        let live = LiveOutput::new(100);
        let (_keep, never) = tokio::sync::oneshot::channel();
        read_into(
            &vec![b'a'; 20_000][..],
            live.clone(),
            OutputStream::Stdout,
            never,
        )
        .await;
        let c = live.captured(OutputStream::Stdout);
        assert_eq!(c.text.len(), 100);
        assert!(c.truncated);
        assert!(live.snapshot().truncated);
        assert!(cap_bytes(b"abcdef", 3).truncated);
    }

    #[test]
    fn snapshots_and_pieces_mask_secrets() {
        let live = LiveOutput::new(100);
        live.set_secrets(vec!["s3cret".into()]);
        live.push(OutputStream::Stderr, b"key s3cret\n");
        assert_eq!(live.changes(), 1);
        live.push(OutputStream::Stderr, b"");
        assert_eq!(live.changes(), 1, "nothing kept, nothing changed");
        // The last bytes wait: they could be the start of a secret.
        assert_eq!(live.snapshot().stderr, "key ***");
        assert_eq!(
            live.next_piece(OutputStream::Stdout, true),
            Some((OutputStream::Stderr, "key ***\n".to_string()))
        );
        assert!(!live.pending());
    }
}
