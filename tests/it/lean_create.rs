//! A lean create (issue 16, item 4): a create writes counter rows only for scopes a limit
//! needs; `GET /v1/quota` answers every scope the same either way (limited scopes from
//! their rows, the others computed from the sessions table), reconcile finds nothing to
//! repair after any step, and a limit added to a scope that already has usage starts
//! from the true usage. Profiles: `default` and `reusable` have no limit, `metered` has
//! (100 bytes stored, 1 KiB a day); the owner's total `*` is limited where built so.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use sluice_core::auth::Principal;
use sluice_core::config::ByteSize;
use sluice_core::quota::computed::{self, Counters};
use sluice_core::quota::reconcile::reconcile_all;
use sluice_core::upload::Actor;
use sluice_core::upload::CreateUpload;
use sluice_core::upload::input::{DeclaredSize, Filename, ProfileName};

use super::*;

/// The scopes `owner` has counter rows for, in order.
async fn counter_rows(app: &TestApp, owner: &str) -> Vec<String> {
    sluice_entity::quota_usage::Entity::find()
        .filter(sluice_entity::quota_usage::Column::Owner.eq(owner))
        .order_by_asc(sluice_entity::quota_usage::Column::Scope)
        .all(&app.running.core.db)
        .await
        .expect("read quota_usage")
        .into_iter()
        .map(|r| r.scope)
        .collect()
}

fn usage_of(scope: &Value) -> Counters {
    let n = |k: &str| {
        scope["usage"][k]
            .as_i64()
            .unwrap_or_else(|| panic!("{k} in {scope}"))
    };
    Counters {
        uploads_today: n("uploads_today"),
        bytes_today: n("bytes_today"),
        reserved_bytes: n("reserved_bytes"),
        stored_bytes: n("stored_bytes"),
    }
}

