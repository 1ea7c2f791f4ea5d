//! `Presigner`: AWS Signature Version 4 query presigning, written for the hot path. The
//! daily signing key is derived once per day and kept; the URL is assembled in one buffer
//! sized up front, without parsing anything; the time is the caller's (the core's clock).
//!
//! Invariant: for the same inputs and instant the URL is the one rust-s3 builds (its
//! parameters in the same order, the custom ones sorted) and carries the same signature;
//! tests check both against rust-s3 and against the AWS test vectors for query signing.

use std::fmt::Write as _;
use std::sync::RwLock;

use chrono::{DateTime, Datelike, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// What AWS's URI encoding leaves alone: unreserved characters (and `/` in paths).
const ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'!')
    .add(b'"')
    .add(b'#')
    .add(b'$')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'+')
    .add(b',')
    .add(b':')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');
const ENCODE_SLASH: &AsciiSet = &ENCODE.add(b'/');

/// Where and as whom URLs are signed.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `http://host:port` (no trailing slash).
    pub base: String,
    /// The `Host` header the store will see: the authority of `base`, with the bucket in
    /// front for virtual-host style.
    pub host: String,
    /// `/bucket` for path style, empty for virtual-host style.
    pub bucket_path: String,
    pub bucket: String,
    pub region: String,
}

/// What a browser form POST may upload: exactly this key and type, a size in a range.
#[derive(Clone, Copy, Debug)]
pub struct PostConditions<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub min_size: u64,
    pub max_size: u64,
    pub expires_secs: u32,
}

/// A presigned POST: the form's action URL and its fields, in order (the file goes last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedPost {
    pub url: String,
    pub fields: Vec<(String, String)>,
}

/// A presigned request's parts that vary per URL.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The object key, unencoded.
    pub key: &'a str,
    /// Headers the client must send, by lower-case name, sorted by name, `host` excluded.
    pub headers: &'a [(&'a str, &'a str)],
    /// Extra query parameters, unencoded, sorted by name.
    pub query: &'a [(&'a str, &'a str)],
    pub expires_secs: u32,
}

/// Signs URLs for one endpoint and one key pair.
pub struct Presigner {
    endpoint: Endpoint,
    access_key: String,
    secret: SecretString,
    /// The signing key of the day (days since the common era) it was derived for.
    daily: RwLock<(i32, [u8; 32])>,
}

