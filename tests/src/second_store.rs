//! `SecondStore`: one more object store for a deployment with several (`[stores.NAME]`):
//! an embedded store the test starts itself, or a fresh bucket on the production leg's
//! S3 server, under its credentials or a second user's. Always behind a `StoreProxy`, so
//! a test can take it away while the default store serves on; the test's own bucket
//! client addresses it directly, to see what it really holds during the outage.

use secrecy::SecretString;
use sluice_core::config::StorageSettings;
use sluice_embedded_store::{EmbeddedStore, EmbeddedStoreConfig};

use crate::environment::store_client;
use crate::leg::{ProductionServices, fresh_bucket};
use crate::proxy::StoreProxy;

const OWN_KEY: &str = "secondstorekey";
const OWN_SECRET: &str = "second-store-secret-0123456789";

/// The second S3 user's credentials on the production leg's server
/// (`SLUICE_TEST_S3_SECOND_ACCESS_KEY_ID`, `SLUICE_TEST_S3_SECOND_SECRET_ACCESS_KEY`;
/// `.ci/run` creates that user). `None` when unset, which CI does not allow.
pub fn second_credentials() -> Option<(String, String)> {
    let key = std::env::var("SLUICE_TEST_S3_SECOND_ACCESS_KEY_ID").ok();
    let secret = std::env::var("SLUICE_TEST_S3_SECOND_SECRET_ACCESS_KEY").ok();
    match (key, secret) {
        (Some(k), Some(s)) if !k.is_empty() && !s.is_empty() => Some((k, s)),
        _ if std::env::var("CI").is_ok() => panic!(
            "CI must give a second S3 user: set SLUICE_TEST_S3_SECOND_ACCESS_KEY_ID and \
             SLUICE_TEST_S3_SECOND_SECRET_ACCESS_KEY"
        ),
        _ => None,
    }
}

pub struct SecondStore {
    /// What Sluice and the URLs it signs address.
    pub proxy: StoreProxy,
    /// A client of the bucket, straight to the store.
    pub bucket: Box<s3::Bucket>,
    /// `embedded` or `s3` (the production leg's server).
    pub kind: &'static str,
    settings: StorageSettings,
    own: Option<(EmbeddedStore, std::path::PathBuf)>,
}

impl SecondStore {
    /// An embedded store of the test's own, with its own credentials.
    pub async fn embedded() -> SecondStore {
        let root = std::env::temp_dir().join(format!("sluice-second-{}", uuid::Uuid::new_v4()));
        let store = EmbeddedStore::start(EmbeddedStoreConfig {
            root: root.clone(),
            bind: "127.0.0.1:0".parse().expect("addr"),
            access_key_id: OWN_KEY.into(),
            secret_access_key: OWN_SECRET.into(),
            bucket: "second".into(),
        })
        .await
        .expect("the second store starts");
        let settings = settings("second", "us-east-1", OWN_KEY, OWN_SECRET);
        let bucket = store_client(&settings, &store.endpoint());
        let proxy = StoreProxy::start(store.local_addr()).await;
        SecondStore {
            proxy,
            bucket,
            kind: "embedded",
            settings,
            own: Some((store, root)),
        }
    }

    /// A fresh bucket on the production leg's S3 server, created and used with the
    /// given credentials.
    pub async fn on(p: &ProductionServices, access_key_id: &str, secret: &str) -> SecondStore {
        let name = format!(
            "sluice-second-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        );
        let user = ProductionServices {
            s3_access_key_id: access_key_id.to_owned(),
            s3_secret_access_key: secret.to_owned(),
            ..p.clone()
        };
        fresh_bucket(&user, &name).await;
        let settings = settings(&name, &p.s3_region, access_key_id, secret);
        let bucket = store_client(&settings, &p.s3_endpoint);
        let proxy = StoreProxy::in_front_of(
            p.s3_endpoint
                .split("://")
                .nth(1)
                .unwrap_or(&p.s3_endpoint)
                .trim_end_matches('/'),
        )
        .await;
        SecondStore {
            proxy,
            bucket,
            kind: "s3",
            settings,
            own: None,
        }
    }

    /// The `SLUICE__STORES__{NAME}__…` variables that configure it as store `name`.
    pub fn env(&self, name: &str) -> Vec<(String, String)> {
        use secrecy::ExposeSecret;
        let at = |key: &str| format!("SLUICE__STORES__{}__{key}", name.to_uppercase());
        let st = &self.settings;
        vec![
            (at("ENDPOINT"), self.proxy.endpoint()),
            (at("BUCKET"), st.bucket.clone()),
            (at("REGION"), st.region.clone()),
            (
                at("ACCESS_KEY_ID"),
                st.access_key_id.clone().unwrap_or_default(),
            ),
            (
                at("SECRET_ACCESS_KEY"),
                st.secret_access_key
                    .as_ref()
                    .map(|s| s.expose_secret().to_owned())
                    .unwrap_or_default(),
            ),
            (at("FORCE_PATH_STYLE"), "true".into()),
        ]
    }

    /// Whether the store holds an object under `key` (asked directly, not via the proxy).
    pub async fn holds(&self, key: &str) -> bool {
        match self.bucket.head_object(key).await {
            Ok((_, status)) => status < 300,
            Err(s3::error::S3Error::HttpFailWithBody(404, _)) => false,
            Err(e) => panic!("HEAD {key} at the second store: {e}"),
        }
    }

    pub async fn stop(self) {
        if let Some((store, root)) = self.own {
            store.shutdown().await;
            std::fs::remove_dir_all(root).ok();
        }
    }
}

fn settings(bucket: &str, region: &str, key: &str, secret: &str) -> StorageSettings {
    StorageSettings {
        bucket: bucket.to_owned(),
        region: region.to_owned(),
        access_key_id: Some(key.to_owned()),
        secret_access_key: Some(SecretString::from(secret.to_owned())),
        force_path_style: true,
        ..StorageSettings::default()
    }
}
