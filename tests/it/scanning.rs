//! The scanning stage through the real API, a real clamd (Debian's, with a signature file
//! the test writes: see `sluice_tests::Clamd`) and both legs: an infected upload is
//! rejected with `malware_detected` and its bytes deleted or quarantined, a clean one
//! passes, the scanner away leaves sessions `scanning` (never passed) until it is back or
//! their verification deadline ends them, and what is too large to scan is decided by
//! the profile.

use super::*;
use sluice_tests::{Clamd, EICAR, Leg, SIGNATURE, WEBHOOK_SECRET, WebhookReceiver, on_both_legs};

const HOUR: Duration = Duration::from_secs(3600);

/// Profiles that scan: `scanned` deletes what is infected, `quarantined` keeps it for the
/// operator, `resealed` signs reusable URLs (its bytes are sealed before the scan),
/// `bigpass` passes what is too large to scan.
fn scanning(b: sluice_tests::Spawn, clamd: &Clamd) -> sluice_tests::Spawn {
    b.env("SLUICE__SCANNER__CLAMD", &clamd.address())
        .env("SLUICE__PROFILES__SCANNED__SCAN", "true")
        .env("SLUICE__PROFILES__QUARANTINED__SCAN", "true")
        .env("SLUICE__PROFILES__QUARANTINED__INFECTED", "quarantine")
        .env("SLUICE__PROFILES__RESEALED__SCAN", "true")
        .env("SLUICE__PROFILES__RESEALED__ONE_TIME", "false")
        .env("SLUICE__PROFILES__BIGPASS__SCAN", "true")
        .env("SLUICE__PROFILES__BIGPASS__SCAN_TOO_LARGE", "pass")
}

/// Creates, PUTs and completes `body` in `profile`; the completion answers 202
/// `scanning`: the bytes are verified, the scanner has yet to read them.
async fn upload_to_scan(
    app: &TestApp,
    token: &str,
    profile: &str,
    body: &[u8],
) -> sluice_tests::Created {
    let created = app
        .create(
            token,
            json!({"profile": profile, "filename": "file.txt", "size": body.len(), "content_type": "text/plain"}),
        )
        .await;
    assert!(app.put(&created, body.to_vec()).await.is_success());
    let (status, session) = app.complete(token, &created.id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{session}");
    assert_eq!(session["state"], "scanning", "{session}");
    created
}

async fn infected_is_rejected_and_deleted_and_clean_passes(leg: Leg) {
    let Some(clamd) = Clamd::start("25M").await else {
        return;
    };
    let receiver = WebhookReceiver::start(&[]).await;
    let app = scanning(TestApp::build(leg), &clamd)
        .env("SLUICE__WEBHOOKS__ENDPOINTS__HOOK__URL", &receiver.url)
        .env("SLUICE__WEBHOOKS__ENDPOINTS__HOOK__SECRET", WEBHOOK_SECRET)
        .start()
        .await;
    let alice = app.token("alice");
    let infected = upload_to_scan(&app, &alice, "scanned", EICAR).await;
    let clean = upload_to_scan(&app, &alice, "scanned", b"nothing to see here").await;
    app.drain_reads().await;

    let session = app.session(&alice, &infected.id).await;
    assert_eq!(session["state"], "rejected", "{session}");
    assert_eq!(session["failure"], "malware_detected");
    // Completing again answers the rejection with its code, and never the signature.
    let (status, problem) = app.complete(&alice, &infected.id).await;
    assert_problem!(status, &problem, ErrorCode::MalwareDetected);
    assert!(!problem.to_string().contains(SIGNATURE), "{problem}");
    assert!(!session.to_string().contains(SIGNATURE), "{session}");
    app.assert_cleaned(&infected.key).await;
    let trail = app.audit_trail(&infected.id).await;
    let rejected = trail
        .iter()
        .find(|e| e["to_state"] == "rejected")
        .expect("a rejection in the trail");
    assert_eq!(rejected["from_state"], "scanning");
    assert!(
        rejected["detail"]["signature"]
            .as_str()
            .is_some_and(|s| s.starts_with(SIGNATURE)),
        "{rejected}"
    );

    let session = app.session(&alice, &clean.id).await;
    assert_eq!(session["state"], "uploaded", "{session}");
    assert_eq!(session["scan"], "clean");
    let (status, again) = app.complete(&alice, &clean.id).await;
    assert_eq!(
        (status, again["state"].as_str()),
        (StatusCode::OK, Some("uploaded"))
    );
    let (status, file) = app.commit(&alice, &clean.id).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["scan"], "clean");
    assert_eq!(app.object_bytes(&clean.key).await, b"nothing to see here");

    // The application hears of both, and only it learns the signature.
    for _ in 0..5 {
        app.advance_and_drain(Duration::from_secs(6)).await;
    }
    let received = receiver.received();
    let rejected = received
        .iter()
        .find(|r| r.body["type"] == "upload.rejected")
        .expect("an upload.rejected webhook");
    assert_eq!(
        rejected.body["data"]["upload"]["failure"],
        "malware_detected"
    );
    assert!(
        rejected.body["data"]["signature"]
            .as_str()
            .is_some_and(|s| s.starts_with(SIGNATURE)),
        "{:?}",
        rejected.body
    );
    let uploaded = received
        .iter()
        .find(|r| r.body["type"] == "upload.uploaded")
        .expect("an upload.uploaded webhook");
    assert_eq!(uploaded.body["data"]["upload"]["id"], clean.id.as_str());
    assert_eq!(uploaded.body["data"]["upload"]["scan"], "clean");
    app.stop().await;
    receiver.stop().await;
}
on_both_legs!(
    an_infected_upload_is_rejected_and_deleted_and_a_clean_one_passes,
    infected_is_rejected_and_deleted_and_clean_passes
);

