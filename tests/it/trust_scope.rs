//! Issue 15, item 3: a token limited to some profiles reaches no session or file of
//! another profile, on any route: `/v1/uploads/*`, `/v1/files/*` and Uppy's `/s3/*`
//! (bearer and session cookie), the pending cache of part signing included. Such a row
//! answers exactly like another owner's: 404 `not_found`, and nothing changes. A token
//! whose scope does include the profile, and the unscoped token, still reach it.

use crate::*;

const MIB: usize = 1024 * 1024;

/// A request with a bearer token (or none) and extra headers; status and JSON body.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.http.request(method, format!("{}{path}", app.api));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request reaches sluice");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

fn assert_not_found(what: &str, (status, body): (StatusCode, Value)) {
    assert_problem!(status, &body, ErrorCode::NotFound, "{what}");
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

/// `POST /v1/session` for `token`; the `Cookie` header value to send back.
async fn browser_session(app: &TestApp, token: &str) -> String {
    let resp = app
        .http
        .post(format!("{}/v1/session", app.api))
        .bearer_auth(token)
        .send()
        .await
        .expect("reaches sluice");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned()
}

e2e!(
    scoped_token_reaches_no_session_or_file_of_another_profile,
    |app| {
        let full = app.token("carol");
        let other = app.token_with("carol", Some(vec!["reusable".into()]));
        let within = app.token_with("carol", Some(vec!["default".into(), "parts".into()]));
        let get = |id: &str| format!("/v1/uploads/{id}");

        // A pending single upload (`default`) and a pending multipart one (`parts`), made
        // by the unscoped token; the multipart one is in the pending cache already.
        let single = app.create_text(&full, 5).await;
        let size = 6 * MIB;
        let multi = app
            .create(
                &full,
                json!({"profile": "parts", "filename": "big.bin", "size": size, "content_type": "application/octet-stream"}),
            )
            .await;
        assert!(multi.body["multipart"].is_object(), "{}", multi.body);
        app.sign_parts(&full, &multi.id, &[1]).await;

        for id in [&single.id, &multi.id] {
            assert_not_found(
                "get",
                app.call(Method::GET, &get(id), Some(&other), None).await,
            );
            assert_not_found("complete", app.complete(&other, id).await);
            assert_not_found("commit", app.commit(&other, id).await);
            assert_not_found("abort", app.abort(&other, id).await);
        }
        assert_not_found(
            "sign parts",
            app.call(
                Method::POST,
                &format!("/v1/uploads/{}/parts", multi.id),
                Some(&other),
                Some(json!({"part_numbers": [1, 2]})),
            )
            .await,
        );
        // Nothing changed; a token scoped to the right profiles reaches both.
        for id in [&single.id, &multi.id] {
            assert_eq!(app.session(&full, id).await["state"], "pending");
            assert_eq!(app.session(&within, id).await["state"], "pending");
        }
        assert_eq!(app.sign_parts(&within, &multi.id, &[2]).await.len(), 1);

        // An uploaded session: the scoped token cannot commit it; a file: it cannot read,
        // link, download or delete it.
        let uploaded = app
            .upload_verified(&full, "default", "kept.txt", b"verified bytes")
            .await;
        assert_not_found("commit", app.commit(&other, &uploaded.id).await);
        assert_eq!(app.session(&full, &uploaded.id).await["state"], "uploaded");
        let (status, file) = app.commit(&full, &uploaded.id).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        let file_id = file["id"].as_str().expect("file id");
        let files = format!("/v1/files/{file_id}");
        assert_not_found("commit again", app.commit(&other, &uploaded.id).await);
        assert_not_found(
            "file",
            app.call(Method::GET, &files, Some(&other), None).await,
        );
        assert_not_found(
            "download-url",
            app.call(
                Method::POST,
                &format!("{files}/download-url"),
                Some(&other),
                Some(json!({})),
            )
            .await,
        );
        assert_not_found(
            "download",
            app.call(
                Method::GET,
                &format!("{files}/download"),
                Some(&other),
                None,
            )
            .await,
        );
        assert_not_found(
            "delete",
            app.call(Method::DELETE, &files, Some(&other), None).await,
        );
        // The file is intact and reachable within the scope.
        for token in [&full, &within] {
            let (status, body) = app.call(Method::GET, &files, Some(token), None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (status, _) = app
            .call(
                Method::GET,
                &format!("{files}/download"),
                Some(&within),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FOUND);
        assert!(app.object_exists(&uploaded.key).await);
        // The owner's files stay 404 for another owner too (the same answer).
        let stranger = app.token("dave");
        assert_not_found(
            "another owner",
            app.call(Method::GET, &files, Some(&stranger), None).await,
        );

        // The quota a scoped token reads: only its profiles, and the owner's total (its
        // uploads count against that total too).
        let (status, quota) = app.call(Method::GET, "/v1/quota", Some(&other), None).await;
        assert_eq!(status, StatusCode::OK, "{quota}");
        let profiles: Vec<&str> = quota["profiles"]
            .as_array()
            .expect("profiles")
            .iter()
            .map(|p| p["profile"].as_str().expect("name"))
            .collect();
        assert_eq!(profiles, vec!["reusable"], "{quota}");
        assert!(quota["total"].is_object(), "{quota}");
    }
);

e2e!(
    scoped_token_reaches_no_uppy_upload_of_another_profile,
    |app| {
        // The Uppy routes make sessions of `uppy.profile` (`default`).
        let full = app.token("erin");
        let other = app.token_with("erin", Some(vec!["reusable".into()]));
        let (status, started) = send(
            &app,
            Method::POST,
            "/s3/multipart",
            Some(&full),
            &[],
            Some(
                json!({"filename": "clip.bin", "type": "application/octet-stream", "metadata": {}}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let key = started["key"].as_str().expect("key").to_owned();
        let upload_id = started["uploadId"].as_str().expect("uploadId").to_owned();
        let k = format!("key={}", urlencode(&key));
        let u = urlencode(&upload_id);
        // Signed once by the owner's full token: the session is in the pending cache.
        let sign = format!("/s3/multipart/{u}/1?{k}");
        let (status, signed) = send(&app, Method::GET, &sign, Some(&full), &[], None).await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        let (status, params) = send(
            &app,
            Method::GET,
            "/s3/params?filename=note.txt&type=text%2Fplain",
            Some(&full),
            &[],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{params}");
        let params_key = params["key"].as_str().expect("key").to_owned();

        // The scoped token cannot start one either.
        let (status, problem) = send(
            &app,
            Method::POST,
            "/s3/multipart",
            Some(&other),
            &[],
            Some(json!({"filename": "clip.bin", "type": "application/octet-stream"})),
        )
        .await;
        assert_problem!(status, &problem, ErrorCode::ProfileNotAllowed);

        let cookie = browser_session(&app, &other).await;
        let origin = app.api.clone();
        let by_cookie = [
            ("cookie", cookie.as_str()),
            ("sec-fetch-site", "same-origin"),
            ("origin", origin.as_str()),
        ];
        let by_bearer: [(&str, &str); 0] = [];
        for (how, token, headers) in [
            ("bearer", Some(other.as_str()), &by_bearer[..]),
            ("cookie", None, &by_cookie[..]),
        ] {
            let routes = [
                (Method::GET, sign.clone(), None),
                (Method::GET, format!("/s3/multipart/{u}?{k}"), None),
                (
                    Method::POST,
                    format!("/s3/multipart/{u}/complete?{k}"),
                    Some(json!({"parts": [{"PartNumber": 1, "ETag": "\"x\""}]})),
                ),
                (Method::DELETE, format!("/s3/multipart/{u}?{k}"), None),
                (
                    Method::POST,
                    format!("/s3/params/complete?key={}", urlencode(&params_key)),
                    None,
                ),
            ];
            for (method, path, body) in routes {
                let what = format!("{how} {method} {path}");
                assert_not_found(&what, send(&app, method, &path, token, headers, body).await);
            }
        }
        // Both sessions are untouched and still the owner's.
        let (status, parts) = send(
            &app,
            Method::GET,
            &format!("/s3/multipart/{u}?{k}"),
            Some(&full),
            &[],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{parts}");
        for key in [&key, &params_key] {
            let id = key.rsplit('/').next().expect("id");
            assert_eq!(app.session(&full, id).await["state"], "pending");
        }
    }
);
