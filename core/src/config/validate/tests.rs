//! The store-capability switches: a profile that needs what the store lacks is refused at
//! start, every such problem in one report; options left unset follow the store.

use crate::config::{ConfigError, Settings, load_from};

/// An external store (no files written: its secrets are given), plus `extra`.
fn load(extra: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let base = [
        ("SLUICE__STORAGE__ENDPOINT", "https://s3.example.com"),
        ("SLUICE__STORAGE__ACCESS_KEY_ID", "key"),
        ("SLUICE__STORAGE__SECRET_ACCESS_KEY", "secret"),
        (
            "SLUICE__AUTH__TOKEN_SECRET",
            "a-token-secret-of-at-least-32-bytes!",
        ),
    ];
    load_from(
        None,
        base.iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

fn problems(extra: &[(&str, &str)]) -> Vec<String> {
    match load(extra) {
        Err(ConfigError::Invalid(problems)) => problems,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_explicit_one_time_profile_is_refused_without_if_none_match() {
    let found = problems(&[
        ("SLUICE__STORAGE__IF_NONE_MATCH", "false"),
        ("SLUICE__PROFILES__AVATAR__ONE_TIME", "true"),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("profiles.avatar.one_time:"),
        "{found:?}"
    );
}

#[test]
fn one_time_follows_the_store_when_unset() {
    let s = load(&[
        ("SLUICE__STORAGE__IF_NONE_MATCH", "false"),
        ("SLUICE__PROFILES__AVATAR__MAX_SIZE", "1MiB"),
    ])
    .expect("loads");
    assert!(!s.profile("default").expect("default").one_time());
    assert!(!s.profile("avatar").expect("avatar").one_time());
    let s = load(&[]).expect("loads");
    assert!(s.profile("default").expect("default").one_time());
    // Explicitly off is always fine.
    let s = load(&[("SLUICE__PROFILES__DEFAULT__ONE_TIME", "false")]).expect("loads");
    assert!(!s.profile("default").expect("default").one_time());
}

#[test]
fn require_checksum_is_refused_where_the_store_does_not_check() {
    // An external store is not trusted with checksums unless told.
    let found = problems(&[("SLUICE__PROFILES__DEFAULT__REQUIRE_CHECKSUM", "true")]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("profiles.default.require_checksum:"),
        "{found:?}"
    );
    let s = load(&[
        ("SLUICE__STORAGE__CHECKSUMS", "true"),
        ("SLUICE__PROFILES__DEFAULT__REQUIRE_CHECKSUM", "true"),
    ])
    .expect("loads");
    assert!(s.storage.checksums());
    assert!(s.profile("default").expect("default").require_checksum);
}

#[test]
fn every_missing_capability_is_reported_together() {
    let found = problems(&[
        ("SLUICE__STORAGE__IF_NONE_MATCH", "false"),
        ("SLUICE__STORAGE__CHECKSUMS", "false"),
        ("SLUICE__PROFILES__A__ONE_TIME", "true"),
        ("SLUICE__PROFILES__B__REQUIRE_CHECKSUM", "true"),
        ("SLUICE__PROFILES__C__ONE_TIME", "true"),
        ("SLUICE__PROFILES__C__REQUIRE_CHECKSUM", "true"),
        ("SLUICE__STORAGE__REGION", " "),
    ]);
    let mut names: Vec<&str> = found
        .iter()
        .map(|p| p.split(':').next().unwrap_or_default())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "profiles.a.one_time",
            "profiles.b.require_checksum",
            "profiles.c.one_time",
            "profiles.c.require_checksum",
            "storage.region",
        ]
    );
}

#[test]
fn capability_defaults_differ_between_the_embedded_and_an_external_store() {
    let external = load(&[]).expect("loads").storage;
    assert!(external.if_none_match);
    assert!(!external.checksums());
    assert!(external.list_multipart_uploads());
    let embedded = crate::config::StorageSettings::default();
    assert!(embedded.is_embedded());
    assert!(embedded.checksums());
    assert!(!embedded.list_multipart_uploads());
    let told = load(&[("SLUICE__STORAGE__LIST_MULTIPART_UPLOADS", "false")])
        .expect("loads")
        .storage;
    assert!(!told.list_multipart_uploads());
}

/// Every duration setting, as an environment variable and as the loader names it.
const DURATIONS: &[(&str, &str)] = &[
    (
        "SLUICE__SERVER__SHUTDOWN_TIMEOUT",
        "server.shutdown_timeout",
    ),
    ("SLUICE__QUEUE__POLL_INTERVAL", "queue.poll_interval"),
    ("SLUICE__QUEUE__RELAY_INTERVAL", "queue.relay_interval"),
    ("SLUICE__QUEUE__SWEEP_INTERVAL", "queue.sweep_interval"),
    ("SLUICE__QUEUE__VERIFY_DELAY", "queue.verify_delay"),
    ("SLUICE__QUEUE__DISPATCH_LEASE", "queue.dispatch_lease"),
    (
        "SLUICE__STORAGE__REQUEST_TIMEOUT",
        "storage.request_timeout",
    ),
    (
        "SLUICE__CLEANUP__STALE_MULTIPART_GRACE",
        "cleanup.stale_multipart_grace",
    ),
    (
        "SLUICE__QUOTA__RECONCILE_INTERVAL",
        "quota.reconcile_interval",
    ),
    ("SLUICE__WEBHOOKS__TIMEOUT", "webhooks.timeout"),
    ("SLUICE__ADMIN__STATS_INTERVAL", "admin.stats_interval"),
    ("SLUICE__AUDIT__SETTLE", "audit.settle"),
    ("SLUICE__RETENTION__SESSIONS", "retention.sessions"),
    ("SLUICE__RETENTION__AUDIT_EVENTS", "retention.audit_events"),
    (
        "SLUICE__RETENTION__WEBHOOK_DELIVERIES",
        "retention.webhook_deliveries",
    ),
    ("SLUICE__RETENTION__INTERVAL", "retention.interval"),
    (
        "SLUICE__PROFILES__DEFAULT__COMMIT_TTL",
        "profiles.default.commit_ttl",
    ),
    (
        "SLUICE__PROFILES__DEFAULT__VERIFY_TTL",
        "profiles.default.verify_ttl",
    ),
];

/// Every size setting, likewise.
const SIZES: &[(&str, &str)] = &[
    ("SLUICE__QUOTA__DAILY_BYTES", "quota.daily_bytes"),
    ("SLUICE__QUOTA__STORED_BYTES", "quota.stored_bytes"),
    ("SLUICE__UPPY__PART_SIZE", "uppy.part_size"),
    (
        "SLUICE__PROFILES__DEFAULT__MAX_SIZE",
        "profiles.default.max_size",
    ),
    (
        "SLUICE__PROFILES__DEFAULT__MULTIPART_THRESHOLD",
        "profiles.default.multipart_threshold",
    ),
    (
        "SLUICE__PROFILES__DEFAULT__PART_SIZE",
        "profiles.default.part_size",
    ),
    (
        "SLUICE__PROFILES__DEFAULT__DAILY_BYTES",
        "profiles.default.daily_bytes",
    ),
    (
        "SLUICE__PROFILES__DEFAULT__STORED_BYTES",
        "profiles.default.stored_bytes",
    ),
];

fn refusal(extra: &[(&str, &str)]) -> String {
    match load(extra) {
        Err(e @ (ConfigError::Parse(_) | ConfigError::Invalid(_))) => e.to_string(),
        other => panic!("{extra:?}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn every_duration_past_ten_years_is_refused_naming_the_setting() {
    for (var, path) in DURATIONS {
        assert!(load(&[(var, "3650d")]).is_ok(), "{path} at 3650d");
        let message = refusal(&[(var, "3650d1s")]);
        assert!(
            message.contains(path) && message.contains("3650d"),
            "{path}: {message}"
        );
    }
    let message = refusal(&[(
        "SLUICE__QUEUE__RETRY__DELIVER_WEBHOOK",
        "[\"5s\", \"3651d\"]",
    )]);
    assert!(message.contains("queue.retry.deliver_webhook"), "{message}");
    // The presign lifetimes stop at a week, as before.
    for (var, path) in [
        ("SLUICE__PROFILES__DEFAULT__UPLOAD_TTL", "upload_ttl"),
        ("SLUICE__PROFILES__DEFAULT__DOWNLOAD_TTL", "download_ttl"),
        ("SLUICE__CLEANUP__LATE_PUT_GRACE", "late_put_grace"),
    ] {
        let verify = ("SLUICE__PROFILES__DEFAULT__VERIFY_TTL", "8d");
        assert!(load(&[(var, "7d"), verify]).is_ok(), "{path} at 7d");
        assert!(refusal(&[(var, "7d1s"), verify]).contains(path));
    }
}

#[test]
fn every_size_past_its_bound_is_refused_naming_the_setting() {
    for (var, path) in SIZES {
        let message = refusal(&[(var, "1048577TiB")]);
        assert!(message.contains(path), "{path}: {message}");
    }
    for (var, path) in &SIZES[..2] {
        assert!(load(&[(var, "1048576TiB")]).is_ok(), "{path} at 1EiB");
    }
    assert!(refusal(&[("SLUICE__PROFILES__DEFAULT__MAX_SIZE", "5TiB1")]).contains("max_size"));
    assert!(load(&[("SLUICE__PROFILES__DEFAULT__MAX_SIZE", "5TiB")]).is_ok());
}

#[test]
fn counts_that_size_pools_are_bounded() {
    for (var, path) in [
        ("SLUICE__SERVER__WORKERS", "server.workers"),
        ("SLUICE__QUEUE__CONCURRENCY", "queue.concurrency"),
        (
            "SLUICE__DATABASE__MAX_CONNECTIONS",
            "database.max_connections",
        ),
    ] {
        assert!(
            refusal(&[(var, "18446744073709551615")]).contains(path),
            "{path}"
        );
        assert!(refusal(&[(var, "100000")]).contains(path), "{path}");
    }
}

#[test]
fn retention_keeps_for_ever_at_zero_and_is_bounded() {
    let defaults = load(&[]).expect("defaults load");
    let r = &defaults.retention;
    assert_eq!(r.sessions.get().as_secs(), 30 * 86_400);
    assert_eq!(r.audit_events.get().as_secs(), 90 * 86_400);
    assert_eq!(r.webhook_deliveries.get().as_secs(), 30 * 86_400);
    assert_eq!(r.batch, 1000);
    for var in [
        "SLUICE__RETENTION__SESSIONS",
        "SLUICE__RETENTION__AUDIT_EVENTS",
        "SLUICE__RETENTION__WEBHOOK_DELIVERIES",
    ] {
        assert!(load(&[(var, "0")]).is_ok(), "{var}: 0 is for ever");
        assert!(refusal(&[(var, "500ms")]).contains("retention."), "{var}");
    }
    assert!(refusal(&[("SLUICE__RETENTION__INTERVAL", "0")]).contains("retention.interval"));
    for batch in ["0", "10001"] {
        let message = refusal(&[("SLUICE__RETENTION__BATCH", batch)]);
        assert!(message.contains("retention.batch"), "{message}");
    }
}

/// A `[stores.b2]` section as environment variables, plus a profile `tenant` using it.
const B2_STORE: &[(&str, &str)] = &[
    ("SLUICE__STORES__B2__ENDPOINT", "https://s3.b2.example.com"),
    ("SLUICE__STORES__B2__BUCKET", "tenant-files"),
    ("SLUICE__STORES__B2__ACCESS_KEY_ID", "b2key"),
    ("SLUICE__STORES__B2__SECRET_ACCESS_KEY", "b2secret"),
    ("SLUICE__STORES__B2__IF_NONE_MATCH", "false"),
    ("SLUICE__PROFILES__TENANT__STORE", "b2"),
];

#[test]
fn a_profile_follows_the_capabilities_of_the_store_it_names() {
    let s = load(B2_STORE).expect("loads");
    let tenant = s.profile("tenant").expect("tenant");
    assert_eq!(tenant.store_name(), "b2");
    assert_eq!(s.store_of(tenant).bucket, "tenant-files");
    // B2 refuses If-None-Match: the profile on it does not sign it; the default still does.
    assert!(!tenant.one_time());
    assert!(s.profile("default").expect("default").one_time());
    let names: Vec<&str> = s.every_store().map(|(n, _)| n).collect();
    assert_eq!(names, ["default", "b2"]);

    let mut asked = B2_STORE.to_vec();
    asked.push(("SLUICE__PROFILES__TENANT__ONE_TIME", "true"));
    let found = problems(&asked);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("profiles.tenant.one_time:"),
        "{found:?}"
    );
}

#[test]
fn stores_are_checked_like_storage_and_named_by_profiles_that_exist() {
    let found = problems(&[
        ("SLUICE__PROFILES__A__STORE", "nowhere"),
        ("SLUICE__STORES__LOCAL__BUCKET", "local"),
        (
            "SLUICE__STORES__DEFAULT__ENDPOINT",
            "https://s3.example.com",
        ),
        ("SLUICE__STORES__DEFAULT__ACCESS_KEY_ID", "k"),
        ("SLUICE__STORES__DEFAULT__SECRET_ACCESS_KEY", "s"),
        ("SLUICE__STORES__NOKEY__ENDPOINT", "ftp://s3.example.com"),
        ("SLUICE__STORES__NOKEY__BUCKET", "Bad_Bucket"),
    ]);
    let mut names: Vec<&str> = found
        .iter()
        .map(|p| p.split(':').next().unwrap_or_default())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "profiles.a.store",
            "stores.default",
            "stores.local.endpoint",
            "stores.nokey.access_key_id",
            "stores.nokey.bucket",
            "stores.nokey.endpoint",
            "stores.nokey.secret_access_key",
        ],
        "{found:?}"
    );
}

#[test]
fn a_stores_secret_never_shows_in_a_loading_error() {
    let err = load(&[
        ("SLUICE__STORES__B2__ENDPOINT", "https://s3.b2.example.com"),
        ("SLUICE__STORES__B2__ACCESS_KEY_ID", "b2key"),
        (
            "SLUICE__STORES__B2__SECRET_ACCESS_KEY",
            "[\"hunter2-secret\"]",
        ),
    ])
    .expect_err("a list is not a secret");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("stores.b2.secret_access_key"), "{text}");
}

#[test]
fn telemetry_settings_are_checked() {
    let found = problems(&[
        ("SLUICE__TELEMETRY__OTLP_ENDPOINT", "collector:4318"),
        ("SLUICE__TELEMETRY__SAMPLE_RATIO", "1.5"),
        ("SLUICE__TELEMETRY__SERVICE_NAME", " "),
    ]);
    let mut names: Vec<&str> = found
        .iter()
        .map(|p| p.split(':').next().unwrap_or_default())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "telemetry.otlp_endpoint",
            "telemetry.sample_ratio",
            "telemetry.service_name"
        ],
        "{found:?}"
    );
    let s = load(&[("SLUICE__TELEMETRY__SAMPLE_RATIO", "0.25")]).expect("loads");
    assert!((s.telemetry.sample_ratio - 0.25).abs() < f64::EPSILON);
    assert!(s.telemetry.otlp_endpoint.is_none(), "off by default");
}
