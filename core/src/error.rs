//! `CoreError`: every way a use case can fail, named by meaning. Each variant has a
//! stable machine `code` (the `code` of the API's problem+json) and is classified as
//! transient (retry may help) or not. Both methods are exhaustive matches on purpose.

use sluice_entity::upload_session::UploadState;

use crate::upload::state::IllegalTransition;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// No such session or file for this owner (other owners' items are not found either).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("unknown profile `{0}`")]
    UnknownProfile(String),
    #[error("this token may not use profile `{0}`")]
    ProfileNotAllowed(String),
    #[error("{size} bytes is more than the {limit} bytes this profile accepts")]
    TooLarge { size: u64, limit: u64 },
    #[error("content type `{0}` is not allowed by this profile")]
    TypeNotAllowed(String),
    #[error("files ending in `.{0}` are not allowed by this profile")]
    ExtensionNotAllowed(String),
    /// A field failed validation; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// Another writer changed the session first; the caller may re-read and retry.
    #[error("the upload changed while this request ran; retry")]
    Conflict,
    #[error("nothing has been uploaded yet")]
    NotUploaded,
    /// Verification found the object wrong; the session is `rejected` and the object deleted.
    #[error("{detail}")]
    Rejected { code: RejectCode, detail: String },
    #[error("the object store failed: {0}")]
    Storage(String),
    #[error("the database failed: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("the job queue failed: {0}")]
    Queue(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why verification rejected an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectCode {
    SizeMismatch,
    ChecksumMismatch,
    TypeMismatch,
}

impl RejectCode {
    pub fn code(self) -> &'static str {
        match self {
            RejectCode::SizeMismatch => "size_mismatch",
            RejectCode::ChecksumMismatch => "checksum_mismatch",
            RejectCode::TypeMismatch => "type_mismatch",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::SizeMismatch,
            Self::ChecksumMismatch,
            Self::TypeMismatch,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}

impl CoreError {
    /// Every code `code()` can return, for the OpenAPI spec and the uniqueness test.
    pub const CODES: &'static [&'static str] = &[
        "not_found",
        "unknown_profile",
        "profile_not_allowed",
        "too_large",
        "type_not_allowed",
        "extension_not_allowed",
        "validation_failed",
        "illegal_transition",
        "conflict",
        "not_uploaded",
        "size_mismatch",
        "checksum_mismatch",
        "type_mismatch",
        "storage_unavailable",
        "internal_error",
    ];

    /// Stable snake_case code, one per cause.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::NotFound(_) => "not_found",
            CoreError::UnknownProfile(_) => "unknown_profile",
            CoreError::ProfileNotAllowed(_) => "profile_not_allowed",
            CoreError::TooLarge { .. } => "too_large",
            CoreError::TypeNotAllowed(_) => "type_not_allowed",
            CoreError::ExtensionNotAllowed(_) => "extension_not_allowed",
            CoreError::Invalid { .. } => "validation_failed",
            CoreError::IllegalTransition(_) => "illegal_transition",
            CoreError::Conflict => "conflict",
            CoreError::NotUploaded => "not_uploaded",
            CoreError::Rejected { code, .. } => code.code(),
            CoreError::Storage(_) => "storage_unavailable",
            CoreError::Db(_) | CoreError::Queue(_) | CoreError::Internal(_) => "internal_error",
        }
    }

    /// Whether retrying the same operation later may succeed (jobs retry these).
    pub fn is_transient(&self) -> bool {
        match self {
            CoreError::Conflict
            | CoreError::Storage(_)
            | CoreError::Db(_)
            | CoreError::Queue(_) => true,
            CoreError::NotFound(_)
            | CoreError::UnknownProfile(_)
            | CoreError::ProfileNotAllowed(_)
            | CoreError::TooLarge { .. }
            | CoreError::TypeNotAllowed(_)
            | CoreError::ExtensionNotAllowed(_)
            | CoreError::Invalid { .. }
            | CoreError::IllegalTransition(_)
            | CoreError::NotUploaded
            | CoreError::Rejected { .. }
            | CoreError::Internal(_) => false,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        CoreError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The state the session was in, for illegal transitions.
    pub fn state(&self) -> Option<UploadState> {
        match self {
            CoreError::IllegalTransition(t) => Some(t.from),
            _ => None,
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in CoreError::CODES {
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }
}
