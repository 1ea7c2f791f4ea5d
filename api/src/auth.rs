//! The `Caller` extractor: turns `Authorization` (and `X-Sluice-Owner` for service keys)
//! into the `Principal` a use case acts as. Admin keys are refused here: they are for
//! `/v1/admin/*` only, where `Operator` accepts nothing else.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use sluice_core::auth::{Credential, Principal};
use sluice_core::upload::repo::Actor;

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
