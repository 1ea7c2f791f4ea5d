//! Issue 15, item 8: what is public costs nothing. `/readyz` probes the store (a billed
//! request) at most once per `ops.probe_cache`, however many calls arrive, one after
//! another or at once; `/metrics` can be closed with `ops.metrics_token` and reads its
//! database gauges at most once per window; reading a pending multipart session lists its
//! parts at the store only when asked (`?parts=true`).

use super::*;
use sluice_tests::client_keys::{ADMIN_KEY, SERVICE_KEY};
use sluice_tests::patterned;

const METRICS_TOKEN: &str = "metrics-token-0123456789";
const MIB: usize = 1024 * 1024;

/// Calls of `operation` to the default store so far, whatever their outcome.
fn store_calls(app: &TestApp, operation: &str) -> u64 {
    [
        "ok",
        "not_found",
        "no_such_bucket",
        "precondition_failed",
        "access_denied",
        "throttled",
        "unreachable",
        "server_error",
        "no_such_upload",
        "invalid_part",
        "not_implemented",
        "refused",
        "client_error",
        "unconfigured",
    ]
    .iter()
    .map(|outcome| {
        app.running
            .core
            .metrics
            .store_ops
            .with_label_values(&["default", operation, outcome])
            .get()
    })
    .sum()
}

e2e!(
    readyz_probes_the_store_once_per_window,
    with | b | b.env("SLUICE__OPS__PROBE_CACHE", "1m"),
    |app| {
        let before = store_calls(&app, "probe");
        for _ in 0..50 {
            let (status, body) = app.call(Method::GET, "/readyz", None, None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["storage"], "ok");
        }
        assert_eq!(
            store_calls(&app, "probe") - before,
            1,
            "50 calls, one probe"
        );

        // A new window: 20 calls at once still cost one probe.
        app.advance(Duration::from_secs(61));
        let calls = (0..20).map(|_| app.call(Method::GET, "/readyz", None, None));
        for (status, body) in futures::future::join_all(calls).await {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        assert_eq!(
            store_calls(&app, "probe") - before,
            2,
            "20 calls at once, one probe"
        );
    }
);

async fn scrape(app: &TestApp, bearer: Option<&str>) -> (StatusCode, String) {
    let mut req = app.http.get(format!("{}/metrics", app.api));
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("scrape");
    let status = resp.status();
    (status, resp.text().await.expect("body"))
}

fn pending_gauge(text: &str) -> String {
    text.lines()
        .find(|l| l.starts_with("sluice_sessions{state=\"pending\"}"))
        .unwrap_or("none")
        .to_owned()
}

e2e!(
    metrics_can_be_closed_and_read_the_database_once_per_window,
    with | b
        | b.env("SLUICE__OPS__METRICS_TOKEN", METRICS_TOKEN)
            .env("SLUICE__OPS__PROBE_CACHE", "1m"),
    |app| {
        let alice = app.token("alice");
        for (bearer, want, code) in [
            (
                None,
                StatusCode::UNAUTHORIZED,
                Some(ErrorCode::Unauthorized),
            ),
            (
                Some("wrong-token-0123456789"),
                StatusCode::UNAUTHORIZED,
                Some(ErrorCode::Unauthorized),
            ),
            (
                Some(alice.as_str()),
                StatusCode::FORBIDDEN,
                Some(ErrorCode::Forbidden),
            ),
            (
                Some(SERVICE_KEY),
                StatusCode::FORBIDDEN,
                Some(ErrorCode::Forbidden),
            ),
            (Some(METRICS_TOKEN), StatusCode::OK, None),
            (Some(ADMIN_KEY), StatusCode::OK, None),
        ] {
            let (status, text) = scrape(&app, bearer).await;
            assert_eq!(status, want, "{bearer:?}: {text}");
            if let Some(code) = code {
                let problem: Value = serde_json::from_str(&text).expect("a problem");
                assert_problem!(status, &problem, code, "{bearer:?}");
            } else {
                assert!(text.contains("sluice_http_requests_total"), "{text}");
            }
        }

        // The database gauges: read once per window, however often scraped.
        let (_, first) = scrape(&app, Some(METRICS_TOKEN)).await;
        app.create_text(&alice, 3).await;
        for _ in 0..5 {
            let (_, again) = scrape(&app, Some(METRICS_TOKEN)).await;
            assert_eq!(pending_gauge(&again), pending_gauge(&first));
        }
        app.advance(Duration::from_secs(61));
        let (_, fresh) = scrape(&app, Some(METRICS_TOKEN)).await;
        assert_eq!(
            pending_gauge(&fresh),
            "sluice_sessions{state=\"pending\"} 1"
        );
    }
);

e2e!(metrics_stay_open_by_default, |app| {
    let (status, text) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
});

e2e!(
    reading_a_pending_multipart_session_lists_parts_only_when_asked,
    |app| {
        let alice = app.token("alice");
        let body = patterned(6 * MIB, 3);
        let (status, created) = app
            .call(
                Method::POST,
                "/v1/uploads",
                Some(&alice),
                Some(json!({"profile": "parts", "filename": "big.bin", "size": body.len()})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["method"], "multipart");
        let id = created["id"].as_str().expect("id").to_owned();
        app.upload_parts(&alice, &id, &body, 5 * MIB, &[1]).await;

        let before = store_calls(&app, "list_parts");
        for path in [
            format!("/v1/uploads/{id}"),
            format!("/v1/uploads/{id}?parts=false"),
        ] {
            for _ in 0..5 {
                let (status, session) = app.call(Method::GET, &path, Some(&alice), None).await;
                assert_eq!(status, StatusCode::OK, "{session}");
                assert_eq!(session["state"], "pending");
                assert!(session.get("uploaded_parts").is_none(), "{session}");
            }
        }
        assert_eq!(
            store_calls(&app, "list_parts"),
            before,
            "polling costs no ListParts"
        );

        let (status, session) = app
            .call(
                Method::GET,
                &format!("/v1/uploads/{id}?parts=true"),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        assert_eq!(session["uploaded_parts"][0]["part_number"], 1, "{session}");
        assert_eq!(session["uploaded_parts"][0]["size"], 5 * MIB);
        assert_eq!(store_calls(&app, "list_parts"), before + 1);

        let (status, problem) = app
            .call(
                Method::GET,
                &format!("/v1/uploads/{id}?parts=maybe"),
                Some(&alice),
                None,
            )
            .await;
        assert_problem!(status, &problem, ErrorCode::InvalidQuery);
    }
);
