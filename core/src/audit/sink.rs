//! Shipping the audit stream to the configured sinks, in id order, at least once, each
//! sink from its own cursor: a JSON-lines file (whose last line is its cursor, so a crash
//! between writing and remembering never writes an event twice) and an HTTP endpoint
//! (cursor in the `cursors` table; a receiver may see a batch again and dedups by `id`).
//!
//! Invariants: a failing sink never blocks an upload (shipping runs apart from every
//! request, and a failure is retried on the next turn and reported); the stream is read
//! up to the first gap in the ids, because a gap is a transaction that may still commit;
//! a gap older than `audit.settle` is a rolled-back id and is passed.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use secrecy::ExposeSecret;
use serde_json::json;
use sluice_entity::{audit_event, cursor};

use crate::Core;
use crate::error::{CoreError, CoreResult};

/// The cursor name of the HTTP sink.
const HTTP_CURSOR: &str = "audit_http";

/// What one turn shipped, per sink (`None`: the sink is not configured).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shipped {
    pub file: Option<usize>,
    pub http: Option<usize>,
}

/// The lease that keeps two processes (or two turns) from shipping at once.
const LEASE: &str = "audit_sink";

/// One turn, if no other process is shipping: `None` when one is.
pub async fn ship_turn(core: &Core, holder: &str) -> CoreResult<Option<Shipped>> {
    let ttl = std::time::Duration::from_secs(300);
    if !crate::lease::acquire(&core.db, LEASE, holder, core.now(), ttl).await? {
        return Ok(None);
    }
    let shipped = ship(core).await;
    crate::lease::release(&core.db, LEASE, holder).await?;
    shipped.map(Some)
}

/// One turn of every configured sink. A sink that fails is reported and retried next
/// turn; the other sinks go on. Callers hold the lease (`ship_turn`).
async fn ship(core: &Core) -> CoreResult<Shipped> {
    let mut shipped = Shipped::default();
    if let Some(path) = core.settings.audit.file.clone() {
        match ship_file(core, &path).await {
            Ok(n) => shipped.file = Some(n),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "audit file sink failed; the next turn retries")
            }
        }
    }
    if core.settings.audit.http_url.is_some() {
        match ship_http(core).await {
            Ok(n) => shipped.http = Some(n),
            Err(e) => tracing::warn!(error = %e, "audit HTTP sink failed; the next turn retries"),
        }
    }
    Ok(shipped)
}

/// The events after `after`, in id order, up to the first gap that is not yet settled.
async fn next_events<C: ConnectionTrait>(
    db: &C,
    after: i64,
    limit: u64,
    now: DateTime<Utc>,
    settle: chrono::Duration,
) -> CoreResult<Vec<audit_event::Model>> {
    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::Id.gt(after))
        .order_by_asc(audit_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut expected = after + 1;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if row.id != expected && row.at > now - settle {
            break;
        }
        expected = row.id + 1;
        out.push(row);
    }
    Ok(out)
}

/// The event as a sink receives it.
fn line(event: &audit_event::Model) -> serde_json::Value {
    json!({
        "id": event.id,
        "at": event.at,
        "kind": event.kind,
        "upload_id": event.upload_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor": event.actor,
        "detail": event.detail,
    })
}

/// The id up to which every configured sink has shipped the stream: retention never
/// prunes past it. `None` when no sink is configured (nothing waits to be shipped).
pub async fn shipped_upto(core: &Core) -> CoreResult<Option<i64>> {
    let mut upto: Option<i64> = None;
    if let Some(path) = core.settings.audit.file.clone() {
        let id = tokio::task::spawn_blocking(move || last_id_in(&path))
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))??;
        upto = Some(id);
    }
    if core.settings.audit.http_url.is_some() {
        let id = cursor::Entity::find_by_id(HTTP_CURSOR)
            .one(&core.db)
            .await?
            .map_or(0, |c| c.position);
        upto = Some(upto.map_or(id, |u| u.min(id)));
    }
    Ok(upto)
}

async fn ship_file(core: &Core, path: &Path) -> CoreResult<usize> {
    let owned = path.to_owned();
    let after = tokio::task::spawn_blocking(move || last_id_in(&owned))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))??;
    let settle = core.settings.audit.settle.chrono();
    let events = next_events(
        &core.db,
        after,
        core.settings.audit.batch,
        core.now(),
        settle,
    )
    .await?;
    if events.is_empty() {
        return Ok(0);
    }
    let mut text = String::new();
    for event in &events {
        text.push_str(&line(event).to_string());
        text.push('\n');
    }
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        if let Some(dir) = owned.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&owned)?;
        file.write_all(text.as_bytes())?;
        file.sync_data()
    })
    .await
    .map_err(|e| CoreError::Internal(e.to_string()))?
    .map_err(|e| CoreError::Internal(format!("writing {}: {e}", path.display())))?;
    Ok(events.len())
}

/// The id of the last complete line of the file (0 when it is empty or missing).
fn last_id_in(path: &Path) -> CoreResult<i64> {
    let io = |e: std::io::Error| CoreError::Internal(format!("reading {}: {e}", path.display()));
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(e)),
    };
    let len = file.metadata().map_err(io)?.len();
    // Lines are small; the last one fits in the tail.
    let start = len.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut tail = String::new();
    file.read_to_string(&mut tail).map_err(io)?;
    let last = tail
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["id"].as_i64());
    Ok(last.unwrap_or(0))
}

async fn ship_http(core: &Core) -> CoreResult<usize> {
    let Some(url) = core.settings.audit.http_url.as_deref() else {
        return Ok(0);
    };
    let after = cursor::Entity::find_by_id(HTTP_CURSOR)
        .one(&core.db)
        .await?
        .map_or(0, |c| c.position);
    let settle = core.settings.audit.settle.chrono();
    let events = next_events(
        &core.db,
        after,
        core.settings.audit.batch,
        core.now(),
        settle,
    )
    .await?;
    let Some(last) = events.last().map(|e| e.id) else {
        return Ok(0);
    };
    let body = json!({ "events": events.iter().map(line).collect::<Vec<_>>() });
    let mut request = core
        .http
        .post(url)
        .timeout(std::time::Duration::from_secs(30))
        .json(&body);
    if let Some(token) = &core.settings.audit.http_token {
        request = request.bearer_auth(token.expose_secret());
    }
    let response = request.send().await.map_err(|e| {
        CoreError::Internal(format!("audit endpoint unreachable: {}", e.without_url()))
    })?;
    if !response.status().is_success() {
        return Err(CoreError::Internal(format!(
            "audit endpoint answered {}",
            response.status()
        )));
    }
    save_cursor(&core.db, HTTP_CURSOR, last, core.now()).await?;
    Ok(events.len())
}

async fn save_cursor<C: ConnectionTrait>(
    db: &C,
    name: &str,
    position: i64,
    now: DateTime<Utc>,
) -> CoreResult<()> {
    let model = cursor::ActiveModel {
        name: sea_orm::Set(name.to_owned()),
        position: sea_orm::Set(position),
        updated_at: sea_orm::Set(now),
    };
    cursor::Entity::insert(model)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(cursor::Column::Name)
                .update_columns([cursor::Column::Position, cursor::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
