//! Crash safety of the real binary: `sluice serve` killed with SIGKILL between create and
//! complete loses nothing. After a restart on the same data directory and services, the
//! session is still there and completes with URLs minted before the crash, or expires on
//! time and its object is deleted. Runs on the embedded stack and, when its services are
//! configured (`SLUICE_TEST_*`), on PostgreSQL + Redis + S3.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sluice_core::config::{Settings, load_from};
use sluice_tests::client_keys::TOKEN_SECRET;
use sluice_tests::{Leg, drop_test_database, environment, store_client};

struct Node {
    dir: PathBuf,
    api: String,
    store: String,
    env: Vec<(String, String)>,
    settings: Settings,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Node {
    /// A test world with fixed ports: presigned URLs name the store's address, so it must
    /// be the same after the restart.
    async fn new(leg: &Leg) -> Self {
        let dir = std::env::temp_dir().join(format!("sluice-kill-{}", uuid::Uuid::new_v4()));
        let (api_port, store_port) = (free_port(), free_port());
        let api_bind = format!("127.0.0.1:{api_port}");
        let store_bind = format!("127.0.0.1:{store_port}");
        let env = environment(
            leg,
            &dir,
            &[
                ("SLUICE__SERVER__BIND", &api_bind),
                ("SLUICE__STORAGE__EMBEDDED_BIND", &store_bind),
                ("SLUICE__PROFILES__SHORT__UPLOAD_TTL", "5s"),
            ],
        )
        .await;
        // Loading also generates the embedded store's keys into the data directory, where
        // the binary finds them.
        let settings = load_from(None, env.clone()).expect("settings");
        let store = settings
            .storage
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("http://{store_bind}"));
        Self {
            dir,
            api: format!("http://{api_bind}"),
            store,
            env,
            settings,
        }
    }

    /// Starts `sluice serve` and waits until it is ready.
    async fn start(&self) -> Child {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("serve")
            .env_remove("SLUICE_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sluice");
        let client = reqwest::Client::new();
        for _ in 0..200 {
            let ready = client.get(format!("{}/readyz", self.api)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return child;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        child.kill().ok();
        child.wait().ok();
        panic!("sluice did not become ready");
    }
}

fn kill(mut child: Child) {
    // SIGKILL: no graceful shutdown, no chance to flush anything.
    child.kill().expect("kill");
    child.wait().expect("reap");
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.post(url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn put(client: &reqwest::Client, created: &Value, body: &'static [u8]) -> u16 {
    let mut req = client
        .put(created["put"]["url"].as_str().expect("url"))
        .body(body);
    for (k, v) in created["put"]["headers"].as_object().expect("headers") {
        if k != "content-length" {
            req = req.header(k, v.as_str().expect("str"));
        }
    }
    req.send().await.expect("put").status().as_u16()
}

async fn sigkill_between_create_and_complete_loses_nothing(leg: Leg) {
    let node = Node::new(&leg).await;
    let client = reqwest::Client::new();
    let token = sluice_core::auth::mint_token(
        TOKEN_SECRET.as_bytes(),
        "alice",
        Duration::from_secs(600),
        None,
    )
    .expect("mint");

    let first = node.start().await;
    let (status, kept) = post(
        &client,
        format!("{}/v1/uploads", node.api),
        &token,
        Some(json!({"filename": "kept.txt", "size": 5, "content_type": "text/plain"})),
    )
    .await;
    assert_eq!(status, 201, "{kept}");
    let (status, doomed) = post(
        &client,
        format!("{}/v1/uploads", node.api),
        &token,
        Some(json!({"profile": "short", "filename": "doomed.txt", "size": 5, "content_type": "text/plain"})),
    )
    .await;
    assert_eq!(status, 201, "{doomed}");
    assert_eq!(put(&client, &doomed, b"bytes").await, 200);
    kill(first);

    let second = node.start().await;
    // The first session survived the crash and completes with URLs minted before it.
    assert_eq!(put(&client, &kept, b"hello").await, 200);
    let id = kept["id"].as_str().expect("id");
    let (status, session) = post(
        &client,
        format!("{}/v1/uploads/{id}/complete", node.api),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status, session["state"].as_str()),
        (200, Some("uploaded")),
        "{session}"
    );

    // The second expires on time although the process that scheduled it died.
    let id = doomed["id"].as_str().expect("id");
    let key = doomed["key"].as_str().expect("key");
    let bucket = store_client(&node.settings.storage, &node.store);
    let stored =
        |result: Result<(s3::serde_types::HeadObjectResult, u16), s3::error::S3Error>| match result
        {
            Ok((_, status)) => status < 300,
            Err(s3::error::S3Error::HttpFailWithBody(404, _)) => false,
            Err(e) => panic!("HEAD {key}: {e}"),
        };
    let mut state = String::new();
    for _ in 0..150 {
        let resp = client
            .get(format!("{}/v1/uploads/{id}", node.api))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get");
        let session: Value = resp.json().await.expect("json");
        state = session["state"].as_str().unwrap_or_default().to_owned();
        if state == "expired" && !stored(bucket.head_object(key).await) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "expired");
    assert!(!stored(bucket.head_object(key).await), "object not deleted");
    kill(second);
    if let (Leg::Production(p), Some(url)) = (&leg, &node.settings.database.url) {
        use secrecy::ExposeSecret;
        drop_test_database(&p.database_url, url.expose_secret()).await;
    }
    std::fs::remove_dir_all(&node.dir).ok();
}

#[tokio::test]
async fn embedded() {
    sigkill_between_create_and_complete_loses_nothing(Leg::Embedded).await;
}

#[tokio::test]
async fn production() {
    let Some(leg) = Leg::production() else { return };
    sigkill_between_create_and_complete_loses_nothing(leg).await;
}
