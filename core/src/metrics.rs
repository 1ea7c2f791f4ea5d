//! Prometheus metrics, one registry per `Core` (so two apps in one test process never mix
//! their counts). Counters and histograms are recorded where things happen; the gauges
//! that describe the database (sessions by state, the job table, cleanups owed) are read
//! at scrape time, so every replica reports the same truth, at most once per
//! `ops.probe_cache` (a scrape anyone can send must not cost a query each).
//!
//! Invariant: label values come from closed sets (route patterns, kinds, outcomes), never
//! from ids or user input, so the number of series stays bounded.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::Core;
use crate::error::CoreResult;

/// Latency buckets in seconds, from a cached lookup to a slow store call.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    registry: Registry,
    /// When the database gauges were last read.
    gauges_read: crate::cached::Cached<()>,
    /// HTTP requests by route pattern, method and status.
    pub http_requests: IntCounterVec,
    /// HTTP latency by route pattern.
    pub http_seconds: HistogramVec,
    /// URLs signed, by kind (`put`, `part`, `get`).
    pub presigns: IntCounterVec,
    /// Calls to the store by operation and outcome. HEAD and GET are apart: both billed.
    pub store_ops: IntCounterVec,
    /// Bytes by stage: declared at create, verified, committed, deleted by cleanups.
    pub bytes: IntCounterVec,
    /// Job runs by kind and outcome.
    pub job_runs: IntCounterVec,
    /// Malware scans by verdict (`clean`, `infected`, `too_large`).
    pub scans: IntCounterVec,
    /// Job latency by kind.
    pub job_seconds: HistogramVec,
    /// Quota counters repaired by reconciliation.
    pub quota_repairs: IntCounter,
    /// Rows removed by retention, by table.
    pub retention_pruned: IntCounterVec,
    /// Requests refused by a rate limit, by route class and dimension (`owner`, `ip`).
    pub rate_limited: IntCounterVec,
    /// Requests let through unchecked because the rate limiter's store did not answer.
    pub rate_limit_unavailable: IntCounter,
    /// Webhook delivery attempts by configured endpoint and outcome (`delivered`,
    /// `failed`): an endpoint's failure rate, for alerts.
    pub webhook_attempts: IntCounterVec,
    sessions: IntGaugeVec,
    jobs: IntGaugeVec,
    cleanup_owed: IntGaugeVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    registry
        .register(Box::new(c.clone()))
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    c
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(BUCKETS.to_vec());
    let h = HistogramVec::new(opts, labels).unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    registry
        .register(Box::new(h.clone()))
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    h
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    registry
        .register(Box::new(g.clone()))
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    g
}

