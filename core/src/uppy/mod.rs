//! Uppy's `@uppy/aws-s3` plugin, Companion mode: the use cases behind the `/s3/*` routes.
//! Each maps onto an ordinary session of the profile `uppy.profile`, through the upload
//! use cases, so signed lengths, verification, quota and cleanup all apply.
//!
//! Invariants: Companion's create body carries no size, so a session is created with the
//! size declared only where the application sends one (`metadata.size`); otherwise the
//! profile's `max_size` is reserved, no length can be signed, and verification rejects
//! (and deletes) anything larger. A `key` names a session only for its owner, and an
//! `uploadId` only together with that session's key: anything else is `NotFound`.

mod lookup;
mod metadata;
pub mod multipart;
pub mod params;
pub mod query;

pub use lookup::find_by_key;
pub use metadata::{UppyMetadata, read_metadata};

use crate::Core;
use crate::auth::Principal;
use crate::error::CoreResult;
use crate::upload::create::{Transfer, create_as};
use crate::upload::input::{ContentType, DeclaredSize, Filename, Metadata, ProfileName};
use crate::upload::{CreateUpload, CreatedUpload};

/// What Uppy sends to start an upload: `filename`, `type` and the file's metadata.
#[derive(Clone, Debug)]
pub struct UppyFile {
    pub filename: String,
    /// Empty or absent: guessed from the filename.
    pub content_type: Option<String>,
    pub metadata: UppyMetadata,
}

/// Creates the session of an Uppy upload in the configured profile.
async fn create_session(
    core: &Core,
    who: &Principal,
    file: UppyFile,
    transfer: Transfer,
) -> CoreResult<CreatedUpload> {
    let req = CreateUpload {
        profile: ProfileName::configured(&core.settings.uppy.profile),
        filename: Filename::parse(&file.filename)?,
        // Not `DeclaredSize::exact`: a size Uppy sends as text may pass 5 TiB, and the
        // profile refuses it as `too_large`, as it refuses any size above its limit.
        size: match file.metadata.size {
            Some(bytes) => DeclaredSize::Exact(bytes),
            None => DeclaredSize::UpToProfileMax,
        },
        content_type: ContentType::bounded(file.content_type, "type")?,
        sha256: None,
        metadata: Metadata::parse(file.metadata.entries)?,
    };
    create_as(core, who, req, transfer).await
}
