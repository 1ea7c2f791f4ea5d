//! Request rate limits (GCRA): per route class, per owner and per client IP, from
//! `[rate_limits]` and `[profiles.NAME.rate_limits]`. Shared by every replica through
//! Redis when `queue.redis_url` is set (`redis.rs`), in process otherwise (`memory.rs`).
//!
//! A request is charged to its owner's bucket and its IP's bucket together or to neither,
//! so a refusal by one never spends the other. A profile's limit replaces the global one
//! of the same class and dimension, in a bucket of that profile's own.
//!
//! Invariants: with no limit configured nothing is looked up or stored; the limiter fails
//! open: when Redis does not answer (within `redis::CHECK_TIMEOUT`) the request passes,
//! `sluice_rate_limit_unavailable_total` counts it and a warning is logged (at most every
//! `WARN_EVERY`), and for `FAIL_OPEN_FOR` after a failure Redis is not asked at all, so
//! an outage costs no request more than one timeout. Bucket keys hold route classes,
//! dimensions and profile names from closed sets, then the subject; metric labels only
//! the closed sets.

mod cidr;
mod gcra;
mod memory;
mod redis;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use cidr::Cidr;
pub use gcra::{Decision, Gcra, decide, retry_after_secs};

use crate::config::{RouteClass, RouteLimits, Settings};
use crate::metrics::Metrics;

/// After a Redis failure, requests pass without asking it for this long.
const FAIL_OPEN_FOR: Duration = Duration::from_secs(1);
/// At most one warning per this long while the limiter fails open.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Who a bucket counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    Owner,
    Ip,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Owner => "owner",
            Dimension::Ip => "ip",
        }
    }
}

/// The answer to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit of `dimension`; the request would pass after `retry_after`.
    Refused {
        dimension: Dimension,
        retry_after: Duration,
    },
}

/// The limits of one class, as GCRA parameters.
#[derive(Clone, Copy, Debug, Default)]
struct ClassPlan {
    owner: Option<Gcra>,
    ip: Option<Gcra>,
}

impl ClassPlan {
    fn of(limits: &RouteLimits) -> Self {
        Self {
            owner: limits.per_owner.as_ref().map(Gcra::of),
            ip: limits.per_ip.as_ref().map(Gcra::of),
        }
    }

    fn get(&self, dim: Dimension) -> Option<Gcra> {
        match dim {
            Dimension::Owner => self.owner,
            Dimension::Ip => self.ip,
        }
    }

    fn any(&self) -> bool {
        self.owner.is_some() || self.ip.is_some()
    }
}

enum Store {
    Memory(memory::MemoryStore),
    Redis(redis::RedisStore),
    /// Redis is configured but its client could not be built: nothing is limited.
    Unavailable,
}

