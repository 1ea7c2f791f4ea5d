//! Rate limits: for each route class (`create`, `sign_part`, `complete`, `download`) a
//! limit per owner and a limit per client IP, each `{ rate = "60/1m", burst = 20 }`,
//! globally (`[rate_limits]`) and per profile (`[profiles.NAME.rate_limits]`, which
//! replaces the global limit of the same class and dimension for that profile's requests).
//!
//! Invariant: absent means unlimited, so nothing is limited unless configured. Syntax is
//! checked while reading (`rate`), ranges and proxy CIDRs by `problems`, which reports
//! every bad setting at once.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::units::{Dur, lenient, lenient_opt};
use super::{ProfileSettings, Settings};

/// The routes that share one set of limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteClass {
    /// `POST /v1/uploads`, `POST /s3/multipart`, `GET /s3/params`.
    Create,
    /// `POST /v1/uploads/{id}/parts`, `GET /s3/multipart/{id}/{n}`.
    SignPart,
    /// `POST /v1/uploads/{id}/complete`, `POST /s3/multipart/{id}/complete`,
    /// `POST /s3/params/complete`.
    Complete,
    /// `POST /v1/files/{id}/download-url`, `GET /v1/files/{id}/download`.
    Download,
}

impl RouteClass {
    pub const ALL: [RouteClass; 4] = [
        RouteClass::Create,
        RouteClass::SignPart,
        RouteClass::Complete,
        RouteClass::Download,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Create => "create",
            RouteClass::SignPart => "sign_part",
            RouteClass::Complete => "complete",
            RouteClass::Download => "download",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// `N/PERIOD`: N requests per period, e.g. `60/1m`, `2/1s`, `10/s`, `1000/1h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u64,
    pub per: Duration,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a rate such as 60/1m, 2/1s or 10/s");
        let (count, per) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        let per = per.trim();
        // A bare unit means one of it: `10/s` is `10/1s`.
        let per = if per.starts_with(|c: char| c.is_ascii_digit()) {
            per.parse::<Dur>().map_err(|_| bad())?
        } else if !per.is_empty() && per.chars().all(|c| c.is_ascii_alphabetic()) {
            format!("1{per}").parse::<Dur>().map_err(|_| bad())?
        } else {
            return Err(bad());
        };
        Ok(Rate {
            count,
            per: per.get(),
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}ms", self.count, self.per.as_millis())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient(d)
    }
}

/// One limit: a sustained `rate`, and a `burst` of requests allowed at once (default: the
/// rate's count).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub rate: Rate,
    #[serde(default, deserialize_with = "lenient_opt")]
    pub burst: Option<u64>,
}

impl Limit {
    pub fn burst(&self) -> u64 {
        self.burst.unwrap_or(self.rate.count)
    }
}

/// The limits of one route class; absent means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteLimits {
    /// Per owner (the authenticated principal's owner).
    pub per_owner: Option<Limit>,
    /// Per client IP (IPv6 clients by their /64).
    pub per_ip: Option<Limit>,
}

/// Which header names the client behind a trusted proxy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientIpHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// `[rate_limits]`: the global limits and how the client IP is found.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    pub create: RouteLimits,
    pub sign_part: RouteLimits,
    pub complete: RouteLimits,
    pub download: RouteLimits,
    /// Peers (CIDRs such as `10.0.0.0/8`, or single addresses) whose `client_ip_header`
    /// is believed. The client IP is the right-most address of that header that is not a
    /// trusted proxy; any other peer's header is ignored. Default none: the TCP peer.
    pub trusted_proxies: Vec<String>,
    /// `x-forwarded-for` (default) or `forwarded`: the header the trusted proxies append
    /// to. Only that one is read, so a client cannot smuggle an address in the other.
    pub client_ip_header: ClientIpHeader,
}

/// `[profiles.NAME.rate_limits]`: limits that replace the global ones for this profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileRateLimits {
    pub create: RouteLimits,
    pub sign_part: RouteLimits,
    pub complete: RouteLimits,
    pub download: RouteLimits,
}

impl RateLimitSettings {
    pub fn class(&self, class: RouteClass) -> &RouteLimits {
        match class {
            RouteClass::Create => &self.create,
            RouteClass::SignPart => &self.sign_part,
            RouteClass::Complete => &self.complete,
            RouteClass::Download => &self.download,
        }
    }
}

impl ProfileRateLimits {
    pub fn class(&self, class: RouteClass) -> &RouteLimits {
        match class {
            RouteClass::Create => &self.create,
            RouteClass::SignPart => &self.sign_part,
            RouteClass::Complete => &self.complete,
            RouteClass::Download => &self.download,
        }
    }
}

