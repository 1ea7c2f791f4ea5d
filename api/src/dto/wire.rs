//! The API's own names for core's vocabulary (`sluice_domain`'s enums): a session's state
//! and transfer method as the wire spells them. Core's enums are never serialised onto
//! the wire; each maps here by an exhaustive match, so a new state in core is a change of
//! this contract made on purpose, never one that leaks out by itself.

use serde::Serialize;
use sluice_core::upload::{ScanResult, UploadMethod, UploadState};

/// A session's state on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Pending,
    Verifying,
    /// Verified; the malware scanner has yet to pass the bytes (profiles that scan).
    Scanning,
    Uploaded,
    Committed,
    Rejected,
    Aborted,
    Expired,
    Deleted,
}

impl From<UploadState> for SessionState {
    fn from(state: UploadState) -> Self {
        match state {
            UploadState::Pending => SessionState::Pending,
            UploadState::Verifying => SessionState::Verifying,
            UploadState::Scanning => SessionState::Scanning,
            UploadState::Uploaded => SessionState::Uploaded,
            UploadState::Committed => SessionState::Committed,
            UploadState::Rejected => SessionState::Rejected,
            UploadState::Aborted => SessionState::Aborted,
            UploadState::Expired => SessionState::Expired,
            UploadState::Deleted => SessionState::Deleted,
        }
    }
}

/// What the malware scanner said of a file's bytes, on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanOutcome {
    /// The scanner read every byte and found nothing.
    Clean,
    /// Larger than the scanner reads; passed unscanned because the profile allows it.
    Unscanned,
}

impl From<ScanResult> for ScanOutcome {
    fn from(result: ScanResult) -> Self {
        match result {
            ScanResult::Clean => ScanOutcome::Clean,
            ScanResult::Unscanned => ScanOutcome::Unscanned,
        }
    }
}

/// How a session's bytes travel, on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferMethod {
    Put,
    Multipart,
}

impl From<UploadMethod> for TransferMethod {
    fn from(method: UploadMethod) -> Self {
        match method {
            UploadMethod::Put => TransferMethod::Put,
            UploadMethod::Multipart => TransferMethod::Multipart,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire spells each state and method as core stores it (webhooks carry core's
    /// names, the API these: a receiver and a client must read the same word).
    #[test]
    fn wire_names_are_cores_names() {
        for state in UploadState::ALL {
            let wire = serde_json::to_value(SessionState::from(state)).expect("json");
            assert_eq!(wire, state.as_str());
        }
        for result in ScanResult::ALL {
            let wire = serde_json::to_value(ScanOutcome::from(result)).expect("json");
            assert_eq!(wire, result.as_str());
        }
        for method in UploadMethod::ALL {
            let wire = serde_json::to_value(TransferMethod::from(method)).expect("json");
            assert_eq!(wire, method.as_str());
        }
    }
}
