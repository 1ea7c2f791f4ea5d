//! Issue 15, item 4: deadlines hold at the moment of the request. Past the upload deadline
//! (completing, signing parts, aborting, on `/v1` and the Uppy routes), the verification
//! deadline or the commit deadline, a request expires the session itself, through the
//! single writer (so quota and the owed cleanup follow from the plan), and is refused
//! with 410 `expired`, the same answer it gets once a job expired the session. Most apps
//! here run without workers, so nothing but the request can have expired the session.

use super::*;
use sluice_core::ids::UploadId;
use sluice_tests::Faults;

const HOUR: Duration = Duration::from_secs(3600);
const SECOND: Duration = Duration::from_secs(1);
const MIB: usize = 1024 * 1024;

/// Asserts a 410 `expired` answer (problem+json on `/v1`, Companion's shape on `/s3`).
fn assert_expired((status, problem): (StatusCode, Value)) {
    assert_problem!(status, &problem, ErrorCode::Expired);
}

/// Asserts that `id` is `expired`, that the owner's request expired it (no job did), that
/// its stored bytes and the day's count are released while its bytes stay held (its URLs
/// can write until they expire; no worker cleans them here) and that its cleanup is owed.
async fn assert_expired_by_request(app: &TestApp, token: &str, id: &str) {
    assert_eq!(app.session(token, id).await["state"], "expired");
    let trail = app.audit_trail(id).await;
    let last = trail.last().expect("an audit event");
    assert_eq!(last["to_state"], "expired", "{trail:?}");
    assert_eq!(last["actor"], "owner:alice", "{trail:?}");
    assert_eq!(last["detail"]["event"], "expire", "{trail:?}");
    let (status, quota) = app.call(Method::GET, "/v1/quota", Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{quota}");
    let upload = UploadId(id.parse().expect("uuid"));
    let row = sluice_core::test_support::upload::find(&app.running.core.db, upload)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        row.held_bytes, row.size,
        "held until its key is clean for good"
    );
    assert_eq!(
        quota["total"]["usage"]["reserved_bytes"], row.held_bytes,
        "{quota}"
    );
    assert_eq!(quota["total"]["usage"]["stored_bytes"], 0, "{quota}");
    assert_eq!(quota["total"]["usage"]["uploads_today"], 0, "{quota}");
    let owed =
        sluice_core::outbox::uploads_with_job(&app.running.core.db, "cleanup_session", &[upload])
            .await
            .expect("outbox");
    assert_eq!(owed, vec![upload], "the plan owes the cleanup");
}

e2e!(
    completing_after_the_upload_deadline_expires_the_session_with_no_worker,
    with | b | b.without_workers(),
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        app.advance(HOUR + SECOND);
        assert_expired(app.complete(&alice, &created.id).await);
        assert_expired_by_request(&app, &alice, &created.id).await;
        // The same answer again, and to an abort: the session is over.
        assert_expired(app.complete(&alice, &created.id).await);
        assert_expired(app.abort(&alice, &created.id).await);
        assert_expired(app.commit(&alice, &created.id).await);
    }
);

e2e!(
    the_deadline_itself_is_past_and_a_second_before_it_is_not,
    with | b | b.without_workers(),
    |app| {
        let alice = app.token("alice");
        let early = app.create_text(&alice, 3).await;
        assert!(app.put(&early, b"abc".to_vec()).await.is_success());
        app.advance(HOUR - SECOND);
        let (status, session) = app.complete(&alice, &early.id).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        assert_eq!(session["state"], "uploaded");
    }
);

e2e!(
    aborting_after_the_upload_deadline_expires_the_session_with_no_worker,
    with | b | b.without_workers(),
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        app.advance(HOUR + SECOND);
        assert_expired(app.abort(&alice, &created.id).await);
        assert_expired_by_request(&app, &alice, &created.id).await;
    }
);

e2e!(
    committing_after_the_commit_deadline_expires_the_session_with_no_worker,
    with | b | b.without_workers(),
    |app| {
        let alice = app.token("alice");
        let created = app
            .upload_verified(&alice, "default", "a.txt", b"abc")
            .await;
        app.advance(24 * HOUR + SECOND);
        assert_expired(app.commit(&alice, &created.id).await);
        assert_expired_by_request(&app, &alice, &created.id).await;
        assert_expired(app.commit(&alice, &created.id).await);
        // Completing the expired session is refused the same way.
        assert_expired(app.complete(&alice, &created.id).await);
    }
);

