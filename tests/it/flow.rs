//! The whole single-PUT flow: create → PUT → complete → commit → download → delete.

use super::*;

e2e!(whole_flow_commits_downloads_and_deletes, |app| {
    let alice = app.token("alice");
    let body = b"hello, sluice".to_vec();
    let created = app
        .create(
            &alice,
            json!({"filename": "résumé 2026.txt", "size": body.len(), "content_type": "text/plain",
                               "metadata": {"album": "x"}}),
        )
        .await;
    assert_eq!(created.body["state"], "pending");
    assert_eq!(created.body["method"], "put");
    assert!(created.body.get("multipart").is_none());
    assert!(created.key.starts_with("uploads/alice/"), "{}", created.key);
    assert!(
        !created.key.contains("sum"),
        "key must not derive from the filename"
    );
    let headers: std::collections::HashMap<_, _> = created.headers.iter().cloned().collect();
    assert_eq!(headers["content-type"], "text/plain");
    assert_eq!(headers["content-length"], body.len().to_string());
    assert_eq!(headers["if-none-match"], "*");

    assert!(app.put(&created, body.clone()).await.is_success());
    let (status, session) = app.complete(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["state"], "uploaded");
    assert_eq!(session["filename"], "résumé 2026.txt");
    assert_eq!(session["metadata"]["album"], "x");

    let (status, file) = app.commit(&alice, &created.id).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["upload_id"], created.id.as_str());
    assert_eq!(file["owner"], "alice");
    assert_eq!(file["size"], body.len());
    assert_eq!(app.session(&alice, &created.id).await["state"], "committed");
    let file_id = file["id"].as_str().expect("file id").to_owned();

    let (status, got) = app
        .call(
            Method::GET,
            &format!("/v1/files/{file_id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["filename"], "résumé 2026.txt");

    let (status, link) = app
        .call(
            Method::POST,
            &format!("/v1/files/{file_id}/download-url"),
            Some(&alice),
            Some(json!({"ttl_seconds": 60})),
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
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(
        disposition,
        "attachment; filename=\"r_sum_ 2026.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202026.txt"
    );
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(resp.bytes().await.expect("bytes").to_vec(), body);

    let resp = app
        .http
        .get(format!(
            "{}/v1/files/{file_id}/download?disposition=inline",
            app.api
        ))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("redirect");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let resp = app.http.get(location).send().await.expect("follow");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("inline;")
    );

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/files/{file_id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.assert_cleaned(&created.key).await;
    assert_eq!(app.session(&alice, &created.id).await["state"], "deleted");
    let (status, problem) = app
        .call(
            Method::GET,
            &format!("/v1/files/{file_id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_problem!(status, &problem, ErrorCode::NotFound);
});

e2e!(service_key_acts_for_the_named_owner, |app| {
    let resp = app
        .http
        .post(format!("{}/v1/uploads", app.api))
        .bearer_auth(sluice_tests::client_keys::SERVICE_KEY)
        .header("X-Sluice-Owner", "bob")
        .json(&json!({"filename": "a.txt", "size": 1, "content_type": "text/plain"}))
        .send()
        .await
        .expect("create");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.expect("json");
    let id = created["id"].as_str().expect("id");
    // Bob's own token sees the session the service created for him.
    assert_eq!(app.session(&app.token("bob"), id).await["state"], "pending");
    // Alice does not.
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/v1/uploads/{id}"),
            Some(&app.token("alice")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});
