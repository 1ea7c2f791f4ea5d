//! The bounds of what a client declares live in core (`sluice_core::upload::input`): the
//! served document states exactly those, and the server holds each at its edge, on `/v1`
//! and on Uppy's routes alike.

use super::*;
use sluice_core::upload::input::{
    ContentType, Filename, MAX_OBJECT_SIZE, Metadata, NO_NUL_PATTERN, ProfileName,
};

fn committed_spec() -> Value {
    serde_json::from_str(include_str!("../../openapi/openapi.json")).expect("spec parses")
}

#[test]
fn the_document_states_cores_bounds() {
    let spec = committed_spec();
    let create = &spec["components"]["schemas"]["CreateUploadRequest"]["properties"];
    let n = |v: usize| json!(v);
    assert_eq!(create["profile"]["minLength"], n(ProfileName::MIN_CHARS));
    assert_eq!(create["profile"]["maxLength"], n(ProfileName::MAX_CHARS));
    assert_eq!(create["profile"]["pattern"], ProfileName::PATTERN);
    assert_eq!(create["profile"]["default"], ProfileName::DEFAULT);
    assert_eq!(create["filename"]["minLength"], n(Filename::MIN_CHARS));
    assert_eq!(create["filename"]["maxLength"], n(Filename::MAX_CHARS));
    assert_eq!(create["size"]["maximum"], json!(MAX_OBJECT_SIZE));
    assert_eq!(
        create["content_type"]["maxLength"],
        n(ContentType::MAX_CHARS)
    );
    assert_eq!(create["content_type"]["pattern"], ContentType::PATTERN);
    let metadata = &create["metadata"];
    assert_eq!(metadata["maxProperties"], n(Metadata::MAX_ENTRIES));
    assert_eq!(
        metadata["propertyNames"]["minLength"],
        n(Metadata::KEY_MIN_CHARS)
    );
    assert_eq!(
        metadata["propertyNames"]["maxLength"],
        n(Metadata::KEY_MAX_CHARS)
    );
    assert_eq!(
        metadata["additionalProperties"]["maxLength"],
        n(Metadata::VALUE_MAX_CHARS)
    );
    assert_eq!(metadata["additionalProperties"]["pattern"], NO_NUL_PATTERN);

    let uppy = &spec["components"]["schemas"]["CreateMultipartRequest"]["properties"];
    assert_eq!(uppy["filename"]["maxLength"], n(Filename::MAX_CHARS));
    assert_eq!(uppy["type"]["maxLength"], n(ContentType::MAX_CHARS));
    assert_eq!(uppy["metadata"]["maxProperties"], n(Metadata::MAX_ENTRIES));
    let params = spec["paths"]["/s3/params"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    let param = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no {name} parameter"))
    };
    assert_eq!(param("filename")["required"], true);
    assert_eq!(
        param("filename")["schema"]["maxLength"],
        n(Filename::MAX_CHARS)
    );
    assert_eq!(param("type")["schema"]["pattern"], ContentType::PATTERN);
}

e2e!(each_declared_bound_holds_at_its_edge, |app| {
    let alice = app.token("alice");
    let create = |body: Value| {
        let app = &app;
        let alice = alice.clone();
        async move {
            app.call(Method::POST, "/v1/uploads", Some(&alice), Some(body))
                .await
        }
    };
    let base = || json!({"filename": "a.txt", "size": 1, "content_type": "text/plain"});
    let metadata = |entries: usize| {
        (0..entries)
            .map(|i| (format!("k{i}"), json!("v")))
            .collect::<serde_json::Map<_, _>>()
    };
    // (field, a value at its bound, one past it); for the size, a value within it: the
    // profile's own limit refuses 5 TiB as `too_large` first.
    let edges: Vec<(&str, Value, Value)> = vec![
        (
            "filename",
            json!("f".repeat(Filename::MAX_CHARS)),
            json!("f".repeat(Filename::MAX_CHARS + 1)),
        ),
        (
            "content_type",
            json!(format!(
                "text/plain; x={}",
                "a".repeat(ContentType::MAX_CHARS - 14)
            )),
            json!(format!(
                "text/plain; x={}",
                "a".repeat(ContentType::MAX_CHARS - 13)
            )),
        ),
        (
            "metadata",
            json!(metadata(Metadata::MAX_ENTRIES)),
            json!(metadata(Metadata::MAX_ENTRIES + 1)),
        ),
        ("size", json!(1), json!(MAX_OBJECT_SIZE + 1)),
    ];
    for (field, inside, outside) in edges {
        let mut body = base();
        body[field] = inside;
        let (status, answer) = create(body).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{field} at its bound: {answer}"
        );
        let mut body = base();
        body[field] = outside;
        let (status, problem) = create(body).await;
        assert_problem!(
            status,
            &problem,
            ErrorCode::ValidationFailed,
            "{field} past its bound"
        );
        assert_eq!(problem["field"], field, "{problem}");
    }
    // A profile name past its bound is refused as such, not looked up.
    let mut body = base();
    body["profile"] = json!("p".repeat(ProfileName::MAX_CHARS + 1));
    let (status, problem) = create(body).await;
    assert_problem!(status, &problem, ErrorCode::ValidationFailed);
    assert_eq!(problem["field"], "profile", "{problem}");

    // Uppy's routes hold the same bounds.
    let uppy = |filename: String| json!({"filename": filename, "type": "application/octet-stream"});
    let (status, answer) = app
        .call(
            Method::POST,
            "/s3/multipart",
            Some(&alice),
            Some(uppy("f".repeat(Filename::MAX_CHARS))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, problem) = app
        .call(
            Method::POST,
            "/s3/multipart",
            Some(&alice),
            Some(uppy("f".repeat(Filename::MAX_CHARS + 1))),
        )
        .await;
    assert_problem!(status, &problem, ErrorCode::ValidationFailed);
    let long_type = format!("text/plain; x={}", "a".repeat(ContentType::MAX_CHARS));
    let (status, problem) = app
        .call(
            Method::GET,
            &format!(
                "/s3/params?filename=a.txt&type={}",
                long_type.replace(' ', "%20")
            ),
            Some(&alice),
            None,
        )
        .await;
    assert_problem!(status, &problem, ErrorCode::ValidationFailed);
});