impl std::fmt::Debug for Presigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presigner")
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl Presigner {
    pub fn new(endpoint: Endpoint, access_key: &str, secret: SecretString) -> Self {
        Self {
            endpoint,
            access_key: access_key.to_owned(),
            secret,
            daily: RwLock::new((i32::MIN, [0; 32])),
        }
    }

    /// The signing key of `now`'s day, derived at most once a day.
    fn signing_key(&self, now: DateTime<Utc>, short_date: &str) -> [u8; 32] {
        let day = now.num_days_from_ce();
        if let Ok(cached) = self.daily.read()
            && cached.0 == day
        {
            return cached.1;
        }
        let key = derive_key(
            self.secret.expose_secret(),
            short_date,
            &self.endpoint.region,
        );
        if let Ok(mut cached) = self.daily.write() {
            *cached = (day, key);
        }
        key
    }

    /// The presigned URL of `req` at `now`.
    ///
    /// One buffer: the URL is written once, and the canonical request is never built as
    /// a string but fed to SHA-256 piece by piece, reusing the URL's query (which is
    /// already in canonical order, see `canonical_order`).
    pub fn presign(&self, req: &Request<'_>, now: DateTime<Utc>) -> String {
        let stamp = Stamp::of(now);
        let long_date = stamp.long();
        let short_date = &long_date[..8];
        let ep = &self.endpoint;

        let mut url = String::with_capacity(
            ep.base.len() + ep.bucket_path.len() + req.key.len() * 3 + 320 + req.query.len() * 96,
        );
        url.push_str(&ep.base);
        let path_start = url.len();
        url.push_str(&ep.bucket_path);
        url.push('/');
        url.extend(utf8_percent_encode(req.key.trim_start_matches('/'), ENCODE));
        let path_end = url.len();

        // Signed header names, sorted, `host` among them; the caller sorts its own.
        let host_at = req.headers.partition_point(|(name, _)| *name < "host");
        url.push('?');
        let query_start = url.len();
        let _ = write!(
            url,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}%2F{short_date}%2F{}%2Fs3%2Faws4_request&X-Amz-Date={long_date}&X-Amz-Expires={}&X-Amz-SignedHeaders=",
            utf8_percent_encode(&self.access_key, ENCODE_SLASH),
            utf8_percent_encode(&ep.region, ENCODE_SLASH),
            req.expires_secs,
        );
        for (i, name) in signed_names(req.headers, host_at).enumerate() {
            if i > 0 {
                url.push_str("%3B");
            }
            url.push_str(name);
        }
        for (name, value) in req.query {
            url.push('&');
            url.extend(utf8_percent_encode(name, ENCODE_SLASH));
            url.push('=');
            url.extend(utf8_percent_encode(value, ENCODE_SLASH));
        }
        let query_end = url.len();

        let mut canonical = Sha256::new();
        canonical.update(req.method.as_bytes());
        canonical.update(b"\n");
        canonical.update(&url.as_bytes()[path_start..path_end]);
        canonical.update(b"\n");
        let query = &url[query_start..query_end];
        if canonical_order(req.query) {
            canonical.update(query.as_bytes());
        } else {
            let mut pairs: Vec<&str> = query.split('&').collect();
            pairs.sort_unstable_by(|a, b| split_pair(a).cmp(&split_pair(b)));
            for (i, pair) in pairs.iter().enumerate() {
                if i > 0 {
                    canonical.update(b"&");
                }
                canonical.update(pair.as_bytes());
            }
        }
        canonical.update(b"\n");
        for (name, value) in with_host(req.headers, host_at, &ep.host) {
            canonical.update(name.as_bytes());
            canonical.update(b":");
            canonical.update(value.trim().as_bytes());
            canonical.update(b"\n");
        }
        canonical.update(b"\n");
        for (i, name) in signed_names(req.headers, host_at).enumerate() {
            if i > 0 {
                canonical.update(b";");
            }
            canonical.update(name.as_bytes());
        }
        canonical.update(b"\nUNSIGNED-PAYLOAD");

        let key = self.signing_key(now, short_date);
        let mut mac = HmacSha256::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(b"AWS4-HMAC-SHA256\n");
        mac.update(long_date.as_bytes());
        mac.update(b"\n");
        mac.update(short_date.as_bytes());
        mac.update(b"/");
        mac.update(ep.region.as_bytes());
        mac.update(b"/s3/aws4_request\n");
        mac.update(hex_bytes(&canonical.finalize()).as_slice());
        url.push_str("&X-Amz-Signature=");
        push_hex(&mut url, &mac.finalize().into_bytes());
        url
    }
}

/// The URL's query is already canonical when the custom parameters are sorted and all
/// sort after the `X-Amz-*` ones (lower-case names do: `partNumber`, `response-…`,
/// `uploadId`); otherwise the pairs are sorted once more.
fn canonical_order(query: &[(&str, &str)]) -> bool {
    query
        .iter()
        .all(|(name, _)| name.as_bytes().first().is_some_and(|b| *b > b'X'))
        && query.windows(2).all(|w| w[0].0 <= w[1].0)
}

fn split_pair(pair: &str) -> (&str, &str) {
    pair.split_once('=').unwrap_or((pair, ""))
}

/// The signed header names in order, `host` in its place.
fn signed_names<'a>(
    headers: &'a [(&'a str, &'a str)],
    host_at: usize,
) -> impl Iterator<Item = &'a str> + 'a {
    let (before, after) = headers.split_at(host_at);
    before
        .iter()
        .map(|(n, _)| *n)
        .chain(std::iter::once("host"))
        .chain(after.iter().map(|(n, _)| *n))
}

/// The signed headers with their values in order, `host` in its place.
fn with_host<'a>(
    headers: &'a [(&'a str, &'a str)],
    host_at: usize,
    host: &'a str,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    let (before, after) = headers.split_at(host_at);
    before
        .iter()
        .copied()
        .chain(std::iter::once(("host", host)))
        .chain(after.iter().copied())
}

/// `YYYYMMDDTHHMMSSZ` without a formatter (chrono's costs more than the whole signature).
struct Stamp([u8; 16]);

