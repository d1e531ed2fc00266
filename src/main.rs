//! The `taskforge` binary: parse the command line, load the config, run a command.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use taskforge::config::Config;

const USAGE: &str = "usage: taskforge [COMMAND] [--config FILE]

Commands:
  serve          run the scheduler service (the default)
  migrate        apply pending database migrations and exit
  check-config   print the effective configuration (secrets masked); exit 1 when invalid

Options:
  --config FILE  configuration file overriding config/default.toml
  -h, --help     help (also `taskforge COMMAND --help`)

Environment variables override both files; see README.md.";

const SERVE_HELP: &str = "usage: taskforge [serve] [--config FILE]

Runs the service: embedded PostgreSQL (or DATABASE_URL), migrations, actors, HTTP and /ws,
until SIGTERM or SIGINT (graceful shutdown, exit 0).";

const MIGRATE_HELP: &str = "usage: taskforge migrate [--config FILE]

Applies pending migrations to the configured database (starting the embedded cluster when
DATABASE_URL is unset) and exits: 0 on success, 1 on failure.";

const CHECK_HELP: &str = "usage: taskforge check-config [--config FILE]

Loads the configuration like `serve` would and prints it as TOML with secrets masked.
Exits 1, naming the key, when it is invalid.";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Command {
    Serve,
    Migrate,
    CheckConfig,
}

fn main() -> ExitCode {
    taskforge::logging::init();
    let mut command: Option<Command> = None;
    let mut config_file: Option<PathBuf> = None;
    let mut help = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => help = true,
            "--config" => match args.next() {
                Some(f) => config_file = Some(PathBuf::from(f)),
                None => return fail("--config needs a file path"),
            },
            "serve" | "migrate" | "check-config" if command.is_none() => {
                command = Some(match arg.as_str() {
                    "serve" => Command::Serve,
                    "migrate" => Command::Migrate,
                    _ => Command::CheckConfig,
                })
            }
            other => match other.strip_prefix("--config=") {
                Some(f) => config_file = Some(PathBuf::from(f)),
                None if other.starts_with('-') => {
                    return fail(&format!("unknown option `{other}` (try --help)"))
                }
                None => {
                    return fail(&format!(
                        "unknown command `{other}` (serve, migrate, check-config; try --help)"
                    ))
                }
            },
        }
    }
    let command = command.unwrap_or(Command::Serve);
    if help {
        let text = match command {
            _ if std::env::args().nth(1).is_some_and(|a| a.starts_with('-')) => USAGE,
            Command::Serve => SERVE_HELP,
            Command::Migrate => MIGRATE_HELP,
            Command::CheckConfig => CHECK_HELP,
        };
        return print(&format!("{text}\n"));
    }
    let config = match Config::load(config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            log::error!("{e}");
            return ExitCode::from(if command == Command::CheckConfig {
                1
            } else {
                2
            });
        }
    };
    let code = match command {
        Command::Serve => taskforge::app::run(config),
        Command::Migrate => taskforge::app::migrate_only(config),
        Command::CheckConfig => {
            return match config.masked_toml() {
                Ok(text) => print(&text),
                Err(e) => {
                    log::error!("cannot print the configuration: {e}");
                    ExitCode::from(1)
                }
            }
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Writes command output to stdout (the service itself only logs).
fn print(text: &str) -> ExitCode {
    match std::io::stdout().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

fn fail(message: &str) -> ExitCode {
    log::error!("{message}");
    ExitCode::from(2)
}
