//! The hostile-input corpus: the same table of bad values fed to every route that takes
//! input, on both legs. Each row records the status and `code` it must get, so SQLite and
//! PostgreSQL are held to the same answer: a 4xx with a code, never a 5xx. Rows cover NUL
//! and other control characters, JSON lone surrogates, lengths just over each limit in
//! bytes (multi-byte text under the limit in characters but over it in bytes, where the
//! limit is bytes), U+FEFF and bidi overrides, traversal, numbers at the edges of their
//! types, bad ids and cursors, and garbage credentials. A few rows just under a limit
//! expect success, so the limits are shown to be where the documentation says.

use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sluice_tests::client_keys::{ADMIN_KEY, SERVICE_KEY};

/// Who calls.
#[derive(Clone)]
enum Auth {
    /// An upload token of `alice`.
    Alice,
    /// An upload token minted for this subject.
    Token(String),
    /// The service key, acting for the owner in these `X-Sluice-Owner` bytes.
    Service(Vec<u8>),
    Admin,
    /// These exact `Authorization` header bytes.
    Raw(Vec<u8>),
}

struct Row {
    what: String,
    method: Method,
    path: String,
    auth: Auth,
    body: Option<String>,
    status: u16,
    /// The `code` of the error body; empty for a success.
    code: &'static str,
}

