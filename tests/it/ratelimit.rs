//! Rate limits through the real HTTP API: a per-owner limit on create refuses with
//! `429 rate_limited` and `Retry-After`, spares other owners, and lets the owner through
//! once the wait is over; per-IP buckets follow `X-Forwarded-For` behind a trusted proxy
//! only; part signing (v1 and Uppy) and downloads are limited too; a profile's own limit
//! replaces the global one. On Redis: two API processes share one budget, and a Redis
//! that stops answering lets requests through (fail open) and counts them.
//!
//! Real time with limits of a few per second, because the limiter's clock is Redis's (or
//! a monotonic one), never the app's shifted clock.

use reqwest::header::HeaderMap;
use sluice_tests::{Leg, SluiceProcess, StoreProxy, environment, free_port};

use crate::*;

/// Any request with extra headers; returns status, headers and the JSON body.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    request(&app.http, &app.api, method, path, token, headers, body).await
}

async fn request(
    http: &reqwest::Client,
    api: &str,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = http
        .request(method, format!("{api}{path}"))
        .bearer_auth(token);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request reaches sluice");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, json)
}

fn text_file() -> Value {
    json!({"filename": "notes.txt", "size": 5, "content_type": "text/plain"})
}

async fn create(
    app: &TestApp,
    token: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    send(
        app,
        Method::POST,
        "/v1/uploads",
        token,
        headers,
        Some(text_file()),
    )
    .await
}

/// Asserts a `429 rate_limited` problem with a `Retry-After` of at least 1; returns it.
fn assert_limited(status: StatusCode, headers: &HeaderMap, body: &Value) -> u64 {
    assert_problem!(status, &body, ErrorCode::RateLimited);
    let retry_after: u64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a whole-second Retry-After");
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    retry_after
}

fn problem_json(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/problem+json"))
}

e2e!(
    a_per_owner_limit_on_create_refuses_then_recovers,
    with | b | b.env("SLUICE__RATE_LIMITS__CREATE__PER_OWNER__RATE", "2/1s"),
    |app| {
        let alice = app.token("alice");
        for _ in 0..2 {
            let (status, _, body) = create(&app, &alice, &[]).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let (status, headers, body) = create(&app, &alice, &[]).await;
        let retry_after = assert_limited(status, &headers, &body);
        assert!(problem_json(&headers));
        assert_eq!(body["status"], 429);
        assert!(
            body["detail"].as_str().expect("detail").contains("owner"),
            "{body}"
        );

        // Another owner has a bucket of their own.
        let (status, _, body) = create(&app, &app.token("bob"), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        // Refused requests are counted; `/metrics` shows them.
        let metrics = app
            .http
            .get(format!("{}/metrics", app.api))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("text");
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("sluice_rate_limited_total{")
                    && l.contains("route_class=\"create\"")
                    && l.contains("dimension=\"owner\"")
                    && l.ends_with(" 1")),
            "{metrics}"
        );

        // The wait it names is enough.
        tokio::time::sleep(Duration::from_secs(retry_after)).await;
        let (status, _, body) = create(&app, &alice, &[]).await;
        assert_eq!(status, StatusCode::CREATED, "after Retry-After: {body}");
    }
);

