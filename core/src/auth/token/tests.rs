//! Each registered claim and header parameter a token may carry, at and just past its
//! limit, against a fixed `now`.

use super::*;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: u64 = 1_800_000_000;

fn sign(header: serde_json::Value, claims: serde_json::Value) -> String {
    use base64::Engine;
    use hmac::Mac;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let message = format!("{}.{}", b64(&header), b64(&claims));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET).expect("key");
    mac.update(message.as_bytes());
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{message}.{sig}")
}

fn hs256() -> serde_json::Value {
    serde_json::json!({"alg": "HS256", "typ": "JWT"})
}

fn check(claims: serde_json::Value, rules: &TokenRules) -> Result<Verified, Error> {
    verify_at(SECRET, &sign(hs256(), claims), rules, NOW as f64)
}

fn ok(claims: serde_json::Value) -> bool {
    check(claims, &TokenRules::default()).is_ok()
}

#[test]
fn minted_tokens_verify_with_their_claims() {
    let t = mint_token(
        SECRET,
        "bob",
        Duration::from_secs(60),
        Some(vec!["avatar".into()]),
    )
    .expect("mint");
    let c = verify(SECRET, &t, &TokenRules::default()).expect("verify");
    assert_eq!(c.sub, "bob");
    assert_eq!(c.profiles, Some(vec!["avatar".to_string()]));
    let rules = TokenRules {
        audience: Some("uploads".into()),
        issuer: Some("https://app.example".into()),
    };
    let t = mint_token_for(SECRET, "bob", Duration::from_secs(60), None, &rules).expect("mint");
    assert!(verify(SECRET, &t, &rules).is_ok());
    // A token naming an audience is refused where none is configured (RFC 7519 §4.1.3).
    assert!(verify(SECRET, &t, &TokenRules::default()).is_err());
}

#[test]
fn exp_is_required_and_holds_within_the_leeway() {
    let leeway = LEEWAY.as_secs();
    assert!(ok(serde_json::json!({"sub": "bob", "exp": NOW + 60})));
    assert!(!ok(serde_json::json!({"sub": "bob"})), "no exp");
    assert!(!ok(serde_json::json!({"sub": "bob", "exp": "tomorrow"})));
    assert!(!ok(serde_json::json!({"sub": "bob", "exp": -5})));
    assert!(ok(
        serde_json::json!({"sub": "bob", "exp": NOW - leeway + 1})
    ));
    assert!(!ok(serde_json::json!({"sub": "bob", "exp": NOW - leeway})));
    assert!(!ok(serde_json::json!({"sub": "bob", "exp": 1_000})));
    // A NumericDate may be fractional.
    assert!(ok(
        serde_json::json!({"sub": "bob", "exp": NOW as f64 + 0.5})
    ));
}

#[test]
fn nbf_and_iat_in_the_future_are_refused() {
    let leeway = LEEWAY.as_secs();
    let exp = NOW + 600;
    for claim in ["nbf", "iat"] {
        let at = |t: u64| serde_json::json!({"sub": "bob", "exp": exp, claim: t});
        assert!(ok(at(NOW - 100)), "{claim} in the past");
        assert!(ok(at(NOW + leeway)), "{claim} within the leeway");
        assert!(!ok(at(NOW + leeway + 1)), "{claim} in the future");
        assert!(!ok(
            serde_json::json!({"sub": "bob", "exp": exp, claim: "soon"})
        ));
    }
}

#[test]
fn aud_and_iss_are_checked_when_configured() {
    let rules = TokenRules {
        audience: Some("uploads".into()),
        issuer: Some("https://app.example".into()),
    };
    let exp = NOW + 600;
    let with = |extra: serde_json::Value| {
        let mut claims = serde_json::json!({"sub": "bob", "exp": exp});
        claims
            .as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        check(claims, &rules).is_ok()
    };
    assert!(with(
        serde_json::json!({"aud": "uploads", "iss": "https://app.example"})
    ));
    assert!(with(
        serde_json::json!({"aud": ["other", "uploads"], "iss": "https://app.example"})
    ));
    assert!(
        !with(serde_json::json!({"iss": "https://app.example"})),
        "no aud"
    );
    assert!(!with(serde_json::json!({"aud": "uploads"})), "no iss");
    assert!(!with(
        serde_json::json!({"aud": "other", "iss": "https://app.example"})
    ));
    assert!(!with(
        serde_json::json!({"aud": "uploads", "iss": "https://evil.example"})
    ));
    assert!(!with(
        serde_json::json!({"aud": "Uploads", "iss": "https://app.example"})
    ));
    // Unconfigured: iss is not checked, any aud is refused.
    assert!(ok(
        serde_json::json!({"sub": "bob", "exp": exp, "iss": "anyone"})
    ));
    assert!(!ok(
        serde_json::json!({"sub": "bob", "exp": exp, "aud": "uploads"})
    ));
}

#[test]
fn only_hs256_json_web_tokens_without_extensions_verify() {
    let claims = serde_json::json!({"sub": "bob", "exp": NOW + 600});
    let with_header = |header: serde_json::Value| {
        verify_at(
            SECRET,
            &sign(header, claims.clone()),
            &TokenRules::default(),
            NOW as f64,
        )
        .is_ok()
    };
    assert!(
        with_header(serde_json::json!({"alg": "HS256"})),
        "typ is optional"
    );
    assert!(with_header(
        serde_json::json!({"alg": "HS256", "typ": "jwt"})
    ));
    assert!(!with_header(
        serde_json::json!({"alg": "HS256", "typ": "JOSE+JSON"})
    ));
    assert!(!with_header(
        serde_json::json!({"alg": "HS384", "typ": "JWT"})
    ));
    assert!(!with_header(serde_json::json!({"alg": "HS512"})));
    assert!(!with_header(serde_json::json!({"alg": "none"})));
    assert!(!with_header(serde_json::json!({"typ": "JWT"})), "no alg");
    assert!(!with_header(
        serde_json::json!({"alg": "HS256", "crit": ["exp"], "exp": 1})
    ));
    // Unsigned: the claims of a good token with `alg: none` and no signature.
    let good = sign(hs256(), claims.clone());
    let payload = good.split('.').nth(1).expect("payload");
    use base64::Engine;
    let none = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::json!({"alg": "none", "typ": "JWT"}).to_string());
    for forged in [format!("{none}.{payload}."), format!("{none}.{payload}")] {
        assert!(verify_at(SECRET, &forged, &TokenRules::default(), NOW as f64).is_err());
    }
}

#[test]
fn subjects_sluice_cannot_store_are_refused() {
    let exp = NOW + 600;
    assert!(!ok(serde_json::json!({"sub": "", "exp": exp})));
    assert!(!ok(serde_json::json!({"sub": "a\u{0}b", "exp": exp})));
    assert!(!ok(serde_json::json!({"sub": "x".repeat(256), "exp": exp})));
    assert!(ok(serde_json::json!({"sub": "x".repeat(255), "exp": exp})));
    assert!(!ok(serde_json::json!({"sub": 42, "exp": exp})));
}