async fn infected_is_quarantined_where_the_profile_says(leg: Leg) {
    let Some(clamd) = Clamd::start("25M").await else {
        return;
    };
    let app = scanning(TestApp::build(leg), &clamd).start().await;
    let alice = app.token("alice");
    let quarantined = upload_to_scan(&app, &alice, "quarantined", EICAR).await;
    // A reusable URL: verification seals the bytes first, and the scanner reads the seal.
    let sealed = upload_to_scan(&app, &alice, "resealed", EICAR).await;
    app.drain_reads().await;

    let session = app.session(&alice, &quarantined.id).await;
    assert_eq!(session["failure"], "malware_detected", "{session}");
    let kept = format!("quarantine/{}", quarantined.key);
    assert_eq!(
        app.object_bytes(&kept).await,
        EICAR,
        "the operator can inspect it"
    );
    app.assert_cleaned(&quarantined.key).await;

    let session = app.session(&alice, &sealed.id).await;
    assert_eq!(session["failure"], "malware_detected", "{session}");
    app.assert_cleaned(&sealed.key).await;
    app.assert_cleaned(&format!("{}.verified", sealed.key))
        .await;
    let trail = app.audit_trail(&sealed.id).await;
    assert!(
        trail.iter().any(|e| e["to_state"] == "scanning"
            && e["detail"]["sealed_key"] == format!("{}.verified", sealed.key)),
        "{trail:?}"
    );
    app.stop().await;
}
on_both_legs!(
    an_infected_upload_is_quarantined_where_the_profile_says,
    infected_is_quarantined_where_the_profile_says
);