e2e!(
    signing_parts_after_the_upload_deadline_expires_the_session_with_no_worker,
    with | b | b.without_workers(),
    |app| {
        let alice = app.token("alice");
        let created = app
            .create(
                &alice,
                json!({"profile": "parts", "filename": "big.bin", "size": 6 * MIB, "content_type": "application/octet-stream"}),
            )
            .await;
        // Signed once while pending, so the pending cache holds the session.
        assert_eq!(app.sign_parts(&alice, &created.id, &[1]).await.len(), 1);
        app.advance(HOUR + SECOND);
        let path = format!("/v1/uploads/{}/parts", created.id);
        let body = json!({"part_numbers": [1, 2]});
        assert_expired(
            app.call(Method::POST, &path, Some(&alice), Some(body))
                .await,
        );
        assert_expired_by_request(&app, &alice, &created.id).await;
    }
);

e2e!(
    a_verifying_session_past_its_verification_deadline_expires_on_the_next_complete,
    with | b | b.without_workers(),
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        app.faults.set(Faults {
            head: true,
            ..Faults::default()
        });
        let (status, session) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{session}");
        assert_eq!(session["state"], "verifying");
        app.faults.set(Faults::default());
        // The store answers again, but the verification deadline has passed.
        app.advance(24 * HOUR + SECOND);
        assert_expired(app.complete(&alice, &created.id).await);
        assert_expired_by_request(&app, &alice, &created.id).await;
    }
);

/// Uppy's routes name a session by its key (and multipart upload id).
fn uppy_path(route: &str, upload_id: &str, key: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!("/s3/multipart/{}{route}?key={}", enc(upload_id), enc(key))
}

e2e!(
    uppy_sign_part_and_complete_after_the_upload_deadline_answer_expired,
    with | b | b.without_workers(),
    |app| {
        let alice = app.token("alice");
        let start = || {
            let body = json!({"filename": "movie.bin", "type": "application/octet-stream", "metadata": {"size": 6 * MIB}});
            app.call(Method::POST, "/s3/multipart", Some(&alice), Some(body))
        };
        let (status, started) = start().await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let key = started["key"].as_str().expect("key").to_owned();
        let upload_id = started["uploadId"].as_str().expect("uploadId").to_owned();
        let id = key.rsplit('/').next().expect("id").to_owned();
        let (status, signed) = app
            .call(
                Method::GET,
                &uppy_path("/1", &upload_id, &key),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        app.advance(HOUR + SECOND);
        let sign = uppy_path("/2", &upload_id, &key);
        assert_expired(app.call(Method::GET, &sign, Some(&alice), None).await);
        assert_expired_by_request(&app, &alice, &id).await;
        let complete = uppy_path("/complete", &upload_id, &key);
        let body = json!({"parts": []});
        assert_expired(
            app.call(Method::POST, &complete, Some(&alice), Some(body))
                .await,
        );

        // A second upload: completing first, then aborting, past the deadline.
        let (status, started) = start().await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let key = started["key"].as_str().expect("key").to_owned();
        let upload_id = started["uploadId"].as_str().expect("uploadId").to_owned();
        app.advance(HOUR + SECOND);
        let complete = uppy_path("/complete", &upload_id, &key);
        let body = json!({"parts": []});
        assert_expired(
            app.call(Method::POST, &complete, Some(&alice), Some(body))
                .await,
        );
        let abort = uppy_path("", &upload_id, &key);
        assert_expired(app.call(Method::DELETE, &abort, Some(&alice), None).await);
    }
);

e2e!(
    uppy_params_complete_after_the_upload_deadline_answers_expired,
    with | b | b.without_workers(),
    |app| {
        let alice = app.token("alice");
        let (status, params) = app
            .call(
                Method::GET,
                "/s3/params?filename=a.txt&type=text%2Fplain&metadata%5Bsize%5D=3",
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{params}");
        let key = params["key"].as_str().expect("key").to_owned();
        app.advance(HOUR + SECOND);
        let complete = format!("/s3/params/complete?key={}", key.replace('/', "%2F"));
        assert_expired(app.call(Method::POST, &complete, Some(&alice), None).await);
        let id = key.rsplit('/').next().expect("id");
        assert_expired_by_request(&app, &alice, id).await;
    }
);

e2e!(
    with_workers_the_answer_is_the_same_and_the_object_is_cleaned,
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        // Whether the expiry job or this request gets there first, the answer is the same.
        app.advance(HOUR + SECOND);
        assert_expired(app.complete(&alice, &created.id).await);
        assert_eq!(app.session(&alice, &created.id).await["state"], "expired");
        app.assert_cleaned(&created.key).await;
    }
);
