//! Issue 15, item 10: what Sluice signs is what the store reads, and what it stores fits
//! its column, on SQLite as on PostgreSQL. Inputs are generated at and just past each
//! limit and around each normalisation step (case, spaces and tabs, parameters, runs of
//! spaces inside quotes, controls, multi-byte text at the 255-byte cut), sent through the
//! real HTTP API, and every accepted one is then PUT to the store with exactly the headers
//! Sluice returned: each answer is a 2xx whose PUT the store takes, or a 4xx with a stable
//! code; never a 5xx, never `SignatureDoesNotMatch`.

use std::collections::BTreeSet;

use sluice_core::config::Disposition;
use sluice_core::naming::{content_disposition, sanitize_filename};
use sluice_tests::client_keys::SERVICE_KEY;

use super::*;

/// Content types built from pieces that each normalisation step handles: the essence's
/// case, spaces around it and before `;`, runs of spaces in parameters and in quoted
/// strings, empty parameter lists, and text that is no parameter at all.
fn generated_content_types() -> Vec<String> {
    let essences = ["text/plain", "Text/PLAIN", "application/vnd.API+json"];
    let separators = ["", ";", " ;", "; ", ";   ", " ;  "];
    let params = [
        "",
        "charset=UTF-8",
        "charset=utf-8;  format=flowed",
        "a=\"x   y\"",
        "a=\"x;y\"",
        "junk",
        ";;",
        "a=b  ",
    ];
    let mut out = Vec::new();
    for around in ["", "  "] {
        for essence in essences {
            for sep in separators {
                for param in params {
                    out.push(format!("{around}{essence}{sep}{param}{around}"));
                }
            }
        }
    }
    // Lengths: the longest tokens, and 255 bytes (accepted) or 256 (refused) in every
    // shape a normalisation could grow or shrink.
    let sub = "t".repeat(127);
    for (head, fill) in [
        (format!("x/{sub};a="), 'b'),
        (format!("x/{sub}; a="), 'b'),
        (format!("x/{sub} ;  a="), 'b'),
        (format!("  x/{sub};a=\""), ' '),
        (format!("X/{}; a=", "T".repeat(127)), 'B'),
    ] {
        for len in [254, 255, 256] {
            let mut s = head.clone();
            while s.len() < len {
                s.push(fill);
            }
            out.push(s);
        }
    }
    out.push(format!("{}/{sub}", "a".repeat(127)));
    out.push(format!("{}/{sub}", "a".repeat(128)));
    // Whitespace other than spaces, controls and bytes beyond ASCII.
    for bad in [
        "\ttext/plain",
        "text/plain\t",
        "text/plain;\tcharset=utf-8",
        "text/plain; charset=\tutf-8",
        "text/plain\r\n",
        "text/plain; a=\r\nx-amz-meta-a: b",
        "text/plain\u{0}",
        "text/plain; a=\u{7f}",
        "text/plain; a=\u{85}",
        "text/plain; a=\u{a0}",
        "text/plain; a=é",
        "text/plain; a=\u{202e}",
        "text /plain",
        "text/ plain",
        "/plain",
        "text/",
        ";charset=utf-8",
    ] {
        out.push(bad.to_owned());
    }
    out
}

/// What SigV4 makes of a header value: trimmed, every run of whitespace one space.
fn sigv4_canonical(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = req.send().await.expect("request reaches sluice");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}

/// Asserts a refusal is a 4xx with a stable code, never a 5xx.
fn assert_refused(what: &str, status: StatusCode, body: &Value, codes: &[&str]) {
    assert!(
        status.is_client_error(),
        "{what}: a refusal must be a 4xx, got {status}: {body}"
    );
    let code = body["code"].as_str().unwrap_or_default();
    assert!(
        codes.contains(&code),
        "{what}: code {code:?} is not one of {codes:?} ({status}: {body})"
    );
}

