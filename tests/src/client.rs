//! `TestApp`: a running Sluice plus typed helpers over its HTTP API and its store.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sluice::{Role, Running, start};
use sluice_core::config::{Settings, load_from};

use crate::leg::{Leg, fresh_bucket, fresh_postgres};

pub const TOKEN_SECRET: &str = "test-token-secret-0123456789-abcdefghij";
pub const SERVICE_KEY: &str = "test-service-key-0123456789";
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// Test profiles on top of `default`: small image-only uploads, short deadlines, reusable URLs.
const PROFILES: &[(&str, &str)] = &[
    ("SLUICE__PROFILES__IMAGES__CONTENT_TYPES", "[\"image/*\"]"),
    ("SLUICE__PROFILES__IMAGES__EXTENSIONS", "[\"png\", \"jpg\"]"),
    ("SLUICE__PROFILES__IMAGES__MAX_SIZE", "1KiB"),
    ("SLUICE__PROFILES__SHORT__UPLOAD_TTL", "2s"),
    ("SLUICE__PROFILES__SHORT__COMMIT_TTL", "2s"),
    ("SLUICE__PROFILES__REUSABLE__ONE_TIME", "false"),
    ("SLUICE__PROFILES__QUICKLINK__DOWNLOAD_TTL", "30s"),
    ("SLUICE__PROFILES__QUICKLINK__DISPOSITION", "inline"),
];

pub struct TestApp {
    pub leg: Leg,
    pub api: String,
    pub http: reqwest::Client,
    pub running: Running,
    /// A client of the same bucket, to look at what the store really holds.
    pub bucket: Box<s3::Bucket>,
    pub data_dir: std::path::PathBuf,
}

