//! Semantic checks of loaded settings. Returns every problem, each prefixed with the
//! dotted name of the setting, so an operator fixes a file in one pass.

use secrecy::ExposeSecret;

use super::{ProfileSettings, Settings, StorageSettings};
use crate::naming::is_valid_content_type_pattern;

const MIN_TOKEN_SECRET: usize = 32;
const MIN_API_KEY: usize = 16;
/// S3 refuses presigned URLs that live longer than a week.
const MAX_PRESIGN_SECS: u64 = 7 * 24 * 3600;
const MIN_PART: u64 = 5 * 1024 * 1024;
const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;
const MAX_OBJECT: u64 = 5 * 1024 * 1024 * 1024 * 1024;
/// Counts that size pools, threads and semaphores: past these a process would exhaust the
/// machine (or panic allocating) before serving anything.
const MAX_WORKERS: usize = 1_024;
const MAX_CONCURRENCY: usize = 10_000;
const MAX_CONNECTIONS: u32 = 10_000;

pub(super) fn problems(s: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    database(s, &mut out);
    queue(s, &mut out);
    storage(s, &mut out);
    auth(s, &mut out);
    cleanup(s, &mut out);
    quota(s, &mut out);
    batch(s, &mut out);
    admin(s, &mut out);
    retention(s, &mut out);
    webhooks(s, &mut out);
    audit(s, &mut out);
    uppy(s, &mut out);
    ops(s, &mut out);
    telemetry(s, &mut out);
    super::rate_limits::problems(s, &mut out);
    super::scanner::problems(s, &mut out);
    for (name, profile) in &s.profiles {
        self::profile(name, profile, &mut out);
        super::rate_limits::profile_problems(name, profile, &mut out);
        match s.store_settings(profile.store_name()) {
            Some(store) => capabilities(name, profile, store, &mut out),
            None => out.push(format!(
                "profiles.{name}.store: no store `{}` is configured (`default` or a [stores.NAME] section)",
                profile.store_name()
            )),
        }
    }
    out
}

/// A profile that needs what the store lacks is refused at start, not at the first
/// upload the store turns down.
fn capabilities(name: &str, p: &ProfileSettings, st: &StorageSettings, out: &mut Vec<String>) {
    if p.one_time == Some(true) && !st.if_none_match {
        out.push(format!(
            "profiles.{name}.one_time: needs a store that honours If-None-Match \
             (its store's if_none_match is false); leave it unset to follow the store"
        ));
    }
    if p.require_checksum && !st.checksums() {
        out.push(format!(
            "profiles.{name}.require_checksum: needs a store that checks SHA-256 checksums \
             (its store's checksums is false)"
        ));
    }
}

fn uppy(s: &Settings, out: &mut Vec<String>) {
    if !s.profiles.contains_key(&s.uppy.profile) {
        out.push(format!(
            "uppy.profile: no profile `{}` is configured",
            s.uppy.profile
        ));
    }
    let part = s.uppy.part_size.bytes();
    if !(MIN_PART..=MAX_SINGLE_PUT).contains(&part) {
        out.push("uppy.part_size: must be between 5MiB and 5GiB".into());
    }
}

fn ops(s: &Settings, out: &mut Vec<String>) {
    if let Some(token) = &s.ops.metrics_token
        && token.expose_secret().len() < MIN_API_KEY
    {
        out.push(format!(
            "ops.metrics_token: must be at least {MIN_API_KEY} characters"
        ));
    }
    if s.ops.probe_cache.get() > std::time::Duration::from_secs(3_600) {
        out.push("ops.probe_cache: must be at most 1h".into());
    }
}

fn telemetry(s: &Settings, out: &mut Vec<String>) {
    if let Some(url) = &s.telemetry.otlp_endpoint
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        out.push("telemetry.otlp_endpoint: must be an http:// or https:// URL".into());
    }
    if s.telemetry.service_name.trim().is_empty() {
        out.push("telemetry.service_name: must not be empty".into());
    }
    if !(0.0..=1.0).contains(&s.telemetry.sample_ratio) {
        out.push("telemetry.sample_ratio: must be between 0 and 1".into());
    }
}

