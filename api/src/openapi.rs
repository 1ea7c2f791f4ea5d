//! The OpenAPI 3.1 document: paths collected from the registered handlers, plus the
//! bearer security scheme and the `ErrorCode` enum listing every stable error code.

use sluice_core::CoreError;
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::API_CODES;

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

/// Every stable error code, core's and the HTTP layer's, sorted and deduplicated.
pub fn error_codes() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = CoreError::CODES.iter().chain(API_CODES).copied().collect();
    codes.sort_unstable();
    codes.dedup();
    codes
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
    components.schemas.insert(
        "ErrorCode".to_owned(),
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("The stable `code` of a problem+json error"))
            .enum_values(Some(error_codes()))
            .into(),
    );
    doc
}
