//! Reading a stream while keeping at most `cap` bytes, so a chatty task cannot exhaust memory.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Captured output.
#[derive(Debug, Default, Clone)]
pub struct Captured {
    pub text: String,
    pub truncated: bool,
}

/// Reads `r` to its end, keeping the first `cap` bytes (the rest is drained and dropped).
pub async fn read_capped<R: AsyncRead + Unpin>(r: R, cap: usize) -> Captured {
    let (_keep, never) = tokio::sync::oneshot::channel::<()>();
    read_capped_until(r, cap, never).await
}

/// [`read_capped`] that also ends when `stop` fires (a pipe held open by a process that
/// escaped its group must not keep the run going), returning what was read so far.
pub async fn read_capped_until<R: AsyncRead + Unpin>(
    mut r: R,
    cap: usize,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Captured {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = [0u8; 8192];
    loop {
        let read = tokio::select! {
            read = r.read(&mut buf) => read,
            _ = &mut stop => break,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                if n > room {
                    truncated = true;
                }
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    Captured {
        text: lossy(kept),
        truncated,
    }
}

/// Keeps the first `cap` bytes of `bytes`.
pub fn cap_bytes(bytes: &[u8], cap: usize) -> Captured {
    Captured {
        text: lossy(bytes[..bytes.len().min(cap)].to_vec()),
        truncated: bytes.len() > cap,
    }
}

/// Invalid UTF-8 and NUL bytes become U+FFFD: the output must be storable as text.
fn lossy(bytes: Vec<u8>) -> String {
    let s = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    crate::domain::text::clean(&s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_head_and_flags_the_rest() {
        let data = vec![b'a'; 20_000];
        let c = read_capped(&data[..], 100).await;
        assert_eq!(c.text.len(), 100);
        assert!(c.truncated);
        let c = read_capped(&b"short"[..], 100).await;
        assert_eq!((c.text.as_str(), c.truncated), ("short", false));
        assert!(cap_bytes(b"abcdef", 3).truncated);
    }
}