async fn scanner_away_leaves_scanning_until_it_is_back(leg: Leg) {
    let Some(mut clamd) = Clamd::start("25M").await else {
        return;
    };
    let app = scanning(TestApp::build(leg), &clamd).start().await;
    let alice = app.token("alice");
    clamd.stop();
    let clean = upload_to_scan(&app, &alice, "scanned", b"fine bytes").await;
    let infected = upload_to_scan(&app, &alice, "scanned", EICAR).await;
    // Hours without a scanner (the verification deadline is a day): retried, never
    // passed, never rejected.
    app.drain_jobs().await;
    for _ in 0..6 {
        app.advance_and_drain(HOUR).await;
    }
    for id in [&clean.id, &infected.id] {
        assert_eq!(app.session(&alice, id).await["state"], "scanning");
    }
    // A session the scanner has not passed cannot be committed.
    let (status, problem) = app.commit(&alice, &clean.id).await;
    assert_problem!(status, &problem, ErrorCode::IllegalTransition);
    assert!(app.object_exists(&clean.key).await);

    clamd.start_again().await;
    app.advance_and_drain(HOUR).await;
    let session = app.session(&alice, &clean.id).await;
    assert_eq!(session["state"], "uploaded", "{session}");
    assert_eq!(session["scan"], "clean");
    let session = app.session(&alice, &infected.id).await;
    assert_eq!(session["failure"], "malware_detected", "{session}");
    app.assert_cleaned(&infected.key).await;
    app.stop().await;
}
on_both_legs!(
    the_scanner_away_leaves_sessions_scanning_and_they_pass_once_it_is_back,
    scanner_away_leaves_scanning_until_it_is_back
);

async fn scanner_away_past_the_deadline_expires(leg: Leg) {
    let Some(mut clamd) = Clamd::start("25M").await else {
        return;
    };
    let app = scanning(TestApp::build(leg), &clamd)
        .env("SLUICE__PROFILES__SCANNED__VERIFY_TTL", "2h")
        .start()
        .await;
    let alice = app.token("alice");
    clamd.stop();
    let created = upload_to_scan(&app, &alice, "scanned", b"never scanned").await;
    for _ in 0..3 {
        app.advance_and_drain(HOUR).await;
    }
    let session = app.session(&alice, &created.id).await;
    assert_eq!(session["state"], "expired", "{session}");
    app.assert_cleaned(&created.key).await;
    let (status, quota) = app.call(Method::GET, "/v1/quota", Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(quota["total"]["usage"]["stored_bytes"], 0, "{quota}");
    assert_eq!(quota["total"]["usage"]["reserved_bytes"], 0, "{quota}");
    app.stop().await;
}
on_both_legs!(
    the_scanner_away_past_the_verification_deadline_expires_the_session,
    scanner_away_past_the_deadline_expires
);

async fn too_large_to_scan_is_the_profiles_call(leg: Leg) {
    // Sluice's own bound (nothing sent) and clamd's (it stops reading and says so).
    let Some(clamd) = Clamd::start("4K").await else {
        return;
    };
    let app = scanning(TestApp::build(leg.clone()), &clamd).start().await;
    let alice = app.token("alice");
    let big = vec![b'a'; 64 * 1024];
    let refused = upload_to_scan(&app, &alice, "scanned", &big).await;
    let passed = upload_to_scan(&app, &alice, "bigpass", &big).await;
    app.drain_reads().await;

    let session = app.session(&alice, &refused.id).await;
    assert_eq!(session["failure"], "too_large_to_scan", "{session}");
    let (status, problem) = app.complete(&alice, &refused.id).await;
    assert_problem!(status, &problem, ErrorCode::TooLargeToScan);
    app.assert_cleaned(&refused.key).await;

    let session = app.session(&alice, &passed.id).await;
    assert_eq!(session["state"], "uploaded", "{session}");
    assert_eq!(session["scan"], "unscanned");
    app.stop().await;

    // Sluice's bound: an object over `scanner.max_stream` is not sent at all.
    let app = scanning(TestApp::build(leg), &clamd)
        .env("SLUICE__SCANNER__MAX_STREAM", "16")
        .start()
        .await;
    let bob = app.token("bob");
    let refused = upload_to_scan(&app, &bob, "scanned", b"seventeen bytes!!").await;
    let passed = upload_to_scan(&app, &bob, "bigpass", b"seventeen bytes!!").await;
    app.drain_reads().await;
    assert_eq!(
        app.session(&bob, &refused.id).await["failure"],
        "too_large_to_scan"
    );
    assert_eq!(app.session(&bob, &passed.id).await["scan"], "unscanned");
    app.stop().await;
}
on_both_legs!(
    what_is_too_large_to_scan_is_rejected_or_passed_as_the_profile_says,
    too_large_to_scan_is_the_profiles_call
);
