//! Deadlines: a session not completed within the upload TTL, or not committed within the
//! commit TTL, expires by its job and its object is deleted.

use super::*;

e2e!(
    pending_upload_expires_on_time_and_its_object_is_deleted,
    |app| {
        let alice = app.token("alice");
        let created = app
        .create(&alice, json!({"profile": "short", "filename": "a.txt", "size": 3, "content_type": "text/plain"}))
        .await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        let session = app
            .wait_for_state(&alice, &created.id, "expired", Duration::from_secs(15))
            .await;
        assert_eq!(session["state"], "expired");
        app.wait_for_object_gone(&created.key, Duration::from_secs(10))
            .await;
        let (status, problem) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(problem["code"], "illegal_transition");
    }
);

e2e!(
    uploaded_but_uncommitted_expires_after_the_commit_ttl,
    |app| {
        let alice = app.token("alice");
        let created = app.upload_verified(&alice, "short", "a.txt", b"abc").await;
        app.wait_for_state(&alice, &created.id, "expired", Duration::from_secs(15))
            .await;
        app.wait_for_object_gone(&created.key, Duration::from_secs(10))
            .await;
    }
);

e2e!(committed_files_never_expire, |app| {
    let alice = app.token("alice");
    let created = app.upload_verified(&alice, "short", "a.txt", b"abc").await;
    let (status, _) = app.commit(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK);
    // Past both deadlines and a sweep or two later, the file is still there.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(app.session(&alice, &created.id).await["state"], "committed");
    assert!(app.object_exists(&created.key).await);
});
