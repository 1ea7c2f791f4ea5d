//! Per-profile stores through the HTTP API: a profile names its store (`[stores.NAME]`),
//! every call about a session goes to the store the session recorded, and a store that
//! is away delays only its own profiles' uploads.
//!
//! Two stores side by side: on the embedded leg the embedded store and the production
//! leg's S3 server (Ceph) when it is configured (another embedded store otherwise); on
//! the production leg Ceph and an embedded store. Two buckets of one S3 server under
//! different users: production leg only. The second store is always behind a proxy, so
//! a test can take it away.

use sluice_tests::{Leg, ProductionServices, SecondStore, patterned, second_credentials};

use super::*;

const MIB: usize = 1024 * 1024;
const HOUR: Duration = Duration::from_secs(3600);

/// Profile `elsewhere` uploads to store `second`; above 1 MiB it cuts 5 MiB parts.
/// Profile `movable` uploads to the default store (until a test moves it).
fn with_second(b: sluice_tests::Spawn, second: &SecondStore) -> sluice_tests::Spawn {
    let b = second.env("second").iter().fold(b, |b, (k, v)| b.env(k, v));
    b.env("SLUICE__PROFILES__ELSEWHERE__STORE", "second")
        .env("SLUICE__PROFILES__ELSEWHERE__MULTIPART_THRESHOLD", "1MiB")
        .env("SLUICE__PROFILES__ELSEWHERE__PART_SIZE", "5MiB")
        .env("SLUICE__PROFILES__MOVABLE__KEY_PREFIX", "movable")
}

fn production_services() -> Option<ProductionServices> {
    match Leg::production() {
        Some(Leg::Production(p)) => Some(p),
        _ => None,
    }
}

/// The store to put beside `leg`'s own: the other kind where there is one.
async fn beside(leg: &Leg) -> SecondStore {
    match leg {
        Leg::Embedded => match production_services() {
            Some(p) => SecondStore::on(&p, &p.s3_access_key_id, &p.s3_secret_access_key).await,
            None => {
                eprintln!("no S3 server configured: the second store is another embedded one");
                SecondStore::embedded().await
            }
        },
        Leg::Production(_) => SecondStore::embedded().await,
    }
}

async fn file_id(app: &TestApp, token: &str, created: &sluice_tests::Created) -> String {
    let (status, file) = app.commit(token, &created.id).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    file["id"].as_str().expect("id").to_owned()
}

