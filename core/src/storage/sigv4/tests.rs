//! The presigner against the AWS documentation's query-signing example and, byte for
//! byte, against rust-s3 at the same instant.

use std::collections::{BTreeMap, HashMap};

use chrono::TimeZone;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use super::*;

const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// The example of "Authenticating Requests: Using Query Parameters (AWS Signature Version
/// 4)" in the Amazon S3 API reference: a GET of `test.txt`, valid for a day.
#[test]
fn the_aws_documentation_example_signs_alike() {
    let presigner = Presigner::new(
        Endpoint {
            base: "https://examplebucket.s3.amazonaws.com".into(),
            host: "examplebucket.s3.amazonaws.com".into(),
            bucket_path: String::new(),
            bucket: "examplebucket".into(),
            region: "us-east-1".into(),
        },
        KEY_ID,
        SecretString::from(SECRET),
    );
    let at = Utc
        .with_ymd_and_hms(2013, 5, 24, 0, 0, 0)
        .single()
        .expect("instant");
    let url = presigner.presign(
        &Request {
            method: "GET",
            key: "test.txt",
            headers: &[],
            query: &[],
            expires_secs: 86_400,
        },
        at,
    );
    assert_eq!(
        url,
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
}

fn rust_s3_bucket(endpoint: &str) -> Box<s3::Bucket> {
    let region = s3::Region::Custom {
        region: "eu-central-1".into(),
        endpoint: endpoint.into(),
    };
    let creds = s3::creds::Credentials::new(Some(KEY_ID), Some(SECRET), None, None, None)
        .expect("credentials");
    s3::Bucket::new("uploads-bucket", region, creds)
        .expect("bucket")
        .with_path_style()
}

fn ours(endpoint: &str, host: &str) -> Presigner {
    Presigner::new(
        Endpoint {
            base: endpoint.into(),
            host: host.into(),
            bucket_path: "/uploads-bucket".into(),
            bucket: "uploads-bucket".into(),
            region: "eu-central-1".into(),
        },
        KEY_ID,
        SecretString::from(SECRET),
    )
}

/// The instant rust-s3 signed at, read back from its URL.
fn signed_at(url: &str) -> DateTime<Utc> {
    let date = url
        .split("X-Amz-Date=")
        .nth(1)
        .and_then(|rest| rest.get(..16))
        .expect("a date");
    chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .expect("date")
        .and_utc()
}

/// The URL split into its base and its parameters in order.
fn parts(url: &str) -> (String, Vec<String>) {
    let (base, query) = url.split_once('?').expect("a query");
    (
        base.to_owned(),
        query.split('&').map(str::to_owned).collect(),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

const KEYS: &[&str] = &[
    "uploads/alice/0192f9a8-7c4e-7f00-8000-000000000001",
    "uploads/bob/with space and ü + tilde~ (1).png",
    "a/b/c/d=e&f",
];

#[test]
fn puts_match_rust_s3_byte_for_byte() {
    puts_match_with(&[
        ("content-length", "15521335"),
        ("content-type", "image/png"),
        ("if-none-match", "*"),
    ]);
}

/// A single PUT of an upload with a declared SHA-256 signs `x-amz-checksum-sha256` as a
/// header (never in the query), after `host` and `if-none-match` in name order.
#[test]
fn puts_with_a_checksum_header_match_rust_s3_byte_for_byte() {
    let digest = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
    puts_match_with(&[
        ("content-length", "5"),
        ("content-type", "text/plain"),
        ("if-none-match", "*"),
        ("x-amz-checksum-sha256", digest),
    ]);
    puts_match_with(&[
        ("content-length", "5"),
        ("content-type", "text/plain"),
        ("x-amz-checksum-sha256", digest),
    ]);
}

fn puts_match_with(headers: &[(&'static str, &'static str)]) {
    let rt = runtime();
    let bucket = rust_s3_bucket("http://127.0.0.1:7480");
    let presigner = ours("http://127.0.0.1:7480", "127.0.0.1:7480");
    for key in KEYS {
        let mut signed = HeaderMap::new();
        for (name, value) in headers {
            signed.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let theirs = rt
            .block_on(bucket.presign_put(*key, 3600, Some(signed), None))
            .expect("rust-s3 presigns");
        let mine = presigner.presign(
            &Request {
                method: "PUT",
                key,
                headers,
                query: &[],
                expires_secs: 3600,
            },
            signed_at(&theirs),
        );
        assert_eq!(mine, theirs, "{key}");
        let (_, params) = parts(&mine);
        let signed_headers = params
            .iter()
            .find_map(|p| p.strip_prefix("X-Amz-SignedHeaders="))
            .expect("signed headers");
        let mut expected: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        expected.push("host");
        expected.sort_unstable();
        assert_eq!(signed_headers, expected.join("%3B"), "{key}");
        // Headers are signed as headers, never carried in the query.
        assert!(
            !params.iter().any(|p| p
                .split('=')
                .next()
                .is_some_and(|name| name.to_ascii_lowercase().contains("checksum"))),
            "{mine}"
        );
    }
}

#[test]
fn parts_and_gets_with_overrides_match_rust_s3() {
    let rt = runtime();
    let bucket = rust_s3_bucket("https://s3.example.com");
    let presigner = ours("https://s3.example.com", "s3.example.com");
    for key in KEYS {
        // An UploadPart URL: two custom parameters, whose order rust-s3 leaves to a
        // HashMap; the signature does not depend on it.
        let mut queries = HashMap::new();
        queries.insert("partNumber".to_owned(), "7".to_owned());
        queries.insert("uploadId".to_owned(), "2~abc/def+ghi=".to_owned());
        let mut signed = HeaderMap::new();
        signed.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(10_485_760u64),
        );
        let theirs = rt
            .block_on(bucket.presign_put(*key, 900, Some(signed), Some(queries)))
            .expect("rust-s3 presigns");
        let mine = presigner.presign(
            &Request {
                method: "PUT",
                key,
                headers: &[("content-length", "10485760")],
                query: &[("partNumber", "7"), ("uploadId", "2~abc/def+ghi=")],
                expires_secs: 900,
            },
            signed_at(&theirs),
        );
        let (their_base, mut their_params) = parts(&theirs);
        let (my_base, mut my_params) = parts(&mine);
        assert_eq!(my_base, their_base);
        their_params.sort();
        my_params.sort();
        assert_eq!(my_params, their_params, "{key}");

        let disposition =
            "attachment; filename=\"r sum .pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf";
        let mut overrides = HashMap::new();
        overrides.insert(
            "response-content-disposition".to_owned(),
            disposition.to_owned(),
        );
        overrides.insert(
            "response-content-type".to_owned(),
            "application/pdf".to_owned(),
        );
        let theirs = rt
            .block_on(bucket.presign_get(*key, 600, Some(overrides)))
            .expect("rust-s3 presigns");
        let sorted: BTreeMap<&str, &str> = [
            ("response-content-disposition", disposition),
            ("response-content-type", "application/pdf"),
        ]
        .into();
        let query: Vec<(&str, &str)> = sorted.into_iter().collect();
        let mine = presigner.presign(
            &Request {
                method: "GET",
                key,
                headers: &[],
                query: &query,
                expires_secs: 600,
            },
            signed_at(&theirs),
        );
        let (their_base, mut their_params) = parts(&theirs);
        let (my_base, mut my_params) = parts(&mine);
        assert_eq!(my_base, their_base);
        their_params.sort();
        my_params.sort();
        assert_eq!(my_params, their_params, "{key}");
    }
}

#[test]
fn the_signing_key_is_derived_once_a_day() {
    let presigner = ours("http://127.0.0.1:1", "127.0.0.1:1");
    let day1 = Utc
        .with_ymd_and_hms(2026, 11, 22, 23, 59, 0)
        .single()
        .expect("t");
    let day2 = Utc
        .with_ymd_and_hms(2026, 11, 23, 0, 0, 1)
        .single()
        .expect("t");
    let first = presigner.signing_key(day1, "20261122");
    assert_eq!(presigner.signing_key(day1, "20261122"), first);
    let next = presigner.signing_key(day2, "20261123");
    assert_ne!(next, first);
    assert_eq!(next, derive_key(SECRET, "20261123", "eu-central-1"));
}

#[test]
fn the_post_policy_is_the_document_it_signs() {
    use base64::Engine;
    let presigner = ours("http://127.0.0.1:7480", "127.0.0.1:7480");
    let at = Utc
        .with_ymd_and_hms(2026, 12, 2, 12, 0, 0)
        .single()
        .expect("instant");
    let key = "uploads/al\"ice\\/0192\u{1}";
    let post = presigner.presign_post(
        &PostConditions {
            key,
            content_type: "image/png",
            min_size: 1,
            max_size: 15_521_335,
            expires_secs: 3600,
        },
        at,
    );
    let field = |name: &str| {
        post.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .expect("field")
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(field("policy"))
        .expect("base64");
    let policy: serde_json::Value = serde_json::from_slice(&decoded).expect("JSON");
    let credential = "AKIAIOSFODNN7EXAMPLE/20261202/eu-central-1/s3/aws4_request";
    assert_eq!(field("x-amz-credential"), credential);
    assert_eq!(
        policy,
        serde_json::json!({
            "expiration": "2026-12-02T13:00:00.000Z",
            "conditions": [
                {"bucket": "uploads-bucket"},
                {"key": key},
                {"Content-Type": "image/png"},
                ["content-length-range", 1, 15_521_335],
                {"success_action_status": "201"},
                {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                {"x-amz-credential": credential},
                {"x-amz-date": "20261202T120000Z"},
            ],
        })
    );
    let key = presigner.signing_key(at, "20261202");
    assert_eq!(
        field("x-amz-signature"),
        hex(&hmac(&key, field("policy").as_bytes()))
    );
}

#[test]
fn a_query_out_of_order_signs_the_same() {
    let presigner = ours("http://127.0.0.1:7480", "127.0.0.1:7480");
    let at = Utc
        .with_ymd_and_hms(2026, 12, 2, 12, 0, 0)
        .single()
        .expect("instant");
    let sign = |query: &[(&str, &str)]| {
        let url = presigner.presign(
            &Request {
                method: "PUT",
                key: "a/b",
                headers: &[("content-length", "5")],
                query,
                expires_secs: 60,
            },
            at,
        );
        url.rsplit_once("X-Amz-Signature=")
            .map(|(_, s)| s.to_owned())
            .expect("signature")
    };
    // Sorted: the URL's query is hashed as it stands. Unsorted: the pairs are sorted
    // first. Both must sign the same canonical request.
    let sorted = sign(&[("partNumber", "1"), ("uploadId", "u")]);
    assert_eq!(sign(&[("uploadId", "u"), ("partNumber", "1")]), sorted);
}
