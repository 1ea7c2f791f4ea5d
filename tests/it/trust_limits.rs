//! Issue 15, item 7: configuration can't crash a worker. Every duration and size setting
//! at the largest value the loader accepts carries a whole upload (create, PUT, complete,
//! commit, download link, delete) and the verification job that once panicked on a long
//! `commit_ttl`; one past a bound is refused at start (core's `config::validate` tests).

use super::*;
use sluice_tests::{Faults, Spawn};

const TEN_YEARS: &str = "3650d";
const WEEK: &str = "7d";
const LARGEST_PART: &str = "5GiB";
const EXABYTE: &str = "1048576TiB";

/// Every duration and size setting at its largest accepted value (presigned URLs and
/// what waits for them live a week at most; single PUTs and parts 5 GiB; objects 5 TiB).
const LARGEST: &[(&str, &str)] = &[
    ("SLUICE__SERVER__SHUTDOWN_TIMEOUT", TEN_YEARS),
    ("SLUICE__QUEUE__SWEEP_INTERVAL", TEN_YEARS),
    ("SLUICE__QUEUE__DISPATCH_LEASE", TEN_YEARS),
    ("SLUICE__QUEUE__RELAY_INTERVAL", TEN_YEARS),
    (
        "SLUICE__QUEUE__RETRY__VERIFY_UPLOAD",
        "[\"3650d\", \"3650d\"]",
    ),
    ("SLUICE__QUEUE__RETRY__CLEANUP_SESSION", "[\"3650d\"]"),
    ("SLUICE__QUEUE__RETRY__EXPIRE_SESSION", "[\"3650d\"]"),
    ("SLUICE__QUEUE__RETRY__DELIVER_WEBHOOK", "[\"3650d\"]"),
    ("SLUICE__STORAGE__REQUEST_TIMEOUT", TEN_YEARS),
    ("SLUICE__CLEANUP__LATE_PUT_GRACE", WEEK),
    ("SLUICE__CLEANUP__STALE_MULTIPART_GRACE", TEN_YEARS),
    ("SLUICE__QUOTA__RECONCILE_INTERVAL", TEN_YEARS),
    ("SLUICE__QUOTA__DAILY_BYTES", EXABYTE),
    ("SLUICE__QUOTA__STORED_BYTES", EXABYTE),
    ("SLUICE__WEBHOOKS__TIMEOUT", TEN_YEARS),
    ("SLUICE__ADMIN__STATS_INTERVAL", TEN_YEARS),
    ("SLUICE__AUDIT__SETTLE", TEN_YEARS),
    ("SLUICE__RETENTION__SESSIONS", TEN_YEARS),
    ("SLUICE__RETENTION__AUDIT_EVENTS", TEN_YEARS),
    ("SLUICE__RETENTION__WEBHOOK_DELIVERIES", TEN_YEARS),
    ("SLUICE__RETENTION__INTERVAL", TEN_YEARS),
    ("SLUICE__UPPY__PART_SIZE", LARGEST_PART),
    ("SLUICE__PROFILES__DEFAULT__MAX_SIZE", "5TiB"),
    (
        "SLUICE__PROFILES__DEFAULT__MULTIPART_THRESHOLD",
        LARGEST_PART,
    ),
    ("SLUICE__PROFILES__DEFAULT__PART_SIZE", LARGEST_PART),
    ("SLUICE__PROFILES__DEFAULT__DAILY_BYTES", EXABYTE),
    ("SLUICE__PROFILES__DEFAULT__STORED_BYTES", EXABYTE),
    ("SLUICE__PROFILES__DEFAULT__UPLOAD_TTL", WEEK),
    ("SLUICE__PROFILES__DEFAULT__DOWNLOAD_TTL", WEEK),
    ("SLUICE__PROFILES__DEFAULT__COMMIT_TTL", TEN_YEARS),
    ("SLUICE__PROFILES__DEFAULT__VERIFY_TTL", TEN_YEARS),
];

/// The two settings that decide when workers look for jobs at all: at their largest the
/// workers would (harmlessly) idle for years, so the job walk keeps the test values.
const JOB_TIMERS: &[(&str, &str)] = &[
    ("SLUICE__QUEUE__POLL_INTERVAL", TEN_YEARS),
    ("SLUICE__QUEUE__VERIFY_DELAY", TEN_YEARS),
];

fn largest(mut b: Spawn, with_job_timers: bool) -> Spawn {
    for (var, value) in LARGEST {
        b = b.env(var, value);
    }
    if with_job_timers {
        for (var, value) in JOB_TIMERS {
            b = b.env(var, value);
        }
    }
    b
}

/// Create, PUT, complete (given), commit, download link, download, delete.
async fn whole_upload(app: &TestApp, created: &sluice_tests::Created, token: &str) {
    let (status, file) = app.commit(token, &created.id).await;
    assert_eq!(status, StatusCode::OK, "commit: {file}");
    let file_id = file["id"].as_str().expect("file id").to_owned();
    let (status, link) = app
        .call(
            Method::POST,
            &format!("/v1/files/{file_id}/download-url"),
            Some(token),
            Some(json!({"ttl_seconds": 604_800})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "download-url: {link}");
    let resp = app
        .http
        .get(link["url"].as_str().expect("url"))
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(&resp.bytes().await.expect("bytes")[..], b"abc");
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/v1/files/{file_id}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "delete: {body}");
}

e2e!(
    every_setting_at_its_largest_carries_a_whole_upload,
    with | b | largest(b, true),
    |app| {
        let alice = app.token("alice");
        let created = app
            .upload_verified(&alice, "default", "a.txt", b"abc")
            .await;
        let session = app.session(&alice, &created.id).await;
        assert_eq!(session["state"], "uploaded", "{session}");
        whole_upload(&app, &created, &alice).await;

        // The largest declarable object: reserved against an exabyte quota, then given up.
        let (status, big) = app
            .call(
                Method::POST,
                "/v1/uploads",
                Some(&alice),
                Some(json!({"filename": "big.bin", "size": 5_u64 << 40})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{big}");
        assert_eq!(big["method"], "multipart", "{big}");
        let id = big["id"].as_str().expect("id");
        let (status, aborted) = app.abort(&alice, id).await;
        assert_eq!(status, StatusCode::OK, "{aborted}");
        assert_eq!(
            app.call(Method::GET, "/readyz", None, None).await.0,
            StatusCode::OK
        );
    }
);

e2e!(
    the_verification_job_survives_the_longest_deadlines,
    with | b | largest(b, false),
    |app| {
        // The store cannot answer HEAD: `complete` leaves the session to the job, which
        // then sets the ten-year commit deadline (the path that once panicked).
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        app.faults.set(Faults {
            head: true,
            ..Faults::default()
        });
        let (status, session) = app.complete(&alice, &created.id).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{session}");
        app.faults.set(Faults::default());
        app.advance_and_drain(Duration::from_secs(2)).await;
        let session = app.session(&alice, &created.id).await;
        assert_eq!(session["state"], "uploaded", "{session}");
        whole_upload(&app, &created, &alice).await;
        app.drain_jobs().await;
        assert!(
            !app.object_exists(&created.key).await,
            "deleted file's object"
        );
    }
);
