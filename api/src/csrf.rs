//! The CSRF rule of cookie-authenticated requests (the `/s3/*` routes with the
//! `sluice_session` cookie). A browser attaches the cookie to whatever request a page
//! makes, so such a request must prove it comes from a page Sluice trusts.
//!
//! What is trusted: `Origin` and `Sec-Fetch-Site`, which a browser sets itself and no
//! page's script can set (forbidden request headers); a non-browser client can write
//! them, but it then holds the token already and gains nothing. What is not: anything
//! a request or a proxy chooses about where it went (`Host`, `X-Forwarded-Host`,
//! `Forwarded`): the trusted origins come from settings or the listening address only
//! (`TrustedOrigins`), and compare exactly (scheme, host, port).
//!
//! Invariants: `Sec-Fetch-Site` other than `same-origin`/`same-site` is refused; an
//! `Origin` must be a trusted one; without `Origin` (browsers omit it on a same-origin
//! GET, which is how Uppy 6 calls `GET /s3/params`) the request needs `Sec-Fetch-Site:
//! same-origin`, except on a route that only reads (`Effect::Reads`), which an older
//! browser sending neither may call. Safety is the route's, never the method's: a GET
//! that creates a session (`GET /s3/params`) `Changes`.

use sluice_core::auth::TrustedOrigins;

/// What a route does, for the CSRF rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Reads only (signs a part URL, lists parts): its answer is unreadable to another
    /// site, and it changes nothing.
    Reads,
    /// Creates or changes a session.
    Changes,
}

/// Whether a cookie-authenticated request with these headers may proceed.
pub fn allows(
    origin: Option<&[u8]>,
    fetch_site: Option<&[u8]>,
    effect: Effect,
    trusted: &TrustedOrigins,
) -> bool {
    match (origin, fetch_site) {
        (_, Some(site)) if site != b"same-origin" && site != b"same-site" => false,
        (Some(origin), _) => std::str::from_utf8(origin).is_ok_and(|o| trusted.admits(o)),
        (None, Some(site)) => site == b"same-origin",
        (None, None) => effect == Effect::Reads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> TrustedOrigins {
        TrustedOrigins::new(&[], "127.0.0.1:8787".parse().expect("addr"))
    }

    #[test]
    fn what_browsers_send_from_the_page_passes() {
        let t = trusted();
        let page = Some(b"http://127.0.0.1:8787".as_slice());
        for effect in [Effect::Reads, Effect::Changes] {
            // A POST (Origin always) with and without Fetch Metadata.
            assert!(allows(page, Some(b"same-origin"), effect, &t));
            assert!(allows(page, None, effect, &t));
            // A same-origin GET fetch: no Origin.
            assert!(allows(None, Some(b"same-origin"), effect, &t));
        }
        // A configured sibling origin of the same site.
        assert!(allows(page, Some(b"same-site"), Effect::Changes, &t));
    }

    #[test]
    fn anything_else_is_refused() {
        let t = trusted();
        let evil = Some(b"http://evil.example".as_slice());
        let page = Some(b"http://127.0.0.1:8787".as_slice());
        for effect in [Effect::Reads, Effect::Changes] {
            assert!(!allows(evil, Some(b"cross-site"), effect, &t));
            assert!(!allows(evil, None, effect, &t));
            assert!(!allows(evil, Some(b"same-origin"), effect, &t));
            assert!(!allows(page, Some(b"cross-site"), effect, &t));
            assert!(!allows(page, Some(b"none"), effect, &t));
            assert!(!allows(Some(b"null"), None, effect, &t));
            assert!(!allows(Some(b"http://127.0.0.1:8787/"), None, effect, &t));
            assert!(!allows(Some(&[0xff, 0xfe]), None, effect, &t));
            assert!(!allows(None, Some(b"cross-site"), effect, &t));
            assert!(!allows(None, Some(b"same-site"), effect, &t));
            assert!(!allows(None, Some(b"Same-Origin"), effect, &t));
        }
        // No proof at all: only a route that reads.
        assert!(allows(None, None, Effect::Reads, &t));
        assert!(!allows(None, None, Effect::Changes, &t));
    }
}
