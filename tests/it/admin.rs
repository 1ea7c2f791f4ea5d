//! The admin API: admin keys only; filtered, keyset-paged lists that return every matching
//! session exactly once while new ones are created; a session with its trail; force-expiry
//! followed by the usual cleanup; statistics.

use std::collections::BTreeSet;

use super::*;
use sluice_tests::client_keys::{ADMIN_KEY, SERVICE_KEY};

async fn admin(app: &TestApp, method: Method, path: &str) -> (StatusCode, Value) {
    app.call(method, path, Some(ADMIN_KEY), None).await
}

e2e!(admin_routes_take_admin_keys_only, |app| {
    let alice = app.token("alice");
    for path in ["/v1/admin/uploads", "/v1/admin/stats"] {
        let (status, problem) = app.call(Method::GET, path, Some(&alice), None).await;
        assert_problem!(status, &problem, ErrorCode::Forbidden, "{path}");
        let resp = app
            .http
            .get(format!("{}{path}", app.api))
            .bearer_auth(SERVICE_KEY)
            .header("X-Sluice-Owner", "alice")
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            app.call(Method::GET, path, None, None).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(admin(&app, Method::GET, path).await.0, StatusCode::OK);
    }
    // And an admin key opens nothing else.
    let (status, _) = app
        .call(Method::GET, "/v1/quota", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
});

e2e!(
    paging_returns_every_match_once_while_sessions_are_created,
    |app| {
        let owners = ["alice", "bob", "carol"];
        let mut expected = BTreeSet::new();
        for i in 0..23 {
            let token = app.token(owners[i % 3]);
            let created = app.create_text(&token, 3).await;
            if owners[i % 3] == "bob" {
                expected.insert(created.id.clone());
            }
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!(
                    "/v1/admin/uploads?owner=bob&state=pending,verifying&limit=3&cursor={c}"
                ),
                None => "/v1/admin/uploads?owner=bob&state=pending,verifying&limit=3".to_owned(),
            };
            let (status, page) = admin(&app, Method::GET, &path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let items = page["items"].as_array().expect("items");
            assert!(items.len() <= 3);
            for item in items {
                assert_eq!(item["owner"], "bob");
                seen.push(item["id"].as_str().expect("id").to_owned());
            }
            // Meanwhile new sessions arrive, bob's among them.
            app.create_text(&app.token("bob"), 3).await;
            pages += 1;
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert!(pages >= 3);
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "a session came twice");
        assert_eq!(unique, expected, "every session that existed, exactly once");
        // Newest first.
        let (_, first) = admin(&app, Method::GET, "/v1/admin/uploads?limit=2").await;
        let a = first["items"][0]["created_at"]
            .as_str()
            .expect("t")
            .to_owned();
        let b = first["items"][1]["created_at"]
            .as_str()
            .expect("t")
            .to_owned();
        assert!(a >= b, "{a} < {b}");
    }
);

e2e!(filters_combine_and_bad_ones_are_refused, |app| {
    let alice = app.token("alice");
    let kept = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    let rejected = app.create_text(&alice, 9).await;
    app.bucket
        .put_object_with_content_type(&rejected.key, b"abc", "text/plain")
        .await
        .expect("put");
    assert_eq!(
        app.complete(&alice, &rejected.id).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    app.create(
        &alice,
        json!({"profile": "images", "filename": "p.png", "size": 3, "content_type": "image/png"}),
    )
    .await;

    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let (_, v) = admin(&app, Method::GET, "/v1/admin/uploads?state=uploaded").await;
    assert_eq!(ids(&v), vec![kept.id.clone()]);
    let (_, v) = admin(&app, Method::GET, "/v1/admin/uploads?failure=size_mismatch").await;
    assert_eq!(ids(&v), vec![rejected.id.clone()]);
    let (_, v) = admin(
        &app,
        Method::GET,
        &format!("/v1/admin/uploads?key={}", kept.key),
    )
    .await;
    assert_eq!(ids(&v), vec![kept.id.clone()]);
    let (_, v) = admin(
        &app,
        Method::GET,
        "/v1/admin/uploads?profile=images&owner=alice",
    )
    .await;
    assert_eq!(ids(&v).len(), 1);
    let (_, v) = admin(&app, Method::GET, "/v1/admin/uploads?cleanup_owed=true").await;
    assert_eq!(ids(&v), vec![rejected.id.clone()]);
    app.advance(Duration::from_secs(2 * 3600));
    let (_, v) = admin(&app, Method::GET, "/v1/admin/uploads?overdue=true").await;
    assert_eq!(
        ids(&v).len(),
        1,
        "the pending images upload is past its deadline: {v}"
    );
    let (_, v) = admin(
        &app,
        Method::GET,
        "/v1/admin/uploads?created_before=2000-01-01T00:00:00Z",
    )
    .await;
    assert!(ids(&v).is_empty());

    for (query, field) in [
        ("state=nonsense", "state"),
        ("method=carrier-pigeon", "method"),
        ("failure=bad_vibes", "failure"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=not-a-cursor", "cursor"),
    ] {
        let (status, problem) =
            admin(&app, Method::GET, &format!("/v1/admin/uploads?{query}")).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {problem}"
        );
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
    let (status, problem) = admin(
        &app,
        Method::GET,
        "/v1/admin/uploads?created_after=yesterday",
    )
    .await;
    assert_problem!(status, &problem, ErrorCode::InvalidQuery);
});

e2e!(
    a_session_reads_with_its_trail_and_force_expiry_cleans_up,
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 3).await;
        assert!(app.put(&created, b"abc".to_vec()).await.is_success());
        let (status, detail) = admin(
            &app,
            Method::GET,
            &format!("/v1/admin/uploads/{}", created.id),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["owner"], "alice");
        assert_eq!(detail["events"][0]["to_state"], "pending");

        let (status, expired) = admin(
            &app,
            Method::POST,
            &format!("/v1/admin/uploads/{}/expire", created.id),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{expired}");
        assert_eq!(expired["state"], "expired");
        let events = expired["events"].as_array().expect("events");
        let kinds: Vec<(&str, &str)> = events
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap_or_default(),
                    e["actor"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert!(kinds.contains(&("transition", "admin")), "{kinds:?}");
        assert!(kinds.contains(&("admin", "admin")), "{kinds:?}");
        app.assert_cleaned(&created.key).await;

        // Ended or committed sessions cannot be expired; unknown ones are not found.
        let (status, problem) = admin(
            &app,
            Method::POST,
            &format!("/v1/admin/uploads/{}/expire", created.id),
        )
        .await;
        assert_problem!(status, &problem, ErrorCode::IllegalTransition);
        let (status, _) = admin(
            &app,
            Method::POST,
            &format!("/v1/admin/uploads/{}/expire", uuid::Uuid::nil()),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

e2e!(
    stats_count_per_state_profile_and_day,
    // No scheduled rollup during the test: it reads and refreshes it itself.
    with | b | b.env("SLUICE__QUEUE__SWEEP_INTERVAL", "1h"),
    |app| {
        let alice = app.token("alice");
        app.upload_verified(&alice, "default", "a.txt", b"abcd")
            .await;
        app.create_text(&alice, 10).await;
        app.create(
        &alice,
        json!({"profile": "images", "filename": "p.png", "size": 7, "content_type": "image/png"}),
    )
    .await;
        let (status, stats) = admin(&app, Method::GET, "/v1/admin/stats?days=7").await;
        assert_eq!(status, StatusCode::OK, "{stats}");
        let group = |list: &str, key: &str| -> (i64, i64) {
            stats[list]
                .as_array()
                .expect("list")
                .iter()
                .find(|g| g["key"] == key)
                .map(|g| {
                    (
                        g["count"].as_i64().unwrap_or(0),
                        g["bytes"].as_i64().unwrap_or(0),
                    )
                })
                .unwrap_or((0, 0))
        };
        assert_eq!(group("by_state", "pending"), (2, 17));
        assert_eq!(group("by_state", "uploaded"), (1, 4));
        assert_eq!(group("by_profile", "default"), (2, 14));
        assert_eq!(group("by_profile", "images"), (1, 7));
        let days = stats["per_day"].as_array().expect("days");
        assert_eq!(days.len(), 7);
        let today = app.running.core.now().format("%Y-%m-%d").to_string();
        assert_eq!(days[6]["key"], today);
        assert_eq!(
            (days[6]["count"].as_i64(), days[6]["bytes"].as_i64()),
            (Some(3), Some(21))
        );
        assert_eq!(days[0]["count"], 0);
        let (status, _) = admin(&app, Method::GET, "/v1/admin/stats?days=0").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // Later reads come from the rollup until it is recomputed (or asked fresh).
        app.create_text(&alice, 5).await;
        let (_, rolled) = admin(&app, Method::GET, "/v1/admin/stats?days=7").await;
        assert_eq!(rolled["computed_at"], stats["computed_at"]);
        let (_, fresh) = admin(&app, Method::GET, "/v1/admin/stats?days=7&fresh=true").await;
        let pending = fresh["by_state"]
            .as_array()
            .expect("states")
            .iter()
            .find(|g| g["key"] == "pending")
            .cloned();
        assert_eq!(pending.map(|g| g["count"].clone()), Some(json!(3)));
    }
);
