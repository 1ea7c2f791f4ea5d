//! The `SLUICE__…` environment of a test world: fixed test secrets and profiles, port 0,
//! a private data directory, and for the production leg a fresh PostgreSQL database, a
//! fresh bucket and a private queue namespace. Used both for in-process apps (through
//! the real settings loader) and for the real binary (as its environment).

use secrecy::ExposeSecret;
use sluice_core::config::StorageSettings;

use crate::leg::{Leg, fresh_bucket, fresh_postgres};

pub const TOKEN_SECRET: &str = "test-token-secret-0123456789-abcdefghij";
pub const SERVICE_KEY: &str = "test-service-key-0123456789";
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// Test profiles on top of `default`: small image-only uploads, short deadlines, reusable
/// URLs, short inline download links, a magic-byte check.
const PROFILES: &[(&str, &str)] = &[
    ("SLUICE__PROFILES__IMAGES__CONTENT_TYPES", "[\"image/*\"]"),
    ("SLUICE__PROFILES__IMAGES__EXTENSIONS", "[\"png\", \"jpg\"]"),
    ("SLUICE__PROFILES__IMAGES__MAX_SIZE", "1KiB"),
    ("SLUICE__PROFILES__SHORT__UPLOAD_TTL", "2s"),
    ("SLUICE__PROFILES__SHORT__COMMIT_TTL", "2s"),
    ("SLUICE__PROFILES__REUSABLE__ONE_TIME", "false"),
    ("SLUICE__PROFILES__QUICKLINK__DOWNLOAD_TTL", "30s"),
    ("SLUICE__PROFILES__QUICKLINK__DISPOSITION", "inline"),
    ("SLUICE__PROFILES__QUOTA10__DAILY_UPLOADS", "10"),
    ("SLUICE__PROFILES__METERED__STORED_BYTES", "100"),
    ("SLUICE__PROFILES__METERED__DAILY_BYTES", "1KiB"),
    ("SLUICE__PROFILES__PARTS__MULTIPART_THRESHOLD", "1MiB"),
    ("SLUICE__PROFILES__PARTS__PART_SIZE", "5MiB"),
    ("SLUICE__PROFILES__SNIFFED__SNIFF", "true"),
    (
        "SLUICE__PROFILES__SNIFFED__CONTENT_TYPES",
        "[\"image/*\", \"text/plain\"]",
    ),
];

/// The environment of a fresh test world on `leg`; `extra` replaces or adds variables.
pub async fn environment(
    leg: &Leg,
    data_dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let mut env: Vec<(String, String)> = [
        ("SLUICE__SERVER__BIND", "127.0.0.1:0".to_owned()),
        ("SLUICE__SERVER__DATA_DIR", data_dir.display().to_string()),
        ("SLUICE__SERVER__WORKERS", "1".to_owned()),
        ("SLUICE__SERVER__SHUTDOWN_TIMEOUT", "2s".to_owned()),
        ("SLUICE__STORAGE__EMBEDDED_BIND", "127.0.0.1:0".to_owned()),
        ("SLUICE__AUTH__TOKEN_SECRET", TOKEN_SECRET.to_owned()),
        ("SLUICE__AUTH__SERVICE_KEYS", format!("[\"{SERVICE_KEY}\"]")),
        ("SLUICE__AUTH__ADMIN_KEYS", format!("[\"{ADMIN_KEY}\"]")),
        ("SLUICE__QUEUE__POLL_INTERVAL", "20ms".to_owned()),
        ("SLUICE__QUEUE__RELAY_INTERVAL", "1s".to_owned()),
        ("SLUICE__QUEUE__SWEEP_INTERVAL", "2s".to_owned()),
        ("SLUICE__QUEUE__VERIFY_DELAY", "1s".to_owned()),
        // A dispatched job no worker picked up is sent again after this (as in
        // production after the default 2m): apalis 1.0 workers were seen, under the load
        // of a whole suite, to leave a pushed message unfetched for over a minute, and
        // `drain_jobs` waits 60 s. Not shorter: a message that waits in the queue longer
        // than the lease is stale when a worker reaches it, so a lease below the queue's
        // latency under load would send a job again and again without running it.
        ("SLUICE__QUEUE__DISPATCH_LEASE", "25s".to_owned()),
        // A stalled streamed read fails (and is retried) well inside a drain's minute.
        ("SLUICE__SCANNER__TIMEOUT", "5s".to_owned()),
        ("SLUICE__QUEUE__NAMESPACE", format!("test-{unique}")),
        // Only tests reconcile quota: every app takes the workers' turn as it starts
        // (`TestApp::hold_reconcile`), and a ten-year turn outlasts every clock jump.
        ("SLUICE__QUOTA__RECONCILE_INTERVAL", "3650d".to_owned()),
    ]
    .into_iter()
    .chain(PROFILES.iter().map(|(k, v)| (*k, v.to_string())))
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Leg::Production(p) = leg {
        let database = fresh_postgres(&p.database_url, &format!("sluice_test_{unique}")).await;
        let bucket = format!("sluice-test-{}", &unique[..20]);
        fresh_bucket(p, &bucket).await;
        env.extend(
            [
                ("SLUICE__DATABASE__URL", database),
                ("SLUICE__DATABASE__MAX_CONNECTIONS", "5".to_owned()),
                ("SLUICE__QUEUE__REDIS_URL", p.redis_url.clone()),
                ("SLUICE__STORAGE__ENDPOINT", p.s3_endpoint.clone()),
                ("SLUICE__STORAGE__BUCKET", bucket),
                ("SLUICE__STORAGE__REGION", p.s3_region.clone()),
                ("SLUICE__STORAGE__ACCESS_KEY_ID", p.s3_access_key_id.clone()),
                (
                    "SLUICE__STORAGE__SECRET_ACCESS_KEY",
                    p.s3_secret_access_key.clone(),
                ),
                ("SLUICE__STORAGE__FORCE_PATH_STYLE", "true".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
    }
    env.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// A client of the bucket Sluice uses, to look at what the store really holds.
pub fn store_client(storage: &StorageSettings, endpoint: &str) -> Box<s3::Bucket> {
    let region = s3::Region::Custom {
        region: storage.region.clone(),
        endpoint: endpoint.to_owned(),
    };
    let creds = s3::creds::Credentials::new(
        storage.access_key_id.as_deref(),
        storage
            .secret_access_key
            .as_ref()
            .map(|s| s.expose_secret()),
        None,
        None,
        None,
    )
    .expect("credentials");
    s3::Bucket::new(&storage.bucket, region, creds)
        .expect("bucket")
        .with_path_style()
}
