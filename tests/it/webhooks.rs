//! Signed webhooks through a real receiver: delivery, retry after a 500 with the same
//! `webhook-id`, no duplicate after a 200, per-session order, and an endpoint that keeps
//! failing given up without blocking another.

use super::*;
use sluice_tests::{Leg, WEBHOOK_SECRET, WebhookReceiver, on_both_legs};

async fn app_with(leg: Leg, endpoints: &[(&str, &str)]) -> TestApp {
    let mut spawn = TestApp::build(leg);
    for (name, url) in endpoints {
        let var = |field: &str| {
            format!(
                "SLUICE__WEBHOOKS__ENDPOINTS__{}__{field}",
                name.to_uppercase()
            )
        };
        spawn = spawn
            .env(&var("URL"), url)
            .env(&var("SECRET"), WEBHOOK_SECRET);
    }
    spawn.start().await
}

fn types(received: &[sluice_tests::Received]) -> Vec<String> {
    received
        .iter()
        .filter(|r| r.answered < 300)
        .map(|r| r.body["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn retried_after_a_500_with_the_same_id_and_never_again_after_a_200(leg: Leg) {
    let receiver = WebhookReceiver::start(&[500]).await;
    let app = app_with(leg, &[("hook", &receiver.url)]).await;
    let alice = app.token("alice");
    let created = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    app.drain_jobs().await;
    let first = receiver.received();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].answered, 500);
    assert!(first[0].signature_valid, "bad signature");
    assert!(first[0].message_id.starts_with("msg_"));

    // The first retry is due 5 s later.
    app.advance_and_drain(Duration::from_secs(6)).await;
    let second = receiver.received();
    assert_eq!(second.len(), 2, "{second:?}");
    assert_eq!(
        second[1].message_id, second[0].message_id,
        "same webhook-id"
    );
    assert!(second[1].signature_valid);
    assert_eq!(second[1].answered, 200);
    let body = &second[1].body;
    assert_eq!(body["type"], "upload.uploaded");
    assert_eq!(body["data"]["upload"]["id"], created.id);
    assert_eq!(body["data"]["upload"]["state"], "uploaded");
    let text = body.to_string();
    assert!(
        !text.contains("X-Amz-Signature")
            && !text.contains(sluice_tests::client_keys::TOKEN_SECRET)
    );

    // Delivered: hours later nothing is sent again.
    app.advance_and_drain(Duration::from_secs(12 * 3600)).await;
    assert_eq!(receiver.received().len(), 2);
    let id = sluice_core::ids::UploadId(created.id.parse().expect("uuid"));
    let deliveries = sluice_core::test_support::webhooks::of_upload(&app.running.core.db, id)
        .await
        .expect("deliveries");
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        (deliveries[0].status.as_str(), deliveries[0].attempts),
        ("delivered", 2)
    );
    let attempts =
        sluice_core::test_support::webhooks::attempts_of(&app.running.core.db, deliveries[0].id)
            .await
            .expect("attempts");
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![Some(500), Some(200)]
    );
    assert!(attempts[0].next_try.is_some() && attempts[1].next_try.is_none());
    app.stop().await;
    receiver.stop().await;
}
on_both_legs!(
    a_webhook_is_retried_after_a_500_and_sent_once_after_a_200,
    retried_after_a_500_with_the_same_id_and_never_again_after_a_200
);

