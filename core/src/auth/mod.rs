//! Who is calling: upload tokens (JWT HS256 minted by the application's backend for one
//! of its users), service keys (the backend itself, acting for any owner) and admin keys.
//!
//! Invariants: keys are compared in constant time; a token is checked as RFC 7519 and
//! RFC 7515 say (see `token`): HS256 only, `exp` required, `nbf`, `iat`, `aud`, `iss`
//! honoured; nothing here logs a credential.

mod origin;
mod token;

pub use origin::{Origin, TrustedOrigins};

pub use token::{LEEWAY, TokenClaims, TokenRules, mint_token, mint_token_for};

use secrecy::{ExposeSecret, SecretString};

use crate::config::AuthSettings;

/// Who caused a change, as written to the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Owner(String),
    Service { owner: String },
    Admin,
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Owner(owner) => format!("owner:{owner}"),
            Actor::Service { owner } => format!("service:{owner}"),
            Actor::Admin => "admin".into(),
            Actor::System => "system".into(),
        }
    }
}

/// A verified bearer credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An upload token: acts as `owner` only, within `profiles` if given.
    Token {
        owner: String,
        profiles: Option<Vec<String>>,
    },
    /// A service key: acts for the owner named in `X-Sluice-Owner`.
    Service,
    /// An admin key: `/v1/admin/*` only.
    Admin,
}

/// The owner a request acts as, and what it may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub owner: String,
    /// `None` means every profile.
    pub profiles: Option<Vec<String>>,
    pub actor: Actor,
}

impl Principal {
    pub fn may_use_profile(&self, profile: &str) -> bool {
        self.profiles
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p == profile))
    }

    /// Whether a session or file of `owner` in `profile` is this caller's to see or
    /// change: the scope of a token holds on every route, not only at create.
    pub fn may_reach(&self, owner: &str, profile: &str) -> bool {
        self.owner == owner && self.may_use_profile(profile)
    }
}

/// Why a credential was refused. Deliberately vague towards the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing or malformed Authorization header")]
    Missing,
    #[error("invalid or expired credentials")]
    Invalid,
}

/// Verifies bearer credentials against the configured secrets.
pub struct Authenticator {
    token_secret: SecretString,
    token_rules: TokenRules,
    service_keys: Vec<SecretString>,
    admin_keys: Vec<SecretString>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("service_keys", &self.service_keys.len())
            .field("admin_keys", &self.admin_keys.len())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(settings: &AuthSettings) -> Self {
        Self {
            token_secret: settings
                .token_secret
                .clone()
                .unwrap_or_else(|| SecretString::from("")),
            token_rules: settings.token_rules(),
            service_keys: settings.service_keys.clone(),
            admin_keys: settings.admin_keys.clone(),
        }
    }

    /// Verifies the value of an `Authorization` header.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Credential, AuthError> {
        let bearer = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        if contains_key(&self.admin_keys, bearer) {
            return Ok(Credential::Admin);
        }
        if contains_key(&self.service_keys, bearer) {
            return Ok(Credential::Service);
        }
        if self.token_secret.expose_secret().is_empty() {
            return Err(AuthError::Invalid);
        }
        let claims = token::verify(
            self.token_secret.expose_secret().as_bytes(),
            bearer,
            &self.token_rules,
        )
        .map_err(|_| AuthError::Invalid)?;
        Ok(Credential::Token {
            owner: claims.sub,
            profiles: claims.profiles,
        })
    }
}

fn contains_key(keys: &[SecretString], candidate: &str) -> bool {
    // Check every key, so timing says nothing about which one (or whether one) matched.
    keys.iter().fold(false, |found, key| {
        found | constant_time_eq(key.expose_secret().as_bytes(), candidate.as_bytes())
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Authenticator {
        Authenticator::new(&AuthSettings {
            token_secret: Some("0123456789abcdef0123456789abcdef".into()),
            service_keys: vec!["service-key-0123456789".into()],
            admin_keys: vec!["admin-key-0123456789".into()],
            ..AuthSettings::default()
        })
    }

    #[test]
    fn keys_and_tokens_are_told_apart() {
        let a = auth();
        assert_eq!(
            a.authenticate(Some("Bearer service-key-0123456789")),
            Ok(Credential::Service)
        );
        assert_eq!(
            a.authenticate(Some("Bearer admin-key-0123456789")),
            Ok(Credential::Admin)
        );
        let token = mint_token(
            b"0123456789abcdef0123456789abcdef",
            "alice",
            std::time::Duration::from_secs(60),
            None,
        )
        .expect("mint");
        assert_eq!(
            a.authenticate(Some(&format!("Bearer {token}"))),
            Ok(Credential::Token {
                owner: "alice".into(),
                profiles: None
            })
        );
    }

    #[test]
    fn bad_credentials_are_refused() {
        let a = auth();
        assert_eq!(a.authenticate(None), Err(AuthError::Missing));
        assert_eq!(a.authenticate(Some("Basic abc")), Err(AuthError::Missing));
        assert_eq!(a.authenticate(Some("Bearer ")), Err(AuthError::Missing));
        assert_eq!(
            a.authenticate(Some("Bearer service-key-012345678")),
            Err(AuthError::Invalid)
        );
        let foreign = mint_token(
            b"another-secret-another-secret-xx",
            "alice",
            std::time::Duration::from_secs(60),
            None,
        )
        .expect("mint");
        assert_eq!(
            a.authenticate(Some(&format!("Bearer {foreign}"))),
            Err(AuthError::Invalid)
        );
    }
}
