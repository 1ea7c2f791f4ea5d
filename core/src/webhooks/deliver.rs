//! One delivery attempt: the `DeliverWebhook` job's use case. POSTs the stored payload,
//! signed, to the endpoint; a 2xx delivers it; anything else is recorded and retried on
//! the kind's schedule (`queue.retry.deliver_webhook`, hours long), and after the last
//! retry the delivery is given up and reported, never blocking anything but the later
//! deliveries of the same session to the same endpoint.
//!
//! A later delivery whose earlier one is still pending is parked, not polled: its job
//! waits (a long backstop) until the earlier one is delivered or given up, which wakes
//! it in the transaction that settles it. So an endpoint that is down costs the attempts
//! of each session's first pending delivery, however many wait behind them.

use std::time::Instant;

use crate::write::Write;
use secrecy::ExposeSecret;

use super::repo::{self, Attempt};
use super::sign;
use crate::Core;
use crate::error::{CoreError, CoreResult};
use crate::jobs::{DeliverWebhook, JobKind, Ran};

/// How long a delivery parked behind an earlier one of its session waits at most before
/// looking again. The earlier one wakes it when it is delivered or given up (in the same
/// transaction), so this is only a backstop: waiting costs nothing meanwhile.
const PARK_BACKSTOP: std::time::Duration = std::time::Duration::from_secs(1_800);

/// Whether `delivery_id` still waits, for an earlier delivery or for its endpoint to be
/// resumed (`JobKind::still_parked`): the same two reasons `deliver` parks for. Leaving
/// out the pause made a paused endpoint's parked deliveries wake themselves at once, and
/// run, park and wake again without end until the endpoint was resumed.
pub async fn still_parked(core: &Core, delivery_id: i64) -> CoreResult<bool> {
    match repo::find(&core.db, delivery_id).await? {
        Some(delivery) if delivery.status == repo::PENDING => {
            Ok(repo::earlier_pending(&core.db, &delivery).await?
                || super::operate::is_paused(&core.db, &delivery.endpoint).await?)
        }
        _ => Ok(false),
    }
}

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
        settle(core, &delivery, None, repo::FAILED).await?;
        return Ok(Ran::Done);
    };
    if repo::earlier_pending(&core.db, &delivery).await? {
        return Ok(Ran::Parked(PARK_BACKSTOP));
    }
    // A paused endpoint's deliveries wait, unattempted; resuming wakes them.
    if super::operate::is_paused(&core.db, &delivery.endpoint).await? {
        return Ok(Ran::Parked(PARK_BACKSTOP));
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
    let (status, error, response_excerpt) = match sent {
        Ok(response) => {
            let status = response.status();
            let excerpt =
                excerpt(response, &[endpoint.secret.expose_secret(), &endpoint.url]).await;
            let error = (!status.is_success()).then(|| format!("answered {status}"));
            (Some(status.as_u16()), error, excerpt)
        }
        Err(e) => (None, Some(transport_error(&e)), None),
    };
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let outcome = if error.is_none() {
        "delivered"
    } else {
        "failed"
    };
    core.metrics
        .webhook_attempts
        .with_label_values(&[delivery.endpoint.as_str(), outcome])
        .inc();
    let mut attempt = Attempt {
        at: now,
        status,
        latency_ms,
        error: error.clone(),
        next_try: None,
        response_excerpt,
    };
    let Some(error) = error else {
        settle(core, &delivery, Some(&attempt), repo::DELIVERED).await?;
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
            attempt.next_try = Some(crate::clock::add(now, delay));
            repo::record(&core.db, &delivery, &attempt, None).await?;
            Err(CoreError::WebhookFailed(error))
        }
        None => {
            settle(core, &delivery, Some(&attempt), repo::FAILED).await?;
            tracing::error!(endpoint = %delivery.endpoint, message_id = %delivery.message_id, attempts, %error, "webhook endpoint keeps failing; delivery given up");
            Ok(Ran::Done)
        }
    }
}

/// Settles a delivery (with its last attempt, if it made one) and, in the same
/// transaction, wakes the next delivery of its session to its endpoint, parked behind it.
async fn settle(
    core: &Core,
    delivery: &sluice_entity::webhook_delivery::Model,
    attempt: Option<&Attempt>,
    status: &str,
) -> CoreResult<()> {
    let write = Write::begin(core).await?;
    match attempt {
        Some(attempt) => repo::record(write.db(), delivery, attempt, Some(status)).await?,
        None => repo::abandon(write.db(), delivery.id, core.now()).await?,
    }
    repo::wake_next(&write, delivery, core.now()).await?;
    write.commit().await
}

/// The most of an answer's body an attempt keeps.
const EXCERPT_CHARS: usize = 512;

/// The start of `response`'s body as text (at most `EXCERPT_CHARS` characters, read no
/// further than needed), with every one of `secrets` replaced: an endpoint may echo what
/// it was sent, and its own URL may carry a token. `None` for an empty body.
async fn excerpt(mut response: reqwest::Response, secrets: &[&str]) -> Option<String> {
    let mut bytes: Vec<u8> = Vec::new();
    while bytes.len() < EXCERPT_CHARS * 4 {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let mut text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .take(EXCERPT_CHARS)
        .collect();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "[redacted]");
    }
    (!text.is_empty()).then_some(text)
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

/// The `DeliverWebhook` job's handler (declared in `crate::jobs`).
impl crate::jobs::RunJob for crate::jobs::DeliverWebhook {
    async fn run(self, core: &Core) -> CoreResult<Ran> {
        deliver(core, self.delivery_id).await
    }

    async fn still_parked(&self, core: &Core) -> CoreResult<bool> {
        still_parked(core, self.delivery_id).await
    }
}