fn webhooks(s: &Settings, out: &mut Vec<String>) {
    for (name, endpoint) in &s.webhooks.endpoints {
        let at = format!("webhooks.endpoints.{name}");
        if !(endpoint.url.starts_with("http://") || endpoint.url.starts_with("https://")) {
            out.push(format!("{at}.url: must be an http:// or https:// URL"));
        }
        if let Err(e) = crate::webhooks::sign::key_of(endpoint.secret.expose_secret()) {
            out.push(format!("{at}.secret: {e}"));
        }
        for event in &endpoint.events {
            if crate::webhooks::Notice::from_event_type(event).is_none() {
                out.push(format!(
                    "{at}.events: `{event}` is not one of upload.uploaded, upload.rejected, \
                     upload.expired, upload.committed, file.deleted"
                ));
            }
        }
        for profile in &endpoint.profiles {
            if !s.profiles.contains_key(profile) {
                out.push(format!("{at}.profiles: no profile `{profile}`"));
            }
        }
    }
    if s.webhooks.timeout.get().is_zero() {
        out.push("webhooks.timeout: must be longer than zero".into());
    }
}

fn audit(s: &Settings, out: &mut Vec<String>) {
    if let Some(url) = &s.audit.http_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        out.push("audit.http_url: must be an http:// or https:// URL".into());
    }
    if s.audit.batch == 0 || s.audit.batch > 10_000 {
        out.push("audit.batch: must be between 1 and 10000".into());
    }
}

fn admin(s: &Settings, out: &mut Vec<String>) {
    if s.admin.stats_interval.get().as_secs() < 1 {
        out.push("admin.stats_interval: must be at least 1s".into());
    }
}

fn retention(s: &Settings, out: &mut Vec<String>) {
    let r = &s.retention;
    if r.interval.get().as_secs() < 1 {
        out.push("retention.interval: must be at least 1s".into());
    }
    if r.batch == 0 || r.batch > 10_000 {
        out.push("retention.batch: must be between 1 and 10000".into());
    }
    for (name, d) in [
        ("sessions", r.sessions),
        ("audit_events", r.audit_events),
        ("webhook_deliveries", r.webhook_deliveries),
    ] {
        // Sub-second periods are typos; `0` means forever. The upper bound is parsing's.
        if !d.get().is_zero() && d.get().as_secs() < 1 {
            out.push(format!(
                "retention.{name}: must be 0 (forever) or at least 1s"
            ));
        }
    }
}

fn quota(s: &Settings, out: &mut Vec<String>) {
    if s.quota.reconcile_interval.get().as_secs() < 1 {
        out.push("quota.reconcile_interval: must be at least 1s".into());
    }
}

fn batch(s: &Settings, out: &mut Vec<String>) {
    if !(1..=10_000).contains(&s.batch.max_items) {
        out.push("batch.max_items: must be from 1 to 10000".into());
    }
}

fn cleanup(s: &Settings, out: &mut Vec<String>) {
    if s.cleanup.late_put_grace.get() > std::time::Duration::from_secs(MAX_PRESIGN_SECS) {
        out.push("cleanup.late_put_grace: must be at most 7d".into());
    }
}

fn database(s: &Settings, out: &mut Vec<String>) {
    if let Some(url) = &s.database.url {
        let url = url.expose_secret();
        if !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:"))
        {
            out.push("database.url: must start with postgres://, postgresql:// or sqlite:".into());
        }
    }
    if s.database.max_connections == 0 || s.database.max_connections > MAX_CONNECTIONS {
        out.push(format!(
            "database.max_connections: must be between 1 and {MAX_CONNECTIONS}"
        ));
    }
    if s.server.workers > MAX_WORKERS {
        out.push(format!("server.workers: must be at most {MAX_WORKERS}"));
    }
}

