//! `CoreError`: every way a use case can fail, named by meaning. Each variant has a
//! stable machine `code` (the `code` of the API's problem+json) and is classified as
//! transient (retry may help) or not. Both methods are exhaustive matches on purpose.

use sluice_domain::{Failure, UploadState};

use crate::error_code::ErrorCode;
use crate::storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// No such session or file for this owner (other owners' items are not found either).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A quota limit would be broken; `retry_after` when waiting helps (a daily limit).
    #[error("{limit} of {} would be exceeded: {usage} of {value} used", scope_name(.scope))]
    QuotaExceeded {
        limit: &'static str,
        scope: String,
        usage: u64,
        value: u64,
        retry_after: Option<u64>,
    },
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
    /// The profile requires a declared `sha256` and the request has none.
    #[error("profile `{0}` requires the file's sha256")]
    ChecksumRequired(String),
    /// A field failed validation; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// An event that is no legal edge out of the session's state (the state machine's
    /// `upload::state::IllegalTransition`, converted where it is raised).
    #[error("cannot {event} an upload that is {}", from.as_str())]
    IllegalTransition {
        from: UploadState,
        event: &'static str,
    },
    /// Another writer changed the session first; the caller may re-read and retry.
    #[error("the upload changed while this request ran; retry")]
    Conflict,
    /// The deadline of the session's state passed (upload, verification or commit): the
    /// session is `expired`, by this request or earlier, and its object is cleaned.
    #[error("the upload's deadline passed: it is expired")]
    Expired,
    #[error("nothing has been uploaded yet")]
    NotUploaded,
    /// A multipart completion found parts missing; the session is pending again.
    #[error("parts {0:?} have not been uploaded yet")]
    PartsMissing(Vec<u32>),
    /// The operation is for multipart sessions only.
    #[error("this upload is a single PUT, not a multipart upload")]
    NotMultipart,
    /// The operation needs a pending session.
    #[error("the upload is {}, no longer pending", .0.as_str())]
    NotPending(UploadState),
    #[error("part {part_number} is outside this upload's plan of {part_count} parts")]
    PartOutOfRange { part_number: u32, part_count: u32 },
    /// Verification found the object wrong; the session is `rejected` and the object deleted.
    #[error("{detail}")]
    Rejected { failure: Failure, detail: String },
    #[error("the object store failed: {0}")]
    Storage(#[from] StoreError),
    #[error("the database failed: {0}")]
    Db(sea_orm::DbErr),
    /// The database gave up on this transaction for contention (a deadlock, a
    /// serialisation failure, SQLite's lock timeout); the same request may pass now.
    #[error("the database is busy: {0}")]
    Busy(String),
    /// The database could not be reached (a restart, a failover, a pool exhausted for
    /// longer than its acquire timeout): nothing was done that needs undoing, and the
    /// same request may pass in a moment.
    #[error("the database is unavailable: {0}")]
    DatabaseUnavailable(String),
    #[error("the job queue failed: {0}")]
    Queue(String),
    /// A webhook endpoint did not take a delivery (retried on the delivery schedule).
    #[error("the webhook endpoint did not take the delivery: {0}")]
    WebhookFailed(String),
    /// The malware scanner gave no verdict (unreachable, timed out, an answer not
    /// understood); the scan is retried and nothing is passed meanwhile.
    #[error("the malware scanner gave no verdict: {0}")]
    ScannerFailed(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    /// The stable code of this cause (its HTTP status sits beside it).
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::NotFound(_) => ErrorCode::NotFound,
            CoreError::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            CoreError::UnknownProfile(_) => ErrorCode::UnknownProfile,
            CoreError::ProfileNotAllowed(_) => ErrorCode::ProfileNotAllowed,
            CoreError::TooLarge { .. } => ErrorCode::TooLarge,
            CoreError::TypeNotAllowed(_) => ErrorCode::TypeNotAllowed,
            CoreError::ExtensionNotAllowed(_) => ErrorCode::ExtensionNotAllowed,
            CoreError::Invalid { .. } => ErrorCode::ValidationFailed,
            CoreError::ChecksumRequired(_) => ErrorCode::ChecksumRequired,
            CoreError::IllegalTransition { .. } => ErrorCode::IllegalTransition,
            CoreError::Conflict => ErrorCode::Conflict,
            CoreError::Expired => ErrorCode::Expired,
            CoreError::NotUploaded => ErrorCode::NotUploaded,
            CoreError::PartsMissing(_) => ErrorCode::PartsMissing,
            CoreError::NotMultipart => ErrorCode::NotMultipart,
            CoreError::NotPending(_) => ErrorCode::NotPending,
            CoreError::PartOutOfRange { .. } => ErrorCode::InvalidPartNumber,
            CoreError::Rejected { failure, .. } => ErrorCode::from(*failure),
            CoreError::Storage(_) => ErrorCode::StorageUnavailable,
            CoreError::Busy(_) => ErrorCode::Busy,
            CoreError::DatabaseUnavailable(_) => ErrorCode::DatabaseUnavailable,
            CoreError::Db(_)
            | CoreError::Queue(_)
            | CoreError::WebhookFailed(_)
            | CoreError::ScannerFailed(_)
            | CoreError::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// Whether retrying the same operation later may succeed (jobs retry these).
    pub fn is_transient(&self) -> bool {
        match self {
            CoreError::Conflict
            | CoreError::Busy(_)
            | CoreError::DatabaseUnavailable(_)
            | CoreError::Queue(_)
            | CoreError::WebhookFailed(_)
            | CoreError::ScannerFailed(_) => true,
            CoreError::Storage(e) => e.is_transient(),
            // A constraint violation will violate the constraint again; anything else
            // (a lost connection, a pool timeout, a deadlock) may pass on a retry.
            CoreError::Db(e) => e.sql_err().is_none(),
            CoreError::NotFound(_)
            | CoreError::QuotaExceeded { .. }
            | CoreError::UnknownProfile(_)
            | CoreError::ProfileNotAllowed(_)
            | CoreError::TooLarge { .. }
            | CoreError::TypeNotAllowed(_)
            | CoreError::ExtensionNotAllowed(_)
            | CoreError::Invalid { .. }
            | CoreError::ChecksumRequired(_)
            | CoreError::IllegalTransition { .. }
            | CoreError::Expired
            | CoreError::NotUploaded
            | CoreError::PartsMissing(_)
            | CoreError::NotMultipart
            | CoreError::NotPending(_)
            | CoreError::PartOutOfRange { .. }
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
            CoreError::IllegalTransition { from, .. } => Some(*from),
            CoreError::NotPending(state) => Some(*state),
            CoreError::Expired => Some(UploadState::Expired),
            _ => None,
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;

impl From<sea_orm::DbErr> for CoreError {
    fn from(e: sea_orm::DbErr) -> Self {
        let text = e.to_string();
        const CONTENTION: [&str; 4] = [
            "deadlock detected",
            "could not serialize access",
            "database is locked",
            "database table is locked",
        ];
        if CONTENTION.iter().any(|c| text.contains(c)) {
            CoreError::Busy(text)
        } else if unreachable(&e) {
            CoreError::DatabaseUnavailable(text)
        } else {
            CoreError::Db(e)
        }
    }
}

/// Whether the error says the database could not be reached, rather than that it refused
/// the statement: no connection from the pool in time, a connection refused or broken,
/// or the server shutting down or starting (SQLSTATE classes 08 and 57P) while a statement
/// ran.
fn unreachable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr, RuntimeErr};
    let runtime = match e {
        // Anything in making or keeping a connection: refused, reset, a TLS or protocol
        // exchange cut short.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(r) | DbErr::Query(r) => r,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else {
        return false;
    };
    match sqlx.as_ref() {
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
        Sqlx::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// How a quota scope reads in a sentence.
fn scope_name(scope: &str) -> String {
    if scope == crate::quota::TOTAL {
        "all your uploads".to_owned()
    } else {
        format!("profile `{scope}`")
    }
}

impl From<Failure> for ErrorCode {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::SizeMismatch => ErrorCode::SizeMismatch,
            Failure::ChecksumMismatch => ErrorCode::ChecksumMismatch,
            Failure::TypeMismatch => ErrorCode::TypeMismatch,
            Failure::MalwareDetected => ErrorCode::MalwareDetected,
            Failure::TooLargeToScan => ErrorCode::TooLargeToScan,
        }
    }
}

impl From<sluice_domain::state::IllegalTransition> for CoreError {
    fn from(t: sluice_domain::state::IllegalTransition) -> Self {
        CoreError::IllegalTransition {
            from: t.from,
            event: t.event.as_str(),
        }
    }
}