impl Stamp {
    fn of(now: DateTime<Utc>) -> Self {
        use chrono::Timelike;
        let mut out = *b"00000000T000000Z";
        let mut put = |at: usize, width: usize, mut value: u32| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, u32::try_from(now.year()).unwrap_or(0));
        put(4, 2, now.month());
        put(6, 2, now.day());
        put(9, 2, now.hour());
        put(11, 2, now.minute());
        put(13, 2, now.second());
        Stamp(out)
    }

    /// `YYYY-MM-DDTHH:MM:SS.000Z`, as POST policies write their expiration (the policy
    /// is signed to the second; stores ignore the milliseconds).
    fn iso(&self) -> String {
        let d = &self.0;
        let mut out = String::with_capacity(24);
        for (i, b) in d.iter().enumerate().take(15) {
            match i {
                4 | 6 => out.push('-'),
                11 | 13 => out.push(':'),
                _ => {}
            }
            out.push(char::from(*b));
        }
        out.push_str(".000Z");
        out
    }

    fn long(&self) -> &str {
        // Only ASCII digits, `T` and `Z` are ever written.
        std::str::from_utf8(&self.0).unwrap_or("00000000T000000Z")
    }
}

impl Presigner {
    /// A browser-form POST policy (AWS "POST Object" with SigV4): the store refuses any
    /// other key, type, or a size outside the range.
    pub fn presign_post(&self, post: &PostConditions<'_>, now: DateTime<Utc>) -> PresignedPost {
        use base64::Engine;
        let stamp = Stamp::of(now);
        let long_date = stamp.long().to_owned();
        let short_date = &long_date[..8];
        let ep = &self.endpoint;
        let credential = format!(
            "{}/{short_date}/{}/s3/aws4_request",
            self.access_key, ep.region
        );
        let expires = Stamp::of(now + chrono::Duration::seconds(i64::from(post.expires_secs)));
        let expiration = expires.iso();
        // Written by hand, not through serde_json::Value: the same document, a third of
        // the time (tests check it parses to the conditions below).
        let mut policy = String::with_capacity(512 + post.key.len() + post.content_type.len());
        let _ = write!(
            policy,
            "{{\"expiration\":\"{expiration}\",\"conditions\":[{{\"bucket\":"
        );
        push_json_string(&mut policy, &ep.bucket);
        policy.push_str("},{\"key\":");
        push_json_string(&mut policy, post.key);
        policy.push_str("},{\"Content-Type\":");
        push_json_string(&mut policy, post.content_type);
        let _ = write!(
            policy,
            "}},[\"content-length-range\",{},{}],{{\"success_action_status\":\"201\"}},{{\"x-amz-algorithm\":\"AWS4-HMAC-SHA256\"}},{{\"x-amz-credential\":",
            post.min_size, post.max_size
        );
        push_json_string(&mut policy, &credential);
        let _ = write!(policy, "}},{{\"x-amz-date\":\"{long_date}\"}}]}}");
        let encoded = base64::engine::general_purpose::STANDARD.encode(policy.as_bytes());
        let key = self.signing_key(now, short_date);
        let signature = hex(&hmac(&key, encoded.as_bytes()));
        let fields = [
            ("key", post.key.to_owned()),
            ("Content-Type", post.content_type.to_owned()),
            ("success_action_status", "201".to_owned()),
            ("x-amz-algorithm", "AWS4-HMAC-SHA256".to_owned()),
            ("x-amz-credential", credential),
            ("x-amz-date", long_date),
            ("policy", encoded),
            ("x-amz-signature", signature),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let url = if ep.bucket_path.is_empty() {
            format!("{}/", ep.base)
        } else {
            format!("{}{}", ep.base, ep.bucket_path)
        };
        PresignedPost { url, fields }
    }
}

/// Appends `value` as a JSON string literal.
fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The SigV4 signing key of one day, region and S3.
fn derive_key(secret: &str, short_date: &str, region: &str) -> [u8; 32] {
    let mut seed = String::with_capacity(secret.len() + 4);
    seed.push_str("AWS4");
    seed.push_str(secret);
    let date = hmac(seed.as_bytes(), short_date.as_bytes());
    let region = hmac(&date, region.as_bytes());
    let service = hmac(&region, b"s3");
    hmac(&service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// The hex of a SHA-256 digest, on the stack.
fn hex_bytes(digest: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (i, b) in digest.iter().take(32).enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
    out
}

#[cfg(test)]
mod tests;
