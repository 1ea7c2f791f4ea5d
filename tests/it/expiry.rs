//! Deadlines: a session not completed within the upload TTL, or not committed within the
//! commit TTL, expires by its job and its object is deleted. The clock is jumped, never
//! waited for.

use super::*;

const HOUR: Duration = Duration::from_secs(3600);

e2e!(
    pending_upload_expires_at_its_deadline_and_its_object_is_deleted,
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        // A second before the deadline nothing happens.
        app.advance_and_drain(HOUR - Duration::from_secs(1)).await;
        assert_eq!(app.session(&alice, &created.id).await["state"], "pending");
        assert!(app.object_exists(&created.key).await);

        app.advance_and_drain(Duration::from_secs(2)).await;
        assert_eq!(app.session(&alice, &created.id).await["state"], "expired");
        assert!(!app.object_exists(&created.key).await);
        // Refused as a request past the deadline is, whoever expired the session.
        let (status, problem) = app.complete(&alice, &created.id).await;
        assert_problem!(status, &problem, ErrorCode::Expired);
        assert_eq!(problem["state"], "expired");
    }
);

e2e!(
    uploaded_but_uncommitted_expires_after_the_commit_ttl,
    |app| {
        let alice = app.token("alice");
        let created = app
            .upload_verified(&alice, "default", "a.txt", b"abc")
            .await;
        app.advance_and_drain(23 * HOUR).await;
        assert_eq!(app.session(&alice, &created.id).await["state"], "uploaded");
        app.advance_and_drain(HOUR + Duration::from_secs(1)).await;
        assert_eq!(app.session(&alice, &created.id).await["state"], "expired");
        assert!(!app.object_exists(&created.key).await);
    }
);

e2e!(committed_files_never_expire_nor_are_cleaned, |app| {
    let alice = app.token("alice");
    let created = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    let (status, _) = app.commit(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK);
    // The expiries its earlier states owed were withdrawn with the commit: no job is left.
    let backlog = sluice_core::outbox::backlog(&app.running.core.db, app.running.core.now())
        .await
        .expect("backlog");
    assert_eq!(backlog.total, 0, "{backlog:?}");
    // Past every deadline and every cleanup round, and a sweep or two later.
    for _ in 0..3 {
        app.advance_and_drain(48 * HOUR).await;
        app.running.sweep_now().await;
        app.drain_jobs().await;
    }
    assert_eq!(app.session(&alice, &created.id).await["state"], "committed");
    assert!(app.object_exists(&created.key).await);
});
