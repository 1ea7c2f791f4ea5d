//! An owner's own sessions, listed: what a client on another device needs to find the
//! session of a file it holds (`GET /v1/uploads?state=pending&filename=…&size=…`) and go
//! on from the parts the store already has.
//!
//! Invariant: the list never leaves the caller's scope: its owner, and the profiles its
//! token may use (the same sessions `GET /v1/uploads/{id}` would find). Paging is the
//! admin list's keyset (newest first, every match exactly once).

use crate::Core;
use crate::admin::list::{self, Filter, Page};
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::naming;
use crate::upload::checksum::Sha256Digest;

/// What an owner may narrow their list by.
#[derive(Clone, Debug, Default)]
pub struct OwnFilter {
    pub states: Vec<sluice_domain::UploadState>,
    /// The file's name as the client has it (sanitised here as a create would).
    pub filename: Option<String>,
    pub size: Option<u64>,
    /// Hex or base64, as a create takes it.
    pub sha256: Option<String>,
    pub batch_id: Option<uuid::Uuid>,
}

/// A page of `who`'s sessions matching `filter`, newest first, after `cursor`.
pub async fn list_own(
    core: &Core,
    who: &Principal,
    filter: OwnFilter,
    limit: Option<u64>,
    cursor: Option<&str>,
) -> CoreResult<Page> {
    let sha256 = match filter.sha256.as_deref() {
        Some(text) => Some(
            Sha256Digest::parse(text)
                .ok_or_else(|| {
                    CoreError::invalid("sha256", "must be 64 hex digits or 44 characters of base64")
                })?
                .hex(),
        ),
        None => None,
    };
    let scoped = Filter {
        states: filter.states,
        owner: Some(who.owner.clone()),
        profiles_in: who.profiles.clone(),
        // Stored names are sanitised at create: the same file's name must be too.
        filename: filter.filename.map(|f| naming::sanitize_filename(&f)),
        size: filter.size,
        sha256,
        batch_id: filter.batch_id,
        ..Filter::default()
    };
    list::list(core, &scoped, limit, cursor).await
}
