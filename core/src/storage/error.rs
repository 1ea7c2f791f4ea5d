//! `StoreError`: what went wrong at the object store, classified from the HTTP status and
//! the S3 error `<Code>` so that callers decide by meaning (retry, give up, treat as gone)
//! instead of matching strings.
//!
//! Invariant: `is_transient` is an exhaustive match; texts carry status, S3 code and the
//! store's short message only, never a URL with a signature or a credential.

/// A failed store call, by meaning.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The key holds no object.
    #[error("no such object")]
    NotFound,
    /// The bucket does not exist.
    #[error("the bucket does not exist")]
    NoSuchBucket,
    /// A conditional request (`If-None-Match`, `If-Match`) failed.
    #[error("a precondition failed")]
    PreconditionFailed,
    /// Credentials refused or missing permissions (also a bad signature or clock skew).
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// The store asks us to slow down (429, `SlowDown`, `Throttling`).
    #[error("the store is throttling requests")]
    Throttled,
    /// No answer: connection refused, reset, DNS, or a timeout.
    #[error("the store is unreachable: {0}")]
    Unreachable(String),
    /// The store failed on its side (5xx other than throttling).
    #[error("the store failed: HTTP {status} {code}")]
    ServerError { status: u16, code: String },
    /// The multipart upload does not exist (completed, aborted or never created).
    #[error("no such multipart upload")]
    NoSuchUpload,
    /// A part is missing, too small or does not match its ETag.
    #[error("invalid part: {0}")]
    InvalidPart(String),
    /// The store does not offer this operation (501), e.g. ListMultipartUploads on the
    /// embedded store.
    #[error("the store does not implement this operation")]
    NotImplemented,
    /// Any other refusal of the request itself (4xx).
    #[error("the store refused the request: HTTP {status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// The client could not even build the request (a configuration problem).
    #[error("store client: {0}")]
    Client(String),
    /// A session names a store this configuration does not have (an operator removed
    /// its `[stores.NAME]` section). Transient: the work it owes (verification,
    /// cleanup) waits until the store is configured again instead of being dropped.
    #[error("no store `{0}` is configured")]
    Unconfigured(String),
}

impl StoreError {
    /// Whether the same call may succeed later without anything else changing.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Throttled
            | StoreError::Unreachable(_)
            | StoreError::ServerError { .. }
            | StoreError::Unconfigured(_) => true,
            StoreError::NotFound
            | StoreError::NoSuchBucket
            | StoreError::PreconditionFailed
            | StoreError::AccessDenied(_)
            | StoreError::NoSuchUpload
            | StoreError::InvalidPart(_)
            | StoreError::NotImplemented
            | StoreError::Refused { .. }
            | StoreError::Client(_) => false,
        }
    }

    /// Classifies an HTTP answer of the store from its status and (XML) body.
    pub fn from_response(status: u16, body: &str) -> StoreError {
        let code = super::xml::field(body, "Code").unwrap_or_default();
        let message = super::xml::field(body, "Message").unwrap_or_default();
        match (status, code.as_str()) {
            (_, "NoSuchBucket") => StoreError::NoSuchBucket,
            (_, "NoSuchUpload") => StoreError::NoSuchUpload,
            (_, "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall") => {
                StoreError::InvalidPart(if message.is_empty() { code } else { message })
            }
            (_, "SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                StoreError::Throttled
            }
            (429, _) => StoreError::Throttled,
            (501, _) | (_, "NotImplemented") => StoreError::NotImplemented,
            (404, _) => StoreError::NotFound,
            (412, _) => StoreError::PreconditionFailed,
            (401 | 403, _) => StoreError::AccessDenied(if code.is_empty() {
                format!("HTTP {status}")
            } else {
                code
            }),
            (500..=599, _) => StoreError::ServerError { status, code },
            _ => StoreError::Refused {
                status,
                code,
                message: message.chars().take(200).collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> String {
        format!("<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>m</Message></Error>")
    }

    #[test]
    fn statuses_and_codes_are_classified_by_meaning() {
        assert_eq!(StoreError::from_response(404, ""), StoreError::NotFound);
        assert_eq!(
            StoreError::from_response(404, &body("NoSuchBucket")),
            StoreError::NoSuchBucket
        );
        assert_eq!(
            StoreError::from_response(404, &body("NoSuchUpload")),
            StoreError::NoSuchUpload
        );
        assert_eq!(
            StoreError::from_response(412, &body("PreconditionFailed")),
            StoreError::PreconditionFailed
        );
        assert_eq!(
            StoreError::from_response(403, &body("SignatureDoesNotMatch")),
            StoreError::AccessDenied("SignatureDoesNotMatch".into())
        );
        assert_eq!(
            StoreError::from_response(503, &body("SlowDown")),
            StoreError::Throttled
        );
        assert_eq!(StoreError::from_response(429, ""), StoreError::Throttled);
        assert_eq!(
            StoreError::from_response(400, &body("InvalidPart")),
            StoreError::InvalidPart("m".into())
        );
        assert!(matches!(
            StoreError::from_response(500, &body("InternalError")),
            StoreError::ServerError { status: 500, .. }
        ));
        assert!(matches!(
            StoreError::from_response(400, &body("InvalidArgument")),
            StoreError::Refused { status: 400, .. }
        ));
    }

    #[test]
    fn only_outages_and_throttling_are_transient() {
        assert!(StoreError::Throttled.is_transient());
        assert!(StoreError::Unreachable("refused".into()).is_transient());
        assert!(
            StoreError::ServerError {
                status: 502,
                code: String::new()
            }
            .is_transient()
        );
        assert!(!StoreError::NotFound.is_transient());
        assert!(!StoreError::AccessDenied("x".into()).is_transient());
        assert!(!StoreError::NoSuchUpload.is_transient());
    }
}
