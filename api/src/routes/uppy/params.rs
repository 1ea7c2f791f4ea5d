//! `GET /s3/params`: a session for one object sent in one request, and how to send it:
//! a presigned POST form (`method: "POST"`, `fields`) where the store takes POST policies,
//! else a presigned PUT (`method: "PUT"`, `headers`), which needs `metadata[size]`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, get, web};
use serde::Serialize;
use sluice_core::config::RouteClass;
use sluice_core::uppy::UppyFile;
use sluice_core::uppy::params::{self, Upload};
use sluice_core::uppy::query::{FileQueryError, file_of_pairs};
use utoipa::ToSchema;

use super::error::CompanionProblem;
use super::{CompanionResult, query};
use crate::auth::BrowserCaller;
use crate::error::ApiError;
use crate::ratelimit::{guard, known};
use crate::state::AppState;

/// How to upload the object (Companion's `/s3/params` answer).
#[derive(Debug, Serialize, ToSchema)]
pub struct ParamsResponse {
    /// `POST` (a form of `fields` then the file) or `PUT` (the file, with `headers`).
    #[schema(example = "POST")]
    pub method: &'static str,
    pub url: String,
    /// The form fields (`key`, `policy`, `x-amz-signature`, …); for a PUT only `key`,
    /// where Uppy 5 reads the object key from.
    pub fields: BTreeMap<String, String>,
    /// Headers to send verbatim (signed); empty for POST.
    pub headers: BTreeMap<String, String>,
    /// Seconds the form or URL stays valid.
    pub expires: u64,
    /// The object key (also `fields.key`): name the upload by it afterwards.
    pub key: String,
}

/// `/s3/params`' named query fields, for the document only: the handler reads the raw
/// pairs (`file_of_pairs`), `metadata[NAME]` included, with core's bounds, whose schemas
/// these are.
struct ParamsQuery;

impl utoipa::IntoParams for ParamsQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::dto::schemas;
        use utoipa::openapi::Required;
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        let query = |name: &str, required, description: &str, schema| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(required)
                .description(Some(description))
                .schema(Some(schema))
                .build()
        };
        vec![
            query(
                "filename",
                Required::True,
                "The file's name (only shown, never part of the key)",
                schemas::filename(),
            ),
            query(
                "type",
                Required::False,
                "The content type; guessed from the filename when empty",
                schemas::content_type_text(),
            ),
        ]
    }
}

/// Presign a single-request upload (Companion's `getUploadParameters`).
///
/// Query: `filename` (required), `type`, and `metadata[NAME]=VALUE` pairs as Uppy sends
/// them; `metadata[size]`, when sent, is the file's exact size and is signed. Without
/// it the form accepts 0 to the profile's `max_size` bytes and verification records the
/// real size. Complete the upload with `POST /s3/params/complete?key=`.
#[utoipa::path(
    tag = "uppy",
    params(ParamsQuery),
    responses(
        (status = 200, body = ParamsResponse),
        (status = 400, body = CompanionProblem, description = "invalid_query"),
        (status = 401, body = CompanionProblem, description = "unauthorized"),
        (status = 403, body = CompanionProblem, description = "cross_site_refused, profile_not_allowed"),
        (status = 404, body = CompanionProblem, description = "unknown_profile"),
        (status = 413, body = CompanionProblem, description = "too_large"),
        (status = 415, body = CompanionProblem, description = "type_not_allowed, extension_not_allowed"),
        (status = 422, body = CompanionProblem, description = "validation_failed, missing_field"),
        (status = 429, body = CompanionProblem, description = "quota_exceeded; rate_limited: over the `create` rate limit of the owner or the client IP", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/s3/params")]
pub async fn uppy_params(
    state: web::Data<AppState>,
    req: HttpRequest,
    BrowserCaller(who): BrowserCaller,
) -> CompanionResult<web::Json<ParamsResponse>> {
    let profile = known(&state.core.settings.uppy.profile);
    guard(&state, &req, RouteClass::Create, &who.owner, profile).await?;
    let pairs: Vec<(String, String)> = query(&req)?;
    let file = file_of(&pairs)?;
    let answer = params::params(&state.core, &who, file).await?;
    let (method, url, fields, headers) = match answer.upload {
        Upload::Form { url, fields } => {
            ("POST", url, fields.into_iter().collect(), BTreeMap::new())
        }
        Upload::Put { url, headers } => {
            let fields = BTreeMap::from([("key".to_owned(), answer.session.key.clone())]);
            ("PUT", url, fields, headers)
        }
    };
    Ok(web::Json(ParamsResponse {
        method,
        url,
        fields,
        headers,
        expires: answer.expires_in,
        key: answer.session.key,
    }))
}

/// Reads `filename`, `type` and `metadata[…]` from the query pairs.
fn file_of(pairs: &[(String, String)]) -> Result<UppyFile, ApiError> {
    file_of_pairs(pairs).map_err(|e| match e {
        FileQueryError::NoFilename => ApiError::BadRequest {
            code: sluice_core::ErrorCode::MissingField,
            detail: "the query must name the file: ?filename=…".into(),
            field: Some("filename".into()),
        },
        FileQueryError::Invalid(e) => ApiError::Core(e),
    })
}