pub struct RateLimiter {
    global: [ClassPlan; 4],
    profiles: HashMap<String, [ClassPlan; 4]>,
    /// Per class: some limit exists (globally or in a profile).
    limited: [bool; 4],
    /// Per class: some profile sets its own limit, so the profile must be known.
    by_profile: [bool; 4],
    store: Store,
    metrics: Arc<Metrics>,
    epoch: Instant,
    /// µs since `epoch` until which Redis is not asked.
    open_until: AtomicU64,
    /// µs since `epoch` of the last warning (0: none yet).
    warned_at: AtomicU64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limited", &self.limited)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(settings: &Settings, metrics: Arc<Metrics>) -> Self {
        let plans = |class_limits: &dyn Fn(RouteClass) -> RouteLimits| {
            RouteClass::ALL.map(|c| ClassPlan::of(&class_limits(c)))
        };
        let global = plans(&|c| *settings.rate_limits.class(c));
        let profiles: HashMap<String, [ClassPlan; 4]> = settings
            .profiles
            .iter()
            .map(|(name, p)| (name.clone(), plans(&|c| *p.rate_limits.class(c))))
            .filter(|(_, plan)| plan.iter().any(ClassPlan::any))
            .collect();
        let by_profile = RouteClass::ALL.map(|c| profiles.values().any(|p| p[c.index()].any()));
        let limited = RouteClass::ALL.map(|c| global[c.index()].any() || by_profile[c.index()]);
        let store = match &settings.queue.redis_url {
            _ if !limited.iter().any(|l| *l) => Store::Memory(memory::MemoryStore::default()),
            Some(url) => match redis::RedisStore::new(url, &settings.queue.namespace) {
                Ok(store) => Store::Redis(store),
                Err(e) => {
                    tracing::warn!(error = %e, "rate limits are off: no Redis client");
                    Store::Unavailable
                }
            },
            None => Store::Memory(memory::MemoryStore::default()),
        };
        Self {
            global,
            profiles,
            limited,
            by_profile,
            store,
            metrics,
            epoch: Instant::now(),
            open_until: AtomicU64::new(0),
            warned_at: AtomicU64::new(0),
        }
    }

    /// Whether any limit applies to `class`.
    pub fn limits(&self, class: RouteClass) -> bool {
        self.limited[class.index()]
    }

    /// Whether the limits of `class` depend on the request's profile.
    pub fn needs_profile(&self, class: RouteClass) -> bool {
        self.by_profile[class.index()]
    }

    /// Decides a request of `class` by `owner` from `ip` in `profile` (when known) and
    /// charges it if it passes.
    pub async fn check(
        &self,
        class: RouteClass,
        profile: Option<&str>,
        owner: &str,
        ip: Option<IpAddr>,
    ) -> Verdict {
        let buckets = self.buckets(class, profile, owner, ip);
        if buckets.is_empty() {
            return Verdict::Allowed;
        }
        let keys: Vec<(String, Gcra)> = buckets.iter().map(|(k, g, _)| (k.clone(), *g)).collect();
        let decided = match &self.store {
            Store::Memory(store) => store
                .check(&keys)
                .map_err(|_| "too many active buckets in memory".to_owned()),
            Store::Redis(store) => {
                let now = self.now_us();
                if now < self.open_until.load(Ordering::Relaxed) {
                    Err("Redis failed less than a second ago".to_owned())
                } else {
                    let result = store.check(&keys).await;
                    if result.is_err() {
                        let until = now.saturating_add(micros(FAIL_OPEN_FOR));
                        self.open_until.store(until, Ordering::Relaxed);
                    }
                    result
                }
            }
            Store::Unavailable => Err("no Redis client".to_owned()),
        };
        match decided {
            Ok(Decision::Allow(_)) => Verdict::Allowed,
            Ok(Decision::Refuse { bucket, wait }) => {
                let dimension = buckets.get(bucket).map_or(Dimension::Owner, |b| b.2);
                self.metrics
                    .rate_limited
                    .with_label_values(&[class.as_str(), dimension.as_str()])
                    .inc();
                Verdict::Refused {
                    dimension,
                    retry_after: Duration::from_micros(wait),
                }
            }
            Err(reason) => {
                self.fail_open(class, &reason);
                Verdict::Allowed
            }
        }
    }

    /// The buckets of a request: key, limit and dimension.
    fn buckets(
        &self,
        class: RouteClass,
        profile: Option<&str>,
        owner: &str,
        ip: Option<IpAddr>,
    ) -> Vec<(String, Gcra, Dimension)> {
        let own = profile.and_then(|name| Some((name, self.profiles.get(name)?[class.index()])));
        let global = self.global[class.index()];
        let subjects = [
            (Dimension::Owner, Some(owner.to_owned())),
            (Dimension::Ip, ip.map(ip_subject)),
        ];
        subjects
            .into_iter()
            .filter_map(|(dim, subject)| {
                let subject = subject?;
                // `*` is no profile name, so the global buckets never meet a profile's.
                let (scope, limit) = match own.and_then(|(name, plan)| Some((name, plan.get(dim)?)))
                {
                    Some((name, limit)) => (name, limit),
                    None => ("*", global.get(dim)?),
                };
                let key = format!("{}:{}:{scope}:{subject}", class.as_str(), dim.as_str());
                Some((key, limit, dim))
            })
            .collect()
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn fail_open(&self, class: RouteClass, reason: &str) {
        self.metrics.rate_limit_unavailable.inc();
        let now = self.now_us();
        let last = self.warned_at.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= micros(WARN_EVERY))
            && self
                .warned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                route_class = class.as_str(),
                reason,
                "rate limiter unavailable: requests pass unlimited (fail open)"
            );
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The subject of an IP bucket: an IPv4 address, or the /64 of an IPv6 address (one
/// subscriber usually holds a whole /64, and could otherwise take a fresh bucket for
/// every request).
pub fn ip_subject(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let net = std::net::Ipv6Addr::from(cidr::mask128(u128::from(v6), 64));
            format!("{net}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(env: &[(&str, &str)]) -> Settings {
        let dir = std::env::temp_dir().join(format!("sluice-rl-{}", uuid::Uuid::new_v4()));
        let mut vars: Vec<(String, String)> =
            vec![("SLUICE__SERVER__DATA_DIR".into(), dir.display().to_string())];
        vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        crate::config::load_from(None, vars).expect("settings")
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a = ip_subject("2001:db8:1:2:aaaa::1".parse().expect("ip"));
        let b = ip_subject("2001:db8:1:2:bbbb::9".parse().expect("ip"));
        let c = ip_subject("2001:db8:1:3::1".parse().expect("ip"));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            ip_subject("::ffff:192.0.2.1".parse().expect("ip")),
            "192.0.2.1"
        );
    }

    fn limiter(env: &[(&str, &str)]) -> RateLimiter {
        RateLimiter::new(&settings(env), Arc::default())
    }

    #[tokio::test]
    async fn nothing_is_limited_unless_configured() {
        let rl = limiter(&[]);
        for class in RouteClass::ALL {
            assert!(!rl.limits(class));
            for _ in 0..100 {
                let verdict = rl.check(class, Some("default"), "alice", None).await;
                assert_eq!(verdict, Verdict::Allowed);
            }
        }
    }

    #[tokio::test]
    async fn owners_and_ips_have_their_own_buckets() {
        let rl = limiter(&[
            ("SLUICE__RATE_LIMITS__CREATE__PER_OWNER__RATE", "2/1s"),
            ("SLUICE__RATE_LIMITS__CREATE__PER_IP__RATE", "3/1m"),
        ]);
        assert!(rl.limits(RouteClass::Create));
        assert!(!rl.limits(RouteClass::Download));
        assert!(!rl.needs_profile(RouteClass::Create));
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let create = |owner: &'static str| rl.check(RouteClass::Create, None, owner, Some(ip));
        assert_eq!(create("alice").await, Verdict::Allowed);
        assert_eq!(create("alice").await, Verdict::Allowed);
        let Verdict::Refused {
            dimension,
            retry_after,
        } = create("alice").await
        else {
            panic!("third create passed")
        };
        assert_eq!(dimension, Dimension::Owner);
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_millis(500));
        // Another owner from the same address spends the address's last request.
        assert_eq!(create("bob").await, Verdict::Allowed);
        assert!(matches!(
            create("carol").await,
            Verdict::Refused {
                dimension: Dimension::Ip,
                ..
            }
        ));
        // Without an address only the owner is counted.
        assert_eq!(
            rl.check(RouteClass::Create, None, "carol", None).await,
            Verdict::Allowed
        );
        assert_eq!(
            rl.metrics
                .rate_limited
                .with_label_values(&["create", "owner"])
                .get(),
            1
        );
        assert_eq!(
            rl.metrics
                .rate_limited
                .with_label_values(&["create", "ip"])
                .get(),
            1
        );
    }

    #[tokio::test]
    async fn a_profile_limit_replaces_the_global_one_in_its_own_bucket() {
        let rl = limiter(&[
            ("SLUICE__RATE_LIMITS__DOWNLOAD__PER_OWNER__RATE", "2/1m"),
            (
                "SLUICE__PROFILES__AVATAR__RATE_LIMITS__DOWNLOAD__PER_OWNER__RATE",
                "1/1m",
            ),
            (
                "SLUICE__PROFILES__AVATAR__RATE_LIMITS__DOWNLOAD__PER_OWNER__BURST",
                "1",
            ),
        ]);
        assert!(rl.needs_profile(RouteClass::Download));
        let get = |profile| rl.check(RouteClass::Download, Some(profile), "alice", None);
        assert_eq!(get("avatar").await, Verdict::Allowed);
        assert!(matches!(get("avatar").await, Verdict::Refused { .. }));
        // The default profile (and an unknown one) use the global limit, untouched so far.
        assert_eq!(get("default").await, Verdict::Allowed);
        assert_eq!(get("removed-since").await, Verdict::Allowed);
        assert!(matches!(get("default").await, Verdict::Refused { .. }));
        let keys = rl.buckets(RouteClass::Download, Some("avatar"), "alice", None);
        assert_eq!(keys[0].0, "download:owner:avatar:alice");
        let keys = rl.buckets(RouteClass::Download, None, "alice", None);
        assert_eq!(keys[0].0, "download:owner:*:alice");
    }

    #[test]
    fn bad_limits_are_reported_together() {
        let dir = std::env::temp_dir();
        let err = crate::config::load_from(
            None,
            [
                ("SLUICE__SERVER__DATA_DIR", dir.to_str().unwrap_or(".")),
                ("SLUICE__RATE_LIMITS__CREATE__PER_OWNER__RATE", "0/1s"),
                ("SLUICE__RATE_LIMITS__SIGN_PART__PER_IP__RATE", "10/1s"),
                ("SLUICE__RATE_LIMITS__SIGN_PART__PER_IP__BURST", "0"),
                (
                    "SLUICE__RATE_LIMITS__TRUSTED_PROXIES",
                    "[\"10.0.0.0/8\", \"10.0.0.0/40\", \"proxy\"]",
                ),
                (
                    "SLUICE__PROFILES__AVATAR__RATE_LIMITS__COMPLETE__PER_OWNER__RATE",
                    "5/8d",
                ),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .expect_err("invalid");
        let all = err.to_string();
        for needle in [
            "rate_limits.create.per_owner.rate: the count must be 1 to",
            "rate_limits.sign_part.per_ip.burst: must be 1 to",
            "rate_limits.trusted_proxies: `10.0.0.0/40`",
            "rate_limits.trusted_proxies: `proxy`",
            "profiles.avatar.rate_limits.complete.per_owner.rate: the period",
        ] {
            assert!(all.contains(needle), "missing {needle} in:\n{all}");
        }
        assert!(!all.contains("`10.0.0.0/8`"), "{all}");
    }

    #[test]
    fn unreadable_rates_and_unknown_keys_name_their_setting() {
        let err = crate::config::load_from(
            None,
            [("SLUICE__RATE_LIMITS__CREATE__PER_OWNER__RATE", "lots")]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .expect_err("bad rate");
        assert!(
            err.to_string()
                .contains("rate_limits.create.per_owner.rate: `lots` is not a rate"),
            "{err}"
        );
        let err = crate::config::load_from(
            None,
            [("SLUICE__RATE_LIMITS__CREATE__PER_USER__RATE", "1/s")]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .expect_err("typo");
        assert!(err.to_string().contains("per_user"), "{err}");
    }
}