async fn events_of_a_session_arrive_in_order(leg: Leg) {
    // The first event fails once: the later ones wait for it.
    let receiver = WebhookReceiver::start(&[503]).await;
    let app = app_with(leg, &[("hook", &receiver.url)]).await;
    let alice = app.token("alice");
    let created = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    let (status, file) = app.commit(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK);
    let file_id = file["id"].as_str().expect("id").to_owned();
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/files/{file_id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.drain_jobs().await;
    for _ in 0..5 {
        app.advance_and_drain(Duration::from_secs(6)).await;
    }
    let received = receiver.received();
    assert_eq!(
        types(&received),
        vec!["upload.uploaded", "upload.committed", "file.deleted"],
        "{received:?}"
    );
    assert!(received.iter().all(|r| r.signature_valid));
    let committed = received
        .iter()
        .find(|r| r.body["type"] == "upload.committed")
        .expect("committed");
    assert_eq!(committed.body["data"]["file_id"], file_id);
    app.stop().await;
    receiver.stop().await;
}
on_both_legs!(
    webhooks_of_one_session_arrive_in_order,
    events_of_a_session_arrive_in_order
);

async fn a_failing_endpoint_is_given_up_and_blocks_no_other(leg: Leg) {
    let broken = WebhookReceiver::start(&[500; 20]).await;
    let healthy = WebhookReceiver::start(&[]).await;
    let app = TestApp::build(leg)
        .env("SLUICE__WEBHOOKS__ENDPOINTS__BROKEN__URL", &broken.url)
        .env(
            "SLUICE__WEBHOOKS__ENDPOINTS__BROKEN__SECRET",
            WEBHOOK_SECRET,
        )
        .env("SLUICE__WEBHOOKS__ENDPOINTS__HEALTHY__URL", &healthy.url)
        .env(
            "SLUICE__WEBHOOKS__ENDPOINTS__HEALTHY__SECRET",
            WEBHOOK_SECRET,
        )
        .env(
            "SLUICE__WEBHOOKS__ENDPOINTS__HEALTHY__EVENTS",
            "[\"upload.uploaded\"]",
        )
        .env("SLUICE__QUEUE__RETRY__DELIVER_WEBHOOK", "[\"1s\", \"2s\"]")
        .start()
        .await;
    let alice = app.token("alice");
    let created = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    app.commit(&alice, &created.id).await;
    app.drain_jobs().await;
    // The healthy endpoint has what it subscribed to at once, and only that.
    assert_eq!(types(&healthy.received()), vec!["upload.uploaded"]);
    for _ in 0..4 {
        app.advance_and_drain(Duration::from_secs(3)).await;
    }
    // Three attempts (the schedule has two retries), then given up: nothing more.
    let failed: Vec<_> = broken
        .received()
        .iter()
        .map(|r| r.body["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        failed.iter().filter(|t| *t == "upload.uploaded").count(),
        3,
        "{failed:?}"
    );
    let id = sluice_core::ids::UploadId(created.id.parse().expect("uuid"));
    let deliveries = sluice_core::test_support::webhooks::of_upload(&app.running.core.db, id)
        .await
        .expect("deliveries");
    let broken_uploaded = deliveries
        .iter()
        .find(|d| d.endpoint == "broken" && d.event_type == "upload.uploaded")
        .expect("delivery");
    assert_eq!(
        (broken_uploaded.status.as_str(), broken_uploaded.attempts),
        ("failed", 3)
    );
    app.stop().await;
    broken.stop().await;
    healthy.stop().await;
}
on_both_legs!(
    an_endpoint_that_keeps_failing_is_given_up_alone,
    a_failing_endpoint_is_given_up_and_blocks_no_other
);

/// Committing a file writes its `upload.committed` delivery, due now; committing that
/// write wakes the relay (`sluice_core::write`). With the relay's own timer an hour long
/// and no job drained by the test after the commit, only that wake can send it: without
/// it the receiver hears nothing for an hour. (The wait below is a bound on "at all",
/// not a speed goal; the delivery's latency is measured in bench/.)
async fn committing_a_file_sends_its_webhook_without_the_relays_timer(leg: Leg) {
    let leg_name = leg.name();
    let receiver = WebhookReceiver::start(&[]).await;
    let app = TestApp::build(leg)
        .env("SLUICE__WEBHOOKS__ENDPOINTS__HOOK__URL", &receiver.url)
        .env("SLUICE__WEBHOOKS__ENDPOINTS__HOOK__SECRET", WEBHOOK_SECRET)
        .env("SLUICE__QUEUE__RELAY_INTERVAL", "1h")
        .start()
        .await;
    assert_eq!(
        app.running.core.settings.queue.relay_interval.get(),
        Duration::from_secs(3600)
    );
    let alice = app.token("alice");
    let created = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    app.drain_jobs().await;
    assert_eq!(types(&receiver.received()), ["upload.uploaded"]);
    // Let what the first delivery set going end (its settle, the relay's wake for its
    // claim's lease), so that nothing but the commit can wake the relay. Too short a
    // pause could only let a broken wake pass, never fail a working one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let committing = std::time::Instant::now();
    let (status, file) = app.commit(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    let heard = loop {
        let heard = receiver
            .received()
            .into_iter()
            .find(|r| r.body["type"] == "upload.committed" && r.answered < 300);
        if heard.is_some() || std::time::Instant::now() > give_up {
            break heard;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let heard = heard.expect("upload.committed delivered with the relay's timer an hour away");
    // Reported, not asserted (a loaded machine is no failure): the note's figures.
    eprintln!(
        "upload.committed heard {} ms after the commit was sent ({leg_name})",
        committing.elapsed().as_millis()
    );
    assert_eq!(heard.body["data"]["upload"]["id"], created.id);
    assert_eq!(heard.body["data"]["file_id"], file["id"]);
    assert!(heard.signature_valid);
    app.stop().await;
    receiver.stop().await;
}
on_both_legs!(
    committing_wakes_the_relay,
    committing_a_file_sends_its_webhook_without_the_relays_timer
);
