//! Every object accounted for: a session that leaves the books owes the bucket a cleanup
//! of its key, retried for as long as the store is away, and repeated once after the last
//! upload URL expired, so that a late PUT (a slow transfer, a retry, a hostile client)
//! cannot leave a billed object behind. Committed files are never touched.

use super::*;

const HOUR: Duration = Duration::from_secs(3600);

/// Whether the session's row records its key as clean for good.
async fn cleaned(app: &TestApp, id: &str) -> bool {
    let id = sluice_core::ids::UploadId(id.parse().expect("uuid"));
    let row = sluice_core::test_support::upload::find(&app.running.core.db, id)
        .await
        .expect("read")
        .expect("session");
    row.cleaned_at.is_some() && row.cleanup_due_at.is_none()
}

/// PUTs with the session's original URL after it ended, and checks the object is gone
/// once the URL expired (1h, the upload TTL) plus the grace (1h), not before.
async fn late_put_is_cleaned_after_the_url_and_grace(
    app: &TestApp,
    created: &sluice_tests::Created,
) {
    app.drain_jobs().await;
    assert!(
        !app.object_exists(&created.key).await,
        "first cleanup round"
    );
    assert!(
        app.put(created, b"abc".to_vec()).await.is_success(),
        "the store still takes the URL"
    );
    assert!(app.object_exists(&created.key).await);
    assert!(!cleaned(app, &created.id).await, "a round is still owed");

    // The URL has expired, but a transfer begun just before may still be landing.
    app.advance_and_drain(HOUR + Duration::from_secs(1)).await;
    assert!(
        app.object_exists(&created.key).await,
        "cleaned before the grace ended"
    );
    app.advance_and_drain(HOUR).await;
    assert!(
        !app.object_exists(&created.key).await,
        "the late PUT's object is billed forever"
    );
    assert!(cleaned(app, &created.id).await);
}

e2e!(a_late_put_after_abort_leaves_no_object, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 3).await;
    let (status, _) = app.abort(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK);
    late_put_is_cleaned_after_the_url_and_grace(&app, &created).await;
});

e2e!(a_late_put_after_rejection_leaves_no_object, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 3).await;
    // A store that did not enforce the signed length: 5 bytes instead of 3.
    app.bucket
        .put_object_with_content_type(&created.key, b"abcde", "text/plain")
        .await
        .expect("direct put");
    let (status, problem) = app.complete(&alice, &created.id).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    late_put_is_cleaned_after_the_url_and_grace(&app, &created).await;
});

e2e!(a_late_put_after_expiry_leaves_no_object, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 3).await;
    // Sluice's clock passes the deadline; the store's real clock still takes the URL.
    app.advance_and_drain(HOUR - Duration::from_secs(60)).await;
    app.advance_and_drain(Duration::from_secs(61)).await;
    assert_eq!(app.session(&alice, &created.id).await["state"], "expired");
    assert!(!app.object_exists(&created.key).await);
    assert!(app.put(&created, b"abc".to_vec()).await.is_success());
    // The URL expired with the deadline; only the grace is left.
    app.advance_and_drain(HOUR + Duration::from_secs(1)).await;
    assert!(
        !app.object_exists(&created.key).await,
        "the late PUT's object is billed forever"
    );
    assert!(cleaned(&app, &created.id).await);
});

e2e!(
    an_outage_longer_than_every_retry_ends_with_a_clean_bucket,
    with | b
        | b.behind_proxy()
            .env("SLUICE__QUEUE__RETRY__CLEANUP_SESSION", "[\"1s\", \"10s\"]")
            .env("SLUICE__QUEUE__RETRY__VERIFY_UPLOAD", "[\"1s\", \"10s\"]"),
    |app| {
        let alice = app.token("alice");
        let to_abort = app.create_text(&alice, 3).await;
        let to_reject = app.create_text(&alice, 3).await;
        let to_expire = app.create_text(&alice, 3).await;
        let to_keep = app.create_text(&alice, 3).await;
        for created in [&to_abort, &to_expire, &to_keep] {
            assert!(app.put(created, b"abc".to_vec()).await.is_success());
        }
        app.bucket
            .put_object_with_content_type(&to_reject.key, b"abcde", "text/plain")
            .await
            .expect("direct put");

        // First the store refuses deletes while it still answers HEADs: a rejection
        // happens, and its cleanup fails.
        app.faults.set(sluice_tests::Faults {
            delete: true,
            ..Default::default()
        });
        let (status, _) = app.complete(&alice, &to_reject.id).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // Then it goes away altogether.
        app.proxy().cut();
        let (status, _) = app.abort(&alice, &to_abort.id).await;
        assert_eq!(status, StatusCode::OK);
        let (status, session) = app.complete(&alice, &to_keep.id).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{session}");
        app.advance_and_drain(HOUR + Duration::from_secs(1)).await;
        assert_eq!(app.session(&alice, &to_expire.id).await["state"], "expired");

        // Far longer than the longest retry delay (10s): every cleanup failed many times.
        for _ in 0..12 {
            app.advance_and_drain(Duration::from_secs(30)).await;
        }
        for created in [&to_abort, &to_reject, &to_expire, &to_keep] {
            assert!(
                app.object_exists(&created.key).await,
                "nothing could be deleted yet"
            );
        }

        app.faults.set(sluice_tests::Faults::default());
        app.proxy().restore();
        app.advance_and_drain(Duration::from_secs(11)).await;
        for created in [&to_abort, &to_reject, &to_expire] {
            assert!(
                !app.object_exists(&created.key).await,
                "{} left behind",
                created.key
            );
        }
        let kept = app.session(&alice, &to_keep.id).await;
        assert_eq!(kept["state"], "uploaded", "{kept}");
        assert_eq!(app.list_keys().await, vec![to_keep.key.clone()]);

        // Past the last URL and its grace every ended session is clean for good.
        app.advance_and_drain(3 * HOUR).await;
        for created in [&to_abort, &to_reject, &to_expire] {
            assert!(
                cleaned(&app, &created.id).await,
                "{} not recorded clean",
                created.id
            );
        }
    }
);

e2e!(
    the_sweep_gives_a_lost_cleanup_job_back,
    // No scheduled sweep during the test: it runs the sweep itself, when it means to.
    with | b | b.env("SLUICE__QUEUE__SWEEP_INTERVAL", "1h"),
    |app| {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        let (status, _) = app.abort(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK);
        // The first round runs; then a late PUT lands, owed the round after its URL.
        app.drain_jobs().await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        // Someone deletes every job row of the session: that round's job is lost.
        sluice_entity::outbox_job::Entity::delete_many()
            .filter(
                sluice_entity::outbox_job::Column::UploadId
                    .eq(created.id.parse::<uuid::Uuid>().expect("uuid")),
            )
            .exec(&app.running.core.db)
            .await
            .expect("delete job rows");
        app.advance_and_drain(3 * HOUR).await;
        assert!(app.object_exists(&created.key).await, "no job, no cleanup");

        // A sweep gives the job back and the key is cleaned. Usually the one run here;
        // on a loaded machine the start-up sweep (a task of its own) may run late, after
        // the rows were deleted, and give it back first: then this one finds nothing lost.
        let report = app.running.sweep_now().await;
        assert!(report.cleanups_redriven <= 1, "{report:?}");
        app.drain_jobs().await;
        app.assert_cleaned(&created.key).await;
    }
);
