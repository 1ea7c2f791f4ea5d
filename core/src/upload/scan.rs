//! The scanning stage: a `scanning` session's stored bytes (the sealed key where there is
//! one, so exactly the bytes the file will name) are streamed by a worker to the malware
//! scanner, and the verdict moves the session: clean → `uploaded`; infected → `rejected`
//! with `malware_detected` (quarantined first where the profile says); larger than the
//! scanner reads → rejected (`too_large_to_scan`) or passed unscanned, as the profile says.
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
use crate::config::{InfectedAction, ScanTooLarge};
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::naming;
use crate::scan::{Clamd, ScanError, Verdict};
use crate::storage::StoreError;

/// Scans session `id` if it is `scanning`; a session in any other state is done with.
pub async fn scan_pending(core: &Core, id: UploadId) -> CoreResult<()> {
    let Some(session) = repo::find(&core.db, id).await? else {
        return Ok(());
    };
    if session.state != UploadState::Scanning {
        return Ok(());
    }
    let Some(clamd) = Clamd::from_settings(&core.settings.scanner) else {
        // Settings refuse a scanning profile without a scanner; a session left from
        // before the scanner was removed waits for one (or for its deadline).
        return Err(CoreError::ScannerFailed("no scanner is configured".into()));
    };
    let verdict = verdict(core, &clamd, &session).await?;
    settle(core, &session, verdict).await
}

/// What the scanner says of the session's bytes.
async fn verdict(core: &Core, clamd: &Clamd, session: &Model) -> CoreResult<Verdict> {
    let size = u64::try_from(session.size).unwrap_or(u64::MAX);
    if size > clamd.max_stream() {
        // Not sent at all: clamd would stop at its limit anyway, and the GET is billed.
        return Ok(Verdict::TooLarge);
    }
    let key = scanned_key(session);
    let Some(bytes) = core.store.get_stream(key).await? else {
        // Verified bytes that vanished from under Sluice: nothing to pass. The session
        // stays `scanning` and expires at its deadline unless they come back.
        return Err(CoreError::Storage(StoreError::Unreachable(format!(
            "the verified object {key} is missing"
        ))));
    };
    let started = std::time::Instant::now();
    let verdict = clamd.scan(bytes).await.map_err(|e| match e {
        ScanError::Store(e) => CoreError::Storage(e),
        other => CoreError::ScannerFailed(other.to_string()),
    })?;
    core.metrics
        .observe_scan(verdict_label(&verdict), size, started.elapsed());
    Ok(verdict)
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

/// Moves the session by the verdict.
async fn settle(core: &Core, session: &Model, verdict: Verdict) -> CoreResult<()> {
    let profile = core.profile_or_default(&session.profile);
    let (event, detail) = match verdict {
        Verdict::Clean => (Event::Scanned(ScanResult::Clean), json!({})),
        Verdict::TooLarge => match profile.scan_too_large {
            ScanTooLarge::Pass => (
                Event::Scanned(ScanResult::Unscanned),
                json!({"detail": "larger than the scanner reads; passed unscanned as the profile allows"}),
            ),
            ScanTooLarge::Reject => (
                Event::Reject(Failure::TooLargeToScan),
                json!({"detail": "larger than the scanner reads"}),
            ),
        },
        Verdict::Infected(signature) => {
            let mut detail = json!({
                "signature": signature,
                "detail": "the malware scanner found a signature",
            });
            if profile.infected == InfectedAction::Quarantine {
                detail["quarantined_key"] = json!(quarantine(core, session).await?);
            }
            (Event::Reject(Failure::MalwareDetected), detail)
        }
    };
    let ctx = plan_context(core, session);
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
    let meta = core.store.head(from).await?;
    let etag = meta.as_ref().and_then(|m| m.etag.as_deref());
    core.store.copy(from, &to, etag).await?;
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
