//! Upload tokens: JWS compact tokens (RFC 7515) of JWT claims (RFC 7519), HS256 only,
//! with `sub` (the owner), `exp` and optional `profiles`.
//!
//! Invariants, as the standards say and nothing more lenient: the header's `alg` is
//! HS256 (never `none`, never another), its `typ`, when present, is `JWT`, and a `crit`
//! header is refused (Sluice understands no extension); `exp` is required and checked,
//! `nbf` and `iat` are honoured when present (not yet valid, or issued in the future, is
//! refused), every time compared with the wall clock and the fixed `LEEWAY`; `aud` and
//! `iss` must be present and match when Sluice is configured with them, and a token
//! naming an audience when Sluice has none is refused (RFC 7519 §4.1.3). A NumericDate
//! may be fractional (§2) and is read as such.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Deserializer, Serialize};

/// The clock skew tolerated between the backend that mints tokens and Sluice, on `exp`,
/// `nbf` and `iat` alike. Fixed: small enough that an expired token dies promptly.
pub const LEEWAY: Duration = Duration::from_secs(30);

/// The claims of an upload token, as minted.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenClaims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
    /// When the token was minted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// What a token must say besides its signature: the audience and issuer Sluice is
/// configured with (`auth.token_audience`, `auth.token_issuer`), if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenRules {
    pub audience: Option<String>,
    pub issuer: Option<String>,
}

/// Mints a token for `owner`, valid for `ttl`.
pub fn mint_token(
    secret: &[u8],
    owner: &str,
    ttl: Duration,
    profiles: Option<Vec<String>>,
) -> Result<String, Error> {
    mint_token_for(secret, owner, ttl, profiles, &TokenRules::default())
}

/// Mints a token for `owner`, valid for `ttl`, carrying the audience and issuer of
/// `rules` (what `sluice token` does with the configured ones).
pub fn mint_token_for(
    secret: &[u8],
    owner: &str,
    ttl: Duration,
    profiles: Option<Vec<String>>,
    rules: &TokenRules,
) -> Result<String, Error> {
    let now = now_secs();
    let claims = TokenClaims {
        sub: owner.to_owned(),
        exp: now.saturating_add(ttl.as_secs()),
        profiles,
        iat: Some(now),
        aud: rules.audience.clone(),
        iss: rules.issuer.clone(),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("JWT".into());
    encode(&header, &claims, &EncodingKey::from_secret(secret))
}

/// What is read back from a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Verified {
    pub sub: String,
    pub profiles: Option<Vec<String>>,
}

/// The claims verification reads itself (signature, `alg`, `aud` and `iss` are checked
/// by `jsonwebtoken`).
#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(deserialize_with = "numeric_date")]
    exp: f64,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    nbf: Option<f64>,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    iat: Option<f64>,
    #[serde(default)]
    profiles: Option<Vec<String>>,
}

pub(super) fn verify(secret: &[u8], token: &str, rules: &TokenRules) -> Result<Verified, Error> {
    verify_at(secret, token, rules, now_f64())
}

/// `verify` as of `now` (seconds since the epoch).
pub(super) fn verify_at(
    secret: &[u8],
    token: &str,
    rules: &TokenRules,
    now: f64,
) -> Result<Verified, Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    let mut required = vec!["sub", "exp"];
    // The times are checked below, against one `now`, with fractional dates.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    // With no audience configured a token naming one is refused (jsonwebtoken's default).
    validation.validate_aud = true;
    if let Some(aud) = &rules.audience {
        validation.set_audience(&[aud]);
        required.push("aud");
    }
    if let Some(iss) = &rules.issuer {
        validation.set_issuer(&[iss]);
        required.push("iss");
    }
    validation.set_required_spec_claims(&required);
    let data = decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)?;
    check_header(&data.header)?;
    let claims = data.claims;
    let leeway = LEEWAY.as_secs_f64();
    if now >= claims.exp + leeway {
        return Err(ErrorKind::ExpiredSignature.into());
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + leeway) {
        return Err(ErrorKind::ImmatureSignature.into());
    }
    if claims.iat.is_some_and(|iat| iat > now + leeway) {
        return Err(ErrorKind::ImmatureSignature.into());
    }
    // NUL: PostgreSQL stores none, and an owner with one could never be written.
    if claims.sub.is_empty() || claims.sub.len() > 255 || claims.sub.contains('\0') {
        return Err(ErrorKind::InvalidSubject.into());
    }
    Ok(Verified {
        sub: claims.sub,
        profiles: claims.profiles,
    })
}

/// RFC 7519 §5.1: `typ`, when present, says `JWT` (case-insensitively, as media types
/// compare); RFC 7515 §4.1.11: an extension in `crit` Sluice does not understand (it
/// understands none) makes the token invalid.
fn check_header(header: &Header) -> Result<(), Error> {
    if header
        .typ
        .as_deref()
        .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
    {
        return Err(ErrorKind::InvalidToken.into());
    }
    if header.crit.is_some() {
        return Err(ErrorKind::InvalidToken.into());
    }
    Ok(())
}

/// A NumericDate: a JSON number of seconds, possibly fractional, finite and not negative.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(d)?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(serde::de::Error::custom("not a NumericDate"))
    }
}

fn optional_numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "numeric_date")] f64);
    Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(v)| v))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

#[cfg(test)]
mod tests;
