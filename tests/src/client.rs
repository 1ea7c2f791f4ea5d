//! `TestApp`: a running Sluice plus typed helpers over its HTTP API and its store.
//!
//! Time is a shifted clock the app's core reads: `advance` jumps it past deadlines and
//! retry delays, `drain_jobs` runs every job that is due, so no test waits for a job.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::{Boot, Role, Running, StoreWrapper, start_with};
use sluice_core::clock::ShiftedClock;
use sluice_core::config::{Settings, load_from};
use sluice_embedded_store::{EmbeddedStore, EmbeddedStoreConfig};

use crate::environment::{TOKEN_SECRET, environment, store_client};
use crate::faults::FaultSwitch;
use crate::leg::{Leg, drop_test_database};
use crate::proxy::StoreProxy;
use secrecy::ExposeSecret;

pub struct TestApp {
    pub leg: Leg,
    pub api: String,
    pub http: reqwest::Client,
    pub running: Running,
    /// A client of the same bucket, to look at what the store really holds (directly,
    /// never through the proxy).
    pub bucket: Box<s3::Bucket>,
    pub data_dir: std::path::PathBuf,
    pub clock: Arc<ShiftedClock>,
    /// In front of the store, when built `behind_proxy`.
    pub proxy: Option<StoreProxy>,
    /// Turns injected store faults on and off.
    pub faults: FaultSwitch,
    /// In front of PostgreSQL, when built `database_behind_proxy` (production leg).
    pub database_proxy: Option<StoreProxy>,
    /// The embedded store this test started itself (behind the proxy, embedded leg).
    own_store: Option<EmbeddedStore>,
}

/// How to build a `TestApp`.
pub struct Spawn {
    leg: Leg,
    env: Vec<(String, String)>,
    behind_proxy: bool,
    database_behind_proxy: bool,
    role: Role,
}

impl Spawn {
    /// The leg's name (`embedded`, `production`), for settings that differ per leg.
    pub fn leg_name(&self) -> &'static str {
        self.leg.name()
    }

    /// Sets or replaces one `SLUICE__…` variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs the API alone, as `sluice serve --no-workers` does: no job and no sweep ever
    /// runs, so whatever happens, a request did it (`drain_jobs` refuses).
    pub fn without_workers(mut self) -> Self {
        self.role = Role::Api;
        self
    }

    /// Puts a `StoreProxy` between Sluice (and its URLs) and the store. On the embedded
    /// leg the test starts the embedded store itself, as an external store.
    pub fn behind_proxy(mut self) -> Self {
        self.behind_proxy = true;
        self
    }

    /// Puts a TCP proxy between Sluice and PostgreSQL, so that the test can take the
    /// database away (a restart, a failover) and bring it back: `database_proxy()`.
    /// Production leg only (SQLite has no connection to cut).
    pub fn database_behind_proxy(mut self) -> Self {
        self.database_behind_proxy = true;
        self
    }

    pub async fn start(self) -> TestApp {
        let data_dir = std::env::temp_dir().join(format!("sluice-it-{}", uuid::Uuid::new_v4()));
        let mut env = self.env;
        let mut own_store = None;
        let mut proxy = None;
        let mut direct = None;
        if self.behind_proxy {
            let target = match &self.leg {
                Leg::Embedded => {
                    let store = EmbeddedStore::start(EmbeddedStoreConfig {
                        root: data_dir.join("own-store"),
                        bind: "127.0.0.1:0".parse().expect("addr"),
                        access_key_id: OWN_STORE_KEY.into(),
                        secret_access_key: OWN_STORE_SECRET.into(),
                        bucket: "sluice".into(),
                    })
                    .await
                    .expect("own store starts");
                    let addr = store.local_addr();
                    direct = Some(store.endpoint());
                    env.extend(
                        [
                            ("SLUICE__STORAGE__BUCKET", "sluice"),
                            ("SLUICE__STORAGE__ACCESS_KEY_ID", OWN_STORE_KEY),
                            ("SLUICE__STORAGE__SECRET_ACCESS_KEY", OWN_STORE_SECRET),
                        ]
                        .map(|(k, v)| (k.to_owned(), v.to_owned())),
                    );
                    own_store = Some(store);
                    addr
                }
                Leg::Production(p) => {
                    direct = Some(p.s3_endpoint.clone());
                    let authority = p.s3_endpoint.split("://").nth(1).unwrap_or(&p.s3_endpoint);
                    tokio::net::lookup_host(authority.trim_end_matches('/'))
                        .await
                        .expect("resolve the S3 endpoint")
                        .next()
                        .expect("an address")
                }
            };
            let started = StoreProxy::start(target).await;
            env.push(("SLUICE__STORAGE__ENDPOINT".into(), started.endpoint()));
            env.push(("SLUICE__STORAGE__FORCE_PATH_STYLE".into(), "true".into()));
            proxy = Some(started);
        }
        let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut settings = TestApp::settings_with(&self.leg, &data_dir, &extra).await;
        let mut database_proxy = None;
        if self.database_behind_proxy {
            let (proxied, started) = proxied_database(&settings).await;
            settings.database.url = Some(proxied.into());
            database_proxy = Some(started);
        }
        let mut app = TestApp::spawn_as(self.leg, settings, data_dir, direct, self.role).await;
        app.proxy = proxy;
        app.database_proxy = database_proxy;
        app.own_store = own_store;
        app
    }
}