async fn download(app: &TestApp, token: &str, file: &str) -> (String, Vec<u8>) {
    let (status, link) = app
        .call(
            Method::POST,
            &format!("/v1/files/{file}/download-url"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let url = link["url"].as_str().expect("url").to_owned();
    let resp = app.http.get(&url).send().await.expect("download");
    assert_eq!(resp.status(), StatusCode::OK, "GET {url}");
    (url, resp.bytes().await.expect("body").to_vec())
}

async fn side_by_side(leg: Leg) {
    let second = beside(&leg).await;
    let app = with_second(TestApp::build(leg), &second).start().await;
    let alice = app.token("alice");

    // A profile's uploads land in its store, and only there; its URLs address that store.
    let there = app
        .upload_verified(&alice, "elsewhere", "there.txt", b"there")
        .await;
    assert!(
        there.url.starts_with(&second.proxy.endpoint()),
        "{}",
        there.url
    );
    assert!(second.holds(&there.key).await, "in the second store");
    let (status, detail) = app
        .call(
            Method::GET,
            &format!("/v1/admin/uploads/{}", there.id),
            Some(sluice_tests::client_keys::ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(
        (status, detail["store"].as_str()),
        (StatusCode::OK, Some("second")),
        "{detail}"
    );
    assert!(
        !app.object_exists(&there.key).await,
        "not in the default one"
    );
    let there_file = file_id(&app, &alice, &there).await;
    let (url, bytes) = download(&app, &alice, &there_file).await;
    assert!(url.starts_with(&second.proxy.endpoint()), "{url}");
    assert_eq!(bytes, b"there");
    let here = app
        .upload_verified(&alice, "default", "here.txt", b"here")
        .await;
    assert!(app.object_exists(&here.key).await);
    assert!(!second.holds(&here.key).await);

    // Multipart in the second store: parts signed, listed and assembled there.
    let body = patterned(5 * MIB + 7, 3);
    let parts = app
        .create(
            &alice,
            json!({"profile": "elsewhere", "filename": "big.bin", "size": body.len(), "content_type": "application/octet-stream"}),
        )
        .await;
    assert_eq!(parts.body["method"], "multipart", "{}", parts.body);
    app.upload_parts(&alice, &parts.id, &body, 5 * MIB, &[1, 2])
        .await;
    let (status, session) = app.complete(&alice, &parts.id).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["state"], "uploaded");
    assert!(second.holds(&parts.key).await);

    // Before the outage: one upload sent and not completed, one sent and to be aborted.
    let waiting = app.create_text_in(&alice, "elsewhere", 3).await;
    assert!(app.put(&waiting, b"abc".to_vec()).await.is_success());
    let abandoned = app.create_text_in(&alice, "elsewhere", 3).await;
    assert!(app.put(&abandoned, b"xyz".to_vec()).await.is_success());

    second.proxy.cut();
    // The default store's profiles go on as if nothing happened.
    let during = app
        .upload_verified(&alice, "default", "during.txt", b"during")
        .await;
    file_id(&app, &alice, &during).await;
    let (status, ready) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["storage"], "ok", "{ready}");
    assert_eq!(ready["stores"]["second"], "unavailable", "{ready}");
    // The away store's: a completion waits (202 verifying), a multipart start is refused
    // as the store's outage, an abort is taken and its cleanup waits.
    let (status, verifying) = app.complete(&alice, &waiting.id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{verifying}");
    assert_eq!(verifying["state"], "verifying");
    let (status, refused) = app
        .call(
            Method::POST,
            "/v1/uploads",
            Some(&alice),
            Some(json!({"profile": "elsewhere", "filename": "big.bin", "size": 2 * MIB, "content_type": "application/octet-stream"})),
        )
        .await;
    assert_problem!(status, &refused, ErrorCode::StorageUnavailable);
    let (status, aborted) = app.abort(&alice, &abandoned.id).await;
    assert_eq!(status, StatusCode::OK, "{aborted}");
    for _ in 0..3 {
        app.advance_and_drain(HOUR).await;
    }
    assert_eq!(app.session(&alice, &waiting.id).await["state"], "verifying");
    assert!(
        second.holds(&abandoned.key).await,
        "its cleanup waits for the store"
    );

    // The store is back: the completion is verified and the abandoned bytes are deleted.
    second.proxy.restore();
    app.advance_and_drain(HOUR).await;
    app.advance_and_drain(HOUR).await;
    let session = app.session(&alice, &waiting.id).await;
    assert_eq!(session["state"], "uploaded", "{session}");
    assert!(
        !second.holds(&abandoned.key).await,
        "cleaned once the store is back"
    );
    let (status, ready) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (status, ready["stores"]["second"].as_str()),
        (StatusCode::OK, Some("ok")),
        "{ready}"
    );

    // Deleting a file deletes its object from its own store.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/files/{there_file}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.advance_and_drain(HOUR).await;
    assert!(
        !second.holds(&there.key).await,
        "a deleted file's object is gone"
    );

    let scrape = app
        .http
        .get(format!("{}/metrics", app.api))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        scrape
            .lines()
            .any(|l| l.starts_with("sluice_store_operations_total{")
                && l.contains("store=\"second\"")
                && l.contains("outcome=\"unreachable\"")),
        "the away store's failures are counted under its name"
    );
    app.stop().await;
    second.stop().await;
}

#[actix_rt::test]
async fn two_stores_serve_side_by_side_and_one_away_delays_only_its_profiles_embedded() {
    side_by_side(Leg::Embedded).await;
}

#[actix_rt::test]
async fn two_stores_serve_side_by_side_and_one_away_delays_only_its_profiles_production() {
    let Some(leg) = Leg::production() else { return };
    side_by_side(leg).await;
}

/// Two buckets of one S3 server, each under its own user: Sluice signs each store's URLs
/// with that store's credentials, and neither user can read the other's bucket.
#[actix_rt::test]
async fn two_buckets_under_different_credentials_production() {
    let Some(leg) = Leg::production() else { return };
    let Leg::Production(p) = &leg else { return };
    let Some((key, secret)) = second_credentials() else {
        eprintln!("skipped: no second S3 user (SLUICE_TEST_S3_SECOND_ACCESS_KEY_ID)");
        return;
    };
    assert_ne!(
        key, p.s3_access_key_id,
        "a second user, not the first again"
    );
    let second = SecondStore::on(p, &key, &secret).await;
    let app = with_second(TestApp::build(leg.clone()), &second)
        .start()
        .await;
    let alice = app.token("alice");

    let there = app
        .upload_verified(&alice, "elsewhere", "there.txt", b"there")
        .await;
    assert!(second.holds(&there.key).await);
    let url = reqwest::Url::parse(&there.url).expect("url");
    let credential = url
        .query_pairs()
        .find(|(k, _)| k == "X-Amz-Credential")
        .map(|(_, v)| v.into_owned())
        .expect("a SigV4 credential");
    assert!(credential.starts_with(&format!("{key}/")), "{credential}");
    // The first user cannot read the second user's bucket: the credentials are not shared.
    let first_user = sluice_tests::store_client(
        &sluice_core::config::StorageSettings {
            bucket: second.bucket.name(),
            region: p.s3_region.clone(),
            access_key_id: Some(p.s3_access_key_id.clone()),
            secret_access_key: Some(p.s3_secret_access_key.clone().into()),
            force_path_style: true,
            ..Default::default()
        },
        &p.s3_endpoint,
    );
    match first_user.head_object(&there.key).await {
        Ok((_, status)) => assert!(
            status == 403 || status == 404,
            "HEAD as the first user: {status}"
        ),
        Err(s3::error::S3Error::HttpFailWithBody(status, _)) => {
            assert!(
                status == 403 || status == 404,
                "HEAD as the first user: {status}"
            )
        }
        Err(e) => panic!("HEAD as the first user: {e}"),
    }
    let file = file_id(&app, &alice, &there).await;
    let (_, bytes) = download(&app, &alice, &file).await;
    assert_eq!(bytes, b"there");
    let here = app
        .upload_verified(&alice, "default", "here.txt", b"here")
        .await;
    assert!(app.object_exists(&here.key).await);

    // `sluice doctor --store second` probes the second bucket with its own credentials.
    let report = sluice::doctor(&app.running.core.settings, "second")
        .await
        .expect("doctor runs");
    let text = serde_json::to_value(&report).expect("json");
    assert!(!report.failed(), "{text}");
    app.stop().await;
    second.stop().await;
}

/// A profile moved to another store: its old sessions and files stay where they were
/// written, and are served, completed and cleaned there; only new uploads go to the new
/// store.
async fn moved(leg: Leg) {
    let second = beside(&leg).await;
    let app = with_second(TestApp::build(leg.clone()), &second)
        .start()
        .await;
    let alice = app.token("alice");
    let kept = app
        .upload_verified(&alice, "movable", "kept.txt", b"kept")
        .await;
    let kept_file = file_id(&app, &alice, &kept).await;
    let unfinished = app.create_text_in(&alice, "movable", 3).await;
    assert!(app.put(&unfinished, b"abc".to_vec()).await.is_success());
    let abandoned = app.create_text_in(&alice, "movable", 3).await;
    assert!(app.put(&abandoned, b"xyz".to_vec()).await.is_success());

    // The operator points `movable` at the second store and restarts.
    let mut settings = (*app.running.core.settings).clone();
    settings.profiles.get_mut("movable").expect("movable").store = Some("second".into());
    let data_dir = app.data_dir.clone();
    let running = app.running;
    running.stop().await;
    let app = TestApp::spawn_with(leg, settings, data_dir, None).await;

    let (_, bytes) = download(&app, &alice, &kept_file).await;
    assert_eq!(
        bytes, b"kept",
        "an old file downloads from the store it is in"
    );
    let (status, session) = app.complete(&alice, &unfinished.id).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(
        session["state"], "uploaded",
        "an old upload verifies where it was sent"
    );
    let (status, _) = app.abort(&alice, &abandoned.id).await;
    assert_eq!(status, StatusCode::OK);
    let new = app
        .upload_verified(&alice, "movable", "new.txt", b"new")
        .await;
    assert!(
        second.holds(&new.key).await,
        "new uploads go to the new store"
    );
    assert!(!app.object_exists(&new.key).await);
    // Cleanups of the old sessions reach the old store.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/files/{kept_file}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.advance_and_drain(HOUR).await;
    app.advance_and_drain(2 * HOUR).await;
    assert!(
        !app.object_exists(&kept.key).await,
        "a deleted old file is gone from the old store"
    );
    assert!(
        !app.object_exists(&abandoned.key).await,
        "an aborted old upload is gone from the old store"
    );
    app.stop().await;
    second.stop().await;
}

#[actix_rt::test]
async fn a_profile_moved_to_another_store_orphans_nothing_embedded() {
    moved(Leg::Embedded).await;
}

#[actix_rt::test]
async fn a_profile_moved_to_another_store_orphans_nothing_production() {
    let Some(leg) = Leg::production() else { return };
    moved(leg).await;
}
