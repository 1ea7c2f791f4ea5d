//! Verified bytes stay verified (issue 15, items 1, 2 and 9), on both legs:
//! - a rewritable upload (a PUT without `If-None-Match`, an Uppy POST policy) replayed
//!   after verification and after commit never changes what the file and its downloads
//!   read: verification sealed the bytes under a key no URL can write, and the replayed
//!   bytes under the upload key are cleaned once its URLs expired;
//! - whatever can still land under an ended session's key counts against the owner
//!   until the key is cleaned for good;
//! - a cleanup never orphans bytes, even when a multipart completion lands between its
//!   steps.

use super::*;

/// Past every upload URL's life (profiles' `upload_ttl`, 1 h) and the late-PUT grace (1 h).
const PAST_EVERY_URL: Duration = Duration::from_secs(3 * 3600);

async fn download(app: &TestApp, token: &str, file_id: &str) -> Vec<u8> {
    let (status, link) = app
        .call(
            Method::POST,
            &format!("/v1/files/{file_id}/download-url"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let resp = app
        .http
        .get(link["url"].as_str().expect("url"))
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.expect("bytes").to_vec()
}

async fn quota_total(app: &TestApp, token: &str) -> Value {
    let (status, quota) = app.call(Method::GET, "/v1/quota", Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{quota}");
    quota["total"]["usage"].clone()
}

/// Reconcile finds nothing to repair: the counters, holds included, match the tables.
async fn assert_no_quota_drift(app: &TestApp) {
    let repairs =
        sluice_core::quota::reconcile::reconcile_all(&app.running.core.db, app.running.core.now())
            .await
            .expect("reconcile");
    assert!(repairs.is_empty(), "quota drift: {repairs:?}");
}

e2e!(
    a_rewritable_put_replayed_after_verification_and_commit_never_changes_the_file,
    |app| {
        let alice = app.token("alice");
        let created = app
            .create(
                &alice,
                json!({"profile": "reusable", "filename": "a.txt", "size": 4, "content_type": "text/plain"}),
            )
            .await;
        assert!(app.put(&created, b"four".to_vec()).await.is_success());
        let (status, session) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        assert_eq!(session["state"], "uploaded");
        let sealed = session["key"].as_str().expect("key").to_owned();
        assert_ne!(
            sealed, created.key,
            "the verified bytes moved to a sealed key"
        );
        assert_eq!(app.object_bytes(&sealed).await, b"four");

        // The URL is still valid: the store takes other bytes under the upload key.
        assert!(app.put(&created, b"FOUR".to_vec()).await.is_success());
        let (status, file) = app.commit(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        let file_id = file["id"].as_str().expect("id").to_owned();
        assert_eq!(file["size"], 4);
        assert_eq!(download(&app, &alice, &file_id).await, b"four");

        // And again after the commit.
        assert!(app.put(&created, b"XXXX".to_vec()).await.is_success());
        assert_eq!(download(&app, &alice, &file_id).await, b"four");
        let usage = quota_total(&app, &alice).await;
        assert_eq!(usage["stored_bytes"], 4, "{usage}");
        assert_eq!(
            usage["reserved_bytes"], 4,
            "the upload key's URL can still write: held: {usage}"
        );
        assert_no_quota_drift(&app).await;

        // Once its URL expired, the upload key is cleaned for good; the file is untouched.
        app.advance_and_drain(PAST_EVERY_URL).await;
        assert!(
            !app.object_exists(&created.key).await,
            "replayed bytes cleaned"
        );
        assert_eq!(download(&app, &alice, &file_id).await, b"four");
        let usage = quota_total(&app, &alice).await;
        assert_eq!(
            (
                usage["stored_bytes"].clone(),
                usage["reserved_bytes"].clone()
            ),
            (json!(4), json!(0)),
            "{usage}"
        );
        assert_no_quota_drift(&app).await;

        // Deleting the file removes the sealed bytes as well.
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/v1/files/{file_id}"),
                Some(&alice),
                None,
            )
            .await;
        assert!(status.is_success(), "{status}");
        app.assert_cleaned(&sealed).await;
        assert!(
            app.list_keys().await.is_empty(),
            "{:?}",
            app.list_keys().await
        );
    }
);

/// A form POST of `fields` then `file` to the policy's URL, as a browser sends it.
async fn post_form(app: &TestApp, params: &Value, file: &[u8]) -> StatusCode {
    let boundary = "----sluiceSealBoundary";
    let mut body = Vec::new();
    for (name, value) in params["fields"].as_object().expect("fields") {
        let value = value.as_str().expect("string field");
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    app.http
        .post(params["url"].as_str().expect("url"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("POST reaches the store")
        .status()
}

e2e!(
    a_post_policy_replayed_after_verification_and_commit_never_changes_the_file,
    |app| {
        let alice = app.token("alice");
        let original = b"the verified bytes".to_vec();
        let (status, params) = app
            .call(
                Method::GET,
                "/s3/params?filename=a.txt&type=text%2Fplain",
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{params}");
        let key = params["key"].as_str().expect("key").to_owned();
        assert!(post_form(&app, &params, &original).await.is_success());
        let (status, done) = app
            .call(
                Method::POST,
                &format!("/s3/params/complete?key={}", key.replace('/', "%2F")),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{done}");
        let id = done["id"].as_str().expect("id").to_owned();

        // No size was declared: the policy takes up to max_size, so a replay can be larger.
        let replay = vec![b'!'; 4096];
        assert!(post_form(&app, &params, &replay).await.is_success());
        let (status, file) = app.commit(&alice, &id).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        let file_id = file["id"].as_str().expect("id").to_owned();
        assert_eq!(file["size"], original.len());
        assert_eq!(download(&app, &alice, &file_id).await, original);

        assert!(
            post_form(&app, &params, b"after the commit")
                .await
                .is_success()
        );
        assert_eq!(download(&app, &alice, &file_id).await, original);
        let usage = quota_total(&app, &alice).await;
        assert_eq!(usage["stored_bytes"], original.len(), "{usage}");
        assert_no_quota_drift(&app).await;

        app.advance_and_drain(PAST_EVERY_URL).await;
        assert!(!app.object_exists(&key).await, "replayed bytes cleaned");
        assert_eq!(download(&app, &alice, &file_id).await, original);
        let usage = quota_total(&app, &alice).await;
        assert_eq!(usage["reserved_bytes"], 0, "{usage}");
        let trail = app.audit_trail(&id).await;
        assert!(
            trail
                .iter()
                .any(|e| e["detail"]["sealed_key"].is_string() && e["to_state"] == "uploaded"),
            "{trail:?}"
        );
    }
);

e2e!(
    bytes_that_can_still_land_after_an_abort_count_until_the_key_is_clean,
    |app| {
        let alice = app.token("alice");
        // `metered`: 100 bytes stored at most. Eight aborted uploads of 10 bytes each.
        let mut aborted = Vec::new();
        for i in 0..8 {
            let created = app
                .create(
                    &alice,
                    json!({"profile": "metered", "filename": format!("{i}.txt"), "size": 10, "content_type": "text/plain"}),
                )
                .await;
            let (status, _) = app.abort(&alice, &created.id).await;
            assert_eq!(status, StatusCode::OK);
            aborted.push(created);
        }
        // Their URLs are still valid: all eight land.
        app.drain_jobs().await;
        for created in &aborted {
            assert!(app.put(created, vec![b'x'; 10]).await.is_success());
        }
        let usage = quota_total(&app, &alice).await;
        assert_eq!(usage["reserved_bytes"], 80, "{usage}");
        let (status, problem) = app
            .call(
                Method::POST,
                "/v1/uploads",
                Some(&alice),
                Some(json!({"profile": "metered", "filename": "big.txt", "size": 30, "content_type": "text/plain"})),
            )
            .await;
        assert_problem!(status, &problem, ErrorCode::QuotaExceeded);
        assert_no_quota_drift(&app).await;

        // Once the URLs expired and the late round cleaned the keys, the room is back.
        app.advance_and_drain(PAST_EVERY_URL).await;
        for created in &aborted {
            assert!(!app.object_exists(&created.key).await, "late PUT cleaned");
        }
        let usage = quota_total(&app, &alice).await;
        assert_eq!(usage["reserved_bytes"], 0, "{usage}");
        assert_no_quota_drift(&app).await;
        let created = app
            .create(
                &alice,
                json!({"profile": "metered", "filename": "big.txt", "size": 30, "content_type": "text/plain"}),
            )
            .await;
        assert!(!created.id.is_empty());
    }
);

e2e!(
    a_deleted_file_holds_its_bytes_while_its_one_time_url_can_write_again,
    |app| {
        let alice = app.token("alice");
        let created = app
            .upload_verified(&alice, "metered", "a.txt", &[b'a'; 60])
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
        assert!(status.is_success());
        app.assert_cleaned(&created.key).await;
        // The key is free again and the one-time URL still valid: a late PUT lands, and
        // counts.
        assert!(app.put(&created, vec![b'b'; 60]).await.is_success());
        let usage = quota_total(&app, &alice).await;
        assert_eq!(
            (
                usage["stored_bytes"].clone(),
                usage["reserved_bytes"].clone()
            ),
            (json!(0), json!(60)),
            "{usage}"
        );
        let (status, problem) = app
            .call(
                Method::POST,
                "/v1/uploads",
                Some(&alice),
                Some(json!({"profile": "metered", "filename": "b.txt", "size": 60, "content_type": "text/plain"})),
            )
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
        app.advance_and_drain(PAST_EVERY_URL).await;
        assert!(!app.object_exists(&created.key).await);
        assert_eq!(quota_total(&app, &alice).await["reserved_bytes"], 0);
        assert_no_quota_drift(&app).await;
    }
);

e2e!(
    a_completion_between_the_cleanup_steps_leaves_no_bytes_behind,
    // No stale-multipart sweep: it would abort the upload first and hide the order.
    with | b | b.env("SLUICE__STORAGE__LIST_MULTIPART_UPLOADS", "false"),
    |app| {
        let alice = app.token("alice");
        let size = 6 * 1024 * 1024;
        let created = app
            .create(
                &alice,
                json!({"profile": "parts", "filename": "big.bin", "size": size, "content_type": "application/octet-stream"}),
            )
            .await;
        let upload_id = created.body["multipart"]["upload_id"]
            .as_str()
            .expect("upload id")
            .to_owned();
        let body = sluice_tests::patterned(size, 7);
        app.upload_parts(&alice, &created.id, &body, 5 * 1024 * 1024, &[1, 2])
            .await;
        // The first cleanup round is the last (every URL expired), and a completion
        // lands between its store steps.
        app.faults.set(sluice_tests::Faults {
            complete_between_cleanup_steps: true,
            ..Default::default()
        });
        app.advance_and_drain(PAST_EVERY_URL).await;
        let session = app.session(&alice, &created.id).await;
        assert_eq!(session["state"], "expired");
        // The round may wait a moment for a batch another worker holds the lease for.
        let mut cleaned = false;
        for _ in 0..50 {
            let trail = app.audit_trail(&created.id).await;
            if trail.iter().any(|e| e["detail"]["final"] == true) {
                cleaned = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            app.advance_and_drain(Duration::from_secs(2)).await;
        }
        assert!(cleaned, "cleaned for good");
        assert!(
            !app.object_exists(&created.key).await,
            "a completion racing the cleanup left an object behind"
        );
        // Nor can the upload be completed any more (Ceph may still list an aborted
        // upload's parts until its garbage collector ran; they cannot become an object).
        let parts: Vec<sluice_core::storage::PartEtag> = Vec::new();
        assert!(
            app.running
                .core
                .stores
                .default_store()
                .complete_multipart(&created.key, &upload_id, &parts)
                .await
                .is_err()
        );
        assert!(!app.object_exists(&created.key).await);
    }
);
