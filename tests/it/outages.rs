//! The store going away: at start-up Sluice refuses to run with a clear error; during a
//! completion it answers 202 `verifying`, and the verification job, retried on its
//! schedule, finishes it once the store is back, or the session expires at its own
//! verification deadline, never at the upload TTL.

use std::net::SocketAddr;

use super::*;
use sluice_embedded_store::{EmbeddedStore, EmbeddedStoreConfig};
use sluice_tests::Leg;

const KEY_ID: &str = "outagetestkey";
const SECRET: &str = "outage-test-secret-0123456789";

fn temp_dir(what: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("sluice-{what}-{}", uuid::Uuid::new_v4()))
}

async fn store_at(root: &std::path::Path, bind: SocketAddr, bucket: &str) -> EmbeddedStore {
    EmbeddedStore::start(EmbeddedStoreConfig {
        root: root.to_owned(),
        bind,
        access_key_id: KEY_ID.into(),
        secret_access_key: SECRET.into(),
        bucket: bucket.into(),
    })
    .await
    .expect("store starts")
}

fn external_store(endpoint: &str, bucket: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SLUICE__STORAGE__ENDPOINT", endpoint.to_owned()),
        ("SLUICE__STORAGE__BUCKET", bucket.to_owned()),
        ("SLUICE__STORAGE__ACCESS_KEY_ID", KEY_ID.to_owned()),
        ("SLUICE__STORAGE__SECRET_ACCESS_KEY", SECRET.to_owned()),
        ("SLUICE__STORAGE__FORCE_PATH_STYLE", "true".to_owned()),
    ]
}

async fn settings_for(
    dir: &std::path::Path,
    extra: &[(&'static str, String)],
) -> sluice_core::config::Settings {
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::settings_with(&Leg::Embedded, dir, &extra).await
}

#[actix_rt::test]
async fn start_with_an_unreachable_store_fails_clearly() {
    let dir = temp_dir("unreachable");
    let settings = settings_for(&dir, &external_store("http://127.0.0.1:1", "sluice")).await;
    let err = sluice::start(settings, sluice::Role::All)
        .await
        .err()
        .expect("start must fail");
    let text = format!("{err:#}");
    assert!(
        text.contains("http://127.0.0.1:1") && text.contains("unreachable"),
        "{text}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[actix_rt::test]
async fn start_with_a_missing_bucket_fails_clearly() {
    let dir = temp_dir("nobucket");
    let store = store_at(
        &temp_dir("nobucket-store"),
        "127.0.0.1:0".parse().expect("addr"),
        "present",
    )
    .await;
    let settings = settings_for(&dir, &external_store(&store.endpoint(), "absent")).await;
    let err = sluice::start(settings, sluice::Role::All)
        .await
        .err()
        .expect("start must fail");
    let text = format!("{err:#}");
    assert!(text.contains("bucket `absent` does not exist"), "{text}");
    store.shutdown().await;
    std::fs::remove_dir_all(dir).ok();
}

const HOUR: Duration = Duration::from_secs(3600);

e2e!(
    complete_while_the_store_is_away_is_verified_once_it_is_back,
    with | b | b.behind_proxy(),
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());

        app.proxy().cut();
        let (status, session) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{session}");
        assert_eq!(session["state"], "verifying");
        let (status, ready) = app.call(Method::GET, "/readyz", None, None).await;
        assert_eq!(
            (status, ready["storage"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
        );
        // Hours of outage: far past the upload TTL (1h), the verification is retried
        // and the session stays `verifying`: a good upload is not given up.
        for _ in 0..6 {
            app.advance_and_drain(HOUR).await;
        }
        assert_eq!(app.session(&alice, &created.id).await["state"], "verifying");

        // The store comes back; the next retry verifies.
        app.proxy().restore();
        app.advance_and_drain(HOUR).await;
        let session = app.session(&alice, &created.id).await;
        assert_eq!(session["state"], "uploaded", "{session}");
        assert_eq!(session["size"], 3);
        assert!(
            app.object_exists(&created.key).await,
            "a good upload is kept"
        );
        let (status, again) = app.complete(&alice, &created.id).await;
        assert_eq!(
            (status, again["state"].as_str()),
            (StatusCode::OK, Some("uploaded"))
        );
    }
);

e2e!(
    verifying_expires_only_at_its_own_deadline_with_a_reason,
    with | b | b.behind_proxy(),
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        app.proxy().cut();
        let (status, _) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        // The default verification deadline is 24h after the completion.
        app.advance_and_drain(23 * HOUR).await;
        assert_eq!(app.session(&alice, &created.id).await["state"], "verifying");
        app.advance_and_drain(HOUR + Duration::from_secs(1)).await;
        assert_eq!(app.session(&alice, &created.id).await["state"], "expired");

        let events = app.audit_trail(&created.id).await;
        let last = events.last().expect("events");
        assert_eq!(last["to_state"], "expired");
        assert!(
            last["detail"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("could not be verified")),
            "{last}"
        );
        // Once the store is back the expired session's object is cleaned.
        app.proxy().restore();
        app.advance_and_drain(HOUR).await;
        assert!(!app.object_exists(&created.key).await);
    }
);

/// PostgreSQL away (a restart, a failover): every request answers 503
/// `database_unavailable` with `Retry-After`, never a 500, and the same requests pass once
/// it is back, on fresh connections (the pool's broken ones are not handed out again).
#[actix_rt::test]
async fn the_database_away_answers_503_database_unavailable_and_passes_once_back() {
    let Some(leg) = Leg::production() else {
        return;
    };
    let app = TestApp::build(leg).database_behind_proxy().start().await;
    let alice = app.token("alice");
    let created = app.create_text(&alice, 3).await;

    app.database_proxy().cut();
    let create =
        json!({"profile": "default", "filename": "a.txt", "size": 3, "content_type": "text/plain"});
    for (method, path, body) in [
        (Method::POST, "/v1/uploads".to_owned(), Some(create.clone())),
        (Method::GET, format!("/v1/uploads/{}", created.id), None),
        (
            Method::POST,
            format!("/v1/uploads/{}/complete", created.id),
            None,
        ),
        (Method::GET, "/v1/quota".to_owned(), None),
    ] {
        let mut req = app
            .http
            .request(method.clone(), format!("{}{path}", app.api))
            .bearer_auth(&alice);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request reaches sluice");
        let status = resp.status();
        let retry_after = resp.headers().get("retry-after").cloned();
        let problem: Value = resp.json().await.expect("problem+json");
        assert_problem!(
            status,
            &problem,
            ErrorCode::DatabaseUnavailable,
            "{method} {path}"
        );
        assert_eq!(retry_after.as_ref().map(|v| v.as_bytes()), Some(&b"1"[..]));
        assert!(
            !problem["detail"]
                .as_str()
                .unwrap_or("")
                .contains("127.0.0.1"),
            "no connection detail leaks: {problem}"
        );
    }

    app.database_proxy().restore();
    let (status, body) = app
        .call(Method::POST, "/v1/uploads", Some(&alice), Some(create))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(app.session(&alice, &created.id).await["state"], "pending");
    app.stop().await;
}
