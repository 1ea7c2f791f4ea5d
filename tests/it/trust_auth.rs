//! Issue 15, item 11: upload tokens are checked as RFC 7519 and RFC 7515 say (`exp`,
//! `nbf`, `iat`, `aud`, `iss`, `alg`, `typ`), on the bearer header and in the session
//! cookie alike; and the CSRF rule of cookie requests trusts nothing a request chooses
//! about where it went (`Host`, `X-Forwarded-Host`, `Forwarded`), compares `Origin` with
//! the configured or derived origins exactly, and takes a route that creates a session
//! (`GET /s3/params`, `POST /s3/multipart`) as unsafe whatever its method.

use base64::Engine;
use hmac::Mac;
use sluice_tests::client_keys::{ADMIN_KEY, TOKEN_SECRET};

use crate::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWS of `claims` under `header`, signed with the test secret by the header's `alg`
/// (HS256, HS512; anything else unsigned).
fn jwt(header: Value, claims: Value) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = TOKEN_SECRET.as_bytes();
    let signature = match header["alg"].as_str() {
        Some("HS256") => {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("key");
            mac.update(message.as_bytes());
            b64(&mac.finalize().into_bytes())
        }
        Some("HS512") => {
            let mut mac = hmac::Hmac::<sha2::Sha512>::new_from_slice(key).expect("key");
            mac.update(message.as_bytes());
            b64(&mac.finalize().into_bytes())
        }
        _ => String::new(),
    };
    format!("{message}.{signature}")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn hs256(claims: Value) -> String {
    jwt(json!({"alg": "HS256", "typ": "JWT"}), claims)
}

