//! The scanning stage: a `scanning` session's stored bytes (the sealed key where there is
//! one, so exactly the bytes the file will name) are read once by a worker, streamed to
//! the malware scanner (`scan`) and/or through a SHA-256 hasher (`rehash`, when a digest
//! was declared), and what was found moves the session: clean → `uploaded`; infected →
//! `rejected` with `malware_detected` (quarantined first where the profile says); a digest
//! that differs → `rejected` with `checksum_mismatch`; larger than the scanner reads →
//! rejected (`too_large_to_scan`) or passed unscanned, as the profile says. A re-hash that
//! matched records `checksum_verified`: a worker vouches for the whole object's digest,
//! which no store can for a multipart object.
//!
//! Invariants: only a verdict moves the session, so a scanner or store that cannot be
//! asked leaves it `scanning` (the job is retried; the verification deadline alone ends
//! it); the signature's name goes to the audit event and the webhook, never to a
//! client-facing message; the API processes never run this (it reads file bytes).

use serde_json::json;
use sluice_domain::{Failure, ScanResult, UploadState};
use sluice_entity::upload_session::Model;

use super::repo::{self, Actor};
use super::service::plan_context;
use super::state::Event;
use crate::Core;
use crate::config::{InfectedAction, ProfileSettings, ScanTooLarge};
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::naming;
use crate::scan::{Clamd, ScanError, Verdict};
use crate::storage::{ByteStream, StoreError};
use crate::upload::checksum::Sha256Digest;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

/// Reads session `id`'s bytes if it is `scanning`; a session in any other state is done
/// with.
pub async fn scan_pending(core: &Core, id: UploadId) -> CoreResult<()> {
    let Some(session) = repo::find(&core.db, id).await? else {
        return Ok(());
    };
    if session.state != UploadState::Scanning {
        return Ok(());
    }
    let profile = core.profile_or_default(&session.profile);
    let declared = session.sha256.as_deref().and_then(Sha256Digest::parse);
    let work = Work {
        scan: profile.scan,
        rehash: declared.filter(|_| profile.rehash),
    };
    let clamd = if work.scan {
        let Some(clamd) = Clamd::from_settings(&core.settings.scanner) else {
            // Settings refuse a scanning profile without a scanner; a session left from
            // before the scanner was removed waits for one (or for its deadline).
            return Err(CoreError::ScannerFailed("no scanner is configured".into()));
        };
        Some(clamd)
    } else {
        None
    };
    let found = read(core, clamd.as_ref(), &session, &work).await?;
    settle(core, &session, &profile, found).await
}

/// What the profile asks of the read.
struct Work {
    /// Stream the bytes to the malware scanner.
    scan: bool,
    /// Compare the bytes' SHA-256 with this declared one.
    rehash: Option<Sha256Digest>,
}

/// What one read of the object found.
struct Found {
    /// The scanner's verdict; `None` when the profile does not scan.
    verdict: Option<Verdict>,
    /// Whether the bytes' SHA-256 is the declared one; `None` when not re-hashed.
    digest_matches: Option<bool>,
}

/// Reads the session's bytes once: to the scanner (unless larger than it reads), through
/// the hasher where the profile re-hashes.
async fn read(
    core: &Core,
    clamd: Option<&Clamd>,
    session: &Model,
    work: &Work,
) -> CoreResult<Found> {
    let size = u64::try_from(session.size).unwrap_or(u64::MAX);
    // Not sent at all when too large: clamd would stop at its limit anyway.
    let to_scanner = clamd.filter(|c| size <= c.max_stream());
    let too_large = work.scan && to_scanner.is_none();
    if to_scanner.is_none() && work.rehash.is_none() {
        return Ok(Found {
            verdict: too_large.then_some(Verdict::TooLarge),
            digest_matches: None,
        });
    }
    let key = scanned_key(session);
    let Some(bytes) = core.store(&session.store)?.get_stream(key).await? else {
        // Verified bytes that vanished from under Sluice: nothing to pass. The session
        // stays `scanning` and expires at its deadline unless they come back.
        return Err(CoreError::Storage(StoreError::Unreachable(format!(
            "the verified object {key} is missing"
        ))));
    };
    let hasher = Arc::new(Mutex::new(Sha256::new()));
    let bytes: ByteStream = if work.rehash.is_some() {
        let hasher = hasher.clone();
        Box::pin(bytes.inspect_ok(move |piece| {
            if let Ok(mut h) = hasher.lock() {
                h.update(piece);
            }
        }))
    } else {
        bytes
    };
    let started = std::time::Instant::now();
    let verdict = match to_scanner {
        Some(clamd) => {
            let verdict = clamd.scan(bytes).await.map_err(|e| match e {
                ScanError::Store(e) => CoreError::Storage(e),
                other => CoreError::ScannerFailed(other.to_string()),
            })?;
            core.metrics
                .observe_scan(verdict_label(&verdict), size, started.elapsed());
            Some(verdict)
        }
        None => {
            drain(bytes, core.settings.scanner.timeout.get()).await?;
            too_large.then_some(Verdict::TooLarge)
        }
    };
    // A scan that stopped early (too large) hashed only part of the bytes: read again.
    let digest_matches = match &work.rehash {
        None => None,
        Some(declared) if matches!(verdict, Some(Verdict::TooLarge)) && to_scanner.is_some() => {
            let Some(again) = core.store(&session.store)?.get_stream(key).await? else {
                return Err(CoreError::Storage(StoreError::Unreachable(format!(
                    "the verified object {key} is missing"
                ))));
            };
            Some(sha256_of(again, core.settings.scanner.timeout.get()).await? == *declared)
        }
        Some(declared) => {
            let digest: [u8; 32] = hasher
                .lock()
                .map(|h| h.clone().finalize().into())
                .unwrap_or_default();
            Some(Sha256Digest::from_bytes(digest) == *declared)
        }
    };
    if work.rehash.is_some() {
        core.metrics.add_bytes("rehashed", session.size);
    }
    Ok(Found {
        verdict,
        digest_matches,
    })
}