/// `GET /v1/quota` for every scope equals what reconcile computes from the tables, and
/// reconcile repairs nothing. Returns the answer per scope (`*` for the total).
async fn quota_agrees(
    app: &TestApp,
    token: &str,
    owner: &str,
    step: &str,
) -> Vec<(String, Counters)> {
    let core = &app.running.core;
    let tables = || async {
        computed::by_scope(&core.db, owner, core.now())
            .await
            .expect("computed usage")
    };
    // A worker may finish a job (a cleanup releasing held bytes) between two reads: take
    // an answer the tables held still around.
    let mut answered = Vec::new();
    let mut stable = false;
    for _ in 0..20 {
        let before = tables().await;
        let (status, body) = app.call(Method::GET, "/v1/quota", Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let after = tables().await;
        answered = vec![("*".to_owned(), usage_of(&body["total"]))];
        for p in body["profiles"].as_array().expect("profiles") {
            answered.push((p["profile"].as_str().expect("name").to_owned(), usage_of(p)));
        }
        if before == after {
            for (scope, usage) in &answered {
                let want = after.get(scope).copied().unwrap_or_default();
                assert_eq!(*usage, want, "{step}: scope {scope}: answer vs tables");
            }
            stable = true;
            break;
        }
    }
    assert!(stable, "{step}: the tables never held still");
    let repairs = reconcile_all(&core.db, core.now())
        .await
        .expect("reconcile");
    assert!(repairs.is_empty(), "{step}: {repairs:?}");
    answered
}

fn scope(answered: &[(String, Counters)], name: &str) -> Counters {
    answered.iter().find(|(s, _)| s == name).expect("scope").1
}

/// Every path of an upload's life in `profile`, checking the answer after each step.
async fn every_path(app: &TestApp, profile: &str) {
    let alice = app.token("alice");
    let body = |name: &str, size: usize| json!({"profile": profile, "filename": name, "size": size, "content_type": "text/plain"});
    let step = |s: &str| format!("{profile}: {s}");
    let before = scope(
        &quota_agrees(app, &alice, "alice", &step("start")).await,
        profile,
    );

    let kept = app
        .upload_verified(&alice, profile, "k.txt", &[b'k'; 20])
        .await;
    quota_agrees(app, &alice, "alice", &step("verified")).await;
    let (status, file) = app.commit(&alice, &kept.id).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let after_commit = scope(
        &quota_agrees(app, &alice, "alice", &step("committed")).await,
        profile,
    );
    // The same numbers the counters always gave: one upload of 20 bytes, stored.
    assert_eq!(after_commit.stored_bytes, before.stored_bytes + 20);
    assert_eq!(after_commit.uploads_today, before.uploads_today + 1);
    assert_eq!(after_commit.bytes_today, before.bytes_today + 20);

    let pending = app.create(&alice, body("p.txt", 7)).await;
    let with_pending = scope(
        &quota_agrees(app, &alice, "alice", &step("pending")).await,
        profile,
    );
    assert_eq!(with_pending.reserved_bytes, after_commit.reserved_bytes + 7);

    let aborted = app.create(&alice, body("a.txt", 10)).await;
    assert_eq!(app.abort(&alice, &aborted.id).await.0, StatusCode::OK);
    let after_abort = scope(
        &quota_agrees(app, &alice, "alice", &step("aborted")).await,
        profile,
    );
    // The day's count comes back at once; the bytes stay held while the URL can write.
    assert_eq!(after_abort.uploads_today, with_pending.uploads_today);
    assert_eq!(after_abort.reserved_bytes, with_pending.reserved_bytes + 10);

    let rejected = app.create(&alice, body("r.txt", 10)).await;
    app.bucket
        .put_object_with_content_type(&rejected.key, b"short", "text/plain")
        .await
        .expect("direct put");
    assert_eq!(
        app.complete(&alice, &rejected.id).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    quota_agrees(app, &alice, "alice", &step("rejected")).await;

    let file_id = file["id"].as_str().expect("file id");
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/files/{file_id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    quota_agrees(app, &alice, "alice", &step("deleted")).await;
    app.drain_jobs().await;
    quota_agrees(app, &alice, "alice", &step("cleaned")).await;

    // Past every deadline: the pending one expires, every late round runs (a round may
    // wait a moment for a batch the periodic sweep holds the lease for).
    app.advance_and_drain(Duration::from_secs(2 * 3600)).await;
    assert_eq!(app.session(&alice, &pending.id).await["state"], "expired");
    app.advance_and_drain(Duration::from_secs(2 * 3600)).await;
    for _ in 0..50 {
        let (_, body) = app.call(Method::GET, "/v1/quota", Some(&alice), None).await;
        if body["total"]["usage"]["reserved_bytes"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.advance_and_drain(Duration::from_secs(2)).await;
    }
    let end = scope(
        &quota_agrees(app, &alice, "alice", &step("expired")).await,
        profile,
    );
    assert_eq!((end.reserved_bytes, end.stored_bytes), (0, 0), "{end:?}");
}

e2e!(
    quota_answers_match_the_tables_without_a_total_limit,
    |app| {
        every_path(&app, "default").await;
        every_path(&app, "reusable").await;
        // No limit anywhere yet: not one counter row.
        assert_eq!(counter_rows(&app, "alice").await, Vec::<String>::new());
        every_path(&app, "metered").await;
        assert_eq!(
            counter_rows(&app, "alice").await,
            vec!["metered".to_owned()]
        );
    }
);

e2e!(
    quota_answers_match_the_tables_with_a_total_limit,
    with | b | b.env("SLUICE__QUOTA__STORED_BYTES", "1MiB"),
    |app| {
        every_path(&app, "default").await;
        assert_eq!(counter_rows(&app, "alice").await, vec!["*".to_owned()]);
        every_path(&app, "metered").await;
        every_path(&app, "reusable").await;
        assert_eq!(
            counter_rows(&app, "alice").await,
            vec!["*".to_owned(), "metered".to_owned()]
        );
    }
);

e2e!(a_profile_without_limits_writes_no_quota_rows, |app| {
    let alice = app.token("alice");
    let kept = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    assert_eq!(app.commit(&alice, &kept.id).await.0, StatusCode::OK);
    let dropped = app.create_text(&alice, 5).await;
    assert_eq!(app.abort(&alice, &dropped.id).await.0, StatusCode::OK);
    app.upload_verified(&alice, "reusable", "b.txt", b"abcd")
        .await;
    app.advance_and_drain(Duration::from_secs(25 * 3600)).await;
    assert_eq!(counter_rows(&app, "alice").await, Vec::<String>::new());
    // Usage is still answered, from the tables.
    let (_, body) = app.call(Method::GET, "/v1/quota", Some(&alice), None).await;
    assert_eq!(body["total"]["usage"]["stored_bytes"], 3, "{body}");
    // Reconcile neither creates rows nor finds anything to repair.
    let core = &app.running.core;
    assert!(
        reconcile_all(&core.db, core.now())
            .await
            .expect("reconcile")
            .is_empty()
    );
    assert_eq!(counter_rows(&app, "alice").await, Vec::<String>::new());
});

e2e!(a_limit_added_later_starts_from_the_true_usage, |app| {
    let alice = app.token("alice");
    // Usage in `default` while it has no limit: 40 stored, 7 reserved, 10 held.
    let kept = app
        .upload_verified(&alice, "default", "k.txt", &[b'k'; 40])
        .await;
    assert_eq!(app.commit(&alice, &kept.id).await.0, StatusCode::OK);
    app.create(
        &alice,
        json!({"profile": "default", "filename": "p.txt", "size": 7, "content_type": "text/plain"}),
    )
    .await;
    let aborted = app.create(&alice, json!({"profile": "default", "filename": "a.txt", "size": 10, "content_type": "text/plain"}))
        .await;
    assert_eq!(app.abort(&alice, &aborted.id).await.0, StatusCode::OK);
    assert_eq!(counter_rows(&app, "alice").await, Vec::<String>::new());

    // The same database under a configuration that limits `default` to 100 bytes stored
    // and 3 uploads a day (3 counted today: kept, the pending one; the aborted one not).
    let mut settings = (*app.running.core.settings).clone();
    let default = settings
        .profiles
        .get_mut("default")
        .expect("default profile");
    default.stored_bytes = Some(ByteSize(100));
    default.daily_uploads = Some(3);
    let mut core = app.running.core.clone();
    core.settings = std::sync::Arc::new(settings);
    let who = Principal {
        owner: "alice".into(),
        profiles: None,
        actor: Actor::Owner("alice".into()),
    };
    let req = |size: u64| CreateUpload {
        profile: ProfileName::parse("default").expect("name"),
        filename: Filename::parse("n.txt").expect("name"),
        size: DeclaredSize::exact(size).expect("size"),
        content_type: Some("text/plain".into()),
        sha256: None,
        metadata: Default::default(),
    };
    // 40 + 7 + 10 = 57 counted: 44 more would pass 100, 43 fits exactly.
    let refused = sluice_core::upload::create::create(&core, &who, req(44)).await;
    match refused {
        Err(sluice_core::error::CoreError::QuotaExceeded { limit, usage, .. }) => {
            assert_eq!((limit, usage), ("stored_bytes", 57));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    sluice_core::upload::create::create(&core, &who, req(43))
        .await
        .expect("fits exactly");
    assert_eq!(
        counter_rows(&app, "alice").await,
        vec!["default".to_owned()]
    );
    // Three uploads counted today now: the daily limit refuses the next one.
    match sluice_core::upload::create::create(&core, &who, req(0)).await {
        Err(sluice_core::error::CoreError::QuotaExceeded { limit, usage, .. }) => {
            assert_eq!((limit, usage), ("daily_uploads", 3));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The seeded row is the truth: the answer under the new limit, the tables and
    // reconcile agree.
    let view = sluice_core::quota::service::quota(&core, &who)
        .await
        .expect("quota");
    let default = view
        .profiles
        .iter()
        .find(|p| p.profile.as_deref() == Some("default"))
        .expect("default");
    assert_eq!(
        (
            default.usage.stored_bytes,
            default.usage.reserved_bytes,
            default.usage.uploads_today
        ),
        (40, 7 + 10 + 43, 3)
    );
    assert!(
        reconcile_all(&core.db, core.now())
            .await
            .expect("reconcile")
            .is_empty()
    );
    // Back to no limit: the row is forgotten, and usage is still answered.
    sluice_core::quota::forget_unlimited(&core.db, &app.running.core.settings)
        .await
        .expect("forget");
    assert_eq!(counter_rows(&app, "alice").await, Vec::<String>::new());
    let (_, body) = app.call(Method::GET, "/v1/quota", Some(&alice), None).await;
    assert_eq!(body["total"]["usage"]["reserved_bytes"], 60, "{body}");
});
