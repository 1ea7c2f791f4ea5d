//! `/s3/*`: the routes Uppy's `@uppy/aws-s3` plugin calls on a Companion server, with
//! Companion's JSON names, so an Uppy page uploads through Sluice by pointing the plugin
//! at Sluice (`endpoint` in Uppy 5, `companionEndpoint` in Uppy 6). Each upload is an
//! ordinary session of the profile `uppy.profile`. `/v1/session` turns an upload token
//! into the cookie that Uppy 6 (which sends no custom headers) authenticates with.
//!
//! Invariants: every route authenticates (bearer header, or the cookie under the CSRF rule
//! of `csrf`, by what the route does and never by its method: `BrowserCaller` unless it
//! only reads); errors are `{"message", "code"}` JSON with a 4xx for every client
//! mistake (Uppy 5 shows `message`), including a bad query or body; a key or upload id of
//! another owner's session, or of a profile outside the token's scope, is 404.

pub mod abort;
pub mod complete;
pub mod complete_single;
pub mod create;
pub mod error;
pub mod list_parts;
pub mod params;
pub mod session;
pub mod sign_part;

use actix_web::HttpRequest;
use serde::de::DeserializeOwned;

pub use error::{CompanionError, CompanionResult};

/// The query of a request, read here rather than by an extractor so that a bad one is
/// answered in Companion's error shape.
pub fn query<T: DeserializeOwned>(req: &HttpRequest) -> CompanionResult<T> {
    actix_web::web::Query::<T>::from_query(req.query_string())
        .map(actix_web::web::Query::into_inner)
        .map_err(|e| {
            CompanionError::from(crate::error::ApiError::BadRequest {
                code: sluice_core::ErrorCode::InvalidQuery,
                detail: e.to_string(),
                field: None,
            })
        })
}

/// A JSON body, read here for the same reason (an empty body reads as `{}`).
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> CompanionResult<T> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| CompanionError::from(crate::extract::serde_error(&e)))
}

/// The media type pattern of `POST /v1/uploads`, for Uppy's `type`.
pub const TYPE_PATTERN: &str =
    "^ *([!#$&^_.+0-9A-Za-z-]{1,127}/[!#$&^_.+0-9A-Za-z-]{1,127} *(;[ -~]*)?)?$";

/// Checks what the schema says of Uppy's `filename` and `type` (the core checks the
/// type's syntax itself).
pub fn check_file_fields(
    filename: &str,
    content_type: Option<&str>,
) -> Result<(), crate::error::ApiError> {
    sluice_core::uppy::query::check_file_fields(filename, content_type).map_err(Into::into)
}

/// `?key=`: the object key every multipart route names its upload by.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The object key `POST /s3/multipart` (or `GET /s3/params`) answered with.
    #[param(min_length = 1, max_length = 1024)]
    pub key: String,
}

/// The session's URL in Sluice's API, which Companion's routes answer as `location`.
pub fn session_url(req: &HttpRequest, id: sluice_core::ids::UploadId) -> String {
    let info = req.connection_info();
    format!("{}://{}/v1/uploads/{id}", info.scheme(), info.host())
}