fn queue(s: &Settings, out: &mut Vec<String>) {
    if let Some(url) = &s.queue.redis_url {
        let url = url.expose_secret();
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            out.push("queue.redis_url: must start with redis:// or rediss://".into());
        }
    }
    let ns = &s.queue.namespace;
    if ns.is_empty()
        || ns.len() > 64
        || !ns
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        out.push("queue.namespace: 1 to 64 characters of letters, digits, - _ . :".into());
    }
    if s.queue.concurrency == 0 || s.queue.concurrency > MAX_CONCURRENCY {
        out.push(format!(
            "queue.concurrency: must be between 1 and {MAX_CONCURRENCY}"
        ));
    }
    for (name, d) in [
        ("poll_interval", s.queue.poll_interval),
        ("relay_interval", s.queue.relay_interval),
        ("sweep_interval", s.queue.sweep_interval),
        ("dispatch_lease", s.queue.dispatch_lease),
    ] {
        if d.get().is_zero() {
            out.push(format!("queue.{name}: must be longer than zero"));
        }
    }
    for (kind, delays) in &s.queue.retry {
        if crate::jobs::Job::kind_info(kind).is_none() {
            let known: Vec<&str> = crate::jobs::Job::KINDS.iter().map(|k| k.name).collect();
            out.push(format!(
                "queue.retry.{kind}: no such job kind (known: {})",
                known.join(", ")
            ));
        }
        if delays.is_empty() || delays.iter().any(|d| d.get().is_zero()) {
            out.push(format!(
                "queue.retry.{kind}: list at least one delay, each longer than zero"
            ));
        }
    }
}

fn storage(s: &Settings, out: &mut Vec<String>) {
    one_store("storage", &s.storage, out);
    for (name, st) in &s.stores {
        let at = format!("stores.{name}");
        let name_ok = (1..=32).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !name_ok {
            out.push(format!(
                "{at}: a store name is 1 to 32 lower-case letters, digits, - or _"
            ));
        }
        if name == super::DEFAULT_STORE {
            out.push(format!(
                "{at}: `default` is the [storage] store; give this one another name"
            ));
        }
        // One process serves one embedded store: a named store is always an external one.
        if st.endpoint.is_none() {
            out.push(format!(
                "{at}.endpoint: required (only [storage] may be the embedded store)"
            ));
        }
        one_store(&at, st, out);
    }
}

/// The checks every store's settings pass, named under `at`.
fn one_store(at: &str, st: &StorageSettings, out: &mut Vec<String>) {
    if let Some(endpoint) = &st.endpoint {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            out.push(format!("{at}.endpoint: must be an http:// or https:// URL"));
        }
        if st.access_key_id.as_deref().is_none_or(str::is_empty) {
            out.push(format!(
                "{at}.access_key_id: required when {at}.endpoint is set"
            ));
        }
        if st
            .secret_access_key
            .as_ref()
            .is_none_or(|k| k.expose_secret().is_empty())
        {
            out.push(format!(
                "{at}.secret_access_key: required when {at}.endpoint is set"
            ));
        }
    }
    let b = &st.bucket;
    let bucket_ok = (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !bucket_ok {
        out.push(format!("{at}.bucket: 3 to 63 lower-case letters, digits, - or ., starting and ending with a letter or digit"));
    }
    if st.region.trim().is_empty() {
        out.push(format!("{at}.region: must not be empty"));
    }
}