/// A created session, as the create response described it.
#[derive(Clone, Debug)]
pub struct Created {
    pub id: String,
    pub key: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl TestApp {
    /// Settings for `leg`, built through the real loader (env layering and validation).
    pub async fn settings(leg: &Leg, data_dir: &std::path::Path) -> Settings {
        Self::settings_with(leg, data_dir, &[]).await
    }

    /// `settings` with some `SLUICE__…` variables replaced or added.
    pub async fn settings_with(
        leg: &Leg,
        data_dir: &std::path::Path,
        extra: &[(&str, &str)],
    ) -> Settings {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let mut env: Vec<(String, String)> = vec![
            ("SLUICE__SERVER__BIND".into(), "127.0.0.1:0".into()),
            (
                "SLUICE__SERVER__DATA_DIR".into(),
                data_dir.display().to_string(),
            ),
            ("SLUICE__SERVER__WORKERS".into(), "1".into()),
            ("SLUICE__SERVER__SHUTDOWN_TIMEOUT".into(), "2s".into()),
            (
                "SLUICE__STORAGE__EMBEDDED_BIND".into(),
                "127.0.0.1:0".into(),
            ),
            ("SLUICE__AUTH__TOKEN_SECRET".into(), TOKEN_SECRET.into()),
            (
                "SLUICE__AUTH__SERVICE_KEYS".into(),
                format!("[\"{SERVICE_KEY}\"]"),
            ),
            (
                "SLUICE__AUTH__ADMIN_KEYS".into(),
                format!("[\"{ADMIN_KEY}\"]"),
            ),
            ("SLUICE__QUEUE__POLL_INTERVAL".into(), "200ms".into()),
            ("SLUICE__QUEUE__RELAY_INTERVAL".into(), "1s".into()),
            ("SLUICE__QUEUE__SWEEP_INTERVAL".into(), "2s".into()),
            ("SLUICE__QUEUE__VERIFY_DELAY".into(), "1s".into()),
            ("SLUICE__QUEUE__NAMESPACE".into(), format!("test-{unique}")),
        ];
        env.extend(PROFILES.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        if let Leg::Production(p) = leg {
            let database = fresh_postgres(&p.database_url, &format!("sluice_test_{unique}")).await;
            let bucket = format!("sluice-test-{}", &unique[..20]);
            fresh_bucket(p, &bucket).await;
            env.extend([
                ("SLUICE__DATABASE__URL".into(), database),
                ("SLUICE__DATABASE__MAX_CONNECTIONS".into(), "5".into()),
                ("SLUICE__QUEUE__REDIS_URL".into(), p.redis_url.clone()),
                ("SLUICE__STORAGE__ENDPOINT".into(), p.s3_endpoint.clone()),
                ("SLUICE__STORAGE__BUCKET".into(), bucket),
                ("SLUICE__STORAGE__REGION".into(), p.s3_region.clone()),
                (
                    "SLUICE__STORAGE__ACCESS_KEY_ID".into(),
                    p.s3_access_key_id.clone(),
                ),
                (
                    "SLUICE__STORAGE__SECRET_ACCESS_KEY".into(),
                    p.s3_secret_access_key.clone(),
                ),
                ("SLUICE__STORAGE__FORCE_PATH_STYLE".into(), "true".into()),
            ]);
        }
        env.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        load_from(None, env).expect("test settings load")
    }

    pub async fn spawn(leg: Leg) -> TestApp {
        let data_dir = std::env::temp_dir().join(format!("sluice-it-{}", uuid::Uuid::new_v4()));
        let settings = Self::settings(&leg, &data_dir).await;
        Self::spawn_with(leg, settings, data_dir).await
    }

    pub async fn spawn_with(leg: Leg, settings: Settings, data_dir: std::path::PathBuf) -> TestApp {
        let storage = settings.storage.clone();
        let running = start(settings, Role::All).await.expect("sluice starts");
        let region = s3::Region::Custom {
            region: storage.region.clone(),
            endpoint: running.store_url.clone(),
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
        let bucket = s3::Bucket::new(&storage.bucket, region, creds)
            .expect("bucket")
            .with_path_style();
        TestApp {
            leg,
            api: running.api_url.clone().expect("api url"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            running,
            bucket,
            data_dir,
        }
    }

    pub async fn stop(self) {
        self.running.stop().await;
        std::fs::remove_dir_all(&self.data_dir).ok();
    }

    /// An upload token for `owner`.
    pub fn token(&self, owner: &str) -> String {
        self.token_with(owner, None)
    }

    pub fn token_with(&self, owner: &str, profiles: Option<Vec<String>>) -> String {
        sluice_core::auth::mint_token(
            TOKEN_SECRET.as_bytes(),
            owner,
            Duration::from_secs(600),
            profiles,
        )
        .expect("mint")
    }

    /// Any request to the API; returns status and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.api));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request reaches sluice");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    /// Creates an upload and returns what the client needs to PUT it.
    pub async fn create(&self, token: &str, body: Value) -> Created {
        let (status, json) = self
            .call(Method::POST, "/v1/uploads", Some(token), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "create failed: {json}");
        Created::from(json)
    }

    /// The simplest upload: `default` profile, a text file of `size` bytes.
    pub async fn create_text(&self, token: &str, size: usize) -> Created {
        self.create(
            token,
            json!({"filename": "notes.txt", "size": size, "content_type": "text/plain"}),
        )
        .await
    }

    /// PUTs `body` to the presigned URL with exactly the signed headers (minus
    /// content-length, which the HTTP client derives from the body, as a browser does).
    pub async fn put(&self, created: &Created, body: Vec<u8>) -> StatusCode {
        self.put_with(created, body, &[]).await
    }

    /// Like `put`, with some signed headers replaced.
    pub async fn put_with(
        &self,
        created: &Created,
        body: Vec<u8>,
        overrides: &[(&str, &str)],
    ) -> StatusCode {
        let mut req = self.http.put(&created.url).body(body);
        for (name, value) in &created.headers {
            if name == "content-length" || overrides.iter().any(|(n, _)| n == name) {
                continue;
            }
            req = req.header(name, value);
        }
        for (name, value) in overrides {
            req = req.header(*name, *value);
        }
        req.send().await.expect("PUT reaches the store").status()
    }

    pub async fn complete(&self, token: &str, id: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/v1/uploads/{id}/complete"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn commit(&self, token: &str, id: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/v1/uploads/{id}/commit"),
            Some(token),
            None,
        )
        .await
    }

    /// Creates an upload in `profile`, PUTs `body` and completes it, asserting each step.
    pub async fn upload_verified(
        &self,
        token: &str,
        profile: &str,
        filename: &str,
        body: &[u8],
    ) -> Created {
        let created = self
            .create(
                token,
                json!({"profile": profile, "filename": filename, "size": body.len(), "content_type": "text/plain"}),
            )
            .await;
        assert!(
            self.put(&created, body.to_vec()).await.is_success(),
            "PUT refused"
        );
        let (status, session) = self.complete(token, &created.id).await;
        assert_eq!(status, StatusCode::OK, "complete: {session}");
        created
    }

    pub async fn session(&self, token: &str, id: &str) -> Value {
        let (status, json) = self
            .call(Method::GET, &format!("/v1/uploads/{id}"), Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "get session: {json}");
        json
    }

    /// Polls the session until it reaches `state` (jobs run in the background).
    pub async fn wait_for_state(
        &self,
        token: &str,
        id: &str,
        state: &str,
        within: Duration,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let session = self.session(token, id).await;
            if session["state"] == state {
                return session;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "session never became {state}: {session}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the store holds an object under `key`.
    pub async fn object_exists(&self, key: &str) -> bool {
        match self.bucket.head_object(key).await {
            Ok((_, status)) => status < 300,
            Err(s3::error::S3Error::HttpFailWithBody(404, _)) => false,
            Err(e) => panic!("HEAD {key}: {e}"),
        }
    }

    /// Polls until the object is gone (deletion may be left to a job).
    pub async fn wait_for_object_gone(&self, key: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.object_exists(key).await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "object {key} still stored"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl From<Value> for Created {
    fn from(body: Value) -> Self {
        let headers = body["put"]["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Created {
            id: body["id"].as_str().expect("id").to_owned(),
            key: body["key"].as_str().expect("key").to_owned(),
            url: body["put"]["url"].as_str().expect("put url").to_owned(),
            headers,
            body,
        }
    }
}
