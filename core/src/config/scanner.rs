//! The malware scanner (`[scanner]`) and the per-profile switches that ask for it
//! (`profiles.NAME.scan`, `scan_too_large`, `infected`).
//!
//! Invariant: a profile that scans names a scanner that exists (`scanner.clamd` set), so
//! a scanning session can never be passed for want of one; what the scanner cannot read
//! (larger than `scanner.max_stream`) is decided by the profile, never silently passed.

use serde::Deserialize;

use super::units::{ByteSize, Dur};
use super::{ProfileSettings, Settings};

/// ClamAV's `clamd`, fed over its INSTREAM protocol from a streamed GET of the object by a
/// worker: the API processes never read the bytes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScannerSettings {
    /// Where clamd listens: `tcp://HOST:PORT` or `unix:/path/to/clamd.ctl`. Unset: no
    /// scanner, and no profile may set `scan = true`. Default unset.
    pub clamd: Option<String>,
    /// The most bytes clamd accepts in one stream: its own `StreamMaxLength` (25M unless
    /// clamd.conf says otherwise). A larger object is never sent; the profile's
    /// `scan_too_large` decides. Default `25MiB`.
    pub max_stream: ByteSize,
    /// Bytes per INSTREAM chunk, and the most a scan holds in memory at once. Default
    /// `64KiB`.
    pub chunk: ByteSize,
    /// How long one read or write to clamd, or clamd's verdict after the last chunk, may
    /// take before the scan counts as failed (and is retried). Default `2m`.
    pub timeout: Dur,
    /// Key prefix under which infected objects of `infected = "quarantine"` profiles are
    /// kept (`{prefix}/{key}`). Sluice never deletes them: that is the operator's call.
    /// Default `quarantine`.
    pub quarantine_prefix: String,
}

impl Default for ScannerSettings {
    fn default() -> Self {
        Self {
            clamd: None,
            max_stream: ByteSize(25 * ByteSize::MIB),
            chunk: ByteSize(64 * ByteSize::KIB),
            timeout: Dur::secs(120),
            quarantine_prefix: "quarantine".into(),
        }
    }
}

/// What a scanning profile does with an object larger than the scanner reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanTooLarge {
    /// Reject it (`too_large_to_scan`) and delete it. The default: unscanned bytes are
    /// never passed unless the profile says so.
    #[default]
    Reject,
    /// Pass it as `uploaded`, recorded as `scan: "unscanned"` on the session and file.
    Pass,
}

/// What happens to an object the scanner found infected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InfectedAction {
    /// Deleted, like any rejected upload's bytes. The default.
    #[default]
    Delete,
    /// Copied under `scanner.quarantine_prefix` first (for the operator to inspect),
    /// then the upload's own keys are deleted.
    Quarantine,
}

/// The `[scanner]` section's problems, and those of every profile that scans.
pub(super) fn problems(s: &Settings, out: &mut Vec<String>) {
    let sc = &s.scanner;
    if let Some(addr) = &sc.clamd
        && let Err(e) = ClamdAddress::parse(addr)
    {
        out.push(format!("scanner.clamd: {e}"));
    }
    if sc.chunk.0 == 0 || sc.chunk.0 > 16 * ByteSize::MIB {
        out.push("scanner.chunk: must be between 1 byte and 16MiB".into());
    }
    // INSTREAM frames carry a 32-bit length, and clamd's own limit is below 4 GiB.
    if sc.max_stream.0 == 0 || sc.max_stream.0 >= 4 * ByteSize::GIB {
        out.push("scanner.max_stream: must be between 1 byte and 4GiB (clamd's limit)".into());
    }
    if sc.timeout.get().is_zero() {
        out.push("scanner.timeout: must be more than 0".into());
    }
    let prefix = sc.quarantine_prefix.trim_matches('/');
    if prefix.is_empty() || prefix.len() > 256 {
        out.push("scanner.quarantine_prefix: must be 1 to 256 characters".into());
    }
    for (name, profile) in &s.profiles {
        profile_problems(name, profile, sc, out);
    }
}

fn profile_problems(name: &str, p: &ProfileSettings, sc: &ScannerSettings, out: &mut Vec<String>) {
    if p.scan && sc.clamd.is_none() {
        out.push(format!(
            "profiles.{name}.scan: needs a scanner (set scanner.clamd, e.g. \
             \"tcp://127.0.0.1:3310\" or \"unix:/run/clamav/clamd.ctl\")"
        ));
    }
}

/// Where clamd listens, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClamdAddress {
    Tcp(String),
    Unix(std::path::PathBuf),
}

impl ClamdAddress {
    pub fn parse(addr: &str) -> Result<ClamdAddress, String> {
        if let Some(hostport) = addr.strip_prefix("tcp://") {
            let ok = hostport
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if ok {
                return Ok(ClamdAddress::Tcp(hostport.to_owned()));
            }
            return Err(format!("`{addr}` is not tcp://HOST:PORT"));
        }
        if let Some(path) = addr.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a socket path".into());
            }
            return Ok(ClamdAddress::Unix(path.into()));
        }
        Err(format!(
            "`{addr}` is neither tcp://HOST:PORT nor unix:/path"
        ))
    }
}

impl std::fmt::Display for ClamdAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClamdAddress::Tcp(hostport) => write!(f, "tcp://{hostport}"),
            ClamdAddress::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}
