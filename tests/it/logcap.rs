//! Captures log lines of the in-process app so tests can assert on them (restart WARN lines,
//! secrets that must never appear). Also echoes them to stderr, which the harness captures.

use std::sync::{Mutex, OnceLock};

struct Capture {
    lines: Mutex<Vec<String>>,
}

static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Info || m.target().starts_with("taskforge")
    }

    fn log(&self, r: &log::Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let line = format!("{} {} {}", r.level(), r.target(), r.args());
        eprintln!("{line}");
        if let Ok(mut l) = self.lines.lock() {
            l.push(line);
        }
    }

    fn flush(&self) {}
}

/// Installs the capturing logger once per test process.
pub(crate) fn install() {
    CAPTURE.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::new(Capture {
            lines: Mutex::new(Vec::new()),
        }));
        if log::set_logger(c).is_ok() {
            log::set_max_level(log::LevelFilter::Debug);
        }
        c
    });
}

/// Every captured line so far containing all of `needles`.
pub(crate) fn lines_with(needles: &[&str]) -> Vec<String> {
    let Some(c) = CAPTURE.get() else {
        return Vec::new();
    };
    c.lines
        .lock()
        .map(|l| {
            l.iter()
                .filter(|line| needles.iter().all(|n| line.contains(n)))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}
