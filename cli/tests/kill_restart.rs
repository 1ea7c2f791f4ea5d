//! Crash safety of the real binary: `sluice serve` killed with SIGKILL between create and
//! complete loses nothing. After a restart on the same data directory the session is
//! still there and completes, or expires on time and its object is deleted.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const TOKEN_SECRET: &str = "kill-test-token-secret-0123456789-abcdef";

struct Node {
    dir: PathBuf,
    api_port: u16,
    store_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Node {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("sluice-kill-{}", uuid::Uuid::new_v4()));
        Self {
            dir,
            api_port: free_port(),
            store_port: free_port(),
        }
    }

    fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// Starts `sluice serve` and waits until it answers.
    async fn start(&self) -> Child {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("serve")
            .env("SLUICE__SERVER__DATA_DIR", &self.dir)
            .env(
                "SLUICE__SERVER__BIND",
                format!("127.0.0.1:{}", self.api_port),
            )
            .env("SLUICE__SERVER__WORKERS", "1")
            .env(
                "SLUICE__STORAGE__EMBEDDED_BIND",
                format!("127.0.0.1:{}", self.store_port),
            )
            .env("SLUICE__AUTH__TOKEN_SECRET", TOKEN_SECRET)
            .env("SLUICE__QUEUE__POLL_INTERVAL", "200ms")
            .env("SLUICE__QUEUE__SWEEP_INTERVAL", "2s")
            .env("SLUICE__PROFILES__SHORT__UPLOAD_TTL", "5s")
            .env_remove("SLUICE_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sluice");
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{}/readyz", self.api()))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return child;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        child.kill().ok();
        child.wait().ok();
        panic!("sluice did not become ready");
    }

    fn bucket(&self) -> Box<s3::Bucket> {
        let secrets = sluice_core::config::EmbeddedSecrets::load_or_create(Path::new(&self.dir))
            .expect("secrets");
        use secrecy::ExposeSecret;
        let region = s3::Region::Custom {
            region: "us-east-1".into(),
            endpoint: format!("http://127.0.0.1:{}", self.store_port),
        };
        let creds = s3::creds::Credentials::new(
            Some(&secrets.store_access_key_id),
            Some(secrets.store_secret_access_key.expose_secret()),
            None,
            None,
            None,
        )
        .expect("creds");
        s3::Bucket::new("sluice", region, creds)
            .expect("bucket")
            .with_path_style()
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

#[tokio::test]
async fn sigkill_between_create_and_complete_loses_nothing() {
    let node = Node::new();
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
        format!("{}/v1/uploads", node.api()),
        &token,
        Some(json!({"filename": "kept.txt", "size": 5, "content_type": "text/plain"})),
    )
    .await;
    assert_eq!(status, 201, "{kept}");
    let (status, doomed) = post(&client, format!("{}/v1/uploads", node.api()), &token,
        Some(json!({"profile": "short", "filename": "doomed.txt", "size": 5, "content_type": "text/plain"}))).await;
    assert_eq!(status, 201, "{doomed}");
    assert_eq!(put(&client, &doomed, b"bytes").await, 200);
    kill(first);

    let second = node.start().await;
    // The first session survived the crash and completes with URLs minted before it.
    assert_eq!(put(&client, &kept, b"hello").await, 200);
    let id = kept["id"].as_str().expect("id");
    let (status, session) = post(
        &client,
        format!("{}/v1/uploads/{id}/complete", node.api()),
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
    let bucket = node.bucket();
    let mut state = String::new();
    for _ in 0..150 {
        let resp = client
            .get(format!("{}/v1/uploads/{id}", node.api()))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get");
        let session: Value = resp.json().await.expect("json");
        state = session["state"].as_str().unwrap_or_default().to_owned();
        let gone = matches!(
            bucket.head_object(key).await,
            Err(s3::error::S3Error::HttpFailWithBody(404, _))
        );
        if state == "expired" && gone {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "expired");
    assert!(
        matches!(
            bucket.head_object(key).await,
            Err(s3::error::S3Error::HttpFailWithBody(404, _))
        ),
        "object not deleted"
    );
    kill(second);
    std::fs::remove_dir_all(&node.dir).ok();
}
