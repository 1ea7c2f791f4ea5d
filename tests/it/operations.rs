//! Operations endpoints and the OpenAPI contract.

use super::*;

e2e!(health_readiness_and_docs_answer, |app| {
    let (status, body) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"status": "ok", "database": "ok", "queue": "ok", "storage": "ok",
               "jobs": {"stored": 0, "due": 0, "oldest_due_seconds": null, "undecodable": 0}})
    );
    let resp = app
        .http
        .get(format!("{}/docs/", app.api))
        .send()
        .await
        .expect("docs");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.expect("html").contains("swagger"));
});

e2e!(
    served_spec_matches_the_committed_file_and_lists_every_code,
    |app| {
        let (status, served) = app.call(Method::GET, "/openapi.json", None, None).await;
        assert_eq!(status, StatusCode::OK);
        let committed: Value = serde_json::from_str(include_str!("../../openapi/openapi.json"))
            .expect("committed spec parses");
        assert_eq!(
            served, committed,
            "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
        );
        let listed: Vec<&str> = served["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .expect("ErrorCode enum")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let declared: Vec<&str> = sluice_core::ErrorCode::ALL
            .iter()
            .map(|code| code.as_str())
            .collect();
        assert_eq!(listed.len(), declared.len(), "{listed:?}");
        for code in &declared {
            assert!(listed.contains(code), "{code} missing from the spec");
        }
        // Both error bodies name the enum rather than a free string.
        for body in ["Problem", "CompanionProblem"] {
            assert_eq!(
                served["components"]["schemas"][body]["properties"]["code"]["$ref"],
                "#/components/schemas/ErrorCode",
                "{body}"
            );
        }
        for path in [
            "/v1/uploads",
            "/v1/uploads/{id}",
            "/v1/uploads/{id}/complete",
            "/v1/uploads/{id}/abort",
            "/v1/uploads/{id}/commit",
            "/v1/files/{id}",
            "/v1/files/{id}/download-url",
            "/v1/files/{id}/download",
            "/healthz",
            "/readyz",
        ] {
            assert!(
                served["paths"].get(path).is_some(),
                "{path} missing from the spec"
            );
        }
    }
);

e2e!(a_job_row_from_a_newer_version_is_kept_and_reported, |app| {
    use sea_orm::{ActiveModelTrait, Set};
    let now = app.running.core.now();
    let row = sluice_entity::outbox_job::ActiveModel {
        job: Set("from_the_future".into()),
        payload: Set(json!({"upload_id": "whatever"})),
        run_at: Set(now),
        created_at: Set(now),
        attempts: Set(0),
        ..Default::default()
    }
    .insert(&app.running.core.db)
    .await
    .expect("insert");
    for _ in 0..3 {
        app.advance_and_drain(Duration::from_secs(600)).await;
    }
    let kept = sluice_core::outbox::find(&app.running.core.db, row.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept.attempts, 3);
    let (status, body) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a row for a newer version is not a fault: {body}"
    );
    assert_eq!(body["jobs"]["undecodable"], 1, "{body}");
    assert_eq!(body["jobs"]["stored"], 1, "{body}");
});
