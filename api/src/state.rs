//! What every handler can reach: the core context, the authenticator, and a probe of the
//! job queue for `/readyz` (the queue lives in `sluice-jobs`, which the API must not
//! depend on, so the binary hands in a closure).

use std::sync::Arc;

use futures::future::BoxFuture;
use sluice_core::Core;
use sluice_core::auth::{Authenticator, TrustedOrigins};
use sluice_core::cached::Cached;
use sluice_core::ratelimit::RateLimiter;

use crate::client_ip::ClientIpPolicy;
use crate::routes::ops::readyz::Readiness;

/// Checks that the job queue answers.
pub type QueueProbe = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub auth: Arc<Authenticator>,
    pub queue_probe: QueueProbe,
    /// The request rate limits (shared through Redis when configured).
    pub limiter: Arc<RateLimiter>,
    /// How the client IP of a request is found, for the per-IP limits.
    pub client_ip: Arc<ClientIpPolicy>,
    /// The origins whose pages may use the session cookie (see `csrf`); `Application::build`
    /// derives the default from the address it really listens on.
    pub origins: Arc<TrustedOrigins>,
    /// `/readyz`'s last answer, reused for `ops.probe_cache`.
    pub readiness: Arc<Cached<Readiness>>,
}

impl AppState {
    pub fn new(core: Core, queue_probe: QueueProbe) -> Self {
        let auth = Arc::new(Authenticator::new(&core.settings.auth));
        let limiter = Arc::new(RateLimiter::new(&core.settings, core.metrics.clone()));
        let client_ip = Arc::new(ClientIpPolicy::new(&core.settings.rate_limits));
        let server = &core.settings.server;
        let origins = Arc::new(TrustedOrigins::new(&server.public_origins, server.bind));
        Self {
            core,
            auth,
            queue_probe,
            limiter,
            client_ip,
            origins,
            readiness: Arc::new(Cached::new()),
        }
    }
}
