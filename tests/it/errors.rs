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
    let cases: &[(&str, &str, u16, &str)] = &[
        ("{\"filename\": ", "application/json", 400, "malformed_json"),
        ("not json", "application/json", 400, "malformed_json"),
        (
            "{\"filename\":\"a\",\"size\":1,\"content_type\":\"text/plain\",\"colour\":1}",
            "application/json",
            422,
            "unknown_field",
        ),
        (
            "{\"filename\":\"a\",\"content_type\":\"text/plain\"}",
            "application/json",
            422,
            "missing_field",
        ),
        (
            "{\"filename\":\"a\",\"size\":\"big\",\"content_type\":\"text/plain\"}",
            "application/json",
            422,
            "invalid_type",
        ),
        (
            "{\"filename\":\"a\",\"size\":-1,\"content_type\":\"text/plain\"}",
            "application/json",
            422,
            "invalid_type",
        ),
        (
            "{\"filename\":\"\",\"size\":1,\"content_type\":\"text/plain\"}",
            "application/json",
            422,
            "validation_failed",
        ),
        (
            "{\"filename\":\"a\",\"size\":1,\"content_type\":\"no type\"}",
            "application/json",
            422,
            "validation_failed",
        ),
        (
            "{\"filename\":\"a\",\"size\":1,\"content_type\":\"text/plain\",\"sha256\":\"xyz\"}",
            "application/json",
            422,
            "validation_failed",
        ),
        (
            "{\"filename\":\"a\",\"size\":1,\"content_type\":\"text/plain\"}",
            "text/plain",
            415,
            "unsupported_media_type",
        ),
    ];
    for (body, content_type, status, code) in cases {
        let (got, ct, problem) = raw_create(&app, &alice, body, content_type).await;
        assert_eq!(got.as_u16(), *status, "{body}: {problem}");
        assert_eq!(problem["code"], *code, "{body}: {problem}");
        assert_eq!(ct, "application/problem+json", "{body}");
        assert_eq!(problem["status"], *status);
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
});

e2e!(profile_policy_refuses_at_create, |app| {
    let alice = app.token("alice");
    let cases = [
        (
            json!({"profile": "nope", "filename": "a.png", "size": 1, "content_type": "image/png"}),
            404,
            "unknown_profile",
        ),
        (
            json!({"profile": "images", "filename": "a.png", "size": 2048, "content_type": "image/png"}),
            413,
            "too_large",
        ),
        (
            json!({"profile": "images", "filename": "a.png", "size": 10, "content_type": "application/pdf"}),
            415,
            "type_not_allowed",
        ),
        (
            json!({"profile": "images", "filename": "a.gif", "size": 10, "content_type": "image/gif"}),
            415,
            "extension_not_allowed",
        ),
    ];
    for (body, status, code) in cases {
        let (got, problem) = app
            .call(
                Method::POST,
                "/v1/uploads",
                Some(&alice),
                Some(body.clone()),
            )
            .await;
        assert_eq!(got.as_u16(), status, "{body}: {problem}");
        assert_eq!(problem["code"], code, "{body}");
    }
    let ok = app.create(&alice, json!({"profile": "images", "filename": "a.PNG", "size": 10, "content_type": "image/png"})).await;
    assert_eq!(ok.body["state"], "pending");
});

e2e!(credentials_are_checked, |app| {
    let body = json!({"filename": "a.txt", "size": 1, "content_type": "text/plain"});
    let (status, problem) = app
        .call(Method::POST, "/v1/uploads", None, Some(body.clone()))
        .await;
    assert_eq!(
        (status.as_u16(), problem["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, problem) = app
        .call(
            Method::POST,
            "/v1/uploads",
            Some("not-a-token"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        (status.as_u16(), problem["code"].as_str()),
        (401, Some("unauthorized"))
    );
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
    assert_eq!(
        (status.as_u16(), problem["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, problem) = app
        .call(
            Method::POST,
            "/v1/uploads",
            Some(SERVICE_KEY),
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        (status.as_u16(), problem["code"].as_str()),
        (400, Some("owner_required"))
    );
    let limited = app.token_with("alice", Some(vec!["images".into()]));
    let (status, problem) = app
        .call(Method::POST, "/v1/uploads", Some(&limited), Some(body))
        .await;
    assert_eq!(
        (status.as_u16(), problem["code"].as_str()),
        (403, Some("profile_not_allowed"))
    );
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
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} {suffix}: {problem}"
        );
        assert_eq!(problem["code"], "not_found");
    }
    assert_eq!(app.session(&alice, &created.id).await["state"], "pending");
    for path in [
        "/v1/uploads/not-a-uuid",
        "/v1/files/00000000-0000-0000-0000-000000000000",
        "/v1/nothing-here",
    ] {
        let (status, problem) = app.call(Method::GET, path, Some(&alice), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(problem["code"].is_string(), "{path}: {problem}");
    }
});
