//! Webhook deliveries an operator can see and replay, through the admin API against a
//! real receiver: every attempt with its status, latency and the start of the answer; a
//! given-up delivery replayed with its original `webhook-id`; every failed one of an
//! endpoint since a time; an endpoint paused (nothing attempted, nothing lost) and resumed
//! (everything delivered, in order per session); per-endpoint health.

use std::time::Duration;

use sluice_tests::client_keys::ADMIN_KEY;
use sluice_tests::{Leg, WEBHOOK_SECRET, WebhookReceiver, on_both_legs};

use super::*;

async fn admin(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    app.call(method, path, Some(ADMIN_KEY), body).await
}

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, page) = admin(
        app,
        Method::GET,
        &format!("/v1/admin/webhooks/deliveries?{query}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().expect("items").clone()
}

async fn health(app: &TestApp, endpoint: &str) -> Value {
    let (status, body) = admin(app, Method::GET, "/v1/admin/webhooks/endpoints", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .find(|e| e["name"] == endpoint)
        .cloned()
        .expect("the endpoint")
}

/// Message ids the receiver answered 2xx, in arrival order.
fn delivered_ids(receiver: &WebhookReceiver) -> Vec<String> {
    receiver
        .received()
        .into_iter()
        .filter(|r| r.answered < 300)
        .map(|r| r.message_id)
        .collect()
}

async fn deliveries_can_be_seen_replayed_paused_and_resumed(leg: Leg) {
    // Two failures: with one retry, the first delivery is given up.
    let receiver = WebhookReceiver::start(&[500, 500]).await;
    let app = TestApp::build(leg)
        .env("SLUICE__WEBHOOKS__ENDPOINTS__APP__URL", &receiver.url)
        .env("SLUICE__WEBHOOKS__ENDPOINTS__APP__SECRET", WEBHOOK_SECRET)
        .env(
            "SLUICE__WEBHOOKS__ENDPOINTS__APP__EVENTS",
            "[\"upload.uploaded\", \"upload.committed\"]",
        )
        .env("SLUICE__QUEUE__RETRY__DELIVER_WEBHOOK", "[\"1s\"]")
        .start()
        .await;
    let alice = app.token("alice");
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    let first = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    app.drain_jobs().await;
    app.advance_and_drain(Duration::from_secs(2)).await;

    // Given up after two attempts, each in the log with what the receiver said.
    let failed = deliveries(&app, "endpoint=app&status=failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    let delivery = &failed[0];
    assert_eq!(delivery["upload_id"], first.id.as_str());
    assert_eq!(delivery["event"], "upload.uploaded");
    let log = delivery["attempt_log"].as_array().expect("attempt_log");
    assert_eq!(log.len(), 2, "{delivery}");
    for attempt in log {
        assert_eq!(attempt["status"], 500, "{attempt}");
        assert!(attempt["latency_ms"].as_i64().is_some(), "{attempt}");
        let excerpt = attempt["response_excerpt"].as_str().unwrap_or_default();
        assert!(excerpt.contains("the receiver answered 500"), "{attempt}");
        assert!(!excerpt.contains(WEBHOOK_SECRET), "{attempt}");
    }
    let h = health(&app, "app").await;
    assert_eq!(
        (h["failed"].as_u64(), h["attempts_24h"].as_u64()),
        (Some(1), Some(2)),
        "{h}"
    );
    assert_eq!(h["success_rate_24h"], 0.0, "{h}");

    // Replayed: the same webhook-id reaches the receiver, and the delivery is delivered.
    let message_id = delivery["message_id"]
        .as_str()
        .expect("message_id")
        .to_owned();
    let id = delivery["id"].as_i64().expect("id");
    let (status, replayed) = admin(
        &app,
        Method::POST,
        &format!("/v1/admin/webhooks/deliveries/{id}/replay"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replayed}");
    assert_eq!(replayed["status"], "pending");
    app.drain_jobs().await;
    assert_eq!(delivered_ids(&receiver), vec![message_id.clone()]);
    let after = deliveries(&app, &format!("upload_id={}", first.id)).await;
    assert_eq!(after[0]["status"], "delivered", "{after:?}");
    assert_eq!(after[0]["attempt_log"].as_array().map(Vec::len), Some(3));
    // Every attempt is counted per endpoint and outcome, for alerts.
    let scrape = super::metrics::scrape(&app).await;
    let attempts = |outcome: &str| {
        scrape.value(
            "sluice_webhook_attempts_total",
            &[("endpoint", "app"), ("outcome", outcome)],
        )
    };
    assert_eq!((attempts("failed"), attempts("delivered")), (2.0, 1.0));
    // A delivered one may be replayed again; an unknown one is not found.
    let (status, problem) = admin(
        &app,
        Method::POST,
        "/v1/admin/webhooks/deliveries/999999/replay",
        None,
    )
    .await;
    assert_problem!(status, &problem, ErrorCode::NotFound);

    // Every failed delivery of the endpoint since a time, at once.
    receiver.answer(&[500, 500, 500, 500]);
    app.upload_verified(&alice, "default", "b.txt", b"bbb")
        .await;
    app.upload_verified(&alice, "default", "c.txt", b"ccc")
        .await;
    app.drain_jobs().await;
    app.advance_and_drain(Duration::from_secs(2)).await;
    let failed = deliveries(&app, "endpoint=app&status=failed").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    let (status, answer) = admin(
        &app,
        Method::POST,
        "/v1/admin/webhooks/endpoints/app/replay",
        Some(json!({"since": since})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["replayed"], 2);
    app.drain_jobs().await;
    let heard = delivered_ids(&receiver);
    for d in &failed {
        assert!(
            heard.contains(&d["message_id"].as_str().unwrap_or_default().to_owned()),
            "{heard:?}"
        );
    }
    assert!(
        deliveries(&app, "endpoint=app&status=failed")
            .await
            .is_empty()
    );

    // Paused: nothing is attempted, nothing is lost.
    let (status, body) = admin(
        &app,
        Method::POST,
        "/v1/admin/webhooks/endpoints/app/pause",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let attempts_before = health(&app, "app").await["attempts_24h"].clone();
    let heard_before = receiver.received().len();
    let held = app
        .upload_verified(&alice, "default", "d.txt", b"ddd")
        .await;
    let (status, _) = app.commit(&alice, &held.id).await;
    assert_eq!(status, StatusCode::OK);
    app.upload_verified(&alice, "default", "e.txt", b"eee")
        .await;
    app.drain_jobs().await;
    app.advance_and_drain(Duration::from_secs(3600)).await;
    assert_eq!(
        receiver.received().len(),
        heard_before,
        "a paused endpoint was called"
    );
    let h = health(&app, "app").await;
    assert!(h["paused_at"].is_string(), "{h}");
    assert_eq!(h["pending"], 3, "{h}");
    assert_eq!(
        h["attempts_24h"], attempts_before,
        "pausing costs no attempts: {h}"
    );

    // Resumed: all three arrive, once each, the held session's in order.
    let (status, body) = admin(
        &app,
        Method::POST,
        "/v1/admin/webhooks/endpoints/app/resume",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.drain_jobs().await;
    let late: Vec<_> = receiver.received().into_iter().skip(heard_before).collect();
    assert_eq!(late.len(), 3, "{late:?}");
    let of_held: Vec<&str> = late
        .iter()
        .filter(|r| r.body["data"]["upload"]["id"] == held.id.as_str())
        .map(|r| r.body["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(of_held, ["upload.uploaded", "upload.committed"]);
    let h = health(&app, "app").await;
    assert!(h["paused_at"].is_null(), "{h}");
    assert_eq!(h["pending"], 0, "{h}");

    let (status, problem) = admin(
        &app,
        Method::POST,
        "/v1/admin/webhooks/endpoints/nope/pause",
        None,
    )
    .await;
    assert_problem!(status, &problem, ErrorCode::NotFound);
    // Not for upload tokens.
    let (status, _) = app
        .call(
            Method::GET,
            "/v1/admin/webhooks/deliveries",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
    receiver.stop().await;
}
on_both_legs!(
    deliveries_seen_replayed_paused_resumed,
    deliveries_can_be_seen_replayed_paused_and_resumed
);
