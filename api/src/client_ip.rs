//! The client's IP address, for the per-IP rate limits: the TCP peer, unless the peer is
//! a trusted proxy (`rate_limits.trusted_proxies`); then the right-most address of the
//! configured header (`X-Forwarded-For` or `Forwarded`) that is not a trusted proxy.
//!
//! Invariants: an untrusted peer's headers are never read, so a client cannot name its own
//! address; the walk goes from the right (what our own proxies appended) and stops at the
//! first address no trusted proxy stands for; an entry that is not an address (garbage,
//! `unknown`, an obfuscated `_node`) ends the walk at the last trusted hop, so garbage
//! never escapes a bucket; nothing here panics, whatever the bytes.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
use sluice_core::config::{ClientIpHeader, RateLimitSettings};
use sluice_core::ratelimit::Cidr;

/// How to find the client behind the proxies.
#[derive(Clone, Debug, Default)]
pub struct ClientIpPolicy {
    trusted: Vec<Cidr>,
    header: ClientIpHeader,
}

impl ClientIpPolicy {
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            // Validation refused bad entries already.
            trusted: settings
                .trusted_proxies
                .iter()
                .filter_map(|p| p.parse().ok())
                .collect(),
            header: settings.client_ip_header,
        }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(ip))
    }

    /// The client of `req` (none only if the peer address is unknown).
    pub fn of(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        Some(self.resolve(peer, req.headers()))
    }

    /// The client, given the TCP peer and the request's headers.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let name = match self.header {
            ClientIpHeader::XForwardedFor => "x-forwarded-for",
            ClientIpHeader::Forwarded => "forwarded",
        };
        // Several header lines are one list, in order: walk the last line first.
        let lines: Vec<&[u8]> = headers.get_all(name).map(|v| v.as_bytes()).collect();
        let mut client = peer;
        for line in lines.iter().rev() {
            let Ok(text) = std::str::from_utf8(line) else {
                return client;
            };
            for entry in split_list(text).into_iter().rev() {
                let hop = match self.header {
                    ClientIpHeader::XForwardedFor => parse_address(entry),
                    ClientIpHeader::Forwarded => forwarded_for(entry),
                };
                let Some(hop) = hop else {
                    return client;
                };
                client = hop;
                if !self.trusts(hop) {
                    return hop;
                }
            }
        }
        // Every hop is a trusted proxy: the left-most is as close to the client as we see.
        client
    }
}

