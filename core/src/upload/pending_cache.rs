//! A short memory of pending multipart sessions for the part-signing routes. Every part
//! of an upload reads the same row, and its fields that matter there (owner, key, the
//! store's upload id, the cut, the deadline) never change while the session is pending;
//! reading it once a second instead of once a part takes the database off the hottest
//! route.
//!
//! Invariants: an entry is used for at most `TTL` by the core's clock after it was read,
//! and only if that read found it pending; the owner, the part numbers and the deadline
//! are still checked on every call. A transition out of `pending` made by this process
//! forgets the entry as it commits (`forget`), so here a part is never signed after it;
//! after one made by another replica, a part URL may be signed up to `TTL` after the
//! session left `pending`: its multipart upload is then
//! completed or aborted, so the store refuses the part, or the abort that follows removes
//! it; nothing is stored that the cleanup does not remove. Bounded: when full, stale
//! entries go, and if none is stale, all do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use sluice_entity::upload_session::Model;
use uuid::Uuid;

/// How long an entry stands in for the row.
pub const TTL: Duration = Duration::seconds(1);

/// Sessions at most (each entry is one row, about a kilobyte).
const CAPACITY: usize = 10_000;

/// A session and when it was read.
type Entry = (DateTime<Utc>, Arc<Model>);

#[derive(Debug, Default)]
pub struct PendingCache {
    entries: Mutex<HashMap<Uuid, Entry>>,
}

impl PendingCache {
    /// The session read for `id` less than `TTL` before `now`, if any.
    pub fn get(&self, id: Uuid, now: DateTime<Utc>) -> Option<Arc<Model>> {
        let entries = self.entries.lock().ok()?;
        let (read_at, session) = entries.get(&id)?;
        let fresh = now >= *read_at && now - *read_at < TTL;
        fresh.then(|| session.clone())
    }

    /// Forgets `id`: it left `pending` (its entry no longer stands in for the row).
    pub fn forget(&self, id: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&id);
        }
    }

    /// Remembers a session read at `now` (the caller only hands in pending ones).
    pub fn put(&self, session: Arc<Model>, now: DateTime<Utc>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CAPACITY {
            entries.retain(|_, (read_at, _)| now >= *read_at && now - *read_at < TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(session.id, (now, session));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use sluice_domain::{UploadMethod, UploadState};

    fn session() -> Model {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 2, 12, 0, 0)
            .single()
            .expect("t");
        Model {
            id: Uuid::now_v7(),
            owner: "alice".into(),
            profile: "default".into(),
            filename: "a.bin".into(),
            size: 1,
            content_type: "application/octet-stream".into(),
            sha256: None,
            metadata: serde_json::json!({}),
            key: "uploads/alice/x".into(),
            method: UploadMethod::Multipart,
            state: UploadState::Pending,
            version: 0,
            one_time: true,
            checksum_signed: false,
            checksum_verified: false,
            failure: None,
            expires_at: at,
            created_at: at,
            updated_at: at,
            upload_deadline: Some(at),
            urls_valid_until: Some(at),
            cleanup_due_at: None,
            cleaned_at: None,
            multipart_upload_id: Some("u".into()),
            part_size: Some(5),
            part_count: Some(1),
            size_exact: true,
            rewritable: false,
            sealed_key: None,
            held_bytes: 0,
            scan: None,
            batch_id: None,
            store: "default".into(),
        }
    }

    #[test]
    fn an_entry_stands_in_for_its_ttl_only() {
        let cache = PendingCache::default();
        let s = Arc::new(session());
        let t0 = s.created_at;
        cache.put(s.clone(), t0);
        assert!(cache.get(s.id, t0).is_some());
        assert!(cache.get(s.id, t0 + Duration::milliseconds(999)).is_some());
        assert!(cache.get(s.id, t0 + TTL).is_none(), "stale after the TTL");
        assert!(
            cache.get(s.id, t0 - Duration::seconds(1)).is_none(),
            "a clock that went back"
        );
        assert!(cache.get(Uuid::now_v7(), t0).is_none());
    }

    #[test]
    fn a_full_cache_drops_stale_entries_first() {
        let cache = PendingCache::default();
        let t0 = session().created_at;
        for _ in 0..CAPACITY {
            cache.put(Arc::new(session()), t0);
        }
        let later = t0 + TTL;
        let fresh = Arc::new(session());
        cache.put(fresh.clone(), later);
        assert!(cache.get(fresh.id, later).is_some());
        assert_eq!(cache.entries.lock().map(|e| e.len()).unwrap_or(0), 1);
    }
}
