//! Makes the collected OpenAPI document say everything the server does, in one place,
//! instead of repeating it on every handler: every response has a description; error
//! responses are `application/problem+json`; and the answers every route of a kind can
//! give are declared on all of them (401 behind the bearer scheme, 400 for query and body
//! syntax, 413/415/422 for bodies, 404 for ids in paths, 500/503 for every `/v1` route).
//! Uppy's Companion routes (`/s3/*`) answer errors as `{"message", "code"}` JSON instead.

use serde_json::{Value, json};
use utoipa::openapi::OpenApi;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The document with the declarations above completed.
pub fn harden(doc: OpenApi) -> OpenApi {
    let Ok(mut value) = serde_json::to_value(&doc) else {
        return doc;
    };
    complete_paths(&mut value);
    serde_json::from_value(value).unwrap_or(doc)
}

/// The declarations above, written into a document's JSON (`harden`'s work, which its
/// test checks reads back path by path).
fn complete_paths(value: &mut Value) {
    if let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for method in METHODS {
                if let Some(op) = item.get_mut(method) {
                    complete_operation(path, op);
                }
            }
        }
        link(paths, "/v1/uploads", "post", "201", UPLOAD_LINKS);
        link(paths, "/v1/uploads/{id}/commit", "post", "200", FILE_LINKS);
    }
}

/// What a created session's id opens (OpenAPI links, for generated clients and tools).
const UPLOAD_LINKS: &[(&str, &str)] = &[
    ("GetUpload", "get_upload"),
    ("SignParts", "sign_upload_parts"),
    ("Complete", "complete_upload"),
    ("Abort", "abort_upload"),
    ("Commit", "commit_upload"),
];

/// What a committed file's id opens.
const FILE_LINKS: &[(&str, &str)] = &[
    ("GetFile", "get_file"),
    ("DownloadUrl", "create_download_url"),
    ("Download", "download_file"),
    ("DeleteFile", "delete_file"),
];

/// Links the `id` of a response body to the `id` path parameter of other operations.
fn link(
    paths: &mut serde_json::Map<String, Value>,
    path: &str,
    method: &str,
    status: &str,
    targets: &[(&str, &str)],
) {
    let Some(response) = paths
        .get_mut(path)
        .and_then(|item| item.get_mut(method))
        .and_then(|op| op.get_mut("responses"))
        .and_then(|r| r.get_mut(status))
    else {
        return;
    };
    let links: serde_json::Map<String, Value> = targets
        .iter()
        .map(|(name, operation)| {
            let link =
                json!({"operationId": operation, "parameters": {"id": "$response.body#/id"}});
            ((*name).to_owned(), link)
        })
        .collect();
    response["links"] = Value::Object(links);
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

/// The error body of Uppy's Companion routes (`/s3/*`), which keep Companion's shape.
fn companion_problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CompanionProblem"}}}
    })
}

fn complete_operation(path: &str, op: &mut Value) {
    let companion = path.starts_with("/s3/");
    let secured = op.get("security").is_some();
    let has_query = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    let has_body = op.get("requestBody").is_some();
    let has_path_id = path.contains('{');
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let mut add = |status: &str, description: &str| {
        responses.entry(status.to_owned()).or_insert_with(|| {
            if companion {
                companion_problem(description)
            } else {
                problem(description)
            }
        });
    };
    if secured {
        add(
            "401",
            "unauthorized: missing, malformed or invalid credentials",
        );
    }
    if has_query {
        add("400", "invalid_query: a query parameter does not parse");
    }
    if has_body {
        add("400", "malformed_json: the body is not JSON");
        add("413", "payload_too_large: the body is over 64 KiB");
        add(
            "415",
            "unsupported_media_type: the body is not application/json",
        );
        add(
            "422",
            "validation_failed, missing_field, unknown_field, invalid_type",
        );
    }
    if has_path_id {
        add("404", "not_found");
    }
    if path.starts_with("/v1/") || companion {
        add("500", "internal_error");
        add(
            "503",
            "storage_unavailable, busy, database_unavailable: retry later",
        );
    }
    for (status, response) in responses.iter_mut() {
        if response
            .get("description")
            .is_none_or(|d| d.as_str().is_none_or(str::is_empty))
        {
            response["description"] = json!(reason(status));
        }
        if !companion
            && (status.starts_with('4') || status.starts_with('5'))
            && let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
            && let Some(json_body) = content.remove("application/json")
        {
            content.insert("application/problem+json".to_owned(), json_body);
        }
    }
}

fn reason(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Response")
}

#[cfg(test)]
mod hardened_tests {
    use super::*;
    use utoipa_actix_web::AppExt;

    /// `harden` falls back to the document as it was when its own result does not read
    /// back as OpenAPI; the document Sluice serves must never take that fallback (an
    /// untyped `serde_json::Value` field once made it, and the committed document lost
    /// every response description, which the OpenAPI validator refuses).
    #[test]
    fn the_served_document_reads_back_hardened() {
        let (_, api) = actix_web::App::new()
            .into_utoipa_app()
            .openapi(crate::openapi::base())
            .configure(crate::routes::configure)
            .split_for_parts();
        let value = serde_json::to_value(&api).expect("serialises");
        let mut hardened = value.clone();
        complete_paths(&mut hardened);
        for (path, item) in hardened["paths"].as_object().expect("paths") {
            if let Err(e) = serde_json::from_value::<utoipa::openapi::PathItem>(item.clone()) {
                panic!("{path} does not read back: {e}");
            }
        }
        if let Err(e) = serde_json::from_value::<OpenApi>(hardened) {
            panic!("the hardened document does not read back: {e}");
        }
    }
}
