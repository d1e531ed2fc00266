//! Logging setup: env_logger with `RUST_LOG` (default `info`), and a panic hook that logs a
//! panic as one line instead of the default stderr dump.

/// Initializes the global logger once; later calls are ignored.
pub fn init() {
    let env = env_logger::Env::default().default_filter_or("info");
    let _ = env_logger::Builder::from_env(env)
        .format_timestamp_millis()
        .try_init();
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        log::error!(
            "panic: thread={} at {location}: {}",
            thread.name().unwrap_or("unnamed"),
            panic_message(info.payload()).trim_start_matches("panic: ")
        );
    }));
}

/// Text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic: (non-string payload)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::panic_message;
    use std::any::Any;

    #[test]
    fn panic_payloads_become_text() {
        let p: Box<dyn Any + Send> = Box::new("boom");
        assert_eq!(panic_message(p.as_ref()), "panic: boom");
        let p: Box<dyn Any + Send> = Box::new(String::from("bang"));
        assert_eq!(panic_message(p.as_ref()), "panic: bang");
    }
}
