//! Operations endpoints: liveness and readiness.

pub mod healthz;
pub mod metrics;
pub mod readyz;