fn row(
    what: impl Into<String>,
    method: Method,
    path: impl Into<String>,
    auth: Auth,
    body: Option<String>,
    (status, code): (u16, &'static str),
) -> Row {
    Row {
        what: what.into(),
        method,
        path: path.into(),
        auth,
        body,
        status,
        code,
    }
}

/// A JSON body from text, so it can hold what `serde_json` would never write.
fn body(text: impl Into<String>) -> Option<String> {
    Some(text.into())
}

async fn send(app: &TestApp, r: &Row) -> (u16, Value) {
    let mut req = app
        .http
        .request(r.method.clone(), format!("{}{}", app.api, r.path));
    let bearer = |t: &str| format!("Bearer {t}").into_bytes();
    let header = match &r.auth {
        Auth::Alice => bearer(&app.token("alice")),
        Auth::Token(sub) => bearer(&app.token(sub)),
        Auth::Service(owner) => {
            req = req.header(
                "X-Sluice-Owner",
                reqwest::header::HeaderValue::from_bytes(owner).expect("header bytes"),
            );
            bearer(SERVICE_KEY)
        }
        Auth::Admin => bearer(ADMIN_KEY),
        Auth::Raw(bytes) => bytes.clone(),
    };
    req = req.header(
        "Authorization",
        reqwest::header::HeaderValue::from_bytes(&header).expect("header bytes"),
    );
    if let Some(b) = &r.body {
        req = req
            .header("content-type", "application/json")
            .body(b.clone());
    }
    let resp = req.send().await.expect("request reaches sluice");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let answer = serde_json::from_str(&text).unwrap_or(Value::String(text));
    sluice_tests::problem::check_declared(status, &answer);
    (status, answer)
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `POST /v1/uploads` with these fields over a valid text upload.
fn create(what: &str, fields: &str, expect: (u16, &'static str)) -> Row {
    let text = if fields.is_empty() {
        r#"{"filename":"a.txt","size":3,"content_type":"text/plain"}"#.to_owned()
    } else {
        format!("{{{fields}}}")
    };
    row(
        format!("create {what}"),
        Method::POST,
        "/v1/uploads",
        Auth::Alice,
        body(text),
        expect,
    )
}

/// `"size"` of a create body.
fn sized(size: &str) -> String {
    format!(r#""filename":"a.txt","size":{size},"content_type":"text/plain""#)
}

fn named(filename_json: &str) -> String {
    format!(r#""filename":{filename_json},"size":3,"content_type":"text/plain""#)
}

fn with_metadata(metadata_json: &str) -> String {
    format!(r#""filename":"a.txt","size":3,"content_type":"text/plain","metadata":{metadata_json}"#)
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

fn cursor(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

const CREATED: (u16, &str) = (201, "");
const OK: (u16, &str) = (200, "");
const INVALID: (u16, &str) = (422, "validation_failed");
const BAD_TYPE: (u16, &str) = (422, "invalid_type");
const MALFORMED: (u16, &str) = (400, "malformed_json");
const NOT_FOUND: (u16, &str) = (404, "not_found");
const UNAUTHORIZED: (u16, &str) = (401, "unauthorized");
const BAD_QUERY: (u16, &str) = (400, "invalid_query");

e2e!(
    the_hostile_corpus_gets_the_same_4xx_on_every_backend,
    |app| {
        let alice = app.token("alice");
        // A pending single upload, a pending multipart one, a committed file and an Uppy
        // multipart upload: each route is fed the corpus against real rows.
        let pending = app.create_text(&alice, 3).await;
        let multipart = app
            .create(
                &alice,
                json!({"profile": "parts", "filename": "big.bin", "size": 6 * 1024 * 1024,
                   "content_type": "application/octet-stream"}),
            )
            .await;
        let uploaded = app
            .upload_verified(&alice, "default", "kept.txt", b"abc")
            .await;
        let (status, file) = send(
            &app,
            &row(
                "commit",
                Method::POST,
                format!("/v1/uploads/{}/commit", uploaded.id),
                Auth::Service(b"alice".to_vec()),
                None,
                OK,
            ),
        )
        .await;
        assert_eq!(status, 200, "{file}");
        let file_id = file["id"].as_str().expect("file id").to_owned();
        let (status, uppy) = send(
            &app,
            &row(
                "uppy create",
                Method::POST,
                "/s3/multipart",
                Auth::Alice,
                body(r#"{"filename":"movie.bin","type":"application/octet-stream","metadata":{}}"#),
                OK,
            ),
        )
        .await;
        assert_eq!(status, 200, "{uppy}");
        let key = enc(uppy["key"].as_str().expect("key"));
        let upload_id = enc(uppy["uploadId"].as_str().expect("uploadId"));

        let p = &pending.id;
        let m = &multipart.id;
        let e = "\u{e9}"; // é: 1 character, 2 bytes
        let euro = "\u{20ac}"; // €: 1 character, 3 bytes
        let mut rows = vec![
            // POST /v1/uploads: text.
            create("plain", "", CREATED),
            create(
                "NUL in filename (sanitised)",
                &named(r#""a\u0000b.txt""#),
                CREATED,
            ),
            create(
                "controls in filename",
                &named(r#""\u0007\u001b[31m\r\n.txt""#),
                CREATED,
            ),
            create("U+FEFF filename", &named(r#""\ufeff""#), CREATED),
            create("RTL override", &named(r#""invoice\u202efdp.exe""#), CREATED),
            create("traversal", &named(r#""../../etc/passwd""#), CREATED),
            create("lone surrogate", &named(r#""\ud800.txt""#), MALFORMED),
            create("lone trailing surrogate", &named(r#""\udc00""#), MALFORMED),
            create("empty filename", &named(r#""""#), INVALID),
            create(
                "filename 1024 chars, 2048 bytes",
                &named(&json_str(&e.repeat(1024))),
                CREATED,
            ),
            create(
                "filename 1025 chars",
                &named(&json_str(&e.repeat(1025))),
                INVALID,
            ),
            create("filename of dots", &named(r#""...""#), CREATED),
            create(
                "NUL in profile",
                r#""profile":"default\u0000","filename":"a.txt","size":3,"content_type":"text/plain""#,
                (404, "unknown_profile"),
            ),
            create(
                "profile 65 chars",
                &format!(r#""profile":"{}","filename":"a","size":3"#, "p".repeat(65)),
                INVALID,
            ),
            create(
                "NUL in content type",
                r#""filename":"a.txt","size":3,"content_type":"text/plain\u0000""#,
                INVALID,
            ),
            create(
                "bidi in content type",
                r#""filename":"a.txt","size":3,"content_type":"text/plain; x=\u202e""#,
                INVALID,
            ),
            create(
                "content type 256 bytes",
                &format!(
                    r#""filename":"a.txt","size":3,"content_type":"text/{}""#,
                    "p".repeat(251)
                ),
                INVALID,
            ),
            create(
                "multi-byte sha256",
                &format!(r#""filename":"a.txt","size":3,"sha256":"{}""#, e.repeat(32)),
                INVALID,
            ),
            create(
                "NUL sha256",
                r#""filename":"a.txt","size":3,"sha256":"\u0000""#,
                INVALID,
            ),
            // Metadata.
            create(
                "NUL metadata key",
                &with_metadata(r#"{"a\u0000":"v"}"#),
                INVALID,
            ),
            create(
                "NUL metadata value",
                &with_metadata(r#"{"k":"\u0000"}"#),
                INVALID,
            ),
            create(
                "surrogate metadata",
                &with_metadata(r#"{"k":"\ud800"}"#),
                MALFORMED,
            ),
            create(
                "metadata key 64 chars, 128 bytes",
                &with_metadata(&format!(r#"{{"{}":"v"}}"#, e.repeat(64))),
                CREATED,
            ),
            create(
                "metadata key 65 chars",
                &with_metadata(&format!(r#"{{"{}":"v"}}"#, e.repeat(65))),
                INVALID,
            ),
            create(
                "metadata value 1024 chars, 3072 bytes",
                &with_metadata(&format!(r#"{{"k":"{}"}}"#, euro.repeat(1024))),
                CREATED,
            ),
            create(
                "metadata value 1025 chars",
                &with_metadata(&format!(r#"{{"k":"{}"}}"#, euro.repeat(1025))),
                INVALID,
            ),
            create("empty metadata key", &with_metadata(r#"{"":"v"}"#), INVALID),
            create("metadata number", &with_metadata(r#"{"k":1}"#), BAD_TYPE),
            create(
                "33 metadata entries",
                &with_metadata(&format!(
                    "{{{}}}",
                    (0..33)
                        .map(|i| format!(r#""k{i}":"v""#))
                        .collect::<Vec<_>>()
                        .join(",")
                )),
                INVALID,
            ),
            // Numbers.
            create("size -1", &sized("-1"), BAD_TYPE),
            create("size 0", &sized("0"), CREATED),
            create("size 3.0", &sized("3.0"), CREATED),
            create("size 1.5", &sized("1.5"), BAD_TYPE),
            create("size 2^53", &sized("9007199254740992"), INVALID),
            create("size 2^63-1", &sized("9223372036854775807"), INVALID),
            create("size 2^63", &sized("9223372036854775808"), INVALID),
            create("size 2^64", &sized("18446744073709551616"), BAD_TYPE),
            create("size 1e400", &sized("1e400"), MALFORMED),
            create("size -0", &sized("-0"), CREATED),
            create("size as string", &sized(r#""3""#), BAD_TYPE),
            create("size null", &sized("null"), BAD_TYPE),
            create(
                "size over max_size",
                &sized("5497558138880"),
                (413, "too_large"),
            ),
            // Parts, complete, commit.
            row(
                "parts [0]",
                Method::POST,
                format!("/v1/uploads/{m}/parts"),
                Auth::Alice,
                body(r#"{"part_numbers":[0]}"#),
                (422, "invalid_part_number"),
            ),
            row(
                "parts [3]",
                Method::POST,
                format!("/v1/uploads/{m}/parts"),
                Auth::Alice,
                body(r#"{"part_numbers":[3]}"#),
                (422, "invalid_part_number"),
            ),
            row(
                "parts [-1]",
                Method::POST,
                format!("/v1/uploads/{m}/parts"),
                Auth::Alice,
                body(r#"{"part_numbers":[-1]}"#),
                BAD_TYPE,
            ),
            row(
                "parts [2^32]",
                Method::POST,
                format!("/v1/uploads/{m}/parts"),
                Auth::Alice,
                body(r#"{"part_numbers":[4294967296]}"#),
                BAD_TYPE,
            ),
            row(
                "parts [1e400]",
                Method::POST,
                format!("/v1/uploads/{m}/parts"),
                Auth::Alice,
                body(r#"{"part_numbers":[1e400]}"#),
                MALFORMED,
            ),
            row(
                "parts [\"1\"]",
                Method::POST,
                format!("/v1/uploads/{m}/parts"),
                Auth::Alice,
                body(r#"{"part_numbers":["1"]}"#),
                BAD_TYPE,
            ),
            row(
                "parts []",
                Method::POST,
                format!("/v1/uploads/{m}/parts"),
                Auth::Alice,
                body(r#"{"part_numbers":[]}"#),
                INVALID,
            ),
            row(
                "parts 1001",
                Method::POST,
                format!("/v1/uploads/{m}/parts"),
                Auth::Alice,
                body(format!(
                    r#"{{"part_numbers":[{}]}}"#,
                    vec!["1"; 1001].join(",")
                )),
                INVALID,
            ),
            row(
                "parts of a single upload",
                Method::POST,
                format!("/v1/uploads/{p}/parts"),
                Auth::Alice,
                body(r#"{"part_numbers":[1]}"#),
                (409, "not_multipart"),
            ),
            row(
                "parts bad uuid",
                Method::POST,
                "/v1/uploads/%00/parts",
                Auth::Alice,
                body(r#"{"part_numbers":[1]}"#),
                NOT_FOUND,
            ),
            row(
                "complete NUL etag",
                Method::POST,
                format!("/v1/uploads/{m}/complete"),
                Auth::Alice,
                body(r#"{"parts":[{"part_number":1,"etag":"\u0000"}]}"#),
                (409, "not_uploaded"),
            ),
            row(
                "complete part -1",
                Method::POST,
                format!("/v1/uploads/{m}/complete"),
                Auth::Alice,
                body(r#"{"parts":[{"part_number":-1,"etag":"x"}]}"#),
                BAD_TYPE,
            ),
            row(
                "complete part 2^64",
                Method::POST,
                format!("/v1/uploads/{m}/complete"),
                Auth::Alice,
                body(r#"{"parts":[{"part_number":18446744073709551616,"etag":"x"}]}"#),
                BAD_TYPE,
            ),
            row(
                "complete surrogate etag",
                Method::POST,
                format!("/v1/uploads/{m}/complete"),
                Auth::Alice,
                body(r#"{"parts":[{"part_number":1,"etag":"\udfff"}]}"#),
                MALFORMED,
            ),
            row(
                "complete huge etag",
                Method::POST,
                format!("/v1/uploads/{m}/complete"),
                Auth::Alice,
                body(format!(
                    r#"{{"parts":[{{"part_number":1,"etag":"{}"}}]}}"#,
                    e.repeat(20_000)
                )),
                (409, "not_uploaded"),
            ),
            row(
                "complete bad uuid",
                Method::POST,
                "/v1/uploads/not-a-uuid/complete",
                Auth::Alice,
                None,
                NOT_FOUND,
            ),
            row(
                "complete uuid with a letter past f",
                Method::POST,
                "/v1/uploads/00000000-0000-0000-0000-00000000000g/complete",
                Auth::Alice,
                None,
                NOT_FOUND,
            ),
            row(
                "commit pending",
                Method::POST,
                format!("/v1/uploads/{p}/commit"),
                Auth::Service(b"alice".to_vec()),
                None,
                (409, "illegal_transition"),
            ),
            row(
                "commit traversal id",
                Method::POST,
                "/v1/uploads/..%2F..%2Fetc/commit",
                Auth::Service(b"alice".to_vec()),
                None,
                NOT_FOUND,
            ),
            // Owners: bytes, not characters.
            row(
                "owner 255 bytes",
                Method::POST,
                "/v1/uploads",
                Auth::Service(vec![b'o'; 255]),
                create("", "", CREATED).body,
                CREATED,
            ),
            row(
                "owner 256 bytes",
                Method::POST,
                "/v1/uploads",
                Auth::Service(vec![b'o'; 256]),
                create("", "", CREATED).body,
                (400, "owner_required"),
            ),
            row(
                "owner of UTF-8 bytes",
                Method::POST,
                "/v1/uploads",
                Auth::Service(e.as_bytes().to_vec()),
                create("", "", CREATED).body,
                (400, "owner_required"),
            ),
            row(
                "token subject 127 é (254 bytes)",
                Method::POST,
                "/v1/uploads",
                Auth::Token(e.repeat(127)),
                create("", "", CREATED).body,
                CREATED,
            ),
            row(
                "token subject 128 é (256 bytes)",
                Method::POST,
                "/v1/uploads",
                Auth::Token(e.repeat(128)),
                create("", "", CREATED).body,
                UNAUTHORIZED,
            ),
            row(
                "token subject with NUL",
                Method::POST,
                "/v1/uploads",
                Auth::Token("a\0b".into()),
                create("", "", CREATED).body,
                UNAUTHORIZED,
            ),
            row(
                "token subject U+FEFF",
                Method::POST,
                "/v1/uploads",
                Auth::Token("\u{feff}".into()),
                create("", "", CREATED).body,
                CREATED,
            ),
            // Credentials.
            row(
                "garbage bearer",
                Method::POST,
                "/v1/uploads",
                Auth::Raw(b"Bearer \tgar bage\t!".to_vec()),
                create("", "", CREATED).body,
                UNAUTHORIZED,
            ),
            row(
                "bearer of high bytes",
                Method::POST,
                "/v1/uploads",
                Auth::Raw(b"Bearer \xef\xbb\xbfabc".to_vec()),
                create("", "", CREATED).body,
                UNAUTHORIZED,
            ),
            row(
                "alg none",
                Method::POST,
                "/v1/uploads",
                Auth::Raw(
                    b"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIiwiZXhwIjo5OTk5OTk5OTk5fQ.".to_vec(),
                ),
                create("", "", CREATED).body,
                UNAUTHORIZED,
            ),
            row(
                "bearer of 7 KiB",
                Method::POST,
                "/v1/uploads",
                Auth::Raw(format!("Bearer {}", "A".repeat(7 * 1024)).into_bytes()),
                create("", "", CREATED).body,
                UNAUTHORIZED,
            ),
            row(
                "Basic",
                Method::POST,
                "/v1/uploads",
                Auth::Raw(b"Basic YTpi".to_vec()),
                create("", "", CREATED).body,
                UNAUTHORIZED,
            ),
            // Download links.
            row(
                "download ttl 0",
                Method::POST,
                format!("/v1/files/{file_id}/download-url"),
                Auth::Alice,
                body(r#"{"ttl_seconds":0}"#),
                INVALID,
            ),
            row(
                "download ttl -1",
                Method::POST,
                format!("/v1/files/{file_id}/download-url"),
                Auth::Alice,
                body(r#"{"ttl_seconds":-1}"#),
                BAD_TYPE,
            ),
            row(
                "download ttl 2^64",
                Method::POST,
                format!("/v1/files/{file_id}/download-url"),
                Auth::Alice,
                body(r#"{"ttl_seconds":18446744073709551616}"#),
                BAD_TYPE,
            ),
            row(
                "download ttl 2^63",
                Method::POST,
                format!("/v1/files/{file_id}/download-url"),
                Auth::Alice,
                body(r#"{"ttl_seconds":9223372036854775808}"#),
                INVALID,
            ),
            row(
                "download ttl 1e400",
                Method::POST,
                format!("/v1/files/{file_id}/download-url"),
                Auth::Alice,
                body(r#"{"ttl_seconds":1e400}"#),
                MALFORMED,
            ),
            row(
                "download ttl as text",
                Method::POST,
                format!("/v1/files/{file_id}/download-url"),
                Auth::Alice,
                body(r#"{"ttl_seconds":"60"}"#),
                OK,
            ),
            row(
                "download ttl as bad text",
                Method::POST,
                format!("/v1/files/{file_id}/download-url"),
                Auth::Alice,
                body(r#"{"ttl_seconds":"60\u0000"}"#),
                BAD_TYPE,
            ),
            row(
                "download disposition CRLF",
                Method::POST,
                format!("/v1/files/{file_id}/download-url"),
                Auth::Alice,
                body(r#"{"disposition":"inline\r\nX: y"}"#),
                BAD_TYPE,
            ),
            row(
                "download unknown field",
                Method::POST,
                format!("/v1/files/{file_id}/download-url"),
                Auth::Alice,
                body(r#"{"disposition":"inline","filename":"../x"}"#),
                (422, "unknown_field"),
            ),
            row(
                "download bad uuid",
                Method::POST,
                "/v1/files/%E2%80%AE/download-url",
                Auth::Alice,
                None,
                NOT_FOUND,
            ),
        ];

        // Admin filters, limits and cursors.
        let nil = uuid::Uuid::nil();
        for (what, query, expect) in [
            ("limit 0", "limit=0".to_owned(), INVALID),
            ("limit 201", "limit=201".to_owned(), INVALID),
            ("limit -1", "limit=-1".to_owned(), BAD_QUERY),
            (
                "limit 2^64",
                "limit=18446744073709551616".to_owned(),
                BAD_QUERY,
            ),
            (
                "limit 2^64-1",
                "limit=18446744073709551615".to_owned(),
                INVALID,
            ),
            ("limit 1e3", "limit=1e3".to_owned(), BAD_QUERY),
            ("NUL owner", "owner=%00".to_owned(), INVALID),
            ("NUL key", "key=a%00b".to_owned(), INVALID),
            ("NUL profile", "profile=%00".to_owned(), INVALID),
            ("long owner", format!("owner={}", "o".repeat(4000)), OK),
            ("bidi owner", "owner=%E2%80%AE".to_owned(), OK),
            ("bad state", "state=pending,%00".to_owned(), INVALID),
            ("bad method", "method=post".to_owned(), INVALID),
            ("bad failure", "failure=%00".to_owned(), INVALID),
            ("bad date", "created_after=yesterday".to_owned(), BAD_QUERY),
            (
                "year 0",
                "created_after=0000-01-01T00:00:00Z".to_owned(),
                OK,
            ),
            (
                "year 9999",
                "created_before=9999-12-31T23:59:59Z".to_owned(),
                OK,
            ),
            ("bad bool", "overdue=maybe".to_owned(), BAD_QUERY),
            ("unknown parameter", "colour=red".to_owned(), BAD_QUERY),
            ("cursor not base64", "cursor=!!!".to_owned(), INVALID),
            (
                "cursor no separator",
                format!("cursor={}", cursor("12345")),
                INVALID,
            ),
            (
                "cursor i64 max",
                format!("cursor={}", cursor(&format!("{}|{nil}", i64::MAX))),
                INVALID,
            ),
            (
                "cursor i64 min",
                format!("cursor={}", cursor(&format!("{}|{nil}", i64::MIN))),
                INVALID,
            ),
            (
                "cursor year -250000",
                format!("cursor={}", cursor(&format!("-8000000000000000000|{nil}"))),
                INVALID,
            ),
            (
                "cursor overflow",
                format!("cursor={}", cursor(&format!("99999999999999999999|{nil}"))),
                INVALID,
            ),
            (
                "cursor bad uuid",
                format!("cursor={}", cursor("0|../../etc")),
                INVALID,
            ),
            ("cursor NUL", format!("cursor={}", cursor("0\0|x")), INVALID),
        ] {
            rows.push(row(
                format!("admin list {what}"),
                Method::GET,
                format!("/v1/admin/uploads?{query}"),
                Auth::Admin,
                None,
                expect,
            ));
        }
        for (what, query, expect) in [
            ("days 0", "days=0", INVALID),
            ("days 367", "days=367", INVALID),
            ("days -1", "days=-1", BAD_QUERY),
            ("days 2^32", "days=4294967296", BAD_QUERY),
        ] {
            rows.push(row(
                format!("admin stats {what}"),
                Method::GET,
                format!("/v1/admin/stats?{query}"),
                Auth::Admin,
                None,
                expect,
            ));
        }
        rows.push(row(
            "admin get bad uuid",
            Method::GET,
            "/v1/admin/uploads/%00",
            Auth::Admin,
            None,
            NOT_FOUND,
        ));
        rows.push(row(
            "admin expire bad uuid",
            Method::POST,
            "/v1/admin/uploads/zz/expire",
            Auth::Admin,
            None,
            NOT_FOUND,
        ));

        // Uppy's routes: bodies.
        for (what, json_body, expect) in [
            (
                "NUL type",
                r#"{"filename":"a","type":"text/plain\u0000"}"#.to_owned(),
                INVALID,
            ),
            (
                "surrogate filename",
                r#"{"filename":"\ud800"}"#.to_owned(),
                MALFORMED,
            ),
            ("empty filename", r#"{"filename":""}"#.to_owned(), INVALID),
            (
                "filename 1025 chars",
                format!(r#"{{"filename":{}}}"#, json_str(&e.repeat(1025))),
                INVALID,
            ),
            (
                "type 256 bytes",
                format!(r#"{{"filename":"a","type":"text/{}"}}"#, "p".repeat(251)),
                INVALID,
            ),
            (
                "NUL metadata key",
                r#"{"filename":"a","metadata":{"\u0000":1}}"#.to_owned(),
                INVALID,
            ),
            (
                "NUL metadata value",
                r#"{"filename":"a","metadata":{"k":"\u0000"}}"#.to_owned(),
                INVALID,
            ),
            (
                "metadata key 65 chars",
                format!(r#"{{"filename":"a","metadata":{{"{}":1}}}}"#, e.repeat(65)),
                INVALID,
            ),
            (
                "size -1",
                r#"{"filename":"a","metadata":{"size":-1}}"#.to_owned(),
                INVALID,
            ),
            (
                "size 1.5",
                r#"{"filename":"a","metadata":{"size":1.5}}"#.to_owned(),
                INVALID,
            ),
            (
                "size 2^63",
                r#"{"filename":"a","metadata":{"size":9223372036854775808}}"#.to_owned(),
                INVALID,
            ),
            (
                "size 2^64",
                r#"{"filename":"a","metadata":{"size":18446744073709551616}}"#.to_owned(),
                INVALID,
            ),
            (
                "size 1e400",
                r#"{"filename":"a","metadata":{"size":1e400}}"#.to_owned(),
                MALFORMED,
            ),
            (
                "size text 2^64",
                r#"{"filename":"a","metadata":{"size":"18446744073709551616"}}"#.to_owned(),
                INVALID,
            ),
            (
                "size text huge",
                r#"{"filename":"a","metadata":{"size":"9999999999999"}}"#.to_owned(),
                (413, "too_large"),
            ),
            (
                "size true",
                r#"{"filename":"a","metadata":{"size":true}}"#.to_owned(),
                INVALID,
            ),
            (
                "filename a number",
                r#"{"filename":1}"#.to_owned(),
                BAD_TYPE,
            ),
            ("not an object", "[]".to_owned(), BAD_TYPE),
        ] {
            rows.push(row(
                format!("uppy create {what}"),
                Method::POST,
                "/s3/multipart",
                Auth::Alice,
                body(json_body),
                expect,
            ));
        }
        // Uppy's routes: queries.
        for (what, query, expect) in [
            (
                "no filename",
                "type=text%2Fplain".to_owned(),
                (422, "missing_field"),
            ),
            ("empty filename", "filename=".to_owned(), INVALID),
            (
                "filename 1025 chars",
                format!("filename={}", enc(&e.repeat(1025))),
                INVALID,
            ),
            (
                "NUL type",
                "filename=a&type=text%2Fplain%00".to_owned(),
                INVALID,
            ),
            (
                "NUL metadata key",
                "filename=a&metadata[k%00]=v".to_owned(),
                INVALID,
            ),
            (
                "NUL metadata value",
                "filename=a&metadata[k]=%00".to_owned(),
                INVALID,
            ),
            (
                "size -1",
                "filename=a&metadata[size]=-1".to_owned(),
                INVALID,
            ),
            (
                "size 2^64",
                "filename=a&metadata[size]=18446744073709551616".to_owned(),
                INVALID,
            ),
            (
                "size 1e3",
                "filename=a&metadata[size]=1e3".to_owned(),
                INVALID,
            ),
            ("bad percent escape", "filename=%ZZ".to_owned(), OK),
            ("invalid UTF-8", "filename=%FF%FE".to_owned(), OK),
        ] {
            rows.push(row(
                format!("uppy params {what}"),
                Method::GET,
                format!("/s3/params?{query}"),
                Auth::Alice,
                None,
                expect,
            ));
        }
        let u = &upload_id;
        for (what, path, expect) in [
            ("sign no key", format!("/s3/multipart/{u}/1"), BAD_QUERY),
            (
                "sign part 0",
                format!("/s3/multipart/{u}/0?key={key}"),
                (422, "invalid_part_number"),
            ),
            (
                "sign part -1",
                format!("/s3/multipart/{u}/-1?key={key}"),
                INVALID,
            ),
            (
                "sign part 2^32",
                format!("/s3/multipart/{u}/4294967296?key={key}"),
                INVALID,
            ),
            (
                "sign part 10001",
                format!("/s3/multipart/{u}/10001?key={key}"),
                (422, "invalid_part_number"),
            ),
            (
                "sign NUL key",
                format!("/s3/multipart/{u}/1?key=%00"),
                NOT_FOUND,
            ),
            (
                "sign traversal key",
                format!("/s3/multipart/{u}/1?key=..%2F..%2Fetc%2Fpasswd"),
                NOT_FOUND,
            ),
            (
                "sign huge key",
                format!("/s3/multipart/{u}/1?key={}", "k".repeat(6000)),
                NOT_FOUND,
            ),
            (
                "sign NUL upload id",
                format!("/s3/multipart/%00/1?key={key}"),
                NOT_FOUND,
            ),
            (
                "list NUL key",
                format!("/s3/multipart/{u}?key=%00"),
                NOT_FOUND,
            ),
            (
                "list bidi upload id",
                format!("/s3/multipart/%E2%80%AE?key={key}"),
                NOT_FOUND,
            ),
        ] {
            rows.push(row(
                format!("uppy {what}"),
                Method::GET,
                path,
                Auth::Alice,
                None,
                expect,
            ));
        }
        rows.push(row(
            "uppy abort NUL key",
            Method::DELETE,
            format!("/s3/multipart/{u}?key=%00"),
            Auth::Alice,
            None,
            NOT_FOUND,
        ));
        for (what, json_body, expect) in [
            (
                "NUL etag",
                r#"{"parts":[{"PartNumber":1,"ETag":"\u0000"}]}"#,
                (409, "not_uploaded"),
            ),
            (
                "part -1",
                r#"{"parts":[{"PartNumber":-1,"ETag":"x"}]}"#,
                BAD_TYPE,
            ),
            (
                "part 1e400",
                r#"{"parts":[{"PartNumber":1e400,"ETag":"x"}]}"#,
                MALFORMED,
            ),
            (
                "surrogate etag",
                r#"{"parts":[{"PartNumber":1,"ETag":"\ud800"}]}"#,
                MALFORMED,
            ),
            ("parts not a list", r#"{"parts":"1"}"#, BAD_TYPE),
        ] {
            rows.push(row(
                format!("uppy complete {what}"),
                Method::POST,
                format!("/s3/multipart/{u}/complete?key={key}"),
                Auth::Alice,
                body(json_body),
                expect,
            ));
        }
        rows.push(row(
            "uppy complete NUL key",
            Method::POST,
            format!("/s3/multipart/{u}/complete?key=%00"),
            Auth::Alice,
            body("{}"),
            NOT_FOUND,
        ));
        rows.push(row(
            "uppy params complete NUL key",
            Method::POST,
            "/s3/params/complete?key=%00",
            Auth::Alice,
            None,
            NOT_FOUND,
        ));
        rows.push(row(
            "uppy garbage bearer",
            Method::POST,
            "/s3/multipart",
            Auth::Raw(b"Bearer \xff".to_vec()),
            body(r#"{"filename":"a"}"#),
            UNAUTHORIZED,
        ));

        let mut wrong = Vec::new();
        for r in &rows {
            let (status, answer) = send(&app, r).await;
            let code = answer["code"].as_str().unwrap_or("");
            let expected_code = if r.code.is_empty() { "" } else { r.code };
            let got_code = if (200..300).contains(&status) {
                ""
            } else {
                code
            };
            if status >= 500 || (status, got_code) != (r.status, expected_code) {
                let shown: String = answer.to_string().chars().take(300).collect();
                wrong.push(format!(
                    "{}: expected {} {:?}, got {status} {got_code:?}: {shown}",
                    r.what, r.status, r.code
                ));
            }
            if status >= 400 {
                assert!(
                    !code.is_empty(),
                    "{}: an error without a code: {answer}",
                    r.what
                );
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} rows answered otherwise on {}:\n  {}",
            wrong.len(),
            rows.len(),
            app.leg.name(),
            wrong.join("\n  ")
        );
        // The sessions the corpus aimed at are untouched.
        assert_eq!(app.session(&alice, p).await["state"], "pending");
        assert_eq!(app.session(&alice, m).await["state"], "pending");
    }
);
