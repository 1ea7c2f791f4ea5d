//! `sluice doctor`: what the configured store really does, probed with throwaway keys under
//! a doctor prefix, compared with what `[storage]` claims.
//!
//! Each check sends the very requests Sluice relies on (the URLs it signs for clients,
//! the calls its workers make) and reports what the store answered. A finding names the
//! `[storage]` switch it informs, what is configured and what to use.
//!
//! Invariants: everything a run writes is deleted (objects) or aborted (multipart
//! uploads) before it returns, whatever failed on the way, and the report says whether
//! that cleanup succeeded; a check that cannot be run is `Error`, never `Yes`; the run
//! "fails" exactly when the configuration claims what the store lacks.

mod probes;
mod send;

use serde::Serialize;

use crate::config::StorageSettings;
use crate::storage::ObjectStore;

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The store does it.
    Yes,
    /// The store does not.
    No,
    /// The check could not tell (the store failed, or a check it needs failed first).
    Error,
}

/// A `[storage]` switch a finding informs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// Its dotted name, e.g. `storage.if_none_match`.
    pub name: &'static str,
    /// What the configuration says now (defaults resolved).
    pub configured: bool,
    /// What the finding says to use.
    pub recommended: bool,
}

/// One check and its result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable name, e.g. `if_none_match`.
    pub check: &'static str,
    pub outcome: Outcome,
    /// What the store answered, in words.
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<Setting>,
}

impl Finding {
    /// The configuration claims what the store was seen not to do.
    pub fn overclaims(&self) -> bool {
        self.outcome == Outcome::No && self.setting.as_ref().is_some_and(|s| s.configured)
    }
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub endpoint: String,
    pub bucket: String,
    /// The prefix every throwaway key of this run was under.
    pub prefix: String,
    pub findings: Vec<Finding>,
    /// Keys or uploads the run could not remove (empty when it left nothing behind).
    pub left_behind: Vec<String>,
}

impl Report {
    /// Whether the configuration claims something the store lacks (`sluice doctor`
    /// exits non-zero), or the run could not clean up after itself.
    pub fn failed(&self) -> bool {
        self.findings.iter().any(Finding::overclaims) || !self.left_behind.is_empty()
    }

    pub fn finding(&self, check: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.check == check)
    }

    /// The report for a person: one line a check, then the settings to use.
    pub fn render(&self) -> String {
        let mut out = format!(
            "sluice doctor: {} bucket `{}` (throwaway keys under {}/)\n\n",
            self.endpoint, self.bucket, self.prefix
        );
        for f in &self.findings {
            let mark = match f.outcome {
                Outcome::Yes => "yes  ",
                Outcome::No => "no   ",
                Outcome::Error => "ERROR",
            };
            out.push_str(&format!("  {mark} {:<28} {}\n", f.check, f.detail));
        }
        let settings: Vec<&Setting> = self
            .findings
            .iter()
            .filter_map(|f| f.setting.as_ref())
            .collect();
        if !settings.is_empty() {
            out.push_str("\nsettings for this store:\n");
            for s in settings {
                let note = if s.configured == s.recommended {
                    String::new()
                } else {
                    format!("   # configured: {}", s.configured)
                };
                out.push_str(&format!("  {} = {}{note}\n", s.name, s.recommended));
            }
        }
        for f in self.findings.iter().filter(|f| f.overclaims()) {
            out.push_str(&format!(
                "\nMISMATCH: {} is on, but the store does not do it ({})\n",
                f.setting.as_ref().map_or(f.check, |s| s.name),
                f.detail
            ));
        }
        if self.left_behind.is_empty() {
            out.push_str("\ncleanup: nothing left behind\n");
        } else {
            out.push_str(&format!(
                "\ncleanup FAILED, left behind: {:?}\n",
                self.left_behind
            ));
        }
        out
    }
}

/// Probes `store` (a client of the configured bucket with every capability switched on,
/// so each is exercised) and compares with `configured`. The presigned requests are sent
/// as a browser would, each within `timeout`.
pub async fn run(
    store: &dyn ObjectStore,
    configured: &StorageSettings,
    endpoint: &str,
    timeout: std::time::Duration,
) -> Report {
    let prefix = format!("sluice-doctor/{}", uuid::Uuid::now_v7().simple());
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .unwrap_or_default();
    let mut run = probes::Run::new(store, configured, &http, &prefix);
    run.all().await;
    let left_behind = run.clean_up().await;
    let findings = run.findings;
    Report {
        endpoint: endpoint.to_owned(),
        bucket: store.bucket_name().to_owned(),
        prefix,
        findings,
        left_behind,
    }
}
