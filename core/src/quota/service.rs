//! `GET /v1/quota`: the caller's limits and usage, per profile it may use and in total.
//! A limited scope answers from its counter row (what reservations check); a scope
//! without a limit, or a limited one not yet seeded, from the sessions table
//! (`computed::by_scope`), read only when some scope needs it.

use chrono::{DateTime, Utc};

use super::computed::{self, Counters};
use super::{Limits, TOTAL, day_of, repo};
use crate::Core;
use crate::auth::Principal;
use crate::error::CoreResult;

/// Usage of one scope (zero where nothing was ever counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub uploads_today: u64,
    pub bytes_today: u64,
    pub stored_bytes: u64,
    pub reserved_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeQuota {
    /// A profile's name, or `None` for the owner's total.
    pub profile: Option<String>,
    pub limits: Limits,
    pub usage: Usage,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaView {
    pub owner: String,
    /// When the daily counters start afresh (the next UTC midnight).
    pub resets_at: DateTime<Utc>,
    pub total: ScopeQuota,
    pub profiles: Vec<ScopeQuota>,
}

/// The caller's quota.
pub async fn quota(core: &Core, who: &Principal) -> CoreResult<QuotaView> {
    let now = core.now();
    let today = day_of(now);
    let rows = repo::usage(&core.db, &who.owner).await?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let total_limits = Limits::of_total(&core.settings.quota);
    let visible: Vec<(&String, Limits)> = core
        .settings
        .profiles
        .iter()
        .filter(|(name, _)| who.may_use_profile(name))
        .map(|(name, p)| (name, Limits::of_profile(p)))
        .collect();
    let counted = |scope: &str, limits: Limits| {
        (!limits.is_unlimited())
            .then(|| rows.iter().find(|r| r.scope == scope))
            .flatten()
    };
    let computed = if counted(TOTAL, total_limits).is_none()
        || visible.iter().any(|(name, l)| counted(name, *l).is_none())
    {
        computed::by_scope(&core.db, &who.owner, now).await?
    } else {
        Default::default()
    };
    let usage_of = |scope: &str, limits: Limits| match counted(scope, limits) {
        Some(r) => {
            let fresh = r.day == today;
            Usage {
                uploads_today: if fresh { n(r.uploads_today) } else { 0 },
                bytes_today: if fresh { n(r.bytes_today) } else { 0 },
                stored_bytes: n(r.stored_bytes),
                reserved_bytes: n(r.reserved_bytes),
            }
        }
        None => {
            let c: Counters = computed.get(scope).copied().unwrap_or_default();
            Usage {
                uploads_today: n(c.uploads_today),
                bytes_today: n(c.bytes_today),
                stored_bytes: n(c.stored_bytes),
                reserved_bytes: n(c.reserved_bytes),
            }
        }
    };
    let profiles = visible
        .iter()
        .map(|(name, limits)| ScopeQuota {
            profile: Some((*name).clone()),
            limits: *limits,
            usage: usage_of(name, *limits),
        })
        .collect();
    Ok(QuotaView {
        owner: who.owner.clone(),
        resets_at: now
            + chrono::Duration::seconds(
                i64::try_from(super::seconds_to_next_day(now)).unwrap_or(86_400),
            ),
        total: ScopeQuota {
            profile: None,
            limits: total_limits,
            usage: usage_of(TOTAL, total_limits),
        },
        profiles,
    })
}
