//! Issue 15, item 5: concurrent identical requests are idempotent. Parallel commits of a
//! session all answer the same file; parallel completes and aborts all answer the state
//! reached; of parallel deletes of a file exactly one answers 204 and the others 404
//! `not_found`, as a later delete would. No request that asked for the state the session
//! reached is answered 409 `conflict`. Fired through the real HTTP API, all at once.

use super::*;
use futures::future::join_all;

const PARALLEL: usize = 8;
const MIB: usize = 1024 * 1024;

/// The answers of `PARALLEL` copies of one request, fired at once.
async fn parallel<F, Fut>(request: F) -> Vec<(StatusCode, Value)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (StatusCode, Value)>,
{
    join_all((0..PARALLEL).map(|_| request())).await
}

e2e!(parallel_commits_all_answer_the_same_file, |app| {
    let alice = app.token("alice");
    for round in 0..3 {
        let created = app
            .upload_verified(&alice, "default", "a.txt", b"abc")
            .await;
        let answers = parallel(|| app.commit(&alice, &created.id)).await;
        let file_id = answers[0].1["id"].clone();
        assert!(file_id.is_string(), "round {round}: {answers:?}");
        for (status, file) in &answers {
            assert_eq!(*status, StatusCode::OK, "round {round}: {answers:?}");
            assert_eq!(file["id"], file_id, "round {round}: {answers:?}");
            assert_eq!(file["upload_id"], created.id.as_str());
        }
        let path = format!("/v1/files/{}", file_id.as_str().expect("id"));
        let (status, file) = app.call(Method::GET, &path, Some(&alice), None).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert_eq!(app.session(&alice, &created.id).await["state"], "committed");
        // One commit event, one file.
        let commits = app
            .audit_trail(&created.id)
            .await
            .into_iter()
            .filter(|e| e["to_state"] == "committed")
            .count();
        assert_eq!(commits, 1);
    }
});

e2e!(
    parallel_deletes_answer_one_success_and_not_found_to_the_rest,
    |app| {
        let alice = app.token("alice");
        for round in 0..3 {
            let created = app
                .upload_verified(&alice, "default", "a.txt", b"abc")
                .await;
            let (status, file) = app.commit(&alice, &created.id).await;
            assert_eq!(status, StatusCode::OK, "{file}");
            let path = format!("/v1/files/{}", file["id"].as_str().expect("id"));
            let answers = parallel(|| app.call(Method::DELETE, &path, Some(&alice), None)).await;
            let deleted = answers
                .iter()
                .filter(|(status, _)| *status == StatusCode::NO_CONTENT)
                .count();
            assert_eq!(deleted, 1, "round {round}: {answers:?}");
            for (status, problem) in answers.iter().filter(|(s, _)| *s != StatusCode::NO_CONTENT) {
                assert_problem!(*status, problem, ErrorCode::NotFound, "round {round}");
            }
            // A later delete answers as the losers did.
            let (status, problem) = app.call(Method::DELETE, &path, Some(&alice), None).await;
            assert_problem!(status, &problem, ErrorCode::NotFound);
            assert_eq!(app.session(&alice, &created.id).await["state"], "deleted");
            app.assert_cleaned(&created.key).await;
        }
    }
);

e2e!(parallel_completes_all_answer_uploaded, |app| {
    let alice = app.token("alice");
    for round in 0..3 {
        let created = app.create_text(&alice, 3).await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        let answers = parallel(|| app.complete(&alice, &created.id)).await;
        for (status, session) in &answers {
            assert_eq!(*status, StatusCode::OK, "round {round}: {answers:?}");
            assert_eq!(session["state"], "uploaded", "round {round}: {answers:?}");
            assert_eq!(session["size"], 3);
        }
        let verified = app
            .audit_trail(&created.id)
            .await
            .into_iter()
            .filter(|e| e["to_state"] == "uploaded")
            .count();
        assert_eq!(verified, 1);
    }
});

e2e!(
    parallel_completes_of_a_multipart_upload_all_answer_uploaded,
    |app| {
        let alice = app.token("alice");
        let body = sluice_tests::patterned(6 * MIB, 7);
        let created = app
        .create(
            &alice,
            json!({"profile": "parts", "filename": "big.bin", "size": body.len(), "content_type": "application/octet-stream"}),
        )
        .await;
        app.upload_parts(&alice, &created.id, &body, 5 * MIB, &[1, 2])
            .await;
        let answers = join_all((0..4).map(|_| app.complete(&alice, &created.id))).await;
        for (status, session) in &answers {
            assert_eq!(*status, StatusCode::OK, "{answers:?}");
            assert_eq!(session["state"], "uploaded", "{answers:?}");
        }
        assert_eq!(app.object_bytes(&created.key).await, body);
    }
);

e2e!(
    parallel_rejecting_completes_all_answer_the_rejection,
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        // Four bytes where three were declared: the store refuses that PUT, so write directly.
        app.bucket
            .put_object_with_content_type(&created.key, b"abcd", "text/plain")
            .await
            .expect("direct put");
        let answers = parallel(|| app.complete(&alice, &created.id)).await;
        for (status, problem) in &answers {
            assert_problem!(*status, problem, ErrorCode::SizeMismatch);
        }
        app.assert_cleaned(&created.key).await;
    }
);

e2e!(parallel_aborts_all_answer_aborted, |app| {
    let alice = app.token("alice");
    for round in 0..3 {
        let created = app.create_text(&alice, 3).await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        let answers = parallel(|| app.abort(&alice, &created.id)).await;
        for (status, session) in &answers {
            assert_eq!(*status, StatusCode::OK, "round {round}: {answers:?}");
            assert_eq!(session["state"], "aborted", "round {round}: {answers:?}");
        }
        app.assert_cleaned(&created.key).await;
    }
});
