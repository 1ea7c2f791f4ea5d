//! The OpenAPI 3.1 document: paths collected from the registered handlers, plus the
//! bearer security scheme and the `ErrorCode` enum listing every stable error code.

use std::borrow::Cow;

use sluice_core::ErrorCode;
use utoipa::OpenApi as _;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Sluice",
        description = "The upload control plane: presigned uploads straight to S3-compatible storage, verified, \
                       tracked as a state machine, cleaned up, and safe download links.",
        license(name = "Apache-2.0")
    ),
    components(schemas(crate::error::Problem, crate::routes::uppy::error::CompanionProblem)),
    tags(
        (name = "uploads", description = "Upload sessions"),
        (name = "files", description = "Committed files and downloads"),
        (name = "quota", description = "Limits and usage"),
        (name = "uppy", description = "Uppy's Companion S3 routes (`@uppy/aws-s3`) and the browser session they use"),
        (name = "admin", description = "Operator queries and actions (admin keys only)"),
        (name = "operations", description = "Health and readiness")
    )
)]
struct ApiDoc;

/// Every stable error code, sorted.
pub fn error_codes() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    codes.sort_unstable();
    codes
}

/// The `ErrorCode` schema: a string enum of [`ErrorCode::ALL`], which the problem bodies'
/// `code` fields reference (core's enum knows nothing of OpenAPI).
pub struct ErrorCodeSchema;

impl utoipa::PartialSchema for ErrorCodeSchema {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "The stable `code` of an error; its HTTP status never changes",
            ))
            .enum_values(Some(error_codes()))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCodeSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// The base document that route collection adds paths to.
pub fn base() -> OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An upload token (JWT HS256), a service key (with X-Sluice-Owner) or an admin key",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "cookie",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            crate::auth::SESSION_COOKIE,
            "The upload token that `POST /v1/session` put into a cookie; `/s3/*` routes only, same origin only",
        ))),
    );
    doc
}
