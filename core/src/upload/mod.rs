//! Upload sessions: the state machine (`state`), the only writer of the session row
//! (`repo`), the use cases (`service`) and the read model handed to adapters (`view`).

pub mod repo;
pub mod service;
pub mod state;
pub mod view;

pub use sluice_entity::upload_session::{UploadMethod, UploadState};
pub use view::{CompleteOutcome, CreateUpload, CreatedUpload, SessionView};
