//! Operations endpoints: liveness and readiness.

pub mod healthz;
pub mod readyz;
