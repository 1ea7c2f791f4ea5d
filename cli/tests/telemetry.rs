//! OpenTelemetry traces end to end: the real binary with `telemetry.otlp_endpoint` set
//! exports to an OTLP/HTTP receiver of the test's own, and one upload's requests (create
//! and complete, both sent with the caller's `traceparent`), the job that verifies its
//! bytes (a re-hash: `scan_upload`) and the delivery of its webhook all land in the
//! caller's trace, the jobs carried there through the job table. The embedded stack.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sluice_tests::client_keys::TOKEN_SECRET;
use sluice_tests::{
    Leg, OtlpReceiver, SeenSpan, SluiceProcess, WEBHOOK_SECRET, WebhookReceiver, environment,
    free_port,
};

fn random_hex(bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rand_byte())).collect()
}

fn rand_byte() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0]
}

#[actix_rt::test]
async fn one_uploads_requests_jobs_and_webhook_share_the_callers_trace() {
    let dir = std::env::temp_dir().join(format!("sluice-telemetry-{}", uuid::Uuid::new_v4()));
    let otlp = OtlpReceiver::start().await;
    let hooks = WebhookReceiver::start(&[]).await;
    let port = free_port();
    let env = environment(
        &Leg::Embedded,
        &dir,
        &[
            ("SLUICE__SERVER__BIND", &format!("127.0.0.1:{port}")),
            ("SLUICE__TELEMETRY__OTLP_ENDPOINT", &otlp.url),
            ("SLUICE__TELEMETRY__SERVICE_NAME", "sluice-under-test"),
            ("SLUICE__PROFILES__DEFAULT__REHASH", "true"),
            ("SLUICE__WEBHOOKS__ENDPOINTS__APP__URL", &hooks.url),
            ("SLUICE__WEBHOOKS__ENDPOINTS__APP__SECRET", WEBHOOK_SECRET),
        ],
    )
    .await;
    let mut process = SluiceProcess::spawn(
        Path::new(env!("CARGO_BIN_EXE_sluice")),
        &["serve"],
        &env,
        &dir,
        "serve",
    );
    let api = format!("http://127.0.0.1:{port}");
    process.wait_ready(&api).await;
    let token = sluice_core::auth::mint_token_for(
        TOKEN_SECRET.as_bytes(),
        "alice",
        Duration::from_secs(600),
        None,
        &sluice_core::auth::TokenRules::default(),
    )
    .expect("token");

    // The caller's trace: each of its requests a new span of it.
    let trace_id = random_hex(16);
    let traceparent = || format!("00-{trace_id}-{}-01", random_hex(8));
    let http = reqwest::Client::new();
    let body = b"traced bytes".to_vec();
    let sha256: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let created: Value = http
        .post(format!("{api}/v1/uploads"))
        .bearer_auth(&token)
        .header("traceparent", traceparent())
        .json(&json!({"filename": "traced.txt", "size": body.len(), "content_type": "text/plain", "sha256": sha256}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = created["id"].as_str().expect("id").to_owned();
    let mut put = http.put(created["put"]["url"].as_str().expect("url"));
    for (k, v) in created["put"]["headers"].as_object().expect("headers") {
        if k != "content-length" {
            put = put.header(k, v.as_str().expect("header"));
        }
    }
    assert!(
        put.body(body)
            .send()
            .await
            .expect("PUT")
            .status()
            .is_success()
    );
    let completed = http
        .post(format!("{api}/v1/uploads/{id}/complete"))
        .bearer_auth(&token)
        .header("traceparent", traceparent())
        .send()
        .await
        .expect("complete");
    assert!(completed.status().is_success(), "{}", completed.status());

    // The re-hash job verifies the bytes, the upload becomes `uploaded`, its webhook is
    // delivered; the batch exporter sends within seconds.
    let mut last = Vec::new();
    for _ in 0..300 {
        last = otlp
            .spans()
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect::<Vec<SeenSpan>>();
        let has = |name: &str, key: &str, value: &str| {
            last.iter()
                .any(|s| s.name == name && s.attributes.get(key).map(String::as_str) == Some(value))
        };
        if has("request", "route", "/v1/uploads")
            && has("request", "route", "/v1/uploads/:id/complete")
            && has("job", "kind", "scan_upload")
            && has("job", "kind", "deliver_webhook")
            && last.iter().any(|s| s.name == "store")
            && last.iter().any(|s| s.name == "db.transaction")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let names: Vec<String> = last
        .iter()
        .map(|s| {
            format!(
                "{} {:?}",
                s.name,
                s.attributes.get("kind").or(s.attributes.get("route"))
            )
        })
        .collect();
    for (name, key, value) in [
        ("request", "route", "/v1/uploads"),
        ("request", "route", "/v1/uploads/:id/complete"),
        ("job", "kind", "scan_upload"),
        ("job", "kind", "deliver_webhook"),
    ] {
        assert!(
            last.iter()
                .any(|s| s.name == name && s.attributes.get(key).map(String::as_str) == Some(value)),
            "no {name} span with {key}={value} in the caller's trace: {names:?}"
        );
    }
    assert!(
        last.iter().any(|s| s.name == "store"),
        "store calls: {names:?}"
    );
    assert!(
        last.iter().any(|s| s.name == "db.transaction"),
        "transactions: {names:?}"
    );
    assert!(
        last.iter().all(|s| s.service == "sluice-under-test"),
        "{last:?}"
    );
    // Every span of the trace hangs off another of it or off the caller's spans.
    let ids: Vec<&str> = last.iter().map(|s| s.span_id.as_str()).collect();
    assert!(
        last.iter().all(|s| !s.parent_span_id.is_empty()),
        "no root span of Sluice's own in the caller's trace: {names:?}"
    );
    assert!(ids.len() >= 6, "{names:?}");
    let delivered = hooks.received();
    assert!(
        delivered
            .iter()
            .any(|r| r.body["type"] == "upload.uploaded"),
        "{delivered:?}"
    );
    process.kill();
    otlp.stop().await;
    std::fs::remove_dir_all(dir).ok();
}
