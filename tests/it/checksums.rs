//! Declared SHA-256 digests, end to end: where the store checks checksums
//! (`storage.checksums`) the single PUT signs `x-amz-checksum-sha256`, the store refuses
//! other bytes, and completion rejects an object whose digest the store does not vouch
//! for; where it does not, the file says its checksum was not verified by the store.
//! Also the other capability switches: `require_checksum` and `storage.if_none_match`.

use super::*;

/// SHA-256 of `hello`, in both accepted spellings.
const HELLO_HEX: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
const HELLO_B64: &str = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";

fn hello(sha256: &str) -> Value {
    json!({"filename": "hello.txt", "size": 5, "content_type": "text/plain", "sha256": sha256})
}

fn header<'a>(created: &'a sluice_tests::Created, name: &str) -> Option<&'a str> {
    created
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

e2e!(
    put_with_other_bytes_than_the_signed_sha256_is_refused_or_rejected_leaving_nothing,
    with | b | b.env("SLUICE__STORAGE__CHECKSUMS", "true"),
    |app| {
        let alice = app.token("alice");
        let created = app.create(&alice, hello(HELLO_B64)).await;
        // Stored and returned as lower-case hex; signed for the store as base64.
        assert_eq!(app.session(&alice, &created.id).await["sha256"], HELLO_HEX);
        assert_eq!(header(&created, "x-amz-checksum-sha256"), Some(HELLO_B64));
        assert!(
            !created
                .url
                .to_ascii_lowercase()
                .contains("x-amz-checksum-sha256=")
        );

        let status = app.put(&created, b"HELLO".to_vec()).await;
        if app.leg.name() == "embedded" {
            // The embedded store checks the digest (BadDigest) and keeps nothing of the
            // lie: the session is still pending, for the honest bytes.
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(!app.object_exists(&created.key).await, "the lie was kept");
            let (status, problem) = app.complete(&alice, &created.id).await;
            assert_problem!(status, &problem, ErrorCode::NotUploaded);
            assert_eq!(app.session(&alice, &created.id).await["state"], "pending");
            let (status, aborted) = app.abort(&alice, &created.id).await;
            assert_eq!(status, StatusCode::OK, "{aborted}");
            app.assert_cleaned(&created.key).await;
            return;
        }
        // Ceph RGW 16 ignores the header and takes the lie.
        assert!(status.is_success(), "{status}");
        // The store reports no digest for these bytes: the URL signed one, so the store
        // did not vouch for them.
        let (status, problem) = app.complete(&alice, &created.id).await;
        assert_problem!(status, &problem, ErrorCode::ChecksumMismatch);
        let session = app.session(&alice, &created.id).await;
        assert_eq!(session["state"], "rejected");
        assert_eq!(session["failure"], "checksum_mismatch");
        assert_eq!(session["checksum_verified"], false);
        app.assert_cleaned(&created.key).await;

        // Why an external store is not trusted with checksums by default: Ceph RGW 16
        // reports no digest even for honest bytes, so told it checks them, Sluice
        // rejects those too.
        let honest = app.create(&alice, hello(HELLO_HEX)).await;
        assert!(app.put(&honest, b"hello".to_vec()).await.is_success());
        let (status, problem) = app.complete(&alice, &honest.id).await;
        assert_problem!(status, &problem, ErrorCode::ChecksumMismatch);
    }
);

e2e!(
    an_honest_upload_with_its_sha256_completes_on_either_store,
    |app| {
        let alice = app.token("alice");
        // Upper-case hex is accepted and kept as lower-case hex.
        let created = app.create(&alice, hello(&HELLO_HEX.to_uppercase())).await;
        assert_eq!(app.session(&alice, &created.id).await["sha256"], HELLO_HEX);
        // The embedded store checks checksums; an external one is not trusted to unless
        // `storage.checksums` says so.
        let embedded = app.leg.name() == "embedded";
        assert_eq!(
            header(&created, "x-amz-checksum-sha256"),
            embedded.then_some(HELLO_B64)
        );
        assert!(app.put(&created, b"hello".to_vec()).await.is_success());
        let (status, session) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        assert_eq!(session["state"], "uploaded");
        assert_eq!(session["checksum_verified"], embedded, "{session}");
        let (status, file) = app.commit(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert_eq!(file["sha256"], HELLO_HEX);
        assert_eq!(file["checksum_verified"], embedded, "{file}");
        assert_eq!(app.object_bytes(&created.key).await, b"hello");
    }
);

e2e!(
    without_store_checksums_a_lie_is_stored_and_the_file_says_unverified,
    with | b | b.env("SLUICE__STORAGE__CHECKSUMS", "false"),
    |app| {
        let alice = app.token("alice");
        let created = app.create(&alice, hello(HELLO_HEX)).await;
        assert_eq!(header(&created, "x-amz-checksum-sha256"), None);
        // Nothing signs the digest, so no store can hold the client to it.
        assert!(app.put(&created, b"HELLO".to_vec()).await.is_success());
        let (status, session) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        assert_eq!(session["sha256"], HELLO_HEX);
        assert_eq!(session["checksum_verified"], false);
        let (_, file) = app.commit(&alice, &created.id).await;
        assert_eq!(file["checksum_verified"], false, "{file}");
    }
);

e2e!(
    a_profile_requiring_a_checksum_refuses_an_upload_without_one,
    with | b
        | b.env("SLUICE__STORAGE__CHECKSUMS", "true")
            .env("SLUICE__PROFILES__SUMMED__REQUIRE_CHECKSUM", "true"),
    |app| {
        let alice = app.token("alice");
        let (status, problem) = app
            .call(
                Method::POST,
                "/v1/uploads",
                Some(&alice),
                Some(json!({"profile": "summed", "filename": "a.txt", "size": 5, "content_type": "text/plain"})),
            )
            .await;
        assert_problem!(status, &problem, ErrorCode::ChecksumRequired);
        assert_eq!(problem["field"], "sha256");
        let mut body = hello(HELLO_B64);
        body["profile"] = json!("summed");
        let created = app.create(&alice, body).await;
        assert_eq!(header(&created, "x-amz-checksum-sha256"), Some(HELLO_B64));
        // Other profiles still take uploads without one.
        app.create_text(&alice, 3).await;
    }
);

e2e!(a_malformed_sha256_is_refused, |app| {
    let alice = app.token("alice");
    for bad in [
        &HELLO_HEX[1..],
        "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCR=",
        "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
    ] {
        let (status, problem) = app
            .call(Method::POST, "/v1/uploads", Some(&alice), Some(hello(bad)))
            .await;
        assert_problem!(status, &problem, ErrorCode::ValidationFailed, "{bad}");
        assert_eq!(problem["field"], "sha256", "{problem}");
    }
});

e2e!(
    a_store_without_if_none_match_gets_puts_without_it,
    with | b | b.env("SLUICE__STORAGE__IF_NONE_MATCH", "false"),
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 4).await;
        assert_eq!(
            header(&created, "if-none-match"),
            None,
            "{:?}",
            created.headers
        );
        // Replays are then stopped only by the session's state: the store takes both.
        assert!(app.put(&created, b"four".to_vec()).await.is_success());
        assert!(app.put(&created, b"FOUR".to_vec()).await.is_success());
        let (status, session) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{session}");
    }
);
