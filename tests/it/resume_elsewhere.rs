//! Cross-device resume through the HTTP API: a client with no local record of an upload
//! finds its session by what it knows of the file (`GET /v1/uploads?state=pending&
//! filename=…&size=…&sha256=…`), checks the parts the store holds against the cut, and
//! sends only the others. The list never leaves the caller's scope.

use sha2::{Digest, Sha256};
use sluice_tests::patterned;

use super::*;

const MIB: usize = 1024 * 1024;
const PART: usize = 5 * MIB;

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn pending_named(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (status, page) = app
        .call(
            Method::GET,
            &format!("/v1/uploads?{query}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().expect("items").clone()
}

e2e!(
    a_second_client_with_no_local_state_finds_the_session_and_sends_only_the_missing_parts,
    with | b
        | b.env("SLUICE__PROFILES__DEFAULT__MULTIPART_THRESHOLD", "1MiB")
            .env("SLUICE__PROFILES__DEFAULT__PART_SIZE", "5MiB"),
    |app| {
        let body = patterned(2 * PART + MIB + 3, 9);
        let digest = hex(&body);
        // The first device: creates the session, sends part 1, and is gone.
        let laptop = app.token("alice");
        let created = app
            .create(
                &laptop,
                json!({"filename": "Film ÉTÉ.mov", "size": body.len(), "sha256": digest,
                       "content_type": "video/quicktime"}),
            )
            .await;
        app.upload_parts(&laptop, &created.id, &body, PART, &[1])
            .await;

        // The second device knows only the file: its name, size and digest.
        let phone = app.token("alice");
        let query = format!(
            "state=pending&filename={}&size={}&sha256={digest}",
            urlencode("Film ÉTÉ.mov"),
            body.len()
        );
        let found = pending_named(&app, &phone, &query).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["id"], created.id.as_str());
        // Another size, another digest, another owner: nothing.
        let other_size = query.replace(&format!("size={}", body.len()), "size=7");
        assert!(pending_named(&app, &phone, &other_size).await.is_empty());
        let other_digest = query.replace(&digest, &hex(b"other"));
        assert!(pending_named(&app, &phone, &other_digest).await.is_empty());
        assert!(
            pending_named(&app, &app.token("bob"), &query)
                .await
                .is_empty()
        );
        // A token scoped to other profiles does not see it either.
        let scoped = app.token_with("alice", Some(vec!["images".into()]));
        assert!(pending_named(&app, &scoped, &query).await.is_empty());

        // What the store holds, checked against the cut before anything is skipped.
        let (status, session) = app
            .call(
                Method::GET,
                &format!("/v1/uploads/{}?parts=true", created.id),
                Some(&phone),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        let part_size = session["multipart"]["part_size"]
            .as_u64()
            .expect("part_size") as usize;
        let held: Vec<u64> = session["uploaded_parts"]
            .as_array()
            .expect("uploaded_parts")
            .iter()
            .filter(|p| p["size"].as_u64() == Some(part_size as u64))
            .map(|p| p["part_number"].as_u64().expect("number"))
            .collect();
        assert_eq!(held, vec![1], "{session}");
        app.upload_parts(&phone, &created.id, &body, part_size, &[2, 3])
            .await;
        let (status, done) = app.complete(&phone, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["state"], "uploaded", "{done}");
        assert_eq!(app.object_bytes(&created.key).await, body);
        // No longer pending: the list says so too.
        assert!(pending_named(&app, &phone, &query).await.is_empty());
    }
);

e2e!(own_list_pages_and_refuses_bad_filters, |app| {
    let alice = app.token("alice");
    for _ in 0..3 {
        app.create_text(&alice, 5).await;
    }
    let (status, first) = app
        .call(
            Method::GET,
            "/v1/uploads?state=pending&limit=2",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, second) = app
        .call(
            Method::GET,
            &format!("/v1/uploads?state=pending&limit=2&cursor={cursor}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert!(second["next_cursor"].is_null());
    for bad in [
        "state=sleeping",
        "sha256=abc",
        "limit=0",
        "cursor=%21%21",
        "filename=a%00b",
    ] {
        let (status, problem) = app
            .call(
                Method::GET,
                &format!("/v1/uploads?{bad}"),
                Some(&alice),
                None,
            )
            .await;
        assert!(status.is_client_error(), "{bad}: {status} {problem}");
    }
});

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
