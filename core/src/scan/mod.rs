//! Malware scanning: ClamAV's `clamd` spoken over its INSTREAM protocol. The use case
//! that feeds it a stored object and moves the session on is `upload::scan`; this module
//! only talks to the scanner.
//!
//! Invariants: bytes are sent in frames of at most `scanner.chunk` and never more than
//! `scanner.max_stream` in all (clamd's own `StreamMaxLength`): a larger object is
//! reported `TooLarge` without being sent whole; any answer that is not clamd's `OK` or
//! `FOUND` is an error (retried), never a pass.

mod clamd;

pub use clamd::{Clamd, ScanError, Verdict};

use crate::config::Settings;

/// At start: when a profile scans, whether its scanner answers. `Err` says, for the
/// operator, what does not and what waits for it (uploads of those profiles stay
/// `scanning`; none is passed unscanned for want of it).
pub async fn check_at_start(settings: &Settings) -> Result<(), String> {
    let scanning: Vec<&str> = settings
        .profiles
        .iter()
        .filter(|(_, p)| p.scan)
        .map(|(name, _)| name.as_str())
        .collect();
    if scanning.is_empty() {
        return Ok(());
    }
    let Some(clamd) = Clamd::from_settings(&settings.scanner) else {
        return Err("profiles scan but no scanner is configured".into());
    };
    clamd.ping().await.map_err(|e| {
        format!(
            "cannot reach the malware scanner ({e}); uploads of profile(s) {} stay `scanning` \
             until it answers, or expire at their verification deadline",
            scanning.join(", ")
        )
    })
}
