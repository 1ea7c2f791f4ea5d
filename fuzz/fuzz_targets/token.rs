//! Upload tokens and bearer headers: any header is refused unless it carries a configured
//! key or a token signed with the secret; a minted token verifies exactly when its subject
//! is an owner Sluice can store (1 to 255 bytes, no NUL) and gives back its claims; any
//! one-character change, a truncation, another secret or `alg: none` never verifies.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use sluice_core::auth::{AuthError, Authenticator, Credential, mint_token};
use sluice_core::config::AuthSettings;

const SECRET: &str = "fuzz-token-secret-0123456789-abcdefghij";
const OTHER_SECRET: &str = "another-secret-another-secret-0123456789";
const SERVICE_KEY: &str = "fuzz-service-key-0123456789";
const ADMIN_KEY: &str = "fuzz-admin-key-0123456789";

#[derive(Arbitrary, Debug)]
struct Input {
    header: String,
    sub: String,
    profiles: Option<Vec<String>>,
    ttl: u16,
    tamper_at: u16,
    tamper_to: u8,
}

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";

fn authenticator() -> Authenticator {
    Authenticator::new(&AuthSettings {
        token_secret: Some(SECRET.into()),
        service_keys: vec![SERVICE_KEY.into()],
        admin_keys: vec![ADMIN_KEY.into()],
        ..AuthSettings::default()
    })
}

fn bearer(auth: &Authenticator, token: &str) -> Result<Credential, AuthError> {
    auth.authenticate(Some(&format!("Bearer {token}")))
}

fuzz_target!(|input: Input| {
    let auth = authenticator();

    // An arbitrary header is at most a key it spells out exactly; never a token.
    match auth.authenticate(Some(&input.header)) {
        Ok(Credential::Token { .. }) => panic!("forged token: {:?}", input.header),
        Ok(Credential::Service) => assert!(input.header.contains(SERVICE_KEY)),
        Ok(Credential::Admin) => assert!(input.header.contains(ADMIN_KEY)),
        Err(_) => {}
    }

    let ttl = Duration::from_secs(u64::from(input.ttl) + 60);
    let token =
        mint_token(SECRET.as_bytes(), &input.sub, ttl, input.profiles.clone()).expect("mint");
    let storable = !input.sub.is_empty() && input.sub.len() <= 255 && !input.sub.contains('\0');
    match bearer(&auth, &token) {
        Ok(Credential::Token { owner, profiles }) => {
            assert!(storable, "accepted subject {:?}", input.sub);
            assert_eq!(owner, input.sub);
            assert_eq!(profiles, input.profiles);
        }
        Ok(other) => panic!("a token read as {other:?}"),
        Err(e) => {
            assert!(!storable, "refused subject {:?}", input.sub);
            assert_eq!(e, AuthError::Invalid);
        }
    }

    // One character changed anywhere (the signature included) never verifies.
    let bytes = token.as_bytes();
    let at = usize::from(input.tamper_at) % bytes.len();
    let with = B64URL[usize::from(input.tamper_to) % B64URL.len()];
    if bytes[at] != with {
        let mut tampered = bytes.to_vec();
        tampered[at] = with;
        let tampered = String::from_utf8(tampered).expect("ASCII");
        assert!(
            bearer(&auth, &tampered).is_err(),
            "tampered token verified: {tampered} (from {token})"
        );
    }
    // Nor does a prefix, or a token with something appended.
    assert!(bearer(&auth, &token[..at]).is_err(), "prefix verified");
    let appended = format!("{token}{}", char::from(with));
    if appended.trim() != token {
        assert!(bearer(&auth, &appended).is_err(), "{appended} verified");
    }

    // The same claims under another secret, or unsigned, are refused.
    let foreign = mint_token(OTHER_SECRET.as_bytes(), &input.sub, ttl, None).expect("mint");
    assert!(bearer(&auth, &foreign).is_err());
    let payload = token.split('.').nth(1).expect("three parts");
    // {"alg":"none","typ":"JWT"}
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    assert!(bearer(&auth, &unsigned).is_err());
});