/// The comma-separated elements of a header, commas inside quoted strings kept.
fn split_list(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = entry.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=http;by=…`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then_some(value.trim())
    })?;
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    parse_address(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn policy(trusted: &[&str], header: ClientIpHeader) -> ClientIpPolicy {
        ClientIpPolicy::new(&RateLimitSettings {
            trusted_proxies: trusted.iter().map(|s| s.to_string()).collect(),
            client_ip_header: header,
            ..Default::default()
        })
    }

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_bytes(value).expect("value"),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    const XFF: ClientIpHeader = ClientIpHeader::XForwardedFor;

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let p = policy(&["10.0.0.0/8"], XFF);
        let h = headers(&[
            ("x-forwarded-for", b"203.0.113.7"),
            ("forwarded", b"for=1.2.3.4"),
        ]);
        assert_eq!(p.resolve(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        // With no trusted proxies at all, nobody's header counts.
        let none = policy(&[], XFF);
        assert_eq!(none.resolve(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        let p = policy(&["10.0.0.0/8", "127.0.0.1/32"], XFF);
        // The client forged the left-most entry; our proxies appended the rest.
        let h = headers(&[("x-forwarded-for", b"6.6.6.6, 203.0.113.7, 10.0.0.2")]);
        assert_eq!(p.resolve(ip("10.0.0.1"), &h), ip("203.0.113.7"));
        // Several header lines are one list.
        let h = headers(&[
            ("x-forwarded-for", b"6.6.6.6"),
            ("x-forwarded-for", b"203.0.113.8 , 10.1.1.1"),
        ]);
        assert_eq!(p.resolve(ip("127.0.0.1"), &h), ip("203.0.113.8"));
        // Every hop trusted: the left-most.
        let h = headers(&[("x-forwarded-for", b"10.9.9.9, 10.0.0.2")]);
        assert_eq!(p.resolve(ip("10.0.0.1"), &h), ip("10.9.9.9"));
        // A trusted peer without the header is the client.
        assert_eq!(p.resolve(ip("10.0.0.1"), &HeaderMap::new()), ip("10.0.0.1"));
    }

    #[test]
    fn ipv6_ports_and_mapped_addresses() {
        let p = policy(&["fd00::/8", "10.0.0.0/8"], XFF);
        let h = headers(&[("x-forwarded-for", b"[2001:db8::7]:4711, fd00::2")]);
        assert_eq!(p.resolve(ip("fd00::1"), &h), ip("2001:db8::7"));
        let h = headers(&[("x-forwarded-for", b"2001:db8::8")]);
        assert_eq!(p.resolve(ip("::ffff:10.0.0.1"), &h), ip("2001:db8::8"));
        let h = headers(&[("x-forwarded-for", b"198.51.100.4:80, ::ffff:10.0.0.3")]);
        assert_eq!(p.resolve(ip("10.0.0.1"), &h), ip("198.51.100.4"));
        let h = headers(&[("x-forwarded-for", b"::ffff:198.51.100.5")]);
        assert_eq!(p.resolve(ip("10.0.0.1"), &h), ip("198.51.100.5"));
    }

    #[test]
    fn forwarded_is_read_when_configured_and_only_then() {
        let p = policy(&["10.0.0.0/8"], ClientIpHeader::Forwarded);
        let h = headers(&[
            ("x-forwarded-for", b"6.6.6.6"),
            (
                "forwarded",
                b"for=6.6.6.7, For=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.5;by=10.0.0.1",
            ),
        ]);
        assert_eq!(p.resolve(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", b"proto=http;for=192.0.2.60")]);
        assert_eq!(p.resolve(ip("10.0.0.1"), &h), ip("192.0.2.60"));
        let xff = policy(&["10.0.0.0/8"], XFF);
        let h = headers(&[("forwarded", b"for=192.0.2.60")]);
        assert_eq!(xff.resolve(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_hop_and_never_panics() {
        let p = policy(&["10.0.0.0/8"], XFF);
        let h = headers(&[("x-forwarded-for", b"203.0.113.7, unknown, 10.0.0.2")]);
        assert_eq!(p.resolve(ip("10.0.0.1"), &h), ip("10.0.0.2"));
        let fwd = policy(&["10.0.0.0/8"], ClientIpHeader::Forwarded);
        for value in [
            &b""[..],
            b",,,",
            b"\xff\xfe",
            b"[",
            b"[]:",
            b"[::1",
            b"::1]",
            b"1.2.3.4:99999",
            b"for=",
            b"for=\"",
            b"for=\"[::1]:80",
            b"for=_hidden",
            b"\"\\\"",
            b"for=\"a,b\", for=1.2.3.4",
            b"999.1.1.1",
            b"1.2.3.4.5",
            b"\t 1.2.3.4 \t",
        ] {
            for policy in [&p, &fwd] {
                for name in ["x-forwarded-for", "forwarded"] {
                    let h = headers(&[(name, value)]);
                    let got = policy.resolve(ip("10.0.0.1"), &h);
                    // Whatever it is, it is the peer or an address the header really held.
                    assert!(
                        got == ip("10.0.0.1") || got == ip("1.2.3.4"),
                        "{value:?} → {got}"
                    );
                }
            }
        }
        let long = "1.1.1.1, ".repeat(2_000);
        let h = headers(&[("x-forwarded-for", long.as_bytes())]);
        assert_eq!(p.resolve(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }
}
