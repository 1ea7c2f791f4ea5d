//! Upload sessions: the state machine and its effects (`state`), the only writer of the
//! session row (`repo`), the use cases (`create`, `service`, `parts`, `verify`,
//! `expire`; `verify_alone` keeps verifiers of one session from racing), the multipart cut (`parts_plan`), the magic-byte check (`sniff`) and the read
//! model handed to adapters (`view`), and the declared digest (`checksum`).

pub mod checksum;
pub mod create;
pub mod expire;
pub mod input;
pub mod list;
pub mod parts;
pub mod parts_plan;
pub mod pending_cache;
pub(crate) mod repo;
pub mod scan;
pub mod service;
pub mod sniff;
pub mod state;
pub mod verify;
mod verify_alone;
pub mod view;

pub use repo::Actor;
pub use sluice_domain::{Failure, ScanResult, UploadMethod, UploadState};
pub use view::{
    CompleteOutcome, CreateUpload, CreatedUpload, MultipartView, SessionView, SignedPart,
};
