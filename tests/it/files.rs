//! Download links: options, limits, ownership.

use super::*;

async fn committed_file(app: &TestApp, token: &str, profile: &str, filename: &str) -> String {
    let created = app.upload_verified(token, profile, filename, b"hi").await;
    let (status, file) = app.commit(token, &created.id).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    file["id"].as_str().expect("id").to_owned()
}

e2e!(
    download_links_follow_the_profile_and_refuse_bad_options,
    |app| {
        let alice = app.token("alice");
        let file = committed_file(&app, &alice, "quicklink", "a\"b.txt").await;
        // The profile's default disposition is inline.
        let (status, link) = app
            .call(
                Method::POST,
                &format!("/v1/files/{file}/download-url"),
                Some(&alice),
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
        assert_eq!(
            resp.headers()["content-disposition"]
                .to_str()
                .expect("ascii"),
            "inline; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt"
        );
        for (body, code) in [
            (json!({"ttl_seconds": 31}), ErrorCode::ValidationFailed),
            (json!({"ttl_seconds": 0}), ErrorCode::ValidationFailed),
            (json!({"disposition": "sideways"}), ErrorCode::InvalidType),
            (json!({"colour": "red"}), ErrorCode::UnknownField),
        ] {
            let (status, problem) = app
                .call(
                    Method::POST,
                    &format!("/v1/files/{file}/download-url"),
                    Some(&alice),
                    Some(body.clone()),
                )
                .await;
            assert_problem!(status, &problem, code, "{body}");
        }
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/v1/files/{file}/download-url"),
                Some(&app.token("eve")),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/v1/files/{file}"),
                Some(&app.token("eve")),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);
