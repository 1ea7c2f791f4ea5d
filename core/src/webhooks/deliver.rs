//! One delivery attempt: the `DeliverWebhook` job's use case. POSTs the stored payload,
//! signed, to the endpoint; a 2xx delivers it; anything else is recorded and retried on
//! the kind's schedule (`queue.retry.deliver_webhook`, hours long), and after the last
//! retry the delivery is given up and reported, never blocking anything but the later
//! deliveries of the same session to the same endpoint.

use std::time::Instant;

use secrecy::ExposeSecret;

use super::repo::{self, Attempt};
use super::sign;
use crate::Core;
use crate::error::{CoreError, CoreResult};
use crate::jobs::{DeliverWebhook, JobKind, Ran};

/// How long a delivery waits for an earlier one of its session before looking again.
const ORDER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

pub async fn deliver(core: &Core, delivery_id: i64) -> CoreResult<Ran> {
    let Some(delivery) = repo::find(&core.db, delivery_id).await? else {
        return Ok(Ran::Done);
    };
    if delivery.status != repo::PENDING {
        return Ok(Ran::Done);
    }
    let now = core.now();
    let Some(endpoint) = core.settings.webhooks.endpoints.get(&delivery.endpoint) else {
        tracing::warn!(endpoint = %delivery.endpoint, message_id = %delivery.message_id, "webhook endpoint no longer configured; delivery abandoned");
        repo::abandon(&core.db, delivery.id, now).await?;
        return Ok(Ran::Done);
    };
    if repo::earlier_pending(&core.db, &delivery).await? {
        return Ok(Ran::WaitFor(ORDER_WAIT));
    }
    let key = sign::key_of(endpoint.secret.expose_secret()).map_err(|e| {
        CoreError::Internal(format!("webhook secret of `{}`: {e}", delivery.endpoint))
    })?;
    let body =
        serde_json::to_string(&delivery.payload).map_err(|e| CoreError::Internal(e.to_string()))?;
    let timestamp = now.timestamp();
    let signature = sign::signature(&key, &delivery.message_id, timestamp, &body);
    let started = Instant::now();
    let sent = core
        .http
        .post(&endpoint.url)
        .timeout(core.settings.webhooks.timeout.get())
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status, error) = match sent {
        Ok(response) if response.status().is_success() => (Some(response.status().as_u16()), None),
        Ok(response) => (
            Some(response.status().as_u16()),
            Some(format!("answered {}", response.status())),
        ),
        Err(e) => (None, Some(transport_error(&e))),
    };
    let mut attempt = Attempt {
        at: now,
        status,
        latency_ms,
        error: error.clone(),
        next_try: None,
    };
    let Some(error) = error else {
        repo::record(&core.db, &delivery, &attempt, Some(repo::DELIVERED)).await?;
        return Ok(Ran::Done);
    };
    let attempts = u32::try_from(delivery.attempts)
        .unwrap_or(0)
        .saturating_add(1);
    let next = core
        .retry
        .schedule(DeliverWebhook::KIND)
        .and_then(|s| s.delay_after(attempts, true));
    match next {
        Some(delay) => {
            attempt.next_try = Some(now + chrono::Duration::from_std(delay).unwrap_or_default());
            repo::record(&core.db, &delivery, &attempt, None).await?;
            Err(CoreError::WebhookFailed(error))
        }
        None => {
            repo::record(&core.db, &delivery, &attempt, Some(repo::FAILED)).await?;
            tracing::error!(endpoint = %delivery.endpoint, message_id = %delivery.message_id, attempts, %error, "webhook endpoint keeps failing; delivery given up");
            Ok(Ran::Done)
        }
    }
}

/// A transport failure in words, without the URL (an endpoint URL may carry a token).
fn transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}
