//! The audit sink: every transition, every download link issued and every cleanup,
//! shipped in id order to a JSON-lines file, none twice even when shipping runs again.

use super::*;
use sluice_tests::{Leg, on_both_legs};

async fn every_event_in_order_and_none_twice(leg: Leg) {
    let file = std::env::temp_dir().join(format!("sluice-audit-{}.jsonl", uuid::Uuid::new_v4()));
    // No scheduled turn: this test ships itself.
    let app = TestApp::build(leg)
        .env("SLUICE__AUDIT__FILE", file.to_str().expect("utf8"))
        .env("SLUICE__QUEUE__SWEEP_INTERVAL", "1h")
        .start()
        .await;
    let alice = app.token("alice");
    let kept = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    let (status, stored) = app.commit(&alice, &kept.id).await;
    assert_eq!(status, StatusCode::OK);
    let file_id = stored["id"].as_str().expect("id").to_owned();
    for _ in 0..2 {
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/v1/files/{file_id}/download-url"),
                Some(&alice),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let aborted = app.create_text(&alice, 3).await;
    app.abort(&alice, &aborted.id).await;
    app.drain_jobs().await;

    // Shipping twice (a retry after a crash, or two turns) writes each event once.
    let first = app.running.ship_audit_now().await;
    let second = app.running.ship_audit_now().await;
    assert_eq!(second.file, Some(0), "nothing new the second time");
    let text = std::fs::read_to_string(&file).expect("audit file");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(first.file, Some(lines.len()));
    let ids: Vec<i64> = lines
        .iter()
        .map(|l| l["id"].as_i64().expect("id"))
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(ids, sorted, "in order, none twice");

    let of = |upload: &str, kind: &str| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| l["upload_id"] == upload && l["kind"] == kind)
            .cloned()
            .collect()
    };
    let transitions: Vec<String> = of(&kept.id, "transition")
        .iter()
        .map(|l| l["to_state"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        transitions,
        vec!["pending", "verifying", "uploaded", "committed"]
    );
    let links = of(&kept.id, "download_link");
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(links[0]["detail"]["file_id"], file_id);
    assert_eq!(links[0]["detail"]["owner"], "alice");
    assert_eq!(links[0]["actor"], "owner:alice");
    let aborted_states: Vec<String> = of(&aborted.id, "transition")
        .iter()
        .map(|l| l["to_state"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(aborted_states, vec!["pending", "aborted"]);
    let cleanups = of(&aborted.id, "cleanup");
    assert_eq!(cleanups.len(), 1, "{cleanups:?}");
    assert_eq!(
        cleanups[0]["detail"]["final"], false,
        "its URL is still valid"
    );

    // Every event in the database is in the file.
    let in_db = <sluice_entity::audit_event::Entity as sea_orm::EntityTrait>::find()
        .all(&app.running.core.db)
        .await
        .expect("events");
    assert_eq!(in_db.len(), lines.len());
    app.stop().await;
    std::fs::remove_file(&file).ok();
}
on_both_legs!(
    the_audit_file_holds_every_event_in_order_and_none_twice,
    every_event_in_order_and_none_twice
);

async fn the_http_sink_resends_after_a_failure_and_moves_on_after_success(leg: Leg) {
    let receiver = sluice_tests::WebhookReceiver::start(&[500]).await;
    let app = TestApp::build(leg)
        .env("SLUICE__AUDIT__HTTP_URL", &receiver.url)
        .env("SLUICE__QUEUE__SWEEP_INTERVAL", "1h")
        .start()
        .await;
    let alice = app.token("alice");
    let created = app.create_text(&alice, 3).await;
    // The endpoint fails: nothing is lost, the next turn sends the same events again.
    assert_eq!(app.running.ship_audit_now().await.http, None);
    assert_eq!(app.running.ship_audit_now().await.http, Some(1));
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body, "the same batch again");
    assert_eq!(received[1].body["events"][0]["upload_id"], created.id);
    // Delivered: the cursor moved, the next turn sends only what is new.
    assert_eq!(app.running.ship_audit_now().await.http, Some(0));
    app.abort(&alice, &created.id).await;
    // The abort owes a cleanup; once it ran, its event follows the transition's.
    app.drain_jobs().await;
    assert_eq!(app.running.ship_audit_now().await.http, Some(2));
    let last = receiver.received().pop().expect("third batch");
    assert_eq!(last.body["events"][0]["to_state"], "aborted");
    assert_eq!(last.body["events"][1]["kind"], "cleanup", "{}", last.body);
    app.stop().await;
    receiver.stop().await;
}
on_both_legs!(
    the_http_audit_sink_is_at_least_once_from_its_cursor,
    the_http_sink_resends_after_a_failure_and_moves_on_after_success
);
