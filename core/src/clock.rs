//! The current time, truncated to microseconds: PostgreSQL keeps microseconds, so a
//! timestamp returned right after a write equals the one read back later.

use chrono::{DateTime, SubsecRound, Utc};

/// Now, at the precision every supported database stores.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
