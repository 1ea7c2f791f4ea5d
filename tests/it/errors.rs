//! Every client mistake is a 4xx problem+json with a stable code; never a 500.

use super::*;
use sluice_tests::client_keys::{ADMIN_KEY, SERVICE_KEY};

async fn raw_create(
    app: &TestApp,
    token: &str,
    body: &str,
    content_type: &str,
) -> (StatusCode, String, Value) {
    let resp = app
        .http
        .post(format!("{}/v1/uploads", app.api))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ct, resp.json().await.unwrap_or(Value::Null))
}

e2e!(malformed_requests_get_precise_codes, |app| {
    let alice = app.token("alice");
    let cases: &[(&str, &str, ErrorCode)] = &[
        (
            "{\"filename\": ",
            "application/json",
            ErrorCode::MalformedJson,
        ),
        ("not json", "application/json", ErrorCode::MalformedJson),
        (
            "{\"filename\":\"a\",\"size\":1,\"content_type\":\"text/plain\",\"colour\":1}",
            "application/json",
            ErrorCode::UnknownField,
        ),
        (
            "{\"filename\":\"a\",\"content_type\":\"text/plain\"}",
            "application/json",
            ErrorCode::MissingField,
        ),
        (
            "{\"filename\":\"a\",\"size\":\"big\",\"content_type\":\"text/plain\"}",
            "application/json",
            ErrorCode::InvalidType,
        ),
        (
            "{\"filename\":\"a\",\"size\":-1,\"content_type\":\"text/plain\"}",
            "application/json",
            ErrorCode::InvalidType,
        ),
        (
            "{\"filename\":\"\",\"size\":1,\"content_type\":\"text/plain\"}",
            "application/json",
            ErrorCode::ValidationFailed,
        ),
        (
            "{\"filename\":\"a\",\"size\":1,\"content_type\":\"no type\"}",
            "application/json",
            ErrorCode::ValidationFailed,
        ),
        (
            "{\"filename\":\"a\",\"size\":1,\"content_type\":\"text/plain\",\"sha256\":\"xyz\"}",
            "application/json",
            ErrorCode::ValidationFailed,
        ),
        (
            "{\"filename\":\"a\",\"size\":1,\"content_type\":\"text/plain\"}",
            "text/plain",
            ErrorCode::UnsupportedMediaType,
        ),
    ];
    for (body, content_type, code) in cases {
        let (got, ct, problem) = raw_create(&app, &alice, body, content_type).await;
        assert_problem!(got, &problem, *code, "{body}");
        assert_eq!(ct, "application/problem+json", "{body}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
});

e2e!(profile_policy_refuses_at_create, |app| {
    let alice = app.token("alice");
    let cases = [
        (
            json!({"profile": "nope", "filename": "a.png", "size": 1, "content_type": "image/png"}),
            ErrorCode::UnknownProfile,
        ),
        (
            json!({"profile": "images", "filename": "a.png", "size": 2048, "content_type": "image/png"}),
            ErrorCode::TooLarge,
        ),
        (
            json!({"profile": "images", "filename": "a.png", "size": 10, "content_type": "application/pdf"}),
            ErrorCode::TypeNotAllowed,
        ),
        (
            json!({"profile": "images", "filename": "a.gif", "size": 10, "content_type": "image/gif"}),
            ErrorCode::ExtensionNotAllowed,
        ),
    ];
    for (body, code) in cases {
        let (got, problem) = app
            .call(
                Method::POST,
                "/v1/uploads",
                Some(&alice),
                Some(body.clone()),
            )
            .await;
        assert_problem!(got, &problem, code, "{body}");
    }
    let ok = app.create(&alice, json!({"profile": "images", "filename": "a.PNG", "size": 10, "content_type": "image/png"})).await;
    assert_eq!(ok.body["state"], "pending");
});

e2e!(credentials_are_checked, |app| {
    let body = json!({"filename": "a.txt", "size": 1, "content_type": "text/plain"});
    let (status, problem) = app
        .call(Method::POST, "/v1/uploads", None, Some(body.clone()))
        .await;
    assert_problem!(status, &problem, ErrorCode::Unauthorized);
    let (status, problem) = app
        .call(
            Method::POST,
            "/v1/uploads",
            Some("not-a-token"),
            Some(body.clone()),
        )
        .await;
    assert_problem!(status, &problem, ErrorCode::Unauthorized);
    let foreign = sluice_core::auth::mint_token(
        b"some-other-secret-some-other-secret!",
        "alice",
        Duration::from_secs(60),
        None,
    )
    .expect("mint");
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/uploads",
            Some(&foreign),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status.as_u16(), 401);
    let (status, problem) = app
        .call(
            Method::POST,
            "/v1/uploads",
            Some(ADMIN_KEY),
            Some(body.clone()),
        )
        .await;
    assert_problem!(status, &problem, ErrorCode::Forbidden);
    let (status, problem) = app
        .call(
            Method::POST,
            "/v1/uploads",
            Some(SERVICE_KEY),
            Some(body.clone()),
        )
        .await;
    assert_problem!(status, &problem, ErrorCode::OwnerRequired);
    let limited = app.token_with("alice", Some(vec!["images".into()]));
    let (status, problem) = app
        .call(Method::POST, "/v1/uploads", Some(&limited), Some(body))
        .await;
    assert_problem!(status, &problem, ErrorCode::ProfileNotAllowed);
});

e2e!(other_owners_sessions_and_unknown_ids_are_not_found, |app| {
    let alice = app.token("alice");
    let mallory = app.token("mallory");
    let created = app.create_text(&alice, 3).await;
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::POST, "/complete"),
        (Method::POST, "/abort"),
        (Method::POST, "/commit"),
    ] {
        let (status, problem) = app
            .call(
                method.clone(),
                &format!("/v1/uploads/{}{suffix}", created.id),
                Some(&mallory),
                None,
            )
            .await;
        assert_problem!(status, &problem, ErrorCode::NotFound, "{method} {suffix}");
    }
    assert_eq!(app.session(&alice, &created.id).await["state"], "pending");
    for (path, code) in [
        ("/v1/uploads/not-a-uuid", ErrorCode::NotFound),
        (
            "/v1/files/00000000-0000-0000-0000-000000000000",
            ErrorCode::NotFound,
        ),
        ("/v1/nothing-here", ErrorCode::RouteNotFound),
    ] {
        let (status, problem) = app.call(Method::GET, path, Some(&alice), None).await;
        assert_problem!(status, &problem, code, "{path}");
    }
});

e2e!(a_json_body_over_the_limit_is_payload_too_large, |app| {
    let alice = app.token("alice");
    // Valid JSON, one string field long enough to pass 64 KiB: Sluice stops reading at the
    // limit, whatever the body would have said.
    let filename = "a".repeat(70 * 1024);
    let body = json!({"filename": filename, "size": 1, "content_type": "text/plain"}).to_string();
    let (status, ct, problem) = raw_create(&app, &alice, &body, "application/json").await;
    assert_problem!(status, &problem, ErrorCode::PayloadTooLarge);
    assert_eq!(ct, "application/problem+json");
    // Just under the limit is read, and refused for what it says instead.
    let filename = "a".repeat(60 * 1024);
    let body = json!({"filename": filename, "size": 1, "content_type": "text/plain"}).to_string();
    let (status, _, problem) = raw_create(&app, &alice, &body, "application/json").await;
    assert_problem!(status, &problem, ErrorCode::ValidationFailed);
    assert_eq!(problem["field"], "filename", "{problem}");
});
