//! Quota: reservations inside the create transaction that never overshoot under
//! concurrency, settlement at verification, release on every path that ends an upload,
//! and reconciliation repairing counters that drifted. Profile `quota10` allows 10
//! uploads a day; `metered` 100 bytes stored and 1 KiB a day.

use futures::future::join_all;

use super::*;

async fn quota_of(app: &TestApp, token: &str, profile: &str) -> Value {
    let (status, body) = app.call(Method::GET, "/v1/quota", Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .find(|p| p["profile"] == profile)
        .cloned()
        .unwrap_or_else(|| panic!("no {profile} in {body}"))
}

async fn create_in(app: &TestApp, token: &str, profile: &str, size: usize) -> reqwest::Response {
    app.http
        .post(format!("{}/v1/uploads", app.api))
        .bearer_auth(token)
        .json(&json!({"profile": profile, "filename": "q.txt", "size": size, "content_type": "text/plain"}))
        .send()
        .await
        .expect("request")
}

e2e!(
    fifty_parallel_creates_against_a_limit_of_ten_give_exactly_ten,
    |app| {
        let alice = app.token("alice");
        let responses = join_all((0..50).map(|_| create_in(&app, &alice, "quota10", 3))).await;
        let mut created = Vec::new();
        let mut refused = 0;
        for resp in responses {
            match resp.status() {
                StatusCode::CREATED => created.push(resp.json::<Value>().await.expect("json")),
                StatusCode::TOO_MANY_REQUESTS => {
                    let retry_after: u64 = resp.headers()["retry-after"]
                        .to_str()
                        .expect("ascii")
                        .parse()
                        .expect("seconds");
                    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
                    let problem: Value = resp.json().await.expect("json");
                    assert_problem!(
                        StatusCode::TOO_MANY_REQUESTS,
                        &problem,
                        ErrorCode::QuotaExceeded
                    );
                    assert_eq!(problem["quota"]["limit"], "daily_uploads", "{problem}");
                    assert_eq!(problem["quota"]["profile"], "quota10");
                    assert_eq!(problem["quota"]["value"], 10);
                    assert_eq!(problem["quota"]["usage"], 10);
                    refused += 1;
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!((created.len(), refused), (10, 40));
        assert_eq!(
            quota_of(&app, &alice, "quota10").await["usage"]["uploads_today"],
            10
        );
        // Another owner has a quota of their own.
        assert_eq!(
            create_in(&app, &app.token("bob"), "quota10", 3)
                .await
                .status(),
            StatusCode::CREATED
        );

        // Aborting the ten gives back the day's count: ten more fit, the eleventh does not.
        // Their bytes stay held while their URLs can still write.
        for session in &created {
            let id = session["id"].as_str().expect("id");
            let (status, _) = app
                .call(
                    Method::POST,
                    &format!("/v1/uploads/{id}/abort"),
                    Some(&alice),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK);
        }
        let usage = quota_of(&app, &alice, "quota10").await;
        assert_eq!(usage["usage"]["uploads_today"], 0, "{usage}");
        assert_eq!(usage["usage"]["reserved_bytes"], 30, "{usage}");
        let again = join_all((0..11).map(|_| create_in(&app, &alice, "quota10", 3))).await;
        let statuses: Vec<StatusCode> = again.iter().map(|r| r.status()).collect();
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::CREATED)
                .count(),
            10,
            "{statuses:?}"
        );
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
                .count(),
            1
        );
    }
);

e2e!(
    quota_is_reserved_settled_and_released_on_every_path,
    |app| {
        let alice = app.token("alice");
        let usage = |q: Value| {
            let u = &q["usage"];
            (
                u["reserved_bytes"].as_u64(),
                u["stored_bytes"].as_u64(),
                u["uploads_today"].as_u64(),
                u["bytes_today"].as_u64(),
            )
        };
        let metered = |size: usize| json!({"profile": "metered", "filename": "m.txt", "size": size, "content_type": "text/plain"});

        // Reserved at create, settled at verification, kept by commit, freed by delete.
        let kept = app.create(&alice, metered(30)).await;
        assert_eq!(
            usage(quota_of(&app, &alice, "metered").await),
            (Some(30), Some(0), Some(1), Some(30))
        );
        assert!(app.put(&kept, vec![b'k'; 30]).await.is_success());
        assert_eq!(app.complete(&alice, &kept.id).await.0, StatusCode::OK);
        assert_eq!(
            usage(quota_of(&app, &alice, "metered").await),
            (Some(0), Some(30), Some(1), Some(30))
        );
        let (status, file) = app.commit(&alice, &kept.id).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            usage(quota_of(&app, &alice, "metered").await),
            (Some(0), Some(30), Some(1), Some(30))
        );

        // 30 stored + 80 wanted > 100: refused, with no Retry-After (waiting does not help).
        let resp = create_in(&app, &alice, "metered", 80).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(resp.headers().get("retry-after").is_none());
        let problem: Value = resp.json().await.expect("json");
        assert_eq!(problem["quota"]["limit"], "stored_bytes", "{problem}");
        assert_eq!(
            (
                problem["quota"]["usage"].as_u64(),
                problem["quota"]["value"].as_u64()
            ),
            (Some(30), Some(100))
        );

        // Aborted, rejected and expired uploads give the day's count back at once, and
        // their bytes once their keys are clean for good (their URLs can write until
        // they expire).
        let aborted = app.create(&alice, metered(10)).await;
        let (status, _) = app.abort(&alice, &aborted.id).await;
        assert_eq!(status, StatusCode::OK);
        let rejected = app.create(&alice, metered(10)).await;
        app.bucket
            .put_object_with_content_type(&rejected.key, b"short", "text/plain")
            .await
            .expect("direct put");
        assert_eq!(
            app.complete(&alice, &rejected.id).await.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let expired = app.create(&alice, metered(10)).await;
        let uploaded = app.create(&alice, metered(20)).await;
        assert!(app.put(&uploaded, vec![b'u'; 20]).await.is_success());
        assert_eq!(app.complete(&alice, &uploaded.id).await.0, StatusCode::OK);
        assert_eq!(
            usage(quota_of(&app, &alice, "metered").await),
            (Some(30), Some(50), Some(3), Some(60))
        );
        // Past the upload and commit deadlines: the pending one and the uncommitted one expire.
        app.advance_and_drain(Duration::from_secs(25 * 3600)).await;
        assert_eq!(app.session(&alice, &expired.id).await["state"], "expired");
        assert_eq!(app.session(&alice, &uploaded.id).await["state"], "expired");
        // Their keys' cleanup rounds may wait a moment for a batch the periodic sweep holds
        // the lease for; once clean for good, their held bytes are released.
        for _ in 0..50 {
            if usage(quota_of(&app, &alice, "metered").await).0 == Some(0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            app.advance_and_drain(Duration::from_secs(2)).await;
        }
        assert_eq!(usage(quota_of(&app, &alice, "metered").await).0, Some(0));
        assert_eq!(usage(quota_of(&app, &alice, "metered").await).1, Some(30));

        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/v1/files/{}", file["id"].as_str().expect("id")),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        // Its URL expired long ago: the first cleanup round is the last and frees all.
        app.drain_jobs().await;
        let total = app
            .call(Method::GET, "/v1/quota", Some(&alice), None)
            .await
            .1;
        assert_eq!(total["total"]["usage"]["stored_bytes"], 0, "{total}");
        assert_eq!(total["total"]["usage"]["reserved_bytes"], 0, "{total}");
    }
);

// The owner's total is limited here, so it keeps a counter row to tamper with.
e2e!(
    reconcile_repairs_a_tampered_counter,
    with | b | b.env("SLUICE__QUOTA__DAILY_UPLOADS", "1000"),
    |app| {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        let alice = app.token("alice");
        let kept = app
            .upload_verified(&alice, "metered", "a.txt", &[b'a'; 40])
            .await;
        let _pending = app.create(&alice, json!({"profile": "metered", "filename": "b.txt", "size": 7, "content_type": "text/plain"})).await;
        let before = quota_of(&app, &alice, "metered").await;
        assert_eq!(before["usage"]["stored_bytes"], 40);
        // Someone edits the counters by hand.
        sluice_entity::quota_usage::Entity::update_many()
            .col_expr(
                sluice_entity::quota_usage::Column::StoredBytes,
                Expr::value(999i64),
            )
            .col_expr(
                sluice_entity::quota_usage::Column::UploadsToday,
                Expr::value(77i64),
            )
            .filter(sluice_entity::quota_usage::Column::Owner.eq("alice"))
            .exec(&app.running.core.db)
            .await
            .expect("tamper");
        assert_eq!(
            quota_of(&app, &alice, "metered").await["usage"]["stored_bytes"],
            999
        );

        let repairs = sluice_core::quota::reconcile::reconcile_all(
            &app.running.core.db,
            app.running.core.now(),
        )
        .await
        .expect("reconcile");
        let repaired: Vec<(String, &str, i64, i64)> = repairs
            .iter()
            .map(|r| (r.scope.clone(), r.counter, r.was, r.now))
            .collect();
        assert!(
            repaired.contains(&("metered".into(), "stored_bytes", 999, 40)),
            "{repaired:?}"
        );
        assert!(
            repaired.contains(&("*".into(), "uploads_today", 77, 2)),
            "{repaired:?}"
        );
        assert_eq!(
            quota_of(&app, &alice, "metered").await["usage"],
            before["usage"]
        );
        // A second pass finds nothing to repair.
        let again = sluice_core::quota::reconcile::reconcile_all(
            &app.running.core.db,
            app.running.core.now(),
        )
        .await
        .expect("reconcile");
        assert!(again.is_empty(), "{again:?}");
        let _ = kept;
    }
);
