//! `ErrorCode`: the one list of Sluice's stable error codes, each with the HTTP status it
//! is answered with. Everything else derives from it: `CoreError::code()` and the API's
//! errors return one, the problem+json and Companion bodies carry it, the OpenAPI
//! document's `ErrorCode` schema enumerates [`ErrorCode::ALL`], and the TypeScript client's
//! error type is that schema's union.
//!
//! Invariants:
//! - a code's wire name and status are written once, in the table below;
//! - a code is never renamed or reused for another cause (clients switch over them);
//! - every code is produced by some error (tests/it/error_codes.rs checks both ways).

use std::fmt;
use std::str::FromStr;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $wire:literal => $status:literal, )*) => {
        /// A stable, snake_case cause of a refused request or a failed job.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => $wire, )*
                }
            }

            /// The HTTP status a request refused with this code is answered with.
            pub const fn status(self) -> u16 {
                match self {
                    $( ErrorCode::$variant => $status, )*
                }
            }
        }
    };
}

error_codes! {
    // The request as such.
    /// No credentials, or credentials that do not check out.
    Unauthorized = "unauthorized" => 401,
    /// The credentials may not do this.
    Forbidden = "forbidden" => 403,
    /// A service key must name the owner it acts for (`X-Sluice-Owner`).
    OwnerRequired = "owner_required" => 400,
    /// A cookie-authenticated request from another origin (CSRF).
    CrossSiteRefused = "cross_site_refused" => 403,
    /// The body is not JSON.
    MalformedJson = "malformed_json" => 400,
    /// The body names a field the operation does not know.
    UnknownField = "unknown_field" => 422,
    /// The body lacks a required field.
    MissingField = "missing_field" => 422,
    /// A field has the wrong JSON type.
    InvalidType = "invalid_type" => 422,
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type" => 415,
    /// The JSON body is larger than Sluice reads.
    PayloadTooLarge = "payload_too_large" => 413,
    /// The query string does not parse.
    InvalidQuery = "invalid_query" => 400,
    /// No route for this path.
    RouteNotFound = "route_not_found" => 404,
    /// The route exists, not with this method.
    MethodNotAllowed = "method_not_allowed" => 405,
    /// Over a rate limit; `Retry-After` says when to try again.
    RateLimited = "rate_limited" => 429,
    // What was asked for.
    /// No such session or file for this owner.
    NotFound = "not_found" => 404,
    /// A quota limit would be broken.
    QuotaExceeded = "quota_exceeded" => 429,
    UnknownProfile = "unknown_profile" => 404,
    ProfileNotAllowed = "profile_not_allowed" => 403,
    /// The declared size is above the profile's limit.
    TooLarge = "too_large" => 413,
    TypeNotAllowed = "type_not_allowed" => 415,
    ExtensionNotAllowed = "extension_not_allowed" => 415,
    /// A field failed validation (`field` names it).
    ValidationFailed = "validation_failed" => 422,
    /// The profile requires the file's sha256.
    ChecksumRequired = "checksum_required" => 422,
    // The session's state.
    IllegalTransition = "illegal_transition" => 409,
    /// Another writer changed the session first; retry.
    Conflict = "conflict" => 409,
    /// The session's deadline passed.
    Expired = "expired" => 410,
    NotUploaded = "not_uploaded" => 409,
    PartsMissing = "parts_missing" => 409,
    NotMultipart = "not_multipart" => 409,
    NotPending = "not_pending" => 409,
    InvalidPartNumber = "invalid_part_number" => 422,
    // Verification found the object wrong.
    SizeMismatch = "size_mismatch" => 422,
    ChecksumMismatch = "checksum_mismatch" => 422,
    TypeMismatch = "type_mismatch" => 422,
    /// The malware scanner found a signature (named only in the audit trail and webhook).
    MalwareDetected = "malware_detected" => 422,
    /// Larger than the scanner reads, and the profile refuses what it cannot scan.
    TooLargeToScan = "too_large_to_scan" => 422,
    // Sluice's side: retry later.
    StorageUnavailable = "storage_unavailable" => 503,
    Busy = "busy" => 503,
    DatabaseUnavailable = "database_unavailable" => 503,
    InternalError = "internal_error" => 500,
}

impl ErrorCode {
    /// Whether the status is a 5xx: Sluice's side, never the client's mistake.
    pub const fn is_server_error(self) -> bool {
        self.status() >= 500
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A wire name that is no code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an error code")]
pub struct UnknownCode(pub String);

impl FromStr for ErrorCode {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == s)
            .ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn wire_names_are_unique_snake_case_and_read_back() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let wire = code.as_str();
            assert!(seen.insert(wire), "{wire} twice");
            assert!(
                wire.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{wire}"
            );
            assert_eq!(wire.parse::<ErrorCode>(), Ok(*code));
            assert!((400..600).contains(&code.status()), "{wire}");
        }
        assert!("store_refused".parse::<ErrorCode>().is_err());
    }
}
