//! `GET /s3/params`: one object in one request. Where the store takes POST policies the
//! answer is a browser form (Uppy 6 always form-POSTs; Uppy 5 does when told `POST`) whose
//! policy signs the key, the content type and a `content-length-range` of exactly the
//! declared size, or of 0 to the profile's `max_size` when none was sent. Where it takes
//! none (R2, B2), a PUT signing the exact length, which needs the size declared.
//!
//! Invariants: the refusal for a missing size comes before any session exists; the
//! presigning after the insert is offline; the session is completed by
//! `complete_single` (Uppy never calls anything after the upload itself).

use std::collections::BTreeMap;

use sluice_domain::UploadMethod;

use super::{UppyFile, create_session, find_by_key};
use crate::Core;
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::storage::PutConditions;
use crate::upload::create::Transfer;
use crate::upload::service;
use crate::upload::{CompleteOutcome, SessionView};

/// How the browser sends the object.
#[derive(Clone, Debug)]
pub enum Upload {
    /// A `multipart/form-data` POST of `fields` (and then the file) to `url`.
    Form {
        url: String,
        fields: Vec<(String, String)>,
    },
    /// A PUT to `url` with exactly `headers`.
    Put {
        url: String,
        headers: BTreeMap<String, String>,
    },
}

/// The created session and how to upload into it.
#[derive(Clone, Debug)]
pub struct Params {
    pub session: SessionView,
    pub upload: Upload,
    /// Seconds the form or URL stays valid.
    pub expires_in: u64,
}

/// Creates a single-object session for `file` and presigns its upload.
#[tracing::instrument(skip_all, fields(owner = %who.owner))]
pub async fn params(core: &Core, who: &Principal, file: UppyFile) -> CoreResult<Params> {
    let profile = core.profile(&core.settings.uppy.profile)?;
    // The store the session will be created in: the Uppy profile's.
    let store = core.store(profile.store_name())?.clone();
    let post_policy = core.settings.store_of(profile).post_policy;
    let declared = file.metadata.size;
    if !post_policy && declared.is_none() {
        return Err(CoreError::invalid(
            "metadata.size",
            "this store takes no POST policies: send the file's size as metadata.size, or upload it as multipart",
        ));
    }
    // A POST policy can be posted again until it expires, and so can a PUT that signs no
    // `If-None-Match`: such sessions are sealed at verification.
    let one_time = profile.one_time();
    let rewritable = post_policy || !one_time;
    let created = create_session(core, who, file, Transfer::Single { rewritable }).await?;
    let session = created.session;
    let ttl = (session.expires_at - core.now())
        .to_std()
        .unwrap_or_default();
    let upload = if post_policy {
        let sizes = match declared {
            Some(size) => (size, size),
            None => (0, session.size),
        };
        let form = store
            .presign_post(&session.key, &session.content_type, sizes, ttl)
            .await?;
        Upload::Form {
            url: form.url,
            fields: form.fields,
        }
    } else {
        let profile = core.profile_or_default(&session.profile);
        let conditions = PutConditions {
            content_type: session.content_type.clone(),
            content_length: session.size,
            one_time: profile.one_time(),
            // Uppy declares no digest.
            checksum_sha256: None,
        };
        let put = store.presign_put(&session.key, &conditions, ttl).await?;
        Upload::Put {
            url: put.url,
            // A browser sets the length itself and refuses a script that tries.
            headers: put
                .headers
                .into_iter()
                .filter(|(name, _)| name != "content-length")
                .collect(),
        }
    };
    Ok(Params {
        session,
        upload,
        expires_in: ttl.as_secs(),
    })
}

/// The application says a `/s3/params` upload is done: the ordinary completion, found by
/// its key.
#[tracing::instrument(skip_all, fields(owner = %who.owner))]
pub async fn complete_single(
    core: &Core,
    who: &Principal,
    key: &str,
) -> CoreResult<CompleteOutcome> {
    let session = find_by_key(core, who, key, None).await?;
    if session.method != UploadMethod::Put {
        return Err(CoreError::NotFound("upload"));
    }
    service::complete(core, who, crate::ids::UploadId(session.id), &[]).await
}
