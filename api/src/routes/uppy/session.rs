//! `POST /v1/session` and `DELETE /v1/session`: the browser session of the `/s3/*`
//! routes. Uppy 6 sends no custom headers, only same-origin cookies, so the page (or the
//! application, for its user) exchanges an upload token for an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to `/s3`, `Secure` over HTTPS.
//!
//! Invariants: only upload tokens become cookies (never service or admin keys); the cookie
//! holds the token itself, so it authenticates no longer than the token's own `exp`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, delete, post};

use crate::auth::{SESSION_COOKIE, upload_token};
use crate::error::{ApiResult, Problem};

fn cookie(req: &HttpRequest, value: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path("/s3")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .finish()
}

/// Start a browser session for the `/s3/*` routes.
///
/// Sets the `sluice_session` cookie to the bearer upload token. Cookie-authenticated
/// `/s3/*` requests must come from a page of a trusted origin (`server.public_origins`,
/// by default Sluice's listening address): an `Origin` equal to one of them, or, without
/// `Origin`, `Sec-Fetch-Site: same-origin` (a route that only reads also takes neither);
/// 403 `cross_site_refused` otherwise.
#[utoipa::path(
    tag = "uppy",
    responses(
        (status = 204, description = "The cookie is set"),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: only upload tokens"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/session")]
pub async fn create_session(req: HttpRequest) -> ApiResult<HttpResponse> {
    let token = upload_token(&req)?;
    Ok(HttpResponse::NoContent()
        .cookie(cookie(&req, token))
        .finish())
}

/// End the browser session (clears the cookie).
#[utoipa::path(
    tag = "uppy",
    responses((status = 204, description = "The cookie is cleared")),
)]
#[delete("/v1/session")]
pub async fn delete_session(req: HttpRequest) -> HttpResponse {
    let mut gone = cookie(&req, String::new());
    gone.make_removal();
    HttpResponse::NoContent().cookie(gone).finish()
}