impl Default for Metrics {
    fn default() -> Self {
        let r = Registry::new();
        let quota_repairs = IntCounter::new(
            "sluice_quota_repairs_total",
            "Quota counters that reconciliation found wrong and repaired",
        )
        .unwrap_or_else(|e| unreachable!("metric: {e}"));
        r.register(Box::new(quota_repairs.clone()))
            .unwrap_or_else(|e| unreachable!("metric: {e}"));
        let rate_limit_unavailable = IntCounter::new(
            "sluice_rate_limit_unavailable_total",
            "Requests let through unchecked because the rate limiter's store did not answer",
        )
        .unwrap_or_else(|e| unreachable!("metric: {e}"));
        r.register(Box::new(rate_limit_unavailable.clone()))
            .unwrap_or_else(|e| unreachable!("metric: {e}"));
        Self {
            http_requests: counter(
                &r,
                "sluice_http_requests_total",
                "HTTP requests",
                &["route", "method", "status"],
            ),
            http_seconds: histogram(
                &r,
                "sluice_http_request_duration_seconds",
                "HTTP request latency",
                &["route"],
            ),
            presigns: counter(
                &r,
                "sluice_presigns_total",
                "URLs signed",
                &["store", "kind"],
            ),
            store_ops: counter(
                &r,
                "sluice_store_operations_total",
                "Calls to the object stores",
                &["store", "operation", "outcome"],
            ),
            bytes: counter(
                &r,
                "sluice_bytes_total",
                "Bytes declared, verified, committed and deleted",
                &["stage"],
            ),
            job_runs: counter(
                &r,
                "sluice_job_runs_total",
                "Job runs",
                &["kind", "outcome"],
            ),
            job_seconds: histogram(&r, "sluice_job_duration_seconds", "Job latency", &["kind"]),
            scans: counter(
                &r,
                "sluice_scans_total",
                "Malware scans by verdict",
                &["verdict"],
            ),
            quota_repairs,
            retention_pruned: counter(
                &r,
                "sluice_retention_pruned_total",
                "Rows removed by retention",
                &["table"],
            ),
            rate_limited: counter(
                &r,
                "sluice_rate_limited_total",
                "Requests refused by a rate limit",
                &["route_class", "dimension"],
            ),
            rate_limit_unavailable,
            webhook_attempts: counter(
                &r,
                "sluice_webhook_attempts_total",
                "Webhook delivery attempts by endpoint and outcome",
                &["endpoint", "outcome"],
            ),
            sessions: gauge(
                &r,
                "sluice_sessions",
                "Upload sessions by state",
                &["state"],
            ),
            jobs: gauge(
                &r,
                "sluice_jobs",
                "Stored jobs: all, due, undecodable, and the age of the oldest due one in seconds",
                &["measure"],
            ),
            cleanup_owed: gauge(
                &r,
                "sluice_cleanup_owed",
                "Sessions still owing the bucket a cleanup: all, and overdue ones",
                &["measure"],
            ),
            registry: r,
            gauges_read: crate::cached::Cached::new(),
        }
    }
}

impl Metrics {
    /// Counts bytes at a stage, ignoring negative sizes.
    pub fn add_bytes(&self, stage: &str, bytes: i64) {
        self.bytes
            .with_label_values(&[stage])
            .inc_by(u64::try_from(bytes).unwrap_or(0));
    }

    /// Counts a scan's verdict, and its bytes as `scanned` when the scanner read them.
    pub fn observe_scan(&self, verdict: &str, bytes: u64, took: std::time::Duration) {
        self.scans.with_label_values(&[verdict]).inc();
        if verdict != "too_large" {
            self.bytes.with_label_values(&["scanned"]).inc_by(bytes);
        }
        tracing::info!(
            verdict,
            bytes,
            seconds = took.as_secs_f64(),
            "scan finished"
        );
    }
}

/// The Prometheus text exposition, with the database gauges read now, or less than
/// `ops.probe_cache` ago.
pub async fn render(core: &Core) -> CoreResult<String> {
    let m = &core.metrics;
    let period = core.settings.ops.probe_cache.get();
    m.gauges_read
        .get(core.now(), period, || read_gauges(core))
        .await?;
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&m.registry.gather(), &mut out)
        .map_err(|e| crate::CoreError::Internal(e.to_string()))?;
    String::from_utf8(out).map_err(|e| crate::CoreError::Internal(e.to_string()))
}

/// Reads the gauges that describe the database.
async fn read_gauges(core: &Core) -> CoreResult<()> {
    let m = &core.metrics;
    let now = core.now();
    for (state, count) in crate::upload::repo::count_by_state(&core.db).await? {
        m.sessions.with_label_values(&[state.as_str()]).set(count);
    }
    let backlog = crate::outbox::backlog(&core.db, now).await?;
    let oldest = backlog
        .oldest_due
        .map_or(0, |at| (now - at).num_seconds().max(0));
    for (measure, value) in [
        ("stored", backlog.total),
        ("due", backlog.due),
        ("undecodable", backlog.undecodable),
    ] {
        m.jobs
            .with_label_values(&[measure])
            .set(i64::try_from(value).unwrap_or(i64::MAX));
    }
    m.jobs
        .with_label_values(&["oldest_due_age_seconds"])
        .set(oldest);
    let lease = core.settings.queue.dispatch_lease.chrono();
    let (owed, overdue) = crate::upload::repo::cleanups_owed(&core.db, now - lease).await?;
    m.cleanup_owed.with_label_values(&["all"]).set(owed);
    m.cleanup_owed.with_label_values(&["overdue"]).set(overdue);
    Ok(())
}
