//! Set-based transitions (issue 16), on both legs: a batch moves exactly the rows that
//! did not lose their race, with one audit event each, the quota of exactly those, and
//! the jobs their plans owe; and the sweep expires a backlog through it.

use super::*;
use sluice_core::write::Write;

use sluice_core::ids::UploadId;
use sluice_core::test_support::upload::{self as repo, BatchItem};
use sluice_core::upload::Actor;
use sluice_core::upload::service::plan_context;
use sluice_core::upload::state::Event;

async fn row(app: &TestApp, id: &str) -> sluice_entity::upload_session::Model {
    repo::find(&app.running.core.db, UploadId(id.parse().expect("uuid")))
        .await
        .expect("read")
        .expect("row")
}

e2e!(
    a_batch_moves_exactly_the_rows_that_did_not_lose_their_race,
    |app| {
        let alice = app.token("alice");
        let mut ids = Vec::new();
        for i in 0..10 {
            let created = app
                .create(
                    &alice,
                    json!({"profile": "metered", "filename": format!("{i}.txt"), "size": 5, "content_type": "text/plain"}),
                )
                .await;
            ids.push(created.id);
        }
        // Read by the batch's writer before another process moves three of them.
        let mut stale = Vec::new();
        for id in &ids {
            stale.push(row(&app, id).await);
        }
        for id in &ids[..3] {
            let (status, _) = app.abort(&alice, id).await;
            assert_eq!(status, StatusCode::OK);
        }
        let core = &app.running.core;
        let past = stale[0].expires_at + chrono::Duration::seconds(1);
        let items: Vec<BatchItem> = stale
            .into_iter()
            .map(|session| {
                let mut plan = plan_context(core, &session).plan;
                plan.now = past;
                BatchItem {
                    detail: json!({"test": "batch"}),
                    session,
                    plan,
                }
            })
            .collect();
        let write = Write::begin(core).await.expect("begin");
        let moved = repo::transition_batch(
            &write,
            items,
            Event::Expire,
            &Actor::System,
            &core.settings.webhooks,
            past,
        )
        .await
        .expect("batch");
        write.commit().await.expect("commit");
        let mut moved_ids: Vec<String> = moved.iter().map(|m| m.id.to_string()).collect();
        moved_ids.sort();
        let mut want: Vec<String> = ids[3..].to_vec();
        want.sort();
        assert_eq!(moved_ids, want, "exactly the rows nobody else moved");
        // One cleanup job for the batch's seven owed rounds: its batch cleans them all.
        {
            use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
            use sluice_entity::outbox_job;
            let jobs = outbox_job::Entity::find()
                .filter(outbox_job::Column::Job.eq("cleanup_session"))
                .filter(outbox_job::Column::UploadId.is_in(moved.iter().map(|m| m.id)))
                .count(&core.db)
                .await
                .expect("count");
            // A worker may already have run it (and removed its row): never more than one.
            assert!(jobs <= 1, "{jobs} cleanup jobs for one batch");
        }
        for m in &moved {
            assert_eq!(m.state.as_str(), "expired");
            assert_eq!(m.held_bytes, 5, "its URL can still write: held");
            assert!(m.cleanup_due_at.is_some());
        }
        for (n, id) in ids.iter().enumerate() {
            let trail = app.audit_trail(id).await;
            let expiries = trail
                .iter()
                .filter(|e| e["detail"]["event"] == "expire")
                .count();
            let aborts = trail
                .iter()
                .filter(|e| e["detail"]["event"] == "abort")
                .count();
            if n < 3 {
                assert_eq!((expiries, aborts), (0, 1), "{id}: {trail:?}");
                assert_eq!(app.session(&alice, id).await["state"], "aborted");
            } else {
                assert_eq!((expiries, aborts), (1, 0), "{id}: {trail:?}");
                let event = trail
                    .iter()
                    .find(|e| e["detail"]["event"] == "expire")
                    .expect("expire event");
                assert_eq!(event["detail"]["test"], "batch");
                assert_eq!(event["from_state"], "pending");
            }
        }
        // The counters hold exactly what the tables say: ten reservations, now all held,
        // none of the day's uploads.
        let (_, quota) = app.call(Method::GET, "/v1/quota", Some(&alice), None).await;
        let usage = &quota["total"]["usage"];
        assert_eq!(usage["reserved_bytes"], 50, "{quota}");
        assert_eq!(usage["uploads_today"], 0, "{quota}");
        let repairs = sluice_core::quota::reconcile::reconcile_all(&core.db, core.now())
            .await
            .expect("reconcile");
        assert!(repairs.is_empty(), "{repairs:?}");
        // A second batch of the same stale rows moves nothing.
        let again: Vec<BatchItem> = {
            let mut v = Vec::new();
            for id in &ids[3..] {
                let mut session = row(&app, id).await;
                session.state = sluice_core::upload::UploadState::Pending;
                session.version -= 1;
                let mut plan = plan_context(core, &session).plan;
                plan.now = past;
                v.push(BatchItem {
                    detail: json!({}),
                    session,
                    plan,
                });
            }
            v
        };
        let write = Write::begin(core).await.expect("begin");
        let moved = repo::transition_batch(
            &write,
            again,
            Event::Expire,
            &Actor::System,
            &core.settings.webhooks,
            past,
        )
        .await
        .expect("batch");
        write.commit().await.expect("commit");
        assert!(moved.is_empty());
        // The cleanups the plans owe run (all seven through the one job) and the bucket
        // stays clean; each round is recorded, the late one owed after the URLs expire.
        // (The batch ran at `past`, the deadline: the rounds are due from then.)
        let ahead = (past - core.now()).to_std().unwrap_or_default();
        app.advance(ahead + Duration::from_secs(1));
        app.drain_jobs().await;
        assert!(app.list_keys().await.is_empty());
        for id in &ids[3..] {
            let trail = app.audit_trail(id).await;
            assert!(
                trail.iter().any(|e| e["detail"]["final"].is_boolean()),
                "{id}: no cleanup round recorded: {trail:?}"
            );
        }
    }
);

