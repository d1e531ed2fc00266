// @generated layout of `diesel print-schema` for ./migrations (see diesel.toml); the schema
// check at startup (db::migrate::verify_schema) fails when this and the database disagree.

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        name -> Text,
        role -> Text,
        token_hash -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        at -> Timestamptz,
        actor -> Text,
        role -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        details -> Jsonb,
    }
}

diesel::table! {
    error_history (id) {
        id -> Int8,
        error_id -> Uuid,
        at -> Timestamptz,
        action -> Text,
        actor -> Text,
        note -> Nullable<Text>,
        from_status -> Nullable<Text>,
        to_status -> Text,
    }
}

diesel::table! {
    error_records (id) {
        id -> Uuid,
        execution_id -> Uuid,
        schedule_id -> Uuid,
        last_execution_id -> Uuid,
        severity -> Text,
        error_type -> Text,
        message -> Text,
        recovery_status -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        next_retry_at -> Nullable<Timestamptz>,
        last_retry_at -> Nullable<Timestamptz>,
        resolved_at -> Nullable<Timestamptz>,
        note -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        schedule_name -> Text,
        fingerprint -> Text,
    }
}

diesel::table! {
    error_groups (fingerprint) {
        fingerprint -> Text,
        schedule_id -> Uuid,
        error_type -> Text,
        sample_message -> Text,
        count -> Int8,
        first_seen_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        last_error_id -> Uuid,
        incident_open -> Bool,
        notified_at -> Nullable<Timestamptz>,
        suppressed -> Int8,
    }
}

diesel::table! {
    event_outbox (id) {
        id -> Int8,
        instance_id -> Uuid,
        kind -> Text,
        schedule_id -> Nullable<Uuid>,
        payload -> Text,
        created_at -> Timestamptz,
        execution_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    secrets (name) {
        name -> Text,
        nonce -> Bytea,
        ciphertext -> Bytea,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    system_state (instance_id) {
        instance_id -> Uuid,
        hostname -> Text,
        pid -> Int4,
        version -> Text,
        scheduler_running -> Bool,
        error_recovery_running -> Bool,
        started_at -> Timestamptz,
        heartbeat_at -> Timestamptz,
        stopped_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    task_executions (id) {
        id -> Uuid,
        schedule_id -> Uuid,
        status -> Text,
        trigger -> Text,
        attempt -> Int4,
        scheduled_for -> Timestamptz,
        task_type -> Text,
        task_config -> Jsonb,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        duration_ms -> Nullable<Int8>,
        result -> Nullable<Jsonb>,
        error -> Nullable<Text>,
        error_type -> Nullable<Text>,
        conductor_thread_id -> Nullable<Text>,
        conductor_status -> Nullable<Text>,
        error_record_id -> Nullable<Uuid>,
        owner_instance -> Nullable<Uuid>,
        fence -> Int8,
        schedule_name -> Text,
        skip_reason -> Nullable<Text>,
        waiting -> Bool,
        payload -> Nullable<Jsonb>,
        idempotency_key -> Nullable<Text>,
        chained_from -> Nullable<Uuid>,
        chain_depth -> Int4,
        chain_next -> Bool,
    }
}

diesel::table! {
    task_schedules (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        task_type -> Text,
        task_config -> Jsonb,
        schedule_type -> Text,
        schedule_config -> Jsonb,
        enabled -> Bool,
        retry_policy -> Jsonb,
        severity -> Nullable<Text>,
        concurrency_policy -> Text,
        misfire_policy -> Text,
        tags -> Array<Text>,
        next_run_at -> Nullable<Timestamptz>,
        last_run_at -> Nullable<Timestamptz>,
        last_execution_id -> Nullable<Uuid>,
        anchor_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        paused_at -> Nullable<Timestamptz>,
        paused_reason -> Nullable<Text>,
        paused_until -> Nullable<Timestamptz>,
        fire_rules -> Jsonb,
        run_count -> Int8,
        on_success -> Array<Uuid>,
        on_failure -> Array<Uuid>,
        webhook_key -> Nullable<Text>,
        webhook_secret_nonce -> Nullable<Bytea>,
        webhook_secret_sealed -> Nullable<Bytea>,
        managed_by -> Nullable<Text>,
    }
}

diesel::table! {
    execution_output (execution_id) {
        execution_id -> Uuid,
        stdout -> Text,
        stderr -> Text,
        truncated -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (schedule_id, idempotency_key) {
        schedule_id -> Uuid,
        idempotency_key -> Text,
        execution_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    websocket_sessions (session_id) {
        session_id -> Uuid,
        instance_id -> Uuid,
        subscriptions -> Array<Text>,
        is_active -> Bool,
        connected_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        disconnected_at -> Nullable<Timestamptz>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    audit_log,
    error_groups,
    error_history,
    error_records,
    event_outbox,
    execution_output,
    secrets,
    system_state,
    task_executions,
    task_schedules,
    webhook_deliveries,
    websocket_sessions,
);
