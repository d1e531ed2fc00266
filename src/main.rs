//! The `taskforge` binary: parse the command line, load the config, run.

use std::path::PathBuf;
use std::process::ExitCode;

use taskforge::config::Config;

const USAGE: &str = "usage: taskforge [--config FILE]

Runs the taskforge scheduler service (see README.md).
  --config FILE   configuration file overriding config/default.toml
  -h, --help      this text";

fn main() -> ExitCode {
    taskforge::logging::init();
    let mut config_file: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--config" => match args.next() {
                Some(f) => config_file = Some(PathBuf::from(f)),
                None => return fail("--config needs a file path"),
            },
            other => match other.strip_prefix("--config=") {
                Some(f) => config_file = Some(PathBuf::from(f)),
                None => return fail(&format!("unknown argument `{other}` (try --help)")),
            },
        }
    }
    let config = match Config::load(config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    match taskforge::app::run(config) {
        0 => ExitCode::SUCCESS,
        code => ExitCode::from(u8::try_from(code).unwrap_or(1)),
    }
}

fn fail(message: &str) -> ExitCode {
    log::error!("{message}");
    ExitCode::from(2)
}
