//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): the signed content
//! is `{webhook-id}.{webhook-timestamp}.{body}`, signed with HMAC-SHA256 under the
//! base64-decoded part of a `whsec_` secret, sent as `webhook-signature: v1,{base64}`.
//! Written with `hmac` and `sha2` rather than the specification's crate, and checked
//! against the specification's own test vector.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Why a secret cannot sign.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret starts with `whsec_`")]
    Prefix,
    #[error("a webhook secret is `whsec_` and base64")]
    Base64,
    #[error("a webhook secret holds at least 24 bytes")]
    TooShort,
}

/// The key bytes of a `whsec_` secret.
pub fn key_of(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SecretError::Prefix)?;
    let key = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
    if key.len() < 24 {
        return Err(SecretError::TooShort);
    }
    Ok(key)
}

/// The `webhook-signature` header value of one message.
pub fn signature(key: &[u8], message_id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| {
        // HMAC takes keys of any length; this cannot happen.
        unreachable!("HMAC accepts every key length")
    });
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks specification.
    #[test]
    fn the_specification_vector_verifies() {
        let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let got = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    /// The second vector, from the specification's Rust library's own tests.
    #[test]
    fn the_libraries_vector_verifies() {
        let key = key_of("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("secret");
        let got = signature(
            &key,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            r#"{"email":"test@example.com","username":"test_user"}"#,
        );
        assert_eq!(got, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn secrets_are_checked() {
        assert_eq!(key_of("MfKQ9r8GKYqrTwjU"), Err(SecretError::Prefix));
        assert_eq!(key_of("whsec_!!!"), Err(SecretError::Base64));
        assert_eq!(key_of("whsec_c2hvcnQ="), Err(SecretError::TooShort));
    }
}