/// PUTs `body` with exactly the returned headers (content-length is derived from the body
/// by the HTTP client, as in a browser), header values sent as raw bytes.
async fn put_exactly(app: &TestApp, put: &Value, body: &[u8]) -> (StatusCode, String) {
    let mut req = app
        .http
        .put(put["url"].as_str().expect("put.url"))
        .body(body.to_vec());
    for (name, value) in put["headers"].as_object().expect("put.headers") {
        if name == "content-length" {
            assert_eq!(value, &json!(body.len().to_string()));
            continue;
        }
        let value = reqwest::header::HeaderValue::from_bytes(
            value.as_str().expect("header text").as_bytes(),
        )
        .unwrap_or_else(|e| panic!("{name}: {value} cannot be sent as a header: {e}"));
        req = req.header(name.as_str(), value);
    }
    let resp = req.send().await.expect("PUT reaches the store");
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

/// A browser-form POST of the fields Sluice returned, then the file.
async fn post_form(app: &TestApp, params: &Value, file: &[u8]) -> (StatusCode, String) {
    let boundary = "----sluiceTrustSigning0123456789";
    let mut body = Vec::new();
    for (name, value) in params["fields"].as_object().expect("fields") {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{}\r\n",
                value.as_str().expect("string field")
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = app
        .http
        .post(params["url"].as_str().expect("url"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("POST reaches the store");
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Commits `id`, asks for a download link and GETs it from the store; returns the
/// store's `Content-Type` and `Content-Disposition` and the bytes.
async fn download(app: &TestApp, token: &str, id: &str) -> (String, String, Vec<u8>) {
    let (status, file) = app.commit(token, id).await;
    assert_eq!(status, StatusCode::OK, "commit: {file}");
    let file_id = file["id"].as_str().expect("file id");
    let (status, link) = app
        .call(
            Method::POST,
            &format!("/v1/files/{file_id}/download-url"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "download-url: {link}");
    let resp = app
        .http
        .get(link["url"].as_str().expect("url"))
        .send()
        .await
        .expect("GET reaches the store");
    let status = resp.status();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let bytes = resp.bytes().await.expect("bytes").to_vec();
    assert_eq!(
        status,
        StatusCode::OK,
        "GET of the download link: {}",
        String::from_utf8_lossy(&bytes)
    );
    (content_type, disposition, bytes)
}

e2e!(
    every_signed_content_type_is_the_one_the_store_reads,
    |app| {
        let alice = app.token("alice");
        let body = b"abc";
        let mut accepted = BTreeSet::new();
        for raw in generated_content_types() {
            let what = format!("content type {raw:?}");
            let (status, created) = app
                .call(
                    Method::POST,
                    "/v1/uploads",
                    Some(&alice),
                    Some(json!({"filename": "a.txt", "size": body.len(), "content_type": raw})),
                )
                .await;
            // Uppy's routes take the same type and must make the same of it: a form whose
            // `Content-Type` field is the normalised type, a multipart upload the store
            // created with it (rust-s3 signs that request), or the same refusal.
            let (params_status, params) = send(
                app.http
                    .get(format!(
                        "{}/s3/params?filename=a.txt&type={}",
                        app.api,
                        urlencode(&raw)
                    ))
                    .bearer_auth(&alice),
            )
            .await;
            let (multipart_status, multipart) = send(
                app.http
                    .post(format!("{}/s3/multipart", app.api))
                    .bearer_auth(&alice)
                    .json(&json!({"filename": "a.bin", "type": raw, "metadata": {}})),
            )
            .await;
            if status != StatusCode::CREATED {
                assert_refused(&what, status, &created, &["validation_failed"]);
                assert_refused(&what, params_status, &params, &["validation_failed"]);
                assert_refused(&what, multipart_status, &multipart, &["validation_failed"]);
                continue;
            }
            // One value: the one returned, the one signed, the one stored.
            let normalised = created["content_type"].as_str().expect("content_type");
            assert_eq!(
                params_status,
                StatusCode::OK,
                "{what}: /s3/params: {params}"
            );
            assert_eq!(params["fields"]["Content-Type"], normalised, "{what}");
            assert_eq!(
                multipart_status,
                StatusCode::OK,
                "{what}: /s3/multipart: {multipart}"
            );
            assert_eq!(
                created["put"]["headers"]["content-type"], normalised,
                "{what}: the header to send is the type returned"
            );
            assert_eq!(
                sigv4_canonical(normalised),
                normalised,
                "{what}: signed as SigV4 reads it"
            );
            assert!(normalised.len() <= 255, "{what}: fits its column");
            assert!(normalised.len() <= raw.len(), "{what}: never grows");
            let essence = |t: &str| t.split(';').next().unwrap_or("").trim().to_owned();
            assert_eq!(essence(normalised), essence(&raw).to_ascii_lowercase());
            let (status, text) = put_exactly(&app, &created["put"], body).await;
            assert!(
                status.is_success(),
                "{what}: the store refused the PUT Sluice signed ({normalised:?}): {status} {text}"
            );
            let id = created["id"].as_str().expect("id");
            let (status, session) = app.complete(&alice, id).await;
            assert_eq!(status, StatusCode::OK, "{what}: complete: {session}");
            assert_eq!(session["state"], "uploaded", "{what}");
            assert_eq!(session["content_type"], normalised, "{what}");
            accepted.insert((normalised.to_owned(), id.to_owned()));
        }
        // The checksum header, whichever form the digest was declared in.
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let b64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
        for declared in [hex.to_owned(), hex.to_ascii_uppercase(), b64.to_owned()] {
            let what = format!("sha256 {declared}");
            let (status, created) = app
                .call(
                    Method::POST,
                    "/v1/uploads",
                    Some(&alice),
                    Some(json!({"filename": "a.txt", "size": body.len(), "sha256": declared})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{what}: {created}");
            if let Some(signed) = created["put"]["headers"]["x-amz-checksum-sha256"].as_str() {
                assert_eq!(signed, b64, "{what}");
            }
            let (status, text) = put_exactly(&app, &created["put"], body).await;
            assert!(status.is_success(), "{what}: PUT {status} {text}");
            let (status, session) = app
                .complete(&alice, created["id"].as_str().expect("id"))
                .await;
            assert_eq!(session["state"], "uploaded", "{what}: {status} {session}");
            assert_eq!(session["sha256"], hex, "{what}");
        }

        // The normalisation steps are what the issue says, on the way in.
        for (raw, normalised) in [
            (
                "  Text/Plain ;  charset=UTF-8  ",
                "text/plain; charset=UTF-8",
            ),
            ("text/PLAIN;charset=UTF-8", "text/plain;charset=UTF-8"),
            ("text/plain;   a=\"x   y\"", "text/plain; a=\"x y\""),
            ("text/plain ;  ", "text/plain"),
        ] {
            assert!(
                accepted.iter().any(|(t, _)| t == normalised),
                "{raw:?} should have become {normalised:?}"
            );
        }
        let distinct: BTreeSet<&str> = accepted.iter().map(|(t, _)| t.as_str()).collect();
        assert!(distinct.len() > 20, "too few accepted: {distinct:?}");

        // Each distinct normalised type also goes through the other signed paths: a
        // multipart upload (the store signs CreateMultipartUpload's type), a browser-form
        // POST policy (its `Content-Type` condition) and the download's response override.
        let mut downloaded = BTreeSet::new();
        for (normalised, id) in &accepted {
            if !downloaded.insert(normalised.clone()) {
                continue;
            }
            let what = format!("content type {normalised:?}");
            let (content_type, _, bytes) = download(&app, &alice, id).await;
            assert_eq!(
                &content_type, normalised,
                "{what}: the store's response type"
            );
            assert_eq!(bytes, body);

            let (status, created) = app
                .call(
                    Method::POST,
                    "/v1/uploads",
                    Some(&alice),
                    Some(json!({"profile": "parts", "filename": "big.bin",
                        "size": 6 * 1024 * 1024, "content_type": normalised})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{what}: multipart: {created}");
            assert_eq!(created["content_type"], normalised.as_str());

            let (status, params) = send(
                app.http
                    .get(format!(
                        "{}/s3/params?filename=a.txt&type={}",
                        app.api,
                        urlencode(normalised)
                    ))
                    .bearer_auth(&alice),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{what}: /s3/params: {params}");
            assert_eq!(params["fields"]["Content-Type"], normalised.as_str());
            let (status, text) = post_form(&app, &params, body).await;
            assert!(
                status.is_success(),
                "{what}: the store refused the POST policy: {status} {text}"
            );
        }
    }
);

/// Filenames around the 255-byte cut with characters of 1 to 4 bytes, spaces and dots at
/// the cut, controls and bidi overrides in the middle.
fn generated_filenames() -> Vec<String> {
    let mut out = Vec::new();
    for unit in ["a", "é", "€", "😀", "e\u{301}"] {
        for total in [253, 254, 255, 256, 257, 1024] {
            let mut s = String::new();
            while s.len() + unit.len() <= total {
                s.push_str(unit);
            }
            while s.len() < total {
                s.push('b');
            }
            out.push(s.clone());
            out.push(format!("{}.txt", &s[..s.floor_char_boundary(total - 4)]));
        }
    }
    for tail in [" b.txt", ".b.txt", "\u{0}b", "\t\tb", "\u{202e}b", "  .  b"] {
        out.push(format!("{}{tail}", "a".repeat(254)));
        out.push(format!("{}{tail}", "é".repeat(127)));
    }
    out.push("dir/sub\\..\\ name .pdf".to_owned());
    out.push("\u{feff}".to_owned());
    out
}

e2e!(stored_names_owners_and_metadata_fit_their_columns, |app| {
    let body = b"abc";
    // Owners at the owner column's 255: tokens of multi-byte subjects (255 bytes,
    // fewer characters) and service calls naming any printable ASCII owner.
    let subjects = [
        format!("{}a", "é".repeat(127)),
        format!("{}abc", "😀".repeat(63)),
        format!("{}abc", "€".repeat(84)),
    ];
    let mut callers: Vec<(String, Vec<(&str, String)>)> = subjects
        .iter()
        .map(|s| {
            assert_eq!(s.len(), 255);
            (
                s.clone(),
                vec![("Authorization", format!("Bearer {}", app.token(s)))],
            )
        })
        .collect();
    let ascii: String = (0..255u32)
        .map(|i| char::from(b' ' + 1 + (i % 94) as u8))
        .collect();
    callers.push((
        ascii.clone(),
        vec![
            ("Authorization", format!("Bearer {SERVICE_KEY}")),
            ("X-Sluice-Owner", ascii.clone()),
        ],
    ));

    let names = generated_filenames();
    for (n, raw) in names.iter().enumerate() {
        let (owner, auth) = &callers[n % callers.len()];
        let what = format!("filename {raw:?} of owner {owner:?}");
        let mut req = app
            .http
            .post(format!("{}/v1/uploads", app.api))
            .json(&json!({
                "filename": raw, "size": body.len(), "content_type": "text/plain",
                "metadata": {"k": "😀".repeat(1024), "😀".repeat(64): "v"},
            }));
        for (name, value) in auth {
            req = req.header(*name, value.as_str());
        }
        let (status, created) = send(req).await;
        if raw.chars().count() > 1024 {
            assert_refused(&what, status, &created, &["validation_failed"]);
            continue;
        }
        assert_eq!(status, StatusCode::CREATED, "{what}: {created}");
        let id = created["id"].as_str().expect("id").to_owned();
        let (status, text) = put_exactly(&app, &created["put"], body).await;
        assert!(status.is_success(), "{what}: PUT {status} {text}");
        // Read back through the owner's own credentials.
        let mut req = app
            .http
            .post(format!("{}/v1/uploads/{id}/complete", app.api));
        for (name, value) in auth {
            req = req.header(*name, value.as_str());
        }
        let (status, session) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{what}: complete: {session}");
        let expected = sanitize_filename(raw);
        assert!(expected.len() <= 255);
        assert_eq!(session["filename"], expected.as_str(), "{what}");
        assert_eq!(session["metadata"]["k"], "😀".repeat(1024), "{what}");

        // The file row (owner, name, type) and the download's signed override.
        let mut req = app.http.post(format!("{}/v1/uploads/{id}/commit", app.api));
        for (name, value) in auth {
            req = req.header(*name, value.as_str());
        }
        let (status, file) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{what}: commit: {file}");
        assert_eq!(file["filename"], expected.as_str());
        assert_eq!(file["owner"], owner.as_str(), "{what}");
        let file_id = file["id"].as_str().expect("file id");
        let mut req = app
            .http
            .post(format!("{}/v1/files/{file_id}/download-url", app.api));
        for (name, value) in auth {
            req = req.header(*name, value.as_str());
        }
        let (status, link) = send(req).await;
        assert_eq!(status, StatusCode::OK, "{what}: download-url: {link}");
        let resp = app
            .http
            .get(link["url"].as_str().expect("url"))
            .send()
            .await
            .expect("GET reaches the store");
        assert_eq!(resp.status(), StatusCode::OK, "{what}: download");
        assert_eq!(
            resp.headers()["content-disposition"].as_bytes(),
            content_disposition(Disposition::Attachment, &expected).as_bytes(),
            "{what}: the store serves the disposition Sluice signed"
        );
    }
});
