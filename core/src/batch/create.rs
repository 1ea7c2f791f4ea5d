//! `create_batch`: every item prepared as a single create would be, the multipart uploads
//! among them started at the store (a few at a time), then every accepted session written
//! in one transaction with the batch row and one quota reservation per scope.
//!
//! Invariants: no item's refusal stops another; the quota is reserved for the accepted
//! items together or not at all (see the module above); a multipart upload started for a
//! batch that is then not written is aborted (or, if the process dies, found by the
//! stale-multipart sweep, as for a single create).

use futures::StreamExt;

use crate::Core;
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::quota::{self, Reservation};
use crate::upload::create::{Prepared, Ready, Transfer, prepare, presign, start_multipart};
use crate::upload::repo;
use crate::upload::view::{CreateUpload, CreatedUpload, SessionView};
use crate::write::Write;

/// Multipart uploads started at the store at once for one batch.
const STARTS_AT_ONCE: usize = 8;

/// What became of one item, in the order of the request.
pub type BatchItemResult = Result<CreatedUpload, CoreError>;

/// A batch as created: its id when at least one session was written, and every item's
/// outcome.
#[derive(Debug)]
pub struct CreatedBatch {
    pub id: Option<uuid::Uuid>,
    pub items: Vec<BatchItemResult>,
}

impl CreatedBatch {
    pub fn created(&self) -> usize {
        self.items.iter().filter(|i| i.is_ok()).count()
    }
}

/// Creates the sessions of `items` as one batch of `who`; `items` of the answer are in the
/// same order. Refuses whole only for the quota (`QuotaExceeded`) or when the database
/// cannot be written.
#[tracing::instrument(skip_all, fields(owner = %who.owner, items = items.len()))]
pub async fn create_batch(
    core: &Core,
    who: &Principal,
    items: Vec<CreateUpload>,
) -> CoreResult<CreatedBatch> {
    let batch_id = uuid::Uuid::now_v7();
    // Everything decided without I/O, item by item.
    let mut slots: Vec<Slot> = items
        .into_iter()
        .map(|req| {
            prepare(core, who, req, Transfer::ByProfile)
                .map(|mut prepared| {
                    prepared.session.batch_id = Some(batch_id);
                    Slot::Ready(Box::new(ReadyItem {
                        prepared,
                        put: None,
                    }))
                })
                .unwrap_or_else(Slot::Refused)
        })
        .collect();
    start_multiparts(core, &mut slots).await;
    // Presigning is offline: it cannot fail for a store outage.
    for slot in &mut slots {
        if let Slot::Ready(item) = slot
            && let Ready::Put { conditions } = &item.prepared.ready
        {
            match presign(core, &item.prepared.session, conditions).await {
                Ok(put) => item.put = Some(put),
                Err(e) => *slot = Slot::Refused(e),
            }
        }
    }
    let accepted: Vec<&Prepared> = slots
        .iter()
        .filter_map(|s| match s {
            Slot::Ready(p) => Some(&p.prepared),
            Slot::Refused(_) => None,
        })
        .collect();
    if accepted.is_empty() {
        return Ok(CreatedBatch {
            id: None,
            items: slots.into_iter().map(Slot::into_result).collect(),
        });
    }
    if let Err(e) = write(core, who, batch_id, &accepted).await {
        abort_multiparts(core, &slots).await;
        return Err(e);
    }
    for prepared in &accepted {
        core.metrics.add_bytes("declared", prepared.session.size);
    }
    Ok(CreatedBatch {
        id: Some(batch_id),
        items: slots.into_iter().map(Slot::into_result).collect(),
    })
}

/// One item on its way.
enum Slot {
    Ready(Box<ReadyItem>),
    Refused(CoreError),
}

/// A prepared item and what its client will be handed.
struct ReadyItem {
    prepared: Prepared,
    put: Option<crate::storage::PresignedRequest>,
}

impl Slot {
    fn into_result(self) -> BatchItemResult {
        match self {
            Slot::Ready(item) => Ok(CreatedUpload {
                session: SessionView::from(&item.prepared.session),
                put: item.put,
            }),
            Slot::Refused(e) => Err(e),
        }
    }
}

/// Starts the multipart uploads of the batch's large items, a few at a time; an item the
/// store refuses is refused alone.
async fn start_multiparts(core: &Core, slots: &mut [Slot]) {
    let started = futures::stream::iter(slots.iter_mut().filter_map(|slot| match slot {
        Slot::Ready(item) => match item.prepared.ready {
            Ready::Multipart { part_size } => Some((slot, part_size)),
            _ => None,
        },
        Slot::Refused(_) => None,
    }))
    .map(|(slot, part_size)| async move {
        if let Slot::Ready(item) = slot
            && let Err(e) = start_multipart(core, &mut item.prepared.session, part_size).await
        {
            *slot = Slot::Refused(e);
        }
    })
    .buffer_unordered(STARTS_AT_ONCE);
    started.collect::<()>().await;
}

/// Aborts the multipart uploads of a batch that was not written.
async fn abort_multiparts(core: &Core, slots: &[Slot]) {
    for slot in slots {
        if let Slot::Ready(item) = slot
            && let Some(upload_id) = &item.prepared.session.multipart_upload_id
            && let Err(e) = abort_multipart(core, &item.prepared.session, upload_id).await
        {
            let key = &item.prepared.session.key;
            tracing::warn!(%key, error = %e, "multipart upload of a batch that was never written is left for the stale-multipart sweep");
        }
    }
}

/// Aborts one multipart upload at the store of `session`.
async fn abort_multipart(
    core: &Core,
    session: &sluice_entity::upload_session::Model,
    upload_id: &str,
) -> Result<(), crate::storage::StoreError> {
    core.store(&session.store)?
        .abort_multipart(&session.key, upload_id)
        .await
}

/// The batch row, the sessions and their reservation, in one transaction.
async fn write(
    core: &Core,
    who: &Principal,
    batch_id: uuid::Uuid,
    accepted: &[&Prepared],
) -> CoreResult<()> {
    let now = core.now();
    // One sum per scope, in lock order: every item's scopes are [total, its profile], so
    // the total comes first and each profile once after it.
    let mut sums: Vec<(&quota::Scope, Reservation)> = Vec::new();
    for prepared in accepted {
        let size = u64::try_from(prepared.session.size).unwrap_or(0);
        for scope in &prepared.scopes {
            match sums.iter_mut().find(|(s, _)| s.name == scope.name) {
                Some((_, sum)) => {
                    sum.uploads += 1;
                    sum.bytes = sum.bytes.saturating_add(size);
                }
                None => sums.push((
                    scope,
                    Reservation {
                        uploads: 1,
                        bytes: size,
                    },
                )),
            }
        }
    }
    sums.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let write = Write::begin(core).await?;
    super::repo::insert(write.db(), batch_id, &who.owner, accepted.len(), now).await?;
    let sessions = accepted.iter().map(|p| p.session.clone()).collect();
    repo::insert_many(&write, &who.owner, sessions, &who.actor, &sums, now).await?;
    write.commit().await
}
