//! Issue 15, item 6: no worker storm. Deliveries waiting behind an earlier one of their
//! session whose endpoint is down are parked until it settles, not re-run every second:
//! the job runs over a window are the head deliveries' attempts plus one park per waiting
//! delivery, whatever the window's length; once the endpoint is back everything arrives,
//! in order per session.

use super::*;
use sluice_tests::{Leg, WEBHOOK_SECRET, WebhookReceiver, on_both_legs};

/// Sessions, each with three deliveries: `upload.uploaded` (the head) and two behind it.
const SESSIONS: usize = 4;
const WAITING: usize = SESSIONS * 2;
/// Seconds of (test-clock) time the endpoint stays down, in one-second steps.
const WINDOW: usize = 30;

fn runs(app: &TestApp, outcome: &str) -> u64 {
    app.running
        .core
        .metrics
        .job_runs
        .with_label_values(&["deliver_webhook", outcome])
        .get()
}

fn all_runs(app: &TestApp) -> u64 {
    ["done", "parked", "waiting", "retry", "gave_up"]
        .iter()
        .map(|o| runs(app, o))
        .sum()
}

async fn waiting_deliveries_cost_nothing_until_the_head_settles(leg: Leg) {
    let receiver = WebhookReceiver::start(&[]).await;
    receiver.down(503);
    let retries = format!("[{}]", vec!["\"2s\""; 40].join(", "));
    let app = TestApp::build(leg)
        .env("SLUICE__WEBHOOKS__ENDPOINTS__HOOK__URL", &receiver.url)
        .env("SLUICE__WEBHOOKS__ENDPOINTS__HOOK__SECRET", WEBHOOK_SECRET)
        .env("SLUICE__QUEUE__RETRY__DELIVER_WEBHOOK", &retries)
        .start()
        .await;
    let alice = app.token("alice");
    let mut sessions = Vec::new();
    for i in 0..SESSIONS {
        let created = app
            .upload_verified(&alice, "default", &format!("{i}.txt"), b"abc")
            .await;
        let (status, file) = app.commit(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        let file_id = file["id"].as_str().expect("id");
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/v1/files/{file_id}"),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        sessions.push(created.id);
    }
    app.drain_jobs().await;
    for _ in 0..WINDOW {
        app.advance_and_drain(Duration::from_secs(1)).await;
    }

    // The endpoint saw only the heads, retried on their schedule; the deliveries behind
    // them ran once each, to park. Before the fix: one run per waiting delivery per second.
    let attempts = receiver.received();
    assert!(
        attempts.iter().all(|r| r.body["type"] == "upload.uploaded"),
        "a later event overtook its head"
    );
    assert!(
        attempts.len() >= SESSIONS * 2,
        "heads were retried: {}",
        attempts.len()
    );
    let parked = runs(&app, "parked") + runs(&app, "waiting");
    assert!(
        parked <= 2 * WAITING as u64,
        "{parked} parked runs for {WAITING} waiting deliveries over {WINDOW} s"
    );
    assert!(
        all_runs(&app) <= attempts.len() as u64 + parked,
        "job runs beyond attempts and parks: {} runs, {} attempts, {parked} parks",
        all_runs(&app),
        attempts.len()
    );

    // Back up: every delivery arrives, each session's in order, and nothing storms.
    receiver.up();
    for _ in 0..3 {
        app.advance_and_drain(Duration::from_secs(2)).await;
    }
    let delivered: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.answered < 300)
        .collect();
    assert_eq!(delivered.len(), SESSIONS * 3, "{delivered:?}");
    for id in &sessions {
        let order: Vec<&str> = delivered
            .iter()
            .filter(|r| r.body["data"]["upload"]["id"] == id.as_str())
            .map(|r| r.body["type"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            order,
            vec!["upload.uploaded", "upload.committed", "file.deleted"],
            "session {id}"
        );
    }
    assert!(delivered.iter().all(|r| r.signature_valid));
    assert!(runs(&app, "parked") + runs(&app, "waiting") <= 2 * WAITING as u64);
    for id in &sessions {
        let id = sluice_core::ids::UploadId(id.parse().expect("uuid"));
        let deliveries = sluice_core::test_support::webhooks::of_upload(&app.running.core.db, id)
            .await
            .expect("deliveries");
        assert!(
            deliveries.iter().all(|d| d.status == "delivered"),
            "{deliveries:?}"
        );
    }
    app.stop().await;
    receiver.stop().await;
}
on_both_legs!(
    webhooks_waiting_behind_a_down_endpoint_are_parked_not_polled,
    waiting_deliveries_cost_nothing_until_the_head_settles
);

/// A wake-up is never lost to a park that races it. The one ahead settles in a
/// transaction that wakes the delivery behind it; that delivery's job, running at the
/// same moment, parks (`postpone`) and then looks once more. A wake that left the row
/// untouched (it was due already: the job was running) took no lock, so the park and the
/// look could both fall before the waker's commit, and the delivery slept for the park's
/// whole backstop (the chaos run found four). The wake must hold the row until its
/// transaction ends, so the park waits for it.
async fn a_wake_holds_the_row_until_its_transaction_ends(leg: Leg) {
    use sea_orm::TransactionTrait;
    use sluice_core::outbox;
    let app = TestApp::build(leg).without_workers().start().await;
    let core = app.running.core.clone();
    // The job is due in an hour of the app's clock, so the app's own relay (it runs in
    // every process) leaves it alone; the test claims it as a relay an hour on would, and
    // wakes it later still, when it is due already: a wake that changes nothing.
    let hour = chrono::Duration::hours(1);
    let now = core.now();
    let job = sluice_core::jobs::DeliverWebhook {
        delivery_id: 1,
        upload_id: Some(sluice_core::ids::UploadId(uuid::Uuid::new_v4())),
    };
    let due = sluice_core::jobs::NewJob::at(job, now + hour);
    let _ = outbox::append(&core.db, now, &[due]).await.expect("job");
    let lease = Duration::from_secs(60);
    let claimed = outbox::claim_due(&core.db, now + hour, lease, "running", 10)
        .await
        .expect("claim");
    let row = claimed
        .into_iter()
        .next()
        .expect("the job is due and claimed");

    let waker = core.db.begin().await.expect("begin");
    let _ = outbox::wake(&waker, &[row.id], now + hour * 2)
        .await
        .expect("wake");
    let parker = {
        let (core, row) = (core.clone(), row.clone());
        let backstop = now + hour * 3;
        tokio::spawn(async move { outbox::postpone(&core.db, &row, "running", backstop).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !parker.is_finished(),
        "the park went through while the waker's transaction was open"
    );
    waker.commit().await.expect("commit");
    parker.await.expect("task").expect("park");
    app.stop().await;
}
on_both_legs!(
    wakes_are_never_lost_to_a_racing_park,
    a_wake_holds_the_row_until_its_transaction_ends
);
