//! What every handler can reach: the core context, the authenticator, and a probe of the
//! job queue for `/readyz` (the queue lives in `sluice-jobs`, which the API must not
//! depend on, so the binary hands in a closure).

use std::sync::Arc;

use futures::future::BoxFuture;
use sluice_core::Core;
use sluice_core::auth::Authenticator;

/// Checks that the job queue answers.
pub type QueueProbe = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub auth: Arc<Authenticator>,
    pub queue_probe: QueueProbe,
}

impl AppState {
    pub fn new(core: Core, queue_probe: QueueProbe) -> Self {
        let auth = Arc::new(Authenticator::new(&core.settings.auth));
        Self {
            core,
            auth,
            queue_probe,
        }
    }
}