/// Reads `bytes` to the end, each piece within `patience` (a stalled store fails the
/// read, and the job is retried, instead of holding a worker forever).
async fn drain(bytes: ByteStream, patience: Duration) -> CoreResult<()> {
    sha256_of(bytes, patience).await.map(|_| ())
}

async fn sha256_of(mut bytes: ByteStream, patience: Duration) -> CoreResult<Sha256Digest> {
    let mut hasher = Sha256::new();
    loop {
        match tokio::time::timeout(patience, bytes.next()).await {
            Ok(Some(piece)) => hasher.update(piece?),
            Ok(None) => return Ok(Sha256Digest::from_bytes(hasher.finalize().into())),
            Err(_) => {
                return Err(CoreError::Storage(StoreError::Unreachable(format!(
                    "the object's bytes stopped arriving for {patience:?}"
                ))));
            }
        }
    }
}

/// The key whose bytes the file will name.
fn scanned_key(session: &Model) -> &str {
    session.sealed_key.as_deref().unwrap_or(&session.key)
}

fn verdict_label(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Clean => "clean",
        Verdict::Infected(_) => "infected",
        Verdict::TooLarge => "too_large",
    }
}

/// Moves the session by what the read found: malware first, then a digest that differs,
/// then what is too large to scan.
async fn settle(
    core: &Core,
    session: &Model,
    profile: &ProfileSettings,
    found: Found,
) -> CoreResult<()> {
    let mut ctx = plan_context(core, session);
    ctx.plan.checksum_verified = found.digest_matches == Some(true);
    let mismatch = (
        Event::Reject(Failure::ChecksumMismatch),
        json!({"detail": "the stored bytes' SHA-256 is not the declared one (read back by a worker)"}),
    );
    let (event, detail) = match (found.verdict, found.digest_matches) {
        (Some(Verdict::Infected(signature)), _) => {
            let mut detail = json!({
                "signature": signature,
                "detail": "the malware scanner found a signature",
            });
            if profile.infected == InfectedAction::Quarantine {
                detail["quarantined_key"] = json!(quarantine(core, session).await?);
            }
            (Event::Reject(Failure::MalwareDetected), detail)
        }
        (_, Some(false)) => mismatch,
        (Some(Verdict::TooLarge), _) => match profile.scan_too_large {
            ScanTooLarge::Pass => (
                Event::Scanned(ScanResult::Unscanned),
                json!({"detail": "larger than the scanner reads; passed unscanned as the profile allows"}),
            ),
            ScanTooLarge::Reject => (
                Event::Reject(Failure::TooLargeToScan),
                json!({"detail": "larger than the scanner reads"}),
            ),
        },
        (Some(Verdict::Clean), rehashed) => (
            Event::Scanned(ScanResult::Clean),
            json!({"rehashed": rehashed == Some(true)}),
        ),
        (None, Some(true)) => (Event::Rehashed, json!({"rehashed": true})),
        // Neither scanned nor re-hashed (a profile changed since): nothing was checked
        // beyond verification.
        (None, None) => (Event::Rehashed, json!({"rehashed": false})),
    };
    match repo::transition_committed(core, session, event, &Actor::System, &ctx, detail).await {
        Ok(_) => Ok(()),
        // Another writer moved it first (an abort, the deadline): what it reached stands.
        Err(CoreError::Conflict | CoreError::IllegalTransition { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Copies the infected bytes under the quarantine prefix before the rejection's cleanup
/// deletes the session's keys; the copy is conditional on the bytes scanned.
async fn quarantine(core: &Core, session: &Model) -> CoreResult<String> {
    let from = scanned_key(session);
    let to = naming::quarantine_key(&core.settings.scanner.quarantine_prefix, from);
    let meta = core.store(&session.store)?.head(from).await?;
    let etag = meta.as_ref().and_then(|m| m.etag.as_deref());
    core.store(&session.store)?.copy(from, &to, etag).await?;
    tracing::warn!(upload_id = %session.id, quarantined_key = %to, "infected object quarantined");
    Ok(to)
}

/// The `ScanUpload` job's handler (declared in `crate::jobs`).
impl crate::jobs::RunJob for crate::jobs::ScanUpload {
    async fn run(self, core: &Core) -> CoreResult<crate::jobs::Ran> {
        scan_pending(core, self.upload_id).await?;
        Ok(crate::jobs::Ran::Done)
    }
}
