//! `TestApp`: a running Sluice plus typed helpers over its HTTP API and its store.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::{Role, Running, start};
use sluice_core::config::{Settings, load_from};

use crate::environment::{TOKEN_SECRET, environment, store_client};
use crate::leg::{Leg, drop_test_database};
use secrecy::ExposeSecret;

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
        load_from(None, environment(leg, data_dir, extra).await).expect("test settings load")
    }

    pub async fn spawn(leg: Leg) -> TestApp {
        let data_dir = std::env::temp_dir().join(format!("sluice-it-{}", uuid::Uuid::new_v4()));
        let settings = Self::settings(&leg, &data_dir).await;
        Self::spawn_with(leg, settings, data_dir).await
    }

    pub async fn spawn_with(leg: Leg, settings: Settings, data_dir: std::path::PathBuf) -> TestApp {
        let storage = settings.storage.clone();
        let running = start(settings, Role::All).await.expect("sluice starts");
        let bucket = store_client(&storage, &running.store_url);
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
        let database = self.running.core.settings.database.url.clone();
        self.running.stop().await;
        if let (Leg::Production(p), Some(url)) = (&self.leg, database) {
            drop_test_database(&p.database_url, url.expose_secret()).await;
        }
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
