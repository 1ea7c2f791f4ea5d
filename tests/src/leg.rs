//! Which stack a test runs on, and how to give each test its own database, queue
//! namespace and bucket on it.

use std::env;

/// The services of the production leg, from the environment.
/// `Debug` leaves the secret key out (it shows in test failures and logs).
#[derive(Clone)]
pub struct ProductionServices {
    pub database_url: String,
    pub redis_url: String,
    pub s3_endpoint: String,
    pub s3_access_key_id: String,
    pub s3_secret_access_key: String,
    pub s3_region: String,
}

impl std::fmt::Debug for ProductionServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductionServices")
            .field("database_url", &self.database_url)
            .field("redis_url", &self.redis_url)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field("s3_secret_access_key", &"<redacted>")
            .field("s3_region", &self.s3_region)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub enum Leg {
    Embedded,
    Production(ProductionServices),
}

const VARS: [&str; 5] = [
    "SLUICE_TEST_DATABASE_URL",
    "SLUICE_TEST_REDIS_URL",
    "SLUICE_TEST_S3_ENDPOINT",
    "SLUICE_TEST_S3_ACCESS_KEY_ID",
    "SLUICE_TEST_S3_SECRET_ACCESS_KEY",
];

impl Leg {
    /// The production leg if its services are configured. Panics under CI when they are
    /// not, or when only some are set (a half-configured run would silently test less).
    pub fn production() -> Option<Leg> {
        let present: Vec<bool> = VARS
            .iter()
            .map(|v| env::var(v).is_ok_and(|s| !s.is_empty()))
            .collect();
        if present.iter().all(|p| !p) {
            if env::var("CI").is_ok() {
                panic!("CI must run the production leg: set {}", VARS.join(", "));
            }
            eprintln!("production leg skipped: set {} to run it", VARS.join(", "));
            return None;
        }
        let get = |name: &str| {
            env::var(name)
                .unwrap_or_else(|_| panic!("{name} is missing while other SLUICE_TEST_* are set"))
        };
        Some(Leg::Production(ProductionServices {
            database_url: get("SLUICE_TEST_DATABASE_URL"),
            redis_url: get("SLUICE_TEST_REDIS_URL"),
            s3_endpoint: get("SLUICE_TEST_S3_ENDPOINT"),
            s3_access_key_id: get("SLUICE_TEST_S3_ACCESS_KEY_ID"),
            s3_secret_access_key: get("SLUICE_TEST_S3_SECRET_ACCESS_KEY"),
            s3_region: env::var("SLUICE_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
        }))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Leg::Embedded => "embedded",
            Leg::Production(_) => "production",
        }
    }
}

/// Creates a fresh PostgreSQL database and returns its URL.
pub(crate) async fn fresh_postgres(server_url: &str, name: &str) -> String {
    use sea_orm::{ConnectionTrait, Database};
    let admin = Database::connect(server_url)
        .await
        .expect("connect to the PostgreSQL server");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create the test database");
    admin.close().await.ok();
    let base = server_url.split('?').next().unwrap_or(server_url);
    let prefix = base.rsplit_once('/').map(|(p, _)| p).unwrap_or(base);
    format!("{prefix}/{name}")
}

/// Drops a database `fresh_postgres` made, so test runs do not pile databases up.
/// Best effort: a leftover database is harmless.
pub async fn drop_test_database(server_url: &str, database_url: &str) {
    use sea_orm::{ConnectionTrait, Database};
    let Some(name) = database_url
        .rsplit('/')
        .next()
        .filter(|n| n.starts_with("sluice_test_"))
    else {
        return;
    };
    if let Ok(admin) = Database::connect(server_url).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
        admin.close().await.ok();
    }
}

/// Creates a fresh bucket at the S3 server.
pub(crate) async fn fresh_bucket(p: &ProductionServices, name: &str) {
    let region = s3::Region::Custom {
        region: p.s3_region.clone(),
        endpoint: p.s3_endpoint.clone(),
    };
    let creds = s3::creds::Credentials::new(
        Some(&p.s3_access_key_id),
        Some(&p.s3_secret_access_key),
        None,
        None,
        None,
    )
    .expect("credentials");
    // A presigned PUT on the bucket itself is a CreateBucket without a location
    // constraint, which Ceph needs (rust-s3's create sends one derived from the region).
    let bucket = s3::Bucket::new(name, region, creds)
        .expect("bucket")
        .with_path_style();
    let url = bucket
        .presign_put("/", 60, None, None)
        .await
        .expect("presign CreateBucket");
    let resp = reqwest::Client::new()
        .put(url)
        .send()
        .await
        .expect("create the test bucket");
    assert!(
        resp.status().is_success(),
        "create bucket {name}: {}",
        resp.text().await.unwrap_or_default()
    );
}