e2e!(the_sweep_expires_a_backlog_in_batches, |app| {
    let alice = app.token("alice");
    let mut ids = Vec::new();
    for i in 0..30 {
        let created = app
            .create(
                &alice,
                json!({"profile": "default", "filename": format!("{i}.txt"), "size": 3, "content_type": "text/plain"}),
            )
            .await;
        ids.push(created.id);
    }
    // Past every deadline; the sweep, not the expiry jobs, catches up.
    app.advance(Duration::from_secs(2 * 3600));
    let expired = sluice_core::sweep::expire_overdue(&app.running.core)
        .await
        .expect("sweep")
        .expired;
    assert!(expired <= 30);
    for id in &ids {
        assert_eq!(app.session(&alice, id).await["state"], "expired", "{id}");
        let trail = app.audit_trail(id).await;
        assert_eq!(
            trail
                .iter()
                .filter(|e| e["detail"]["event"] == "expire")
                .count(),
            1,
            "{trail:?}"
        );
    }
});

e2e!(
    a_sweep_over_many_owners_moves_each_owners_counters_exactly,
    |app| {
        // Four owners with sessions in a limited profile (counter rows, moved by one
        // set-based UPDATE per scope class) and in an unlimited one (no rows: computed).
        let owners: Vec<String> = (0..4).map(|n| app.token(&format!("owner{n}"))).collect();
        let mut ids = Vec::new();
        for (n, token) in owners.iter().enumerate() {
            for i in 0..=n {
                for profile in ["metered", "default"] {
                    let created = app
                        .create(
                            token,
                            json!({"profile": profile, "filename": format!("{i}.txt"), "size": 7, "content_type": "text/plain"}),
                        )
                        .await;
                    ids.push((token.clone(), created.id));
                }
            }
        }
        app.advance(Duration::from_secs(2 * 3600));
        sluice_core::sweep::expire_overdue(&app.running.core)
            .await
            .expect("sweep");
        for (token, id) in &ids {
            assert_eq!(app.session(token, id).await["state"], "expired", "{id}");
        }
        // Their URLs ran out long ago: the cleanups the expiries owe are final rounds,
        // and each releases what its session held (one set-based UPDATE again).
        app.drain_jobs().await;
        for token in &owners {
            let (_, quota) = app.call(Method::GET, "/v1/quota", Some(token), None).await;
            let metered = quota["profiles"]
                .as_array()
                .expect("profiles")
                .iter()
                .find(|p| p["profile"] == "metered")
                .cloned()
                .expect("metered");
            assert_eq!(metered["usage"]["uploads_today"], 0, "{quota}");
            assert_eq!(metered["usage"]["bytes_today"], 0, "{quota}");
            assert_eq!(metered["usage"]["reserved_bytes"], 0, "{quota}");
            assert_eq!(quota["total"]["usage"]["reserved_bytes"], 0, "{quota}");
        }
        assert!(app.list_keys().await.is_empty());
        let core = &app.running.core;
        let repairs = sluice_core::quota::reconcile::reconcile_all(&core.db, core.now())
            .await
            .expect("reconcile");
        assert!(
            repairs.is_empty(),
            "the counters agree with the tables: {repairs:?}"
        );
    }
);
