use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_load() -> Result<(), ConfigError> {
    let c = Config::load_from(None, &env(&[]))?;
    assert_eq!(c.server.bind, "127.0.0.1:8080");
    assert_eq!(c.server.shutdown_grace_secs, 30);
    assert!(c.uses_embedded());
    assert_eq!(c.conductor.base_url, "http://localhost:3001");
    Ok(())
}

#[test]
fn spec_variables_override() -> Result<(), ConfigError> {
    let c = Config::load_from(
        None,
        &env(&[
            ("DATABASE_URL", "postgres://u@localhost/db"),
            ("TASKFORGE_BIND", "127.0.0.1:0"),
            ("TASKFORGE_SHUTDOWN_GRACE_SECS", "5"),
            ("TASKFORGE_API_TOKEN", "12345"),
        ]),
    )?;
    assert_eq!(c.database.url, "postgres://u@localhost/db");
    assert_eq!(c.server.shutdown_grace_secs, 5);
    assert_eq!(c.server.api_token.expose(), "12345");
    assert!(!c.uses_embedded());
    Ok(())
}

#[test]
fn generic_env_override() -> Result<(), ConfigError> {
    let c = Config::load_from(None, &env(&[("TASKFORGE__DATABASE__POOL_MAX_SIZE", "3")]))?;
    assert_eq!(c.database.pool_max_size, 3);
    Ok(())
}

#[test]
fn file_overrides_defaults() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[scheduler]\ntick_ms = 250\n")?;
    let c = Config::load_from(Some(&path), &env(&[]))?;
    assert_eq!(c.scheduler.tick_ms, 250);
    assert_eq!(c.server.bind, "127.0.0.1:8080");
    Ok(())
}

#[test]
fn invalid_values_name_the_key() {
    let err = |pairs: &[(&str, &str)]| match Config::load_from(None, &env(pairs)) {
        Ok(_) => String::from("accepted"),
        Err(e) => e.to_string(),
    };
    let e = err(&[("TASKFORGE_SHUTDOWN_GRACE_SECS", "soon")]);
    assert!(e.contains("server.shutdown_grace_secs"), "{e}");
    assert!(e.contains("TASKFORGE_SHUTDOWN_GRACE_SECS"), "{e}");
    let e = err(&[("TASKFORGE_BIND", "not an address")]);
    assert!(e.contains("server.bind"), "{e}");
    let e = err(&[("TASKFORGE__SERVER__NOPE", "1")]);
    assert!(e.contains("nope"), "{e}");
    let e = err(&[("DATABASE_URL", "mysql://x")]);
    assert!(e.contains("database.url"), "{e}");
    let e = err(&[("TASKFORGE__DATABASE__POOL_MAX_SIZE", "0")]);
    assert!(e.contains("database.pool_max_size"), "{e}");
    // The prefetch window: at least the claim lead, at most what a job waits (5 s).
    let e = err(&[("TASKFORGE__SCHEDULER__PREFETCH_MS", "6000")]);
    assert!(e.contains("scheduler.prefetch_ms"), "{e}");
    let e = err(&[("TASKFORGE__SCHEDULER__PREFETCH_MS", "10")]);
    assert!(e.contains("scheduler.prefetch_ms"), "{e}");
    assert_eq!(
        err(&[("TASKFORGE__SCHEDULER__PREFETCH_MS", "50")]),
        "accepted"
    );
}

#[test]
fn network_lists_from_the_environment_add_to_the_defaults() -> Result<(), ConfigError> {
    let c = Config::load_from(
        None,
        &env(&[
            ("TASKFORGE_HTTP_BLOCKED_NETWORKS", "10.0.0.0/8, 192.168.1.1"),
            ("TASKFORGE_HTTP_ALLOWED_NETWORKS", "10.1.0.0/16"),
        ]),
    )?;
    let blocked = &c.execution.http.blocked_networks;
    assert!(
        blocked.contains(&"169.254.0.0/16".to_string()),
        "{blocked:?}"
    );
    assert!(
        blocked.contains(&"10.0.0.0/8".to_string()) && blocked.contains(&"192.168.1.1".to_string())
    );
    assert_eq!(
        c.execution.http.allowed_networks,
        vec!["10.1.0.0/16".to_string()]
    );
    match Config::load_from(
        None,
        &env(&[("TASKFORGE_HTTP_BLOCKED_NETWORKS", "10.0.0.0/99")]),
    ) {
        Ok(_) => panic!("bad CIDR accepted"),
        Err(e) => assert!(
            e.to_string().contains("execution.http.blocked_networks"),
            "{e}"
        ),
    }
    match Config::load_from(None, &env(&[("TASKFORGE_SECRET_KEY", "short")])) {
        Ok(_) => panic!("bad key accepted"),
        Err(e) => assert!(
            e.to_string().contains("secrets.key") && !e.to_string().contains("short"),
            "{e}"
        ),
    }
    Ok(())
}