fn auth(s: &Settings, out: &mut Vec<String>) {
    for origin in &s.server.public_origins {
        if crate::auth::Origin::parse(origin).is_none() {
            out.push(format!(
                "server.public_origins: `{origin}` is not an origin (http(s)://host[:port], no path)"
            ));
        }
    }
    if let Some(secret) = &s.auth.token_secret
        && secret.expose_secret().len() < MIN_TOKEN_SECRET
    {
        out.push(format!(
            "auth.token_secret: must be at least {MIN_TOKEN_SECRET} bytes"
        ));
    }
    for (list, keys) in [
        ("service_keys", &s.auth.service_keys),
        ("admin_keys", &s.auth.admin_keys),
    ] {
        if keys.iter().any(|k| k.expose_secret().len() < MIN_API_KEY) {
            out.push(format!(
                "auth.{list}: every key must be at least {MIN_API_KEY} characters"
            ));
        }
    }
    let shared = s.auth.service_keys.iter().any(|sk| {
        s.auth
            .admin_keys
            .iter()
            .any(|ak| ak.expose_secret() == sk.expose_secret())
    });
    if shared {
        out.push("auth.admin_keys: a key must not also be a service key".into());
    }
    for (name, value) in [
        ("token_audience", &s.auth.token_audience),
        ("token_issuer", &s.auth.token_issuer),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.trim().is_empty() || v.trim() != v)
        {
            out.push(format!(
                "auth.{name}: must not be empty or start or end with spaces (claims compare exactly)"
            ));
        }
    }
}

fn profile(name: &str, p: &ProfileSettings, out: &mut Vec<String>) {
    let at = format!("profiles.{name}");
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        out.push(format!(
            "{at}: a profile name is 1 to 64 lower-case letters, digits, - or _"
        ));
    }
    if p.max_size.bytes() == 0 {
        out.push(format!("{at}.max_size: must be larger than zero"));
    }
    if p.content_types.is_empty() {
        out.push(format!(
            "{at}.content_types: list at least one type (\"*/*\" allows any)"
        ));
    }
    for t in &p.content_types {
        if !is_valid_content_type_pattern(t) {
            out.push(format!(
                "{at}.content_types: `{t}` is not a type such as image/png, image/* or */*"
            ));
        }
    }
    for e in &p.extensions {
        if e.is_empty()
            || e.starts_with('.')
            || e.chars()
                .any(|c| !c.is_ascii_alphanumeric() || c.is_ascii_uppercase())
        {
            out.push(format!(
                "{at}.extensions: `{e}` must be lower-case letters and digits, without the dot"
            ));
        }
    }
    if p.part_size.bytes() < MIN_PART || p.part_size.bytes() > MAX_SINGLE_PUT {
        out.push(format!("{at}.part_size: must be between 5MiB and 5GiB"));
    }
    if p.multipart_threshold.bytes() == 0 || p.multipart_threshold.bytes() > MAX_SINGLE_PUT {
        out.push(format!(
            "{at}.multipart_threshold: must be between 1 byte and 5GiB"
        ));
    }
    if p.max_size.bytes() > MAX_OBJECT {
        out.push(format!(
            "{at}.max_size: must be at most 5TiB (the largest object S3 stores)"
        ));
    }
    for (field, d) in [
        ("upload_ttl", p.upload_ttl),
        ("download_ttl", p.download_ttl),
    ] {
        if d.get().as_secs() < 1 || d.get().as_secs() > MAX_PRESIGN_SECS {
            out.push(format!(
                "{at}.{field}: must be between 1s and 7d (presigned URLs live a week at most)"
            ));
        }
    }
    if p.commit_ttl.get().as_secs() < 1 {
        out.push(format!("{at}.commit_ttl: must be at least 1s"));
    }
    if p.verify_ttl.get() < p.upload_ttl.get() {
        out.push(format!(
            "{at}.verify_ttl: must be at least upload_ttl (a good upload is only given up \
             after the store stayed unreachable this long)"
        ));
    }

    let prefix_ok = !p.key_prefix.is_empty()
        && p.key_prefix.len() <= 128
        && p.key_prefix.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if !prefix_ok {
        out.push(format!(
            "{at}.key_prefix: segments of letters, digits, - _ . separated by /"
        ));
    }
}

#[cfg(test)]
mod tests;