/// The settings' PostgreSQL URL rewritten to a proxy in front of its server.
async fn proxied_database(settings: &Settings) -> (String, StoreProxy) {
    let url = settings
        .database
        .url
        .as_ref()
        .expect("database_behind_proxy needs the production leg")
        .expose_secret()
        .to_owned();
    let (scheme, rest) = url.split_once("://").expect("a database URL");
    let (user, rest) = rest.rsplit_once('@').map_or(("", rest), |(u, r)| (u, r));
    let (authority, path) = rest.split_once('/').expect("a database name");
    let proxy = StoreProxy::in_front_of(authority).await;
    let at = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    let proxied = format!(
        "{scheme}://{at}{}/{path}",
        proxy.endpoint().trim_start_matches("http://")
    );
    (proxied, proxy)
}

const OWN_STORE_KEY: &str = "ownstorekey";
const OWN_STORE_SECRET: &str = "own-store-secret-0123456789";

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
        Self::build(leg).start().await
    }

    /// A `TestApp` with options.
    pub fn build(leg: Leg) -> Spawn {
        Spawn {
            leg,
            env: Vec::new(),
            behind_proxy: false,
            database_behind_proxy: false,
            role: Role::All,
        }
    }

    /// Starts Sluice with `settings`; `direct` is the store's real endpoint when Sluice
    /// reaches it another way (through a proxy).
    pub async fn spawn_with(
        leg: Leg,
        settings: Settings,
        data_dir: std::path::PathBuf,
        direct: Option<String>,
    ) -> TestApp {
        Self::spawn_as(leg, settings, data_dir, direct, Role::All).await
    }

    /// `spawn_with` in `role` (the API alone, or with its workers).
    pub async fn spawn_as(
        leg: Leg,
        settings: Settings,
        data_dir: std::path::PathBuf,
        direct: Option<String>,
        role: Role,
    ) -> TestApp {
        let storage = settings.storage.clone();
        let clock = Arc::new(ShiftedClock::default());
        let faults = FaultSwitch::default();
        let switch = faults.clone();
        let wrap: StoreWrapper = Box::new(move |store| switch.wrap(store));
        let boot = Boot {
            role,
            clock: clock.clone(),
            wrap_store: Some(wrap),
        };
        let running = start_with(settings, boot).await.expect("sluice starts");
        let bucket = store_client(&storage, direct.as_deref().unwrap_or(&running.store_url));
        let app = TestApp {
            leg,
            api: running.api_url.clone().expect("api url"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // Shorter than the server's keep-alive (actix: 5 s), so an idle connection
                // is never reused just as the server closes it (a test that drained jobs
                // for seconds then saw `IncompleteMessage`).
                .pool_idle_timeout(Duration::from_secs(2))
                .build()
                .expect("client"),
            running,
            bucket,
            data_dir,
            clock,
            proxy: None,
            database_proxy: None,
            faults,
            own_store: None,
        };
        // Only a test reconciles quota, so a drift it checks for is never repaired behind
        // its back.
        app.hold_reconcile().await;
        app
    }

    pub async fn stop(self) {
        let database = self.running.core.settings.database.url.clone();
        self.running.stop().await;
        if let Some(store) = self.own_store {
            store.shutdown().await;
        }
        if let (Leg::Production(p), Some(url)) = (&self.leg, database) {
            drop_test_database(&p.database_url, url.expose_secret()).await;
        }
        std::fs::remove_dir_all(&self.data_dir).ok();
    }

    /// Jumps the app's clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Runs every job due by the app's clock (and those they make due) to completion.
    pub async fn drain_jobs(&self) {
        self.running.drain_jobs().await.expect("jobs drain");
    }

    /// Takes the workers' scheduled quota reconciliation turn for ten years, or finds
    /// their first pass took it (for as long, see `environment`): from here on only the
    /// test reconciles. Every app takes it as it starts; taking it again does no harm.
    pub async fn hold_reconcile(&self) {
        let core = &self.running.core;
        sluice_core::lease::take_turn(
            &core.db,
            sluice_core::quota::reconcile::LEASE,
            "tests",
            core.now(),
            Duration::from_secs(3650 * 86_400),
        )
        .await
        .expect("reconcile lease");
    }

    /// Runs the due jobs, then once more a minute later: for the jobs that stream an object
    /// (scan, re-hash), whose read, seen to stall on the embedded store under a whole
    /// suite's load, fails after `scanner.timeout` and is retried on its schedule.
    pub async fn drain_reads(&self) {
        self.drain_jobs().await;
        self.advance_and_drain(Duration::from_secs(60)).await;
    }

    /// Jumps the clock and runs what became due.
    pub async fn advance_and_drain(&self, by: Duration) {
        self.advance(by);
        self.drain_jobs().await;
    }

    /// The proxy in front of PostgreSQL (built `database_behind_proxy`).
    pub fn database_proxy(&self) -> &StoreProxy {
        self.database_proxy
            .as_ref()
            .expect("built with database_behind_proxy")
    }

    /// The proxy in front of the store (built `behind_proxy`).
    pub fn proxy(&self) -> &StoreProxy {
        self.proxy.as_ref().expect("built behind_proxy")
    }

    /// An upload token for `owner`.
    pub fn token(&self, owner: &str) -> String {
        self.token_with(owner, None)
    }

    pub fn token_with(&self, owner: &str, profiles: Option<Vec<String>>) -> String {
        // With the app's audience and issuer, when a test configures them.
        sluice_core::auth::mint_token_for(
            TOKEN_SECRET.as_bytes(),
            owner,
            Duration::from_secs(600),
            profiles,
            &self.running.core.settings.auth.token_rules(),
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
        crate::problem::check_declared(status.as_u16(), &json);
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

    /// `create_text` in `profile`.
    pub async fn create_text_in(&self, token: &str, profile: &str, size: usize) -> Created {
        self.create(
            token,
            json!({"profile": profile, "filename": "notes.txt", "size": size, "content_type": "text/plain"}),
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

    pub async fn abort(&self, token: &str, id: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/v1/uploads/{id}/abort"),
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

    /// Whether the store holds an object under `key`.
    pub async fn object_exists(&self, key: &str) -> bool {
        match self.bucket.head_object(key).await {
            Ok((_, status)) => status < 300,
            Err(s3::error::S3Error::HttpFailWithBody(404, _)) => false,
            Err(e) => panic!("HEAD {key}: {e}"),
        }
    }

    /// Signs part URLs; returns the `parts` array.
    pub async fn sign_parts(&self, token: &str, id: &str, numbers: &[u32]) -> Vec<Value> {
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/v1/uploads/{id}/parts"),
                Some(token),
                Some(json!({"part_numbers": numbers})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "sign parts: {body}");
        body["parts"].as_array().expect("parts").clone()
    }

    /// PUTs one part to its signed URL; returns the status and the ETag the store sent.
    pub async fn put_part(&self, part: &Value, body: Vec<u8>) -> (StatusCode, Option<String>) {
        let resp = self
            .http
            .put(part["url"].as_str().expect("url"))
            .body(body)
            .send()
            .await
            .expect("PUT reaches the store");
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (resp.status(), etag)
    }

    /// Uploads `numbers` of `body` (cut by `part_size`) through signed part URLs.
    pub async fn upload_parts(
        &self,
        token: &str,
        id: &str,
        body: &[u8],
        part_size: usize,
        numbers: &[u32],
    ) -> Vec<(u32, String)> {
        let mut etags = Vec::new();
        for part in self.sign_parts(token, id, numbers).await {
            let n = u32::try_from(part["part_number"].as_u64().expect("number")).expect("u32");
            let start = (n as usize - 1) * part_size;
            let end = (start + part_size).min(body.len());
            assert_eq!(part["size"], end - start, "signed size of part {n}");
            let (status, etag) = self.put_part(&part, body[start..end].to_vec()).await;
            assert!(status.is_success(), "part {n}: {status}");
            etags.push((n, etag.unwrap_or_default()));
        }
        etags
    }

    /// Runs the due jobs, then asserts the store holds nothing under `key`.
    pub async fn assert_cleaned(&self, key: &str) {
        self.drain_jobs().await;
        assert!(!self.object_exists(key).await, "object {key} still stored");
    }

    /// The session's audit trail, oldest first, as `{from_state, to_state, actor, detail}`.
    pub async fn audit_trail(&self, id: &str) -> Vec<Value> {
        let id = sluice_core::ids::UploadId(id.parse().expect("uuid"));
        sluice_core::test_support::upload::events(&self.running.core.db, id)
            .await
            .expect("audit events")
            .into_iter()
            .map(|e| json!({"from_state": e.from_state, "to_state": e.to_state, "actor": e.actor, "detail": e.detail}))
            .collect()
    }

    /// The bytes the store holds under `key`.
    pub async fn object_bytes(&self, key: &str) -> Vec<u8> {
        self.bucket
            .get_object(key)
            .await
            .expect("GET the object")
            .bytes()
            .to_vec()
    }

    /// The parts the store holds for a multipart upload (none once it is aborted or
    /// completed: some stores answer NoSuchUpload, others an empty list).
    pub async fn stored_parts(&self, key: &str, upload_id: &str) -> Vec<u32> {
        match self
            .running
            .core
            .stores
            .default_store()
            .list_parts(key, upload_id)
            .await
        {
            Ok(parts) => parts.into_iter().map(|p| p.part_number).collect(),
            Err(sluice_core::storage::StoreError::NoSuchUpload) => Vec::new(),
            Err(e) => panic!("ListParts: {e}"),
        }
    }

    /// Every key the bucket holds.
    pub async fn list_keys(&self) -> Vec<String> {
        let pages = self
            .bucket
            .list(String::new(), None)
            .await
            .expect("list the bucket");
        let mut keys: Vec<String> = pages
            .into_iter()
            .flat_map(|page| page.contents.into_iter().map(|o| o.key))
            .collect();
        keys.sort();
        keys
    }
}

/// `len` bytes that differ from part to part, so a swapped part is caught.
pub fn patterned(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u8)
                .wrapping_mul(31)
                .wrapping_add((i >> 20) as u8)
                .wrapping_add(seed)
        })
        .collect()
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
            url: body["put"]["url"].as_str().unwrap_or_default().to_owned(),
            headers,
            body,
        }
    }
}
