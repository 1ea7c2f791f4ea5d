//! Sluice's SigV4 presigner beside the floor of what any presigner must do, in the same
//! run: with the daily signing key cached, a query presign is one SHA-256 of the canonical
//! request and one HMAC-SHA256 of the string to sign (plus their hex). The floor does
//! exactly that on strings built beforehand, so `presigner / floor` is the overhead of
//! building the URL. rust-s3's presign is measured too, for the record.
//!
//! `cargo bench -p sluice-core --bench presign`

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use sluice_core::storage::sigv4::{Endpoint, PostConditions, Presigner, Request};

const KEY: &str = "uploads/alice/0192f9a8-7c4e-7f00-8000-000000000001";
const UPLOAD_ID: &str = "2~x5sFWK1b8rUpYtgLkVvO9ZkHqyB6zJm";
const DISPOSITION: &str =
    "attachment; filename=\"r sum 2026.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202026.pdf";

fn presigner() -> Presigner {
    Presigner::new(
        Endpoint {
            base: "http://127.0.0.1:7480".into(),
            host: "127.0.0.1:7480".into(),
            bucket_path: "/sluice".into(),
            bucket: "sluice".into(),
            region: "us-east-1".into(),
        },
        "benchkey",
        SecretString::from("bench-secret-0123456789"),
    )
}

/// Lower-case hex, the fast way (a slow one would flatter the ratio).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// The floor: hash the canonical request, HMAC the string to sign, hex both.
fn floor(signing_key: &[u8; 32], canonical: &str, prefix: &str) -> String {
    let hashed = hex(&Sha256::digest(canonical.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key).expect("any key length");
    mac.update(prefix.as_bytes());
    mac.update(hashed.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// A canonical request as SigV4 query signing builds it for `query` (sorted, encoded)
/// and `headers` (sorted, `host` among them).
fn canonical(method: &str, path: &str, query: &str, headers: &[(&str, &str)]) -> String {
    let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
    let lines: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    format!(
        "{method}\n{path}\n{query}\n{lines}\n{}\nUNSIGNED-PAYLOAD",
        names.join(";")
    )
}

fn benches(c: &mut Criterion) {
    let now = Utc
        .with_ymd_and_hms(2026, 12, 2, 12, 0, 0)
        .single()
        .expect("instant");
    let signer = presigner();
    let signing_key = [7u8; 32];
    let auth = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=benchkey%2F20261202%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261202T120000Z";
    let prefix = "AWS4-HMAC-SHA256\n20261202T120000Z\n20261202/us-east-1/s3/aws4_request\n";
    let path = format!("/sluice/{KEY}");

    let put_headers = [
        ("content-length", "15521335"),
        ("content-type", "image/png"),
        ("if-none-match", "*"),
    ];
    let put = Request {
        method: "PUT",
        key: KEY,
        headers: &put_headers,
        query: &[],
        expires_secs: 3600,
    };
    let put_canonical = canonical(
        "PUT",
        &path,
        &format!(
            "{auth}&X-Amz-Expires=3600&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bif-none-match"
        ),
        &[
            ("content-length", "15521335"),
            ("content-type", "image/png"),
            ("host", "127.0.0.1:7480"),
            ("if-none-match", "*"),
        ],
    );
    c.bench_function("floor: PUT (sha256 + hmac, key cached)", |b| {
        b.iter(|| floor(&signing_key, black_box(&put_canonical), prefix))
    });
    c.bench_function("presigner: PUT (length, type, if-none-match)", |b| {
        b.iter(|| signer.presign(black_box(&put), now))
    });

    let part = Request {
        method: "PUT",
        key: KEY,
        headers: &[("content-length", "10485760")],
        query: &[("partNumber", "7"), ("uploadId", UPLOAD_ID)],
        expires_secs: 3600,
    };
    let part_canonical = canonical(
        "PUT",
        &path,
        &format!(
            "{auth}&X-Amz-Expires=3600&X-Amz-SignedHeaders=content-length%3Bhost&partNumber=7&uploadId={UPLOAD_ID}"
        ),
        &[("content-length", "10485760"), ("host", "127.0.0.1:7480")],
    );
    c.bench_function("floor: UploadPart", |b| {
        b.iter(|| floor(&signing_key, black_box(&part_canonical), prefix))
    });
    c.bench_function("presigner: UploadPart (length)", |b| {
        b.iter(|| signer.presign(black_box(&part), now))
    });

    let get = Request {
        method: "GET",
        key: KEY,
        headers: &[],
        query: &[
            ("response-content-disposition", DISPOSITION),
            ("response-content-type", "application/pdf"),
        ],
        expires_secs: 600,
    };
    let encoded_disposition: String =
        percent_encoding::utf8_percent_encode(DISPOSITION, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let get_canonical = canonical(
        "GET",
        &path,
        &format!(
            "{auth}&X-Amz-Expires=600&X-Amz-SignedHeaders=host&response-content-disposition={encoded_disposition}&response-content-type=application%2Fpdf"
        ),
        &[("host", "127.0.0.1:7480")],
    );
    c.bench_function("floor: GET with overrides", |b| {
        b.iter(|| floor(&signing_key, black_box(&get_canonical), prefix))
    });
    c.bench_function("presigner: GET (disposition + type overrides)", |b| {
        b.iter(|| signer.presign(black_box(&get), now))
    });

    let post = PostConditions {
        key: KEY,
        content_type: "image/png",
        min_size: 0,
        max_size: 15_521_335,
        expires_secs: 3600,
    };
    // A POST policy's floor: one HMAC of the base64 policy (no canonical request).
    let policy = "eyJleHBpcmF0aW9uIjoiMjAyNi0xMi0wMlQxMzowMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYnVja2V0Ijoic2x1aWNlIn0seyJrZXkiOiJ1cGxvYWRzL2FsaWNlLzAxOTJmOWE4LTdjNGUtN2YwMC04MDAwLTAwMDAwMDAwMDAwMSJ9LHsiQ29udGVudC1UeXBlIjoiaW1hZ2UvcG5nIn0sWyJjb250ZW50LWxlbmd0aC1yYW5nZSIsMCwxNTUyMTMzNV0seyJzdWNjZXNzX2FjdGlvbl9zdGF0dXMiOiIyMDEifSx7IngtYW16LWFsZ29yaXRobSI6IkFXUzQtSE1BQy1TSEEyNTYifSx7IngtYW16LWNyZWRlbnRpYWwiOiJiZW5jaGtleS8yMDI2MTIwMi91cy1lYXN0LTEvczMvYXdzNF9yZXF1ZXN0In0seyJ4LWFtei1kYXRlIjoiMjAyNjEyMDJUMTIwMDAwWiJ9XX0=";
    c.bench_function("floor: POST policy (hmac of the policy)", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&signing_key).expect("any key length");
            mac.update(black_box(policy).as_bytes());
            hex(&mac.finalize().into_bytes())
        })
    });
    c.bench_function("presigner: POST policy", |b| {
        b.iter(|| signer.presign_post(black_box(&post), now))
    });
}

criterion_group!(presign, benches);
criterion_main!(presign);
