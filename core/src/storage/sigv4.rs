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
    pub fn presign(&self, req: &Request<'_>, now: DateTime<Utc>) -> String {
        let long_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let short_date = &long_date[..8];
        let ep = &self.endpoint;
        let mut path = String::with_capacity(ep.bucket_path.len() + req.key.len() * 3 + 1);
        path.push_str(&ep.bucket_path);
        path.push('/');
        path.extend(utf8_percent_encode(req.key.trim_start_matches('/'), ENCODE));

        let mut scope = String::with_capacity(48);
        let _ = write!(scope, "{short_date}/{}/s3/aws4_request", ep.region);
        let mut names: Vec<&str> = req.headers.iter().map(|(n, _)| *n).collect();
        names.push("host");
        names.sort_unstable();
        let mut signed = String::with_capacity(64);
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                signed.push(';');
            }
            signed.push_str(name);
        }

        // The query as the URL carries it: rust-s3's order, the custom parameters last.
        let mut query = String::with_capacity(384 + req.query.len() * 64);
        let _ = write!(
            query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}%2F{}&X-Amz-Date={long_date}&X-Amz-Expires={}&X-Amz-SignedHeaders={}",
            utf8_percent_encode(&self.access_key, ENCODE_SLASH),
            utf8_percent_encode(&scope, ENCODE_SLASH),
            req.expires_secs,
            utf8_percent_encode(&signed, ENCODE_SLASH),
        );
        for (name, value) in req.query {
            let _ = write!(
                query,
                "&{}={}",
                utf8_percent_encode(name, ENCODE_SLASH),
                utf8_percent_encode(value, ENCODE_SLASH)
            );
        }

        // The canonical query: every parameter, encoded, sorted.
        let mut pairs: Vec<(&str, &str)> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .collect();
        pairs.sort_unstable();
        let mut canonical = String::with_capacity(query.len() + path.len() + 256);
        let _ = write!(canonical, "{}\n{path}\n", req.method);
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                canonical.push('&');
            }
            let _ = write!(canonical, "{name}={value}");
        }
        canonical.push('\n');
        let mut headers: Vec<(&str, &str)> = req.headers.to_vec();
        headers.push(("host", &ep.host));
        headers.sort_unstable_by_key(|(name, _)| *name);
        for (name, value) in &headers {
            let _ = writeln!(canonical, "{name}:{}", value.trim());
        }
        let _ = write!(canonical, "\n{signed}\nUNSIGNED-PAYLOAD");

        let mut to_sign = String::with_capacity(160);
        let _ = write!(
            to_sign,
            "AWS4-HMAC-SHA256\n{long_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let key = self.signing_key(now, short_date);
        let signature = hex(&hmac(&key, to_sign.as_bytes()));

        let mut url = String::with_capacity(ep.base.len() + path.len() + query.len() + 96);
        let _ = write!(url, "{}{path}?{query}&X-Amz-Signature={signature}", ep.base);
        url
    }
}

impl Presigner {
    /// A browser-form POST policy (AWS "POST Object" with SigV4): the store refuses any
    /// other key, type, or a size outside the range.
    pub fn presign_post(&self, post: &PostConditions<'_>, now: DateTime<Utc>) -> PresignedPost {
        use base64::Engine;
        let long_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let short_date = &long_date[..8];
        let ep = &self.endpoint;
        let credential = format!(
            "{}/{short_date}/{}/s3/aws4_request",
            self.access_key, ep.region
        );
        let expiration = (now + chrono::Duration::seconds(i64::from(post.expires_secs)))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let policy = serde_json::json!({
            "expiration": expiration,
            "conditions": [
                {"bucket": ep.bucket},
                {"key": post.key},
                {"Content-Type": post.content_type},
                ["content-length-range", post.min_size, post.max_size],
                {"success_action_status": "201"},
                {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                {"x-amz-credential": credential},
                {"x-amz-date": long_date},
            ],
        });
        let encoded = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
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

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests;
