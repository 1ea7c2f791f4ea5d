//! End-to-end integrity of multipart uploads: parts signed with the SHA-256 the client
//! computed (`part_checksums`), the digests passed on at completion, and a worker's
//! re-hash of the whole object (`rehash = true`) that proves the declared whole-object
//! SHA-256, which no store can vouch for after a multipart upload.
//!
//! Where the store checks part checksums (the embedded store, through its checksum guard),
//! a lying part is refused at upload with `BadDigest` and nothing of it is kept; the client
//! sends the part again. Where it does not (Ceph RGW 16 ignores the header), the lie is
//! taken, and the re-hash is what refuses the object. Both legs show their half.

use super::*;
use base64::Engine;
use sha2::{Digest, Sha256};
use sluice_tests::patterned;

const MIB: usize = 1024 * 1024;
const PART: usize = 5 * MIB;

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// What one multipart upload came to.
struct Uploaded {
    id: String,
    key: String,
    /// Part numbers the store refused with `BadDigest` (then sent again, honestly).
    refused: Vec<usize>,
    status: StatusCode,
    session: Value,
}

/// A `hashed` multipart session of `honest` (declaring its SHA-256), its parts signed with
/// their digests, then `sent` PUT on them (the same bytes, or a lie of the same length),
/// and completed with the digests. A part the store refuses is sent again with its honest
/// bytes, as a client does after a read error.
async fn upload(app: &TestApp, token: &str, honest: &[u8], sent: &[u8]) -> Uploaded {
    let (status, created) = app
        .call(
            Method::POST,
            "/v1/uploads",
            Some(token),
            Some(
                json!({"profile": "hashed", "filename": "big.bin", "size": honest.len(),
                        "content_type": "application/octet-stream", "sha256": hex(honest)}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["method"], "multipart", "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let key = created["key"].as_str().expect("key").to_owned();
    let pieces: Vec<&[u8]> = honest.chunks(PART).collect();
    let checksums: Vec<Value> = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"part_number": i + 1, "sha256": hex(p)}))
        .collect();
    let numbers: Vec<usize> = (1..=pieces.len()).collect();
    let (status, signed) = app
        .call(
            Method::POST,
            &format!("/v1/uploads/{id}/parts"),
            Some(token),
            Some(json!({"part_numbers": numbers, "part_checksums": checksums})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let checked = app.leg.name() == "embedded";
    let mut completed = Vec::new();
    let mut refused = Vec::new();
    for (i, part) in signed["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .enumerate()
    {
        // The URL signs the part's digest exactly where `storage.checksums` is on.
        assert_eq!(
            part["headers"]["x-amz-checksum-sha256"].as_str(),
            checked.then(|| b64(pieces[i])).as_deref(),
            "{part}"
        );
        let start = i * PART;
        let end = (start + PART).min(sent.len());
        let put = |bytes: &[u8]| {
            let mut put = app.http.put(part["url"].as_str().expect("url"));
            for (name, value) in part["headers"].as_object().expect("headers") {
                put = put.header(name.as_str(), value.as_str().expect("value"));
            }
            put.body(bytes.to_vec()).send()
        };
        let mut answer = put(&sent[start..end]).await.expect("PUT reaches the store");
        if !answer.status().is_success() {
            let status = answer.status();
            let text = answer.text().await.unwrap_or_default();
            // Only a store that checks digests refuses, and only a lie.
            assert!(checked, "part {}: {status} {text}", i + 1);
            assert_eq!(status, StatusCode::BAD_REQUEST, "part {}: {text}", i + 1);
            assert!(text.contains("BadDigest"), "part {}: {text}", i + 1);
            assert_ne!(
                &sent[start..end],
                &honest[start..end],
                "an honest part refused"
            );
            refused.push(i + 1);
            answer = put(&honest[start..end])
                .await
                .expect("PUT reaches the store");
        }
        assert!(
            answer.status().is_success(),
            "part {}: {}",
            i + 1,
            answer.status()
        );
        let etag = answer
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        completed.push(json!({"part_number": i + 1, "etag": etag, "sha256": hex(pieces[i])}));
    }
    let (status, session) = app
        .call(
            Method::POST,
            &format!("/v1/uploads/{id}/complete"),
            Some(token),
            Some(json!({"parts": completed})),
        )
        .await;
    Uploaded {
        id,
        key,
        refused,
        status,
        session,
    }
}

fn hashed(b: sluice_tests::Spawn) -> sluice_tests::Spawn {
    b.env("SLUICE__PROFILES__HASHED__MULTIPART_THRESHOLD", "1MiB")
        .env("SLUICE__PROFILES__HASHED__PART_SIZE", "5MiB")
        .env("SLUICE__PROFILES__HASHED__REHASH", "true")
}

e2e!(
    an_honest_multipart_upload_is_proven_by_the_rehash,
    with | b | hashed(b),
    |app| {
        let alice = app.token("alice");
        let body = patterned(PART + MIB + 7, 3);
        let Uploaded {
            id,
            key,
            refused,
            status,
            session,
        } = upload(&app, &alice, &body, &body).await;
        assert!(refused.is_empty(), "{refused:?}");
        // Verified part by part (sizes, assembly); the whole digest is read back next.
        assert_eq!(status, StatusCode::ACCEPTED, "{session}");
        assert_eq!(session["state"], "scanning", "{session}");
        app.drain_reads().await;
        let session = app.session(&alice, &id).await;
        assert_eq!(session["state"], "uploaded", "{session}");
        assert_eq!(
            session["checksum_verified"], true,
            "a worker read every byte: {session}"
        );
        assert!(
            session.get("scan").is_none(),
            "no malware scan asked: {session}"
        );
        assert_eq!(app.object_bytes(&key).await, body);
        let trail = app.audit_trail(&id).await;
        assert!(
            trail
                .iter()
                .any(|e| e["to_state"] == "uploaded" && e["detail"]["rehashed"] == true),
            "{trail:?}"
        );
    }
);

e2e!(
    a_lying_part_is_refused_by_the_store_or_else_by_the_rehash,
    with | b | hashed(b),
    |app| {
        let alice = app.token("alice");
        let honest = patterned(PART + MIB + 7, 4);
        let mut lie = honest.clone();
        // The second part's bytes differ, its length does not: every signed length holds.
        let at = PART + 100;
        lie[at] = lie[at].wrapping_add(1);
        let Uploaded {
            id,
            key,
            refused,
            status,
            session,
        } = upload(&app, &alice, &honest, &lie).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{session}");
        app.drain_reads().await;
        let session = app.session(&alice, &id).await;
        if app.leg.name() == "embedded" {
            // The store refused the lie and kept nothing of it; the part sent again made
            // the object the client declared, which the re-hash proves.
            assert_eq!(refused, vec![2]);
            assert_eq!(session["state"], "uploaded", "{session}");
            assert_eq!(session["checksum_verified"], true, "{session}");
            assert_eq!(app.object_bytes(&key).await, honest);
        } else {
            // Ceph took the lie: only reading the object back catches it.
            assert!(refused.is_empty(), "{refused:?}");
            assert_eq!(session["state"], "rejected", "{session}");
            assert_eq!(session["failure"], "checksum_mismatch");
            let (status, problem) = app.complete(&alice, &id).await;
            assert_problem!(status, &problem, ErrorCode::ChecksumMismatch);
            app.assert_cleaned(&key).await;
        }
    }
);

e2e!(a_lying_single_put_signed_with_its_digest, |app| {
    // The single-PUT leg of the same promise: the URL signs the declared digest where
    // `storage.checksums` is on (the embedded store), and that store keeps nothing of a lie.
    let alice = app.token("alice");
    let honest = patterned(4096, 6);
    let mut lie = honest.clone();
    lie[17] ^= 1;
    let created = app
        .create(
            &alice,
            json!({"filename": "a.bin", "size": honest.len(),
                   "content_type": "application/octet-stream", "sha256": hex(&honest)}),
        )
        .await;
    let signed = created
        .headers
        .iter()
        .find(|(n, _)| n == "x-amz-checksum-sha256")
        .map(|(_, v)| v.clone());
    let status = app.put(&created, lie).await;
    if app.leg.name() == "embedded" {
        assert_eq!(signed, Some(b64(&honest)));
        assert_eq!(status, StatusCode::BAD_REQUEST, "the lie is refused");
        assert!(
            !app.object_exists(&created.key).await,
            "the lying bytes were kept"
        );
        // The honest bytes on the same URL are taken and verified.
        assert!(app.put(&created, honest.clone()).await.is_success());
        let (status, session) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        assert_eq!(session["state"], "uploaded", "{session}");
        assert_eq!(app.object_bytes(&created.key).await, honest);
    } else {
        // Ceph ignores the header, so none is signed (`storage.checksums` off): the lie
        // lands, and without a re-hash nothing reads it; what a profile with
        // `rehash = true` adds is shown above.
        assert_eq!(signed, None);
        assert!(status.is_success(), "{status}");
        assert!(app.object_exists(&created.key).await);
    }
});

e2e!(
    a_part_checksum_that_is_not_a_sha256_is_a_422,
    with | b | hashed(b),
    |app| {
        let alice = app.token("alice");
        let body = patterned(PART + 1, 5);
        let (_, created) = app
            .call(
                Method::POST,
                "/v1/uploads",
                Some(&alice),
                Some(
                    json!({"profile": "hashed", "filename": "big.bin", "size": body.len(),
                            "content_type": "application/octet-stream"}),
                ),
            )
            .await;
        let id = created["id"].as_str().expect("id");
        let (status, problem) = app
            .call(
                Method::POST,
                &format!("/v1/uploads/{id}/parts"),
                Some(&alice),
                Some(json!({"part_numbers": [1], "part_checksums": [{"part_number": 2, "sha256": hex(b"x")}]})),
            )
            .await;
        assert_problem!(status, &problem, ErrorCode::ValidationFailed);
        let (status, problem) = app
            .call(
                Method::POST,
                &format!("/v1/uploads/{id}/parts"),
                Some(&alice),
                Some(json!({"part_numbers": [1], "part_checksums": [{"part_number": 1, "sha256": "not a digest"}]})),
            )
            .await;
        assert!(status.is_client_error(), "{status} {problem}");
    }
);
