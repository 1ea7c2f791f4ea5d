//! The `Caller` extractor: turns `Authorization` (and `X-Sluice-Owner` for service keys)
//! into the `Principal` a use case acts as. Admin keys are refused here: they are for
//! `/v1/admin/*` only, where `Operator` accepts nothing else.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use sluice_core::auth::{Credential, Principal};
use sluice_core::upload::Actor;

use crate::csrf::{self, Effect};
use crate::error::ApiError;
use crate::state::AppState;

pub const OWNER_HEADER: &str = "X-Sluice-Owner";

/// An authenticated owner.
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(Caller))
    }
}

/// An authenticated operator (an admin key), for `/v1/admin/*`.
pub struct Operator;

impl FromRequest for Operator {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(credential(req).and_then(|c| match c {
            Credential::Admin => Ok(Operator),
            Credential::Token { .. } | Credential::Service => Err(ApiError::Forbidden(
                "only admin keys may use /v1/admin routes",
            )),
        }))
    }
}

fn credential(req: &HttpRequest) -> Result<Credential, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Core(sluice_core::CoreError::Internal("no app state".into())))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state
        .auth
        .authenticate(header)
        .map_err(ApiError::Unauthorized)
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    match credential(req)? {
        Credential::Token { owner, profiles } => Ok(Principal {
            actor: Actor::Owner(owner.clone()),
            owner,
            profiles,
        }),
        Credential::Service => {
            let owner = req
                .headers()
                .get(OWNER_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|o| !o.is_empty() && o.len() <= 255)
                .ok_or(ApiError::OwnerRequired)?
                .to_owned();
            Ok(Principal {
                actor: Actor::Service {
                    owner: owner.clone(),
                },
                owner,
                profiles: None,
            })
        }
        Credential::Admin => Err(ApiError::Forbidden(
            "admin keys are accepted on /v1/admin routes only",
        )),
    }
}

/// The cookie that carries an upload token for the browser routes (`/s3/*`).
pub const SESSION_COOKIE: &str = "sluice_session";

/// An owner of the browser routes (`/s3/*`) that create or change a session,
/// authenticated by the bearer header or, when there is none, by the session cookie that
/// `POST /v1/session` set, under the CSRF rule of `csrf` for a route that `Changes`.
/// This is the default: a route is taken as changing unless it says otherwise.
pub struct BrowserCaller(pub Principal);

/// The same, for a route that only reads (signs a part URL, lists parts): `Effect::Reads`.
pub struct BrowserReader(pub Principal);

impl FromRequest for BrowserCaller {
    // Refusals keep Companion's error shape, like everything else on `/s3/*`.
    type Error = crate::routes::uppy::CompanionError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            authenticate_browser(req, Effect::Changes)
                .map(BrowserCaller)
                .map_err(Into::into),
        )
    }
}

impl FromRequest for BrowserReader {
    type Error = crate::routes::uppy::CompanionError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            authenticate_browser(req, Effect::Reads)
                .map(BrowserReader)
                .map_err(Into::into),
        )
    }
}

fn authenticate_browser(req: &HttpRequest, effect: Effect) -> Result<Principal, ApiError> {
    if req
        .headers()
        .contains_key(actix_web::http::header::AUTHORIZATION)
    {
        return authenticate(req);
    }
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Err(ApiError::Unauthorized(
            sluice_core::auth::AuthError::Missing,
        ));
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Core(sluice_core::CoreError::Internal("no app state".into())))?;
    let bearer = format!("Bearer {}", cookie.value());
    // Only upload tokens ever sit in a cookie: keys stay on the application's servers.
    let Credential::Token { owner, profiles } = state
        .auth
        .authenticate(Some(&bearer))
        .map_err(ApiError::Unauthorized)?
    else {
        return Err(ApiError::Unauthorized(
            sluice_core::auth::AuthError::Invalid,
        ));
    };
    let headers = req.headers();
    let origin = headers.get(actix_web::http::header::ORIGIN);
    let fetch_site = headers.get("sec-fetch-site");
    if !csrf::allows(
        origin.map(|v| v.as_bytes()),
        fetch_site.map(|v| v.as_bytes()),
        effect,
        &state.origins,
    ) {
        return Err(ApiError::CrossSiteRefused);
    }
    Ok(Principal {
        actor: Actor::Owner(owner.clone()),
        owner,
        profiles,
    })
}

/// The upload token of the bearer header, for `POST /v1/session` to put into a cookie;
/// service and admin keys are refused (they must never reach a browser).
pub fn upload_token(req: &HttpRequest) -> Result<String, ApiError> {
    match credential(req)? {
        Credential::Token { .. } => {}
        Credential::Service | Credential::Admin => {
            return Err(ApiError::Forbidden(
                "only upload tokens can become a browser session",
            ));
        }
    }
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .map(|(_, token)| token.trim().to_owned())
        .ok_or(ApiError::Unauthorized(
            sluice_core::auth::AuthError::Missing,
        ))
}
