//! Completion: verification against what the store holds, idempotency, refusals.

use super::*;

e2e!(
    complete_before_upload_is_not_uploaded_and_stays_pending,
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        let (status, problem) = app.complete(&alice, &created.id).await;
        assert_problem!(status, &problem, ErrorCode::NotUploaded);
        assert_eq!(app.session(&alice, &created.id).await["state"], "pending");
        // The bytes arrive later; completing then works.
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        let (status, session) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        assert_eq!(session["state"], "uploaded");
    }
);

e2e!(complete_twice_returns_the_same_final_state, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 3).await;
    assert!(app.put(&created, b"abc".to_vec()).await.is_success());
    let (first, a) = app.complete(&alice, &created.id).await;
    let (second, b) = app.complete(&alice, &created.id).await;
    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a["state"], "uploaded");
    assert_eq!(b["state"], "uploaded");
    assert_eq!(
        a["updated_at"], b["updated_at"],
        "the second complete must not write"
    );
});

e2e!(complete_with_a_wrong_size_rejects_and_deletes, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 10).await;
    // A store that did not enforce the signed length: the object arrives with 3 bytes.
    app.bucket
        .put_object_with_content_type(&created.key, b"abc", "text/plain")
        .await
        .expect("direct put");
    let (status, problem) = app.complete(&alice, &created.id).await;
    assert_problem!(status, &problem, ErrorCode::SizeMismatch);
    let session = app.session(&alice, &created.id).await;
    assert_eq!(session["state"], "rejected");
    assert_eq!(session["failure"], "size_mismatch");
    app.assert_cleaned(&created.key).await;
    // Idempotent: the same answer again.
    let (status, problem) = app.complete(&alice, &created.id).await;
    assert_problem!(status, &problem, ErrorCode::SizeMismatch);
});

e2e!(complete_with_a_wrong_type_rejects, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 3).await;
    app.bucket
        .put_object_with_content_type(&created.key, b"abc", "application/x-msdownload")
        .await
        .expect("direct put");
    let (status, problem) = app.complete(&alice, &created.id).await;
    assert_problem!(status, &problem, ErrorCode::TypeMismatch);
    app.assert_cleaned(&created.key).await;
});

e2e!(abort_deletes_the_object_and_forbids_completion, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 3).await;
    assert!(app.put(&created, b"abc".to_vec()).await.is_success());
    let (status, session) = app.abort(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["state"], "aborted");
    app.assert_cleaned(&created.key).await;
    let (status, problem) = app.complete(&alice, &created.id).await;
    assert_problem!(status, &problem, ErrorCode::IllegalTransition);
    assert_eq!(problem["state"], "aborted");
    // Aborting again is idempotent.
    let (status, _) = app.abort(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK);
});

e2e!(commit_before_upload_is_an_illegal_transition, |app| {
    let alice = app.token("alice");
    let created = app.create_text(&alice, 3).await;
    let (status, problem) = app.commit(&alice, &created.id).await;
    assert_problem!(status, &problem, ErrorCode::IllegalTransition);
    assert_eq!(problem["state"], "pending");
});
