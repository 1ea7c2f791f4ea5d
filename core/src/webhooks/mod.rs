//! Webhooks: `upload.uploaded`, `upload.rejected`, `upload.expired`, `upload.committed`,
//! `file.deleted` and `batch.completed`, POSTed to configured endpoints and signed as
//! Standard Webhooks say; operators list, replay and pause them (`operate`).
//!
//! Invariants: a delivery is written in the transaction of the transition that announces
//! it (with its `DeliverWebhook` job), so nothing is announced that did not happen and
//! nothing that happened goes unannounced; the `webhook-id` is the same on every attempt;
//! every attempt is recorded; deliveries of one session to one endpoint go out in order;
//! payloads carry ids and the session's view, never secrets or presigned URLs.

pub mod deliver;
pub mod operate;
pub(crate) mod repo;
pub mod sign;

pub use sluice_domain::Notice;

use crate::config::{WebhookEndpoint, WebhookSettings};

/// The names of the endpoints that want `notice` about an upload in `profile`.
pub fn subscribers<'a>(
    settings: &'a WebhookSettings,
    notice: Notice,
    profile: &str,
) -> Vec<&'a str> {
    settings
        .endpoints
        .iter()
        .filter(|(_, e)| wants(e, notice, profile))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// The endpoints that want `notice` of something spanning `profiles` (a batch): an
/// endpoint limited to some profiles hears of it when one of them is among `profiles`.
pub fn subscribers_of_any<'a>(
    settings: &'a WebhookSettings,
    notice: Notice,
    profiles: &[String],
) -> Vec<&'a str> {
    settings
        .endpoints
        .iter()
        .filter(|(_, e)| profiles.iter().any(|p| wants(e, notice, p)))
        .map(|(name, _)| name.as_str())
        .collect()
}

fn wants(endpoint: &WebhookEndpoint, notice: Notice, profile: &str) -> bool {
    (endpoint.events.is_empty() || endpoint.events.iter().any(|e| e == notice.event_type()))
        && (endpoint.profiles.is_empty() || endpoint.profiles.iter().any(|p| p == profile))
}
