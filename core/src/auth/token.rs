//! Upload tokens: JWT HS256 with `sub` (owner), `exp` and optional `profiles`.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

/// The claims of an upload token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenClaims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
}

/// Mints a token for `owner`, valid for `ttl`.
pub fn mint_token(
    secret: &[u8],
    owner: &str,
    ttl: Duration,
    profiles: Option<Vec<String>>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let claims = TokenClaims {
        sub: owner.to_owned(),
        exp: (now + ttl).as_secs(),
        profiles,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
}

pub(super) fn verify(
    secret: &[u8],
    token: &str,
) -> Result<TokenClaims, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["sub", "exp"]);
    validation.leeway = 5;
    let claims =
        decode::<TokenClaims>(token, &DecodingKey::from_secret(secret), &validation)?.claims;
    // NUL: PostgreSQL stores none, and an owner with one could never be written.
    if claims.sub.is_empty() || claims.sub.len() > 255 || claims.sub.contains('\0') {
        return Err(jsonwebtoken::errors::ErrorKind::InvalidSubject.into());
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn minted_tokens_verify_with_their_claims() {
        let t = mint_token(
            SECRET,
            "bob",
            Duration::from_secs(60),
            Some(vec!["avatar".into()]),
        )
        .expect("mint");
        let c = verify(SECRET, &t).expect("verify");
        assert_eq!(c.sub, "bob");
        assert_eq!(c.profiles, Some(vec!["avatar".to_string()]));
    }

    #[test]
    fn expired_and_empty_subject_tokens_are_refused() {
        let past = TokenClaims {
            sub: "bob".into(),
            exp: 1_000,
            profiles: None,
        };
        let t = encode(
            &Header::new(Algorithm::HS256),
            &past,
            &EncodingKey::from_secret(SECRET),
        )
        .expect("encode");
        assert!(verify(SECRET, &t).is_err());
        let t = mint_token(SECRET, "", Duration::from_secs(60), None).expect("mint");
        assert!(verify(SECRET, &t).is_err());
    }
}