/// At most this many requests in a rate or a burst.
const MAX_COUNT: u64 = 1_000_000;
/// The longest period of a rate.
const MAX_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);

pub(super) fn problems(s: &Settings, out: &mut Vec<String>) {
    let rl = &s.rate_limits;
    for class in RouteClass::ALL {
        route(
            &format!("rate_limits.{}", class.as_str()),
            rl.class(class),
            out,
        );
    }
    for proxy in &rl.trusted_proxies {
        if proxy.parse::<crate::ratelimit::Cidr>().is_err() {
            out.push(format!(
                "rate_limits.trusted_proxies: `{proxy}` is not an address or CIDR such as \
                 10.0.0.0/8 or fd00::/8"
            ));
        }
    }
}

pub(super) fn profile_problems(name: &str, p: &ProfileSettings, out: &mut Vec<String>) {
    for class in RouteClass::ALL {
        let at = format!("profiles.{name}.rate_limits.{}", class.as_str());
        route(&at, p.rate_limits.class(class), out);
    }
}

fn route(at: &str, limits: &RouteLimits, out: &mut Vec<String>) {
    for (dim, limit) in [("per_owner", &limits.per_owner), ("per_ip", &limits.per_ip)] {
        let Some(limit) = limit else { continue };
        let at = format!("{at}.{dim}");
        let rate = limit.rate;
        if !(1..=MAX_COUNT).contains(&rate.count) {
            out.push(format!("{at}.rate: the count must be 1 to {MAX_COUNT}"));
        }
        if rate.per < Duration::from_millis(1) || rate.per > MAX_PERIOD {
            out.push(format!("{at}.rate: the period must be between 1ms and 7d"));
        } else if rate.count > 0 && rate.per.as_micros() < u128::from(rate.count) {
            out.push(format!("{at}.rate: at most one request per microsecond"));
        }
        if !(1..=MAX_COUNT).contains(&limit.burst()) {
            out.push(format!("{at}.burst: must be 1 to {MAX_COUNT}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_counts_and_periods() {
        let r = |s: &str| s.parse::<Rate>();
        assert_eq!(
            r("60/1m"),
            Ok(Rate {
                count: 60,
                per: Duration::from_secs(60)
            })
        );
        assert_eq!(
            r(" 10 / s "),
            Ok(Rate {
                count: 10,
                per: Duration::from_secs(1)
            })
        );
        assert_eq!(r("2/1s").map(|r| r.per), Ok(Duration::from_secs(1)));
        assert_eq!(r("5/250ms").map(|r| r.per), Ok(Duration::from_millis(250)));
        assert_eq!(r("100/h").map(|r| r.per), Ok(Duration::from_secs(3600)));
        for bad in [
            "",
            "60",
            "/1m",
            "x/1m",
            "60/",
            "60/1parsec",
            "-1/1s",
            "1/1s/2",
        ] {
            assert!(r(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn the_readme_example_loads() {
        let dir = std::env::temp_dir().join(format!("sluice-rl-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("sluice.toml");
        let text = r#"
[server]
data_dir = "DIR"

[rate_limits]
create    = { per_owner = { rate = "60/1m", burst = 20 }, per_ip = { rate = "600/1m" } }
sign_part = { per_owner = { rate = "100/1s" } }
complete  = { per_owner = { rate = "60/1m" } }
download  = { per_owner = { rate = "300/1m" }, per_ip = { rate = "300/1m" } }
trusted_proxies = ["10.0.0.0/8"]
client_ip_header = "x-forwarded-for"

[profiles.avatar.rate_limits]
create = { per_owner = { rate = "10/1h", burst = 3 } }
"#
        .replace("DIR", dir.to_str().expect("utf8"));
        std::fs::write(&file, text).expect("write");
        let s = super::super::load_from(Some(&file), Vec::new()).expect("loads");
        let create = s.rate_limits.create.per_owner.expect("create limit");
        assert_eq!(create.burst(), 20);
        assert_eq!(create.rate.per, Duration::from_secs(60));
        assert_eq!(s.rate_limits.trusted_proxies, ["10.0.0.0/8"]);
        let avatar = s.profile("avatar").expect("avatar").rate_limits;
        assert_eq!(avatar.create.per_owner.map(|l| l.burst()), Some(3));
        assert!(avatar.download.per_owner.is_none());
    }

    #[test]
    fn burst_defaults_to_the_count() {
        let limit = Limit {
            rate: "60/1m".parse().expect("rate"),
            burst: None,
        };
        assert_eq!(limit.burst(), 60);
    }
}