e2e!(
    behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket,
    with | b
        | b.env("SLUICE__RATE_LIMITS__CREATE__PER_IP__RATE", "2/1m")
            .env("SLUICE__RATE_LIMITS__TRUSTED_PROXIES", "[\"127.0.0.1/32\"]"),
    |app| {
        let from = |ip: &'static str| [("X-Forwarded-For", ip)];
        // Different owners, so only the address is what they share.
        for owner in ["a1", "a2"] {
            let (status, _, body) = create(&app, &app.token(owner), &from("203.0.113.1")).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let (status, headers, body) = create(&app, &app.token("a3"), &from("203.0.113.1")).await;
        assert_limited(status, &headers, &body);
        assert!(
            body["detail"].as_str().expect("detail").contains("ip"),
            "{body}"
        );

        // Another client behind the same proxy is not affected.
        let (status, _, body) = create(&app, &app.token("b1"), &from("203.0.113.2")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // What the proxy appended counts, not what the client wrote before it.
        let chain = [("X-Forwarded-For", "203.0.113.9, 203.0.113.1")];
        let (status, headers, body) = create(&app, &app.token("b2"), &chain).await;
        assert_limited(status, &headers, &body);
    }
);

e2e!(
    without_a_trusted_proxy_a_forged_forwarded_for_does_not_escape,
    with | b | b.env("SLUICE__RATE_LIMITS__CREATE__PER_IP__RATE", "2/1m"),
    |app| {
        for (owner, forged) in [("c1", "198.51.100.1"), ("c2", "198.51.100.2")] {
            let headers = [
                ("X-Forwarded-For", forged),
                ("Forwarded", "for=198.51.100.3"),
            ];
            let (status, _, body) = create(&app, &app.token(owner), &headers).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        // Every request came from the same peer, whatever it claims.
        let headers = [("X-Forwarded-For", "198.51.100.77")];
        let (status, headers, body) = create(&app, &app.token("c3"), &headers).await;
        assert_limited(status, &headers, &body);
    }
);

e2e!(
    part_signing_is_limited_on_v1_and_uppy_alike,
    with | b | b.env("SLUICE__RATE_LIMITS__SIGN_PART__PER_OWNER__RATE", "2/1m"),
    |app| {
        let token = app.token("signer");
        let created = app
            .create(
                &token,
                json!({"profile": "parts", "filename": "big.bin", "size": 6 * 1024 * 1024, "content_type": "application/octet-stream"}),
            )
            .await;
        let parts = format!("/v1/uploads/{}/parts", created.id);
        let numbers = Some(json!({"part_numbers": [1, 2]}));
        let (status, _, body) =
            send(&app, Method::POST, &parts, &token, &[], numbers.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // Uppy's sign-part route spends the same owner's budget.
        let (status, _, started) = send(
            &app,
            Method::POST,
            "/s3/multipart",
            &token,
            &[],
            Some(json!({"filename": "movie.bin", "type": "application/octet-stream"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let key: String = started["key"]
            .as_str()
            .expect("key")
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let upload_id = started["uploadId"].as_str().expect("uploadId");
        let sign = format!("/s3/multipart/{upload_id}/1?key={key}");
        let (status, _, body) = send(&app, Method::GET, &sign, &token, &[], None).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // Third signing: refused on both routes, each in its own error shape.
        let (status, headers, body) = send(&app, Method::GET, &sign, &token, &[], None).await;
        assert_limited(status, &headers, &body);
        assert!(body["message"].is_string(), "Companion's shape: {body}");
        assert!(!problem_json(&headers));
        let (status, headers, body) = send(&app, Method::POST, &parts, &token, &[], numbers).await;
        assert_limited(status, &headers, &body);
        assert!(problem_json(&headers));
    }
);

e2e!(
    downloads_are_limited_the_link_and_the_redirect_together,
    with | b | b.env("SLUICE__RATE_LIMITS__DOWNLOAD__PER_OWNER__RATE", "2/1m"),
    |app| {
        let token = app.token("reader");
        let created = app
            .upload_verified(&token, "default", "a.txt", b"hello")
            .await;
        let (status, file) = app.commit(&token, &created.id).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        let id = file["id"].as_str().expect("file id");
        let link = format!("/v1/files/{id}/download-url");
        let redirect = format!("/v1/files/{id}/download");
        let (status, _, body) = send(&app, Method::POST, &link, &token, &[], None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, headers, _) = send(&app, Method::GET, &redirect, &token, &[], None).await;
        assert_eq!(status, StatusCode::FOUND);
        assert!(headers.contains_key("location"));
        let (status, headers, body) = send(&app, Method::GET, &redirect, &token, &[], None).await;
        assert_limited(status, &headers, &body);
        assert!(!headers.contains_key("location"));
        let (status, headers, body) = send(&app, Method::POST, &link, &token, &[], None).await;
        assert_limited(status, &headers, &body);
    }
);

e2e!(
    a_profile_limit_replaces_the_global_one_for_that_profile,
    with | b
        | b.env("SLUICE__RATE_LIMITS__CREATE__PER_OWNER__RATE", "3/1m")
            .env(
                "SLUICE__PROFILES__REUSABLE__RATE_LIMITS__CREATE__PER_OWNER__RATE",
                "1/1m"
            ),
    |app| {
        let token = app.token("dora");
        let in_profile = |profile: &str| json!({"profile": profile, "filename": "n.txt", "size": 5, "content_type": "text/plain"});
        let (status, _, body) = send(
            &app,
            Method::POST,
            "/v1/uploads",
            &token,
            &[],
            Some(in_profile("reusable")),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, headers, body) = send(
            &app,
            Method::POST,
            "/v1/uploads",
            &token,
            &[],
            Some(in_profile("reusable")),
        )
        .await;
        assert_limited(status, &headers, &body);
        // The global budget is the default profile's, untouched by the other profile.
        for _ in 0..3 {
            let (status, _, body) = create(&app, &token, &[]).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let (status, headers, body) = create(&app, &token, &[]).await;
        assert_limited(status, &headers, &body);
    }
);

/// The `sluice` binary beside this test's executable (`target/debug/sluice`).
fn sluice_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("sluice"))
        .expect("target directory");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p sluice` first",
        binary.display()
    );
    binary
}

/// Two API processes (`sluice serve --no-workers`) on one PostgreSQL and one Redis
/// namespace spend one owner's budget together.
#[tokio::test]
async fn two_api_processes_share_one_budget_through_redis() {
    let Some(leg) = Leg::production() else {
        eprintln!("shared limits need PostgreSQL + Redis + S3; skipped on the embedded stack");
        return;
    };
    let dir = std::env::temp_dir().join(format!("sluice-rl-{}", uuid::Uuid::new_v4()));
    let env = environment(
        &leg,
        &dir,
        &[("SLUICE__RATE_LIMITS__CREATE__PER_OWNER__RATE", "3/1m")],
    )
    .await;
    let binary = sluice_binary();
    let mut apis = Vec::new();
    let mut processes = Vec::new();
    for n in 0..2 {
        let port = free_port();
        let mut env = env.clone();
        env.retain(|(k, _)| k != "SLUICE__SERVER__BIND");
        env.push(("SLUICE__SERVER__BIND".into(), format!("127.0.0.1:{port}")));
        let api = format!("http://127.0.0.1:{port}");
        let mut process = SluiceProcess::spawn(
            &binary,
            &["serve", "--no-workers"],
            &env,
            &dir,
            &format!("api{n}"),
        );
        process.wait_ready(&api).await;
        apis.push(api);
        processes.push(process);
    }
    let http = reqwest::Client::new();
    let token = sluice_core::auth::mint_token(
        sluice_tests::client_keys::TOKEN_SECRET.as_bytes(),
        "shared",
        Duration::from_secs(600),
        None,
    )
    .expect("mint");
    let create_on = |api: &str| {
        let api = api.to_owned();
        let (http, token) = (http.clone(), token.clone());
        async move {
            request(
                &http,
                &api,
                Method::POST,
                "/v1/uploads",
                &token,
                &[],
                Some(text_file()),
            )
            .await
        }
    };
    // Two on the first process, one on the second: the budget of three is spent.
    for api in [&apis[0], &apis[0], &apis[1]] {
        let (status, _, body) = create_on(api).await;
        assert_eq!(status, StatusCode::CREATED, "{api}: {body}");
    }
    // The second process refuses, although it saw one request only; so does the first.
    for api in [&apis[1], &apis[0]] {
        let (status, headers, body) = create_on(api).await;
        assert_limited(status, &headers, &body);
    }
    for process in &mut processes {
        assert!(process.is_running(), "{}", process.log_tail());
    }
    drop(processes);
    if let Some((_, url)) = env.iter().find(|(k, _)| k == "SLUICE__DATABASE__URL")
        && let Leg::Production(p) = &leg
    {
        sluice_tests::drop_test_database(&p.database_url, url).await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Redis stops answering: requests pass (fail open), each counted, never a 500; once it
/// is back, the limit holds again.
#[actix_rt::test]
async fn an_unreachable_redis_fails_open_and_is_counted() {
    let Some(leg) = Leg::production() else {
        return;
    };
    let Leg::Production(p) = &leg else { return };
    let authority = p
        .redis_url
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('/');
    let proxy = StoreProxy::in_front_of(authority).await;
    let redis_url = proxy.endpoint().replace("http://", "redis://");
    let app = TestApp::build(leg.clone())
        .env("SLUICE__QUEUE__REDIS_URL", &redis_url)
        .env("SLUICE__RATE_LIMITS__CREATE__PER_OWNER__RATE", "1/1m")
        .start()
        .await;
    let token = app.token("outage");
    let (status, _, body) = create(&app, &token, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, headers, body) = create(&app, &token, &[]).await;
    assert_limited(status, &headers, &body);

    proxy.cut();
    // Let the aborted connections close before the next request.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let unavailable = || app.running.core.metrics.rate_limit_unavailable.get();
    for _ in 0..3 {
        let (status, _, body) = create(&app, &token, &[]).await;
        assert_eq!(status, StatusCode::CREATED, "fail open: {body}");
    }
    assert_eq!(unavailable(), 3);

    proxy.restore();
    // After the pause the limiter asks Redis again, which still holds the spent bucket.
    let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (status, headers, body) = create(&app, &token, &[]).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_limited(status, &headers, &body);
            break;
        }
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(
            tokio::time::Instant::now() < give_up,
            "the limit never came back"
        );
    }
    app.stop().await;
}