/// A request with extra headers; status and JSON body.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.http.request(method, format!("{}{path}", app.api));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request reaches sluice");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// Asserts `token` is refused as a bearer token, as a browser session, and in a cookie.
async fn assert_refused(app: &TestApp, what: &str, token: &str) {
    let bearer = format!("Bearer {token}");
    let (status, body) = send(
        app,
        Method::GET,
        "/v1/quota",
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_problem!(status, &body, ErrorCode::Unauthorized, "{what}");
    let (status, body) = send(
        app,
        Method::POST,
        "/v1/session",
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} session: {body}");
    let cookie = format!("sluice_session={token}");
    let (status, body) = send(
        app,
        Method::GET,
        "/s3/params?filename=a.txt",
        &[("cookie", &cookie), ("sec-fetch-site", "same-origin")],
        None,
    )
    .await;
    assert_problem!(status, &body, ErrorCode::Unauthorized, "{what} cookie");
}

async fn assert_accepted(app: &TestApp, what: &str, token: &str) {
    let bearer = format!("Bearer {token}");
    let (status, body) = send(
        app,
        Method::GET,
        "/v1/quota",
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
}

e2e!(tokens_are_checked_as_the_standards_say, |app| {
    let t = now();
    let exp = t + 600;
    assert_accepted(&app, "minted", &app.token("tara")).await;
    assert_accepted(
        &app,
        "every time claim in range",
        &hs256(json!({"sub": "tara", "exp": exp, "nbf": t - 10, "iat": t - 10})),
    )
    .await;
    assert_accepted(
        &app,
        "no typ",
        &jwt(json!({"alg": "HS256"}), json!({"sub": "tara", "exp": exp})),
    )
    .await;
    let claims = json!({"sub": "tara", "exp": exp});
    let refused = [
        (
            "expired",
            hs256(json!({"sub": "tara", "exp": t - 120, "iat": t - 720})),
        ),
        ("no exp", hs256(json!({"sub": "tara"}))),
        (
            "not yet valid",
            hs256(json!({"sub": "tara", "exp": exp, "nbf": t + 3600})),
        ),
        (
            "issued in the future",
            hs256(json!({"sub": "tara", "exp": exp + 3600, "iat": t + 3600})),
        ),
        (
            "an audience Sluice is not",
            hs256(json!({"sub": "tara", "exp": exp, "aud": "another-service"})),
        ),
        (
            "alg none",
            jwt(json!({"alg": "none", "typ": "JWT"}), claims.clone()),
        ),
        (
            "alg HS512",
            jwt(json!({"alg": "HS512", "typ": "JWT"}), claims.clone()),
        ),
        (
            "typ not JWT",
            jwt(json!({"alg": "HS256", "typ": "at+jwt"}), claims.clone()),
        ),
        (
            "a critical extension",
            jwt(
                json!({"alg": "HS256", "crit": ["b64"], "b64": false}),
                claims,
            ),
        ),
    ];
    for (what, token) in &refused {
        assert_refused(&app, what, token).await;
    }
});

e2e!(
    configured_audience_and_issuer_are_required,
    with | b
        | b.env("SLUICE__AUTH__TOKEN_AUDIENCE", "sluice-uploads")
            .env("SLUICE__AUTH__TOKEN_ISSUER", "https://app.example"),
    |app| {
        let exp = now() + 600;
        let (aud, iss) = ("sluice-uploads", "https://app.example");
        assert_accepted(&app, "minted with both", &app.token("tara")).await;
        assert_accepted(
            &app,
            "one of several audiences",
            &hs256(json!({"sub": "tara", "exp": exp, "aud": ["other", aud], "iss": iss})),
        )
        .await;
        let refused = [
            ("no aud", json!({"sub": "tara", "exp": exp, "iss": iss})),
            ("no iss", json!({"sub": "tara", "exp": exp, "aud": aud})),
            (
                "wrong aud",
                json!({"sub": "tara", "exp": exp, "aud": "other", "iss": iss}),
            ),
            (
                "wrong iss",
                json!({"sub": "tara", "exp": exp, "aud": aud, "iss": "https://evil.example"}),
            ),
            ("neither", json!({"sub": "tara", "exp": exp})),
        ];
        for (what, claims) in refused {
            assert_refused(&app, what, &hs256(claims)).await;
        }
        // A token minted without them (another deployment's) is no login here.
        let plain = sluice_core::auth::mint_token(
            TOKEN_SECRET.as_bytes(),
            "tara",
            Duration::from_secs(600),
            None,
        )
        .expect("mint");
        assert_refused(&app, "minted without aud and iss", &plain).await;
    }
);

/// `POST /v1/session` for `token`; the `Cookie` header value to send back.
async fn browser_session(app: &TestApp, token: &str) -> String {
    let bearer = format!("Bearer {token}");
    let resp = app
        .http
        .post(format!("{}/v1/session", app.api))
        .header("authorization", bearer)
        .send()
        .await
        .expect("reaches sluice");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned()
}

/// How many sessions `owner` has, whatever their state.
async fn sessions_of(app: &TestApp, owner: &str) -> usize {
    let (status, page) = app
        .call(
            Method::GET,
            &format!("/v1/admin/uploads?owner={owner}&limit=100"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().expect("items").len()
}

const PARAMS: &str = "/s3/params?filename=a.txt&type=text%2Fplain";

fn create_body() -> Value {
    json!({"filename": "clip.bin", "type": "application/octet-stream"})
}

e2e!(
    cookie_requests_that_create_sessions_trust_no_header_a_request_chooses,
    |app| {
        let cookie = browser_session(&app, &app.token("uma")).await;
        let cookie = cookie.as_str();
        let evil = "http://evil.example";
        let port = app.api.rsplit(':').next().expect("port").to_owned();
        let evil_host = format!("evil.example:{port}");
        let evil_origin = format!("http://{evil_host}");
        let https_api = app.api.replace("http://", "https://");
        // None of these proves a page of Sluice's origin; each route creates a session.
        let refusals: Vec<(&str, Vec<(&str, &str)>)> = vec![
            (
                "no proof at all (GET is not safe here)",
                vec![("cookie", cookie)],
            ),
            (
                "cross-site",
                vec![("cookie", cookie), ("sec-fetch-site", "cross-site")],
            ),
            (
                "cross-site with its origin",
                vec![
                    ("cookie", cookie),
                    ("sec-fetch-site", "cross-site"),
                    ("origin", evil),
                ],
            ),
            ("another origin", vec![("cookie", cookie), ("origin", evil)]),
            (
                "same-site, no origin",
                vec![("cookie", cookie), ("sec-fetch-site", "same-site")],
            ),
            (
                "a forged Host matching the Origin",
                vec![
                    ("cookie", cookie),
                    ("host", &evil_host),
                    ("origin", &evil_origin),
                ],
            ),
            (
                "a forged X-Forwarded-Host matching the Origin",
                vec![
                    ("cookie", cookie),
                    ("x-forwarded-host", &evil_host),
                    ("origin", &evil_origin),
                ],
            ),
            (
                "a forged Forwarded host matching the Origin",
                vec![
                    ("cookie", cookie),
                    ("forwarded", "host=evil.example;proto=http"),
                    ("origin", evil),
                ],
            ),
            (
                "the right host in another scheme",
                vec![("cookie", cookie), ("origin", &https_api)],
            ),
            (
                "an opaque origin",
                vec![("cookie", cookie), ("origin", "null")],
            ),
        ];
        for (what, headers) in &refusals {
            for (method, path, body) in [
                (Method::GET, PARAMS, None),
                (Method::POST, "/s3/multipart", Some(create_body())),
            ] {
                let (status, problem) = send(&app, method.clone(), path, headers, body).await;
                assert_problem!(
                    status,
                    &problem,
                    ErrorCode::CrossSiteRefused,
                    "{what}, {method} {path}"
                );
            }
        }
        assert_eq!(
            sessions_of(&app, "uma").await,
            0,
            "a refusal creates nothing"
        );

        // What Chromium sends from a page of Sluice's origin: a same-origin GET fetch
        // carries no Origin; a POST carries it (Fetch Metadata or not).
        let (status, body) = send(
            &app,
            Method::GET,
            PARAMS,
            &[("cookie", cookie), ("sec-fetch-site", "same-origin")],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let localhost = format!("http://localhost:{port}");
        let mut started = Value::Null;
        for origin in [app.api.as_str(), localhost.as_str()] {
            for headers in [
                vec![
                    ("cookie", cookie),
                    ("sec-fetch-site", "same-origin"),
                    ("origin", origin),
                ],
                vec![("cookie", cookie), ("origin", origin)],
            ] {
                let (status, body) = send(
                    &app,
                    Method::POST,
                    "/s3/multipart",
                    &headers,
                    Some(create_body()),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{headers:?}: {body}");
                started = body;
            }
        }
        assert_eq!(sessions_of(&app, "uma").await, 5);
        // A route that only reads still serves an older browser that sends neither.
        let key = started["key"].as_str().expect("key");
        let upload_id = started["uploadId"].as_str().expect("uploadId");
        let path = format!(
            "/s3/multipart/{}/1?key={}",
            upload_id.replace('/', "%2F"),
            key.replace('/', "%2F")
        );
        let (status, body) = send(&app, Method::GET, &path, &[("cookie", cookie)], None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Its abort, which changes the session, does not.
        let abort = format!(
            "/s3/multipart/{}?key={}",
            upload_id.replace('/', "%2F"),
            key.replace('/', "%2F")
        );
        let (status, body) = send(&app, Method::DELETE, &abort, &[("cookie", cookie)], None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let id = key.rsplit('/').next().expect("id");
        assert_eq!(app.session(&app.token("uma"), id).await["state"], "pending");
    }
);

e2e!(
    configured_public_origins_replace_the_derived_ones,
    with | b
        | b.env(
            "SLUICE__SERVER__PUBLIC_ORIGINS",
            "[\"https://uploads.example\"]"
        ),
    |app| {
        let cookie = browser_session(&app, &app.token("vic")).await;
        for (origin, expected) in [
            ("https://uploads.example", StatusCode::OK),
            ("https://UPLOADS.example:443", StatusCode::OK),
            ("http://uploads.example", StatusCode::FORBIDDEN),
            ("https://uploads.example:8443", StatusCode::FORBIDDEN),
            (app.api.as_str(), StatusCode::FORBIDDEN),
        ] {
            let (status, body) = send(
                &app,
                Method::POST,
                "/s3/multipart",
                &[("cookie", &cookie), ("origin", origin)],
                Some(create_body()),
            )
            .await;
            assert_eq!(status, expected, "{origin}: {body}");
        }
        assert_eq!(sessions_of(&app, "vic").await, 2);
    }
);
