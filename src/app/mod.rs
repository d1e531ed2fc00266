//! Boot order and the service's entry points; graceful shutdown is in [`shutdown`].

mod shutdown;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::middleware::{from_fn, DefaultHeaders, ErrorHandlers, NormalizePath, TrailingSlash};
use actix_web::{web, App, HttpServer};
use uuid::Uuid;

use crate::actors::audit::AuditWriter;
use crate::actors::{self, Services};
use crate::api::auth::Auth;
use crate::api::{self, AppState};
use crate::config::Config;
use crate::db::{self, migrate, system_state};
use crate::domain::redact::redact_url;
use crate::embedded_pg::{EmbeddedOptions, EmbeddedPostgres};

/// Why the service could not start; one line, naming what to fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// A started service: HTTP listening, actors running.
pub struct RunningApp {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// Shared state (tests inspect it).
    pub state: web::Data<AppState>,
    server: ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Boot from "database reachable" on: migrations, schema check, actors, HTTP.
pub async fn start(config: Arc<Config>, db_url: &str) -> Result<RunningApp, StartupError> {
    let shown = redact_url(db_url);
    let connect_timeout = Duration::from_secs(config.database.connect_timeout_secs);
    db::connect_with_retry(db_url, connect_timeout)
        .await
        .map_err(|e| StartupError(format!("cannot connect to the database at {shown}: {e}")))?;
    log::info!("database connected: url={shown}");

    let applied = migrate::run_pending(db_url)
        .await
        .map_err(|e| StartupError(format!("database migrations failed: {e}")))?;
    log::info!(
        "migrations applied: count={} versions={applied:?}",
        applied.len()
    );

    let pool = db::build_pool(db_url, &config.database)
        .map_err(|e| StartupError(format!("database pool: {e}")))?;
    migrate::verify_schema(&pool)
        .await
        .map_err(|e| StartupError(format!("database schema check failed: {e}")))?;
    log::info!("schema verified");

    // Auth is on with the bootstrap token or once any token was created (CLI, another
    // instance); a public listener without it is refused: shell tasks make this API remote
    // code execution.
    let tokens_exist = crate::db::api_tokens::any_exist(&pool)
        .await
        .map_err(|e| StartupError(format!("reading api_tokens: {e}")))?;
    if let Some(addr) = config.insecure_bind().filter(|_| !tokens_exist) {
        if !config.server.allow_unauthenticated_remote {
            return Err(StartupError(format!(
                "refusing to listen on {addr} without authentication: shell tasks make this API remote code execution; set TASKFORGE_API_TOKEN (server.api_token), create a token with `taskforge token create`, bind to 127.0.0.1, or set server.allow_unauthenticated_remote = true"
            )));
        }
        log::warn!("SECURITY: listening on {addr} WITHOUT authentication (server.allow_unauthenticated_remote = true): anyone who can reach this port can run shell commands here");
    }

    // Installed before any actor records a metric.
    crate::telemetry::handle();
    let instance_id = Uuid::new_v4();
    system_state::register(&pool, instance_id, env!("CARGO_PKG_VERSION"))
        .await
        .map_err(|e| StartupError(format!("registering this instance: {e}")))?;

    let (ready_tx, ready_rx) = if config.conductor.command.is_empty() {
        (None, None)
    } else {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (Some(tx), Some(rx))
    };
    let services = Services {
        pool,
        config: config.clone(),
        instance_id,
        db_url: Arc::from(db_url),
        conductor_ready: ready_rx,
        keyring: Arc::new(crate::db::secrets::Keyring::new(
            config.secrets.key.expose(),
            &config.embedded.data_dir,
        )),
        audience: Default::default(),
    };
    // Before any actor publishes, so a lone instance does not write its first events into the
    // outbox for nobody.
    if let Err(e) = actors::ws::bridge::look_for_peers(&services).await {
        log::warn!("other instances not looked for yet (assumed present): {e}");
    }
    let actors = actors::start_all(&services, ready_tx);
    // Tell running instances about this one before any client can connect to it, so they hand
    // it their events from the start.
    if let Err(e) = crate::db::outbox::announce(&services.pool).await {
        log::warn!("instance not announced to the others (they notice within 1 s): {e}");
    }
    log::info!("actors started: instance={instance_id}");

    let auth = Arc::new(Auth::new(
        config.server.api_token.expose().to_string(),
        tokens_exist,
    ));
    if !auth.enabled() {
        auth.clone().watch(services.pool.clone());
    }
    let audit = AuditWriter::start(services.pool.clone());
    let services_pool = services.pool.clone();
    let state = web::Data::new(AppState {
        actors,
        services,
        shutting_down: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
        started_at: Instant::now(),
        limits: config.limits(),
        hooks: Default::default(),
        auth,
        audit,
        ws_sessions: Arc::new(AtomicUsize::new(0)),
        ws_rows: crate::actors::ws::rows::SessionRows::start(services_pool),
        health: api::cache::Cached::new(Duration::from_secs(1)),
        error_counts: api::cache::Cached::new(Duration::from_secs(5)),
    });
    let body_limit = config.server.body_limit_bytes;
    let user_timeout_ms =
        u32::try_from(config.server.tcp_user_timeout_secs.saturating_mul(1000)).unwrap_or(u32::MAX);
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        // Outermost last: `//` is merged before anything looks at the path, the browser checks
        // and the shutdown gate run before authentication, and the route guards (role, audit)
        // run after routing, inside `api::routes`.
        App::new()
            .app_data(app_state.clone())
            .configure(|c| api::extractor_configs(c, body_limit))
            .configure(api::routes)
            .wrap(from_fn(api::auth::authenticate))
            .wrap(from_fn(api::gate))
            .wrap(from_fn(api::browser::guard))
            .wrap(ErrorHandlers::new().default_handler(api::envelope))
            .wrap(DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
            .wrap(NormalizePath::new(TrailingSlash::MergeOnly))
    })
    .on_connect(move |conn, ext| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            if let Ok(local) = tcp.local_addr() {
                ext.insert(api::browser::LocalAddr(local));
            }
            // Kernel-enforced bound on a peer that stops reading (zero window).
            if let Err(e) = nix::sys::socket::setsockopt(
                tcp,
                nix::sys::socket::sockopt::TcpUserTimeout,
                &user_timeout_ms,
            ) {
                log::debug!("TCP_USER_TIMEOUT not set: {e}");
            }
        }
    })
    // Events are small frames pushed as they happen: Nagle's algorithm would hold one back
    // until the previous is acknowledged (up to a delayed-ACK timeout, 40 ms on Linux).
    .tcp_nodelay(true)
    .disable_signals()
    // The drain below already waited for in-flight requests; this bounds the final close.
    .shutdown_timeout(1);
    if config.server.workers > 0 {
        server = server.workers(config.server.workers);
    }
    let bind = config
        .bind_addr()
        .map_err(|e| StartupError(format!("server.bind: {e}")))?;
    let server = server
        .bind(bind)
        .map_err(|e| StartupError(format!("cannot listen on {bind} (server.bind): {e}")))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| StartupError("server bound no address".into()))?;
    let server = server.run();
    let handle = server.handle();
    let server_task = tokio::spawn(server);
    log::info!("taskforge ready: listening on http://{addr} instance={instance_id}");
    Ok(RunningApp {
        addr,
        state,
        server: handle,
        server_task,
    })
}