#[test]
fn unknown_key_in_file_is_named() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[server]\nbindd = \"x\"\n")?;
    match Config::load_from(Some(&path), &env(&[])) {
        Ok(_) => panic!("unknown key accepted"),
        Err(e) => assert!(e.to_string().contains("bindd"), "{e}"),
    }
    Ok(())
}

/// Every section's own checks are reached: one bad value per check, each named in the error.
#[test]
fn every_section_names_its_bad_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "TASKFORGE__SERVER__BODY_LIMIT_BYTES",
            "0",
            "server.body_limit_bytes",
        ),
        (
            "TASKFORGE__DATABASE__POOL_WAIT_TIMEOUT_MS",
            "0",
            "database.pool_wait_timeout_ms",
        ),
        (
            "TASKFORGE__EMBEDDED__DATABASE",
            "no-dash",
            "embedded.database",
        ),
        ("TASKFORGE__EMBEDDED__DATA_DIR", "", "embedded.data_dir"),
        ("TASKFORGE__SCHEDULER__TICK_MS", "0", "scheduler.tick_ms"),
        (
            "TASKFORGE__SCHEDULER__CLAIM_BATCH",
            "-5",
            "scheduler.claim_batch",
        ),
        (
            "TASKFORGE__SCHEDULER__CLAIM_LANES",
            "9",
            "scheduler.claim_lanes",
        ),
        (
            "TASKFORGE__SCHEDULER__CLAIM_LANES",
            "0",
            "scheduler.claim_lanes",
        ),
        (
            "TASKFORGE__SCHEDULER__CLAIM_LANES",
            "-1",
            "scheduler.claim_lanes",
        ),
        (
            "TASKFORGE__EXECUTION__MAX_PENDING",
            "0",
            "execution.max_pending",
        ),
        (
            "TASKFORGE_HTTP_BLOCKED_NETWORKS",
            "10.0.0.0/33",
            "execution.http.blocked_networks",
        ),
        (
            "TASKFORGE__RECOVERY__SCAN_INTERVAL_MS",
            "0",
            "recovery.scan_interval_ms",
        ),
        (
            "TASKFORGE__RETENTION__BATCH_SIZE",
            "0",
            "retention.batch_size",
        ),
        (
            "TASKFORGE__RETENTION__INTERVAL_SECS",
            "0",
            "retention.interval_secs",
        ),
        (
            "TASKFORGE__INSTANCE__DEAD_AFTER_SECS",
            "1",
            "instance.dead_after_secs",
        ),
        (
            "TASKFORGE__SUPERVISOR__RESTART_BACKOFF_BASE_MS",
            "0",
            "supervisor.restart_backoff_base_ms",
        ),
        (
            "TASKFORGE__WEBSOCKET__MAX_SESSIONS",
            "0",
            "websocket.max_sessions",
        ),
        ("TASKFORGE_CONDUCTOR_URL", "ftp://x", "conductor.base_url"),
        ("TASKFORGE_CONDUCTOR_URL", "", "conductor.base_url"),
        (
            "TASKFORGE_WEBHOOK_URL",
            "file:///etc/passwd",
            "notifications.webhook_url",
        ),
        ("TASKFORGE_SECRET_KEY", "abc", "secrets.key"),
    ];
    for (var, value, key) in cases {
        match Config::load_from(None, &env(&[(var, value)])) {
            Ok(_) => panic!("{var}={value:?} accepted"),
            Err(e) => assert!(e.to_string().contains(&format!("`{key}`")), "{var}: {e}"),
        }
    }
}

#[test]
fn secrets_never_show_in_debug_or_check_config() -> Result<(), ConfigError> {
    let c = Config::load_from(
        None,
        &env(&[
            ("TASKFORGE_API_TOKEN", "tok-s3cret"),
            ("TASKFORGE_SECRET_KEY", &"ab".repeat(32)),
        ]),
    )?;
    let shown = format!("{c:?}\n{}", c.masked_toml().map_err(ConfigError)?);
    assert!(!shown.contains("tok-s3cret"), "{shown}");
    assert!(!shown.contains(&"ab".repeat(32)), "{shown}");
    assert_eq!(c.server.api_token.expose(), "tok-s3cret");
    Ok(())
}
