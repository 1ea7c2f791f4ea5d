//! Web origins (RFC 6454): `scheme://host[:port]`, and the set a cookie-authenticated
//! browser request must come from (`server.public_origins`, or derived from the address
//! Sluice listens on).
//!
//! Invariants: an origin compares exactly, after the normalisation browsers apply
//! themselves (scheme and host lowercased, the scheme's default port dropped); anything
//! else in the text (a path, a query, credentials, `null`) makes it no origin at all. The
//! trusted set never comes from a request (its `Host`, `X-Forwarded-Host`, `Forwarded`),
//! which a client chooses.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One web origin, normalised.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    /// Parses the serialisation of an origin (as a browser sends it in `Origin`).
    pub fn parse(text: &str) -> Option<Origin> {
        let (scheme, authority) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        if authority.is_empty()
            || authority
                .bytes()
                .any(|b| matches!(b, b'/' | b'?' | b'#' | b'@' | b'\\') || !b.is_ascii_graphic())
        {
            return None;
        }
        let (host, port) = split_host_port(authority)?;
        let host = host.to_ascii_lowercase();
        let valid_host = if let Some(v6) = host.strip_prefix('[') {
            v6.strip_suffix(']')
                .is_some_and(|a| a.parse::<Ipv6Addr>().is_ok())
        } else {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        };
        if !valid_host {
            return None;
        }
        Some(match port {
            Some(p) if p != default_port => Origin(format!("{scheme}://{host}:{p}")),
            _ => Origin(format!("{scheme}://{host}")),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `host[:port]`, the host possibly a bracketed IPv6 address; a port is 1 to 5 digits.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// The origins whose pages may use the session cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedOrigins(Vec<Origin>);

impl TrustedOrigins {
    /// The configured origins, or, when none are, those of the address Sluice listens
    /// on: for a loopback or unspecified address its loopback names (`127.0.0.1`,
    /// `localhost`, `[::1]`), else that address; always `http` (TLS is a proxy's, and a
    /// proxy's origin must be configured).
    pub fn new(configured: &[String], listening: SocketAddr) -> TrustedOrigins {
        let configured: Vec<Origin> = configured.iter().filter_map(|o| Origin::parse(o)).collect();
        if !configured.is_empty() {
            return TrustedOrigins(configured);
        }
        let port = listening.port();
        let ip = listening.ip();
        let hosts: Vec<String> = if ip.is_loopback() || ip.is_unspecified() {
            vec![
                Ipv4Addr::LOCALHOST.to_string(),
                "localhost".into(),
                format!("[{}]", Ipv6Addr::LOCALHOST),
            ]
        } else {
            match ip {
                IpAddr::V4(v4) => vec![v4.to_string()],
                IpAddr::V6(v6) => vec![format!("[{v6}]")],
            }
        };
        TrustedOrigins(
            hosts
                .iter()
                .filter_map(|h| Origin::parse(&format!("http://{h}:{port}")))
                .collect(),
        )
    }

    /// Whether `header` (an `Origin` header's value) names a trusted origin.
    pub fn admits(&self, header: &str) -> bool {
        Origin::parse(header).is_some_and(|o| self.0.contains(&o))
    }

    pub fn list(&self) -> &[Origin] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_normalise_as_browsers_serialise_them() {
        let o = |s: &str| Origin::parse(s).map(|o| o.0);
        assert_eq!(
            o("http://127.0.0.1:8787").as_deref(),
            Some("http://127.0.0.1:8787")
        );
        assert_eq!(
            o("HTTPS://Uploads.Example:443").as_deref(),
            Some("https://uploads.example")
        );
        assert_eq!(o("http://example:80").as_deref(), Some("http://example"));
        assert_eq!(o("http://[::1]:8787").as_deref(), Some("http://[::1]:8787"));
        for bad in [
            "null",
            "",
            "http://",
            "example.com",
            "ftp://example.com",
            "http://example.com/",
            "http://example.com/path",
            "http://user@example.com",
            "http://example.com:",
            "http://example.com:99999",
            "http://example.com:8080:1",
            "http://exa mple.com",
            "http://[::1",
            "http://[nothost]:80",
            "http://example.com?x",
        ] {
            assert_eq!(o(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_trusted_set_is_configured_or_derived_from_the_listener() {
        let loopback: SocketAddr = "127.0.0.1:8787".parse().expect("addr");
        let derived = TrustedOrigins::new(&[], loopback);
        for ok in [
            "http://127.0.0.1:8787",
            "http://localhost:8787",
            "http://[::1]:8787",
        ] {
            assert!(derived.admits(ok), "{ok}");
        }
        for no in [
            "http://127.0.0.1:8788",
            "https://127.0.0.1:8787",
            "http://evil.example:8787",
            "http://127.0.0.1:8787/",
        ] {
            assert!(!derived.admits(no), "{no}");
        }
        let wildcard: SocketAddr = "0.0.0.0:80".parse().expect("addr");
        assert!(TrustedOrigins::new(&[], wildcard).admits("http://localhost"));
        let public: SocketAddr = "10.1.2.3:8787".parse().expect("addr");
        let only = TrustedOrigins::new(&[], public);
        assert!(only.admits("http://10.1.2.3:8787"));
        assert!(!only.admits("http://localhost:8787"));
        let configured = TrustedOrigins::new(&["https://uploads.example".into()], loopback);
        assert!(configured.admits("https://uploads.example"));
        assert!(configured.admits("https://uploads.example:443"));
        assert!(!configured.admits("http://uploads.example"));
        assert!(
            !configured.admits("http://127.0.0.1:8787"),
            "configured replaces derived"
        );
    }
}