/// Runs the service until SIGTERM/SIGINT; returns the process exit code.
pub fn run(config: Config) -> i32 {
    with_database(config, |config, db_url| async move {
        let app = match start(config, &db_url).await {
            Ok(app) => app,
            Err(e) => {
                log::error!("startup failed: {e}");
                return 1;
            }
        };
        match wait_for_signal().await {
            Ok(signal) => log::info!("received {signal}"),
            Err(e) => log::error!("cannot listen for signals ({e}); shutting down"),
        }
        app.shutdown().await;
        0
    })
}

/// `taskforge migrate`: applies pending migrations, then exits.
pub fn migrate_only(config: Config) -> i32 {
    with_database(config, |config, db_url| async move {
        match connect_and_migrate(&config, &db_url).await {
            Ok(()) => 0,
            Err(code) => code,
        }
    })
}

/// Waits for the database and applies pending migrations; one log line either way.
async fn connect_and_migrate(config: &Config, db_url: &str) -> Result<(), i32> {
    let timeout = Duration::from_secs(config.database.connect_timeout_secs);
    if let Err(e) = db::connect_with_retry(db_url, timeout).await {
        log::error!(
            "cannot connect to the database at {}: {e}",
            redact_url(db_url)
        );
        return Err(1);
    }
    match migrate::run_pending(db_url).await {
        Ok(v) => {
            log::info!("migrations applied: count={} versions={v:?}", v.len());
            Ok(())
        }
        Err(e) => {
            log::error!("database migrations failed: {e}");
            Err(1)
        }
    }
}

/// Runs `body` with a pool on the configured database, migrated first (CLI commands that work
/// on the database directly); returns its exit code.
pub fn with_migrated_pool<F, Fut>(config: Config, body: F) -> i32
where
    F: FnOnce(crate::db::DbPool) -> Fut,
    Fut: std::future::Future<Output = i32>,
{
    with_database(config, |config, db_url| async move {
        if let Err(code) = connect_and_migrate(&config, &db_url).await {
            return code;
        }
        match db::build_pool(&db_url, &config.database) {
            Ok(pool) => {
                let code = body(pool.clone()).await;
                pool.close();
                code
            }
            Err(e) => {
                log::error!("database pool: {e}");
                1
            }
        }
    })
}

/// Provides a database URL to `body` (starting and finally stopping the embedded cluster when
/// no URL is configured) and runs it on an actix System; returns its exit code.
fn with_database<F, Fut>(config: Config, body: F) -> i32
where
    F: FnOnce(Arc<Config>, String) -> Fut,
    Fut: std::future::Future<Output = i32>,
{
    let config = Arc::new(config);
    // The embedded cluster is started from the main thread: its parent-death signal is tied
    // to the spawning thread, and this one lives as long as the process.
    let mut embedded = None;
    let db_url = if config.uses_embedded() {
        let opts = EmbeddedOptions::new(
            config.embedded.data_dir.join("postgres"),
            (!config.embedded.bin_dir.is_empty()).then(|| config.embedded.bin_dir.clone().into()),
            config.embedded.os_user.clone(),
            Duration::from_secs(config.embedded.start_timeout_secs),
        );
        match EmbeddedPostgres::start(&opts) {
            Ok(pg) => {
                let url = pg.url(&config.embedded.database);
                embedded = Some((pg.url("postgres"), pg));
                url
            }
            Err(e) => {
                log::error!("embedded PostgreSQL: {e}");
                return 1;
            }
        }
    } else {
        config.database.url.clone()
    };

    let system = actix_web::rt::System::new();
    let code = system.block_on(async {
        if let Some((admin_url, _)) = &embedded {
            let timeout = Duration::from_secs(config.database.connect_timeout_secs);
            if let Err(e) = db::ensure_database(admin_url, &config.embedded.database, timeout).await
            {
                log::error!("embedded PostgreSQL: creating the database failed: {e}");
                return 1;
            }
        }
        body(config.clone(), db_url).await
    });
    if let Some((_, mut pg)) = embedded {
        pg.stop();
    }
    code
}

async fn wait_for_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}
