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
            crate::actors::supervisor::panic_message(info.payload()).trim_start_matches("panic: ")
        );
    }));
}
