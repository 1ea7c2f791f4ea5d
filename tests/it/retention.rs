//! Retention (issue 16), on both legs: old ended sessions go with their audit events,
//! deliveries and attempts; committed sessions stay; nothing is pruned that is not yet
//! safe to forget (an owed cleanup, a late-PUT window, held bytes, an unshipped audit
//! event, a delivery still being retried); quota answers the same and reconciliation
//! finds no drift after a pass; and the workers run the pass on their own.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use sluice_entity::{audit_event, upload_session, webhook_attempt, webhook_delivery};
use sluice_tests::WebhookReceiver;

use super::metrics::scrape;
use super::*;

const DAY: Duration = Duration::from_secs(86_400);

/// No scheduled pass after the first one: each test runs its own passes (see `hush`).
fn quiet(b: sluice_tests::Spawn) -> sluice_tests::Spawn {
    b.env("SLUICE__RETENTION__INTERVAL", "3650d")
}

/// Takes the scheduled passes' turn for ten years (or finds the first, empty, pass took
/// it): no scheduled pass starts once the test has made something to prune.
async fn hush(app: &TestApp) {
    let core = &app.running.core;
    sluice_core::lease::take_turn(
        &core.db,
        sluice_core::retention::LEASE,
        "tests",
        core.now(),
        DAY * 3650,
    )
    .await
    .expect("lease");
}

fn uuid_of(id: &str) -> uuid::Uuid {
    id.parse().expect("uuid")
}

async fn row(app: &TestApp, id: &str) -> Option<upload_session::Model> {
    upload_session::Entity::find_by_id(uuid_of(id))
        .one(&app.running.core.db)
        .await
        .expect("row")
}

async fn events(app: &TestApp, id: &str) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::UploadId.eq(uuid_of(id)))
        .count(&app.running.core.db)
        .await
        .expect("count")
}

async fn deliveries(app: &TestApp, id: &str) -> Vec<webhook_delivery::Model> {
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::UploadId.eq(uuid_of(id)))
        .all(&app.running.core.db)
        .await
        .expect("deliveries")
}

async fn no_drift(app: &TestApp) {
    let core = &app.running.core;
    let repairs = sluice_core::quota::reconcile::reconcile_all(&core.db, core.now())
        .await
        .expect("reconcile");
    assert!(repairs.is_empty(), "{repairs:?}");
}

/// What `GET /v1/quota` answers, without `resets_at` (the wall clock moves it).
async fn quota(app: &TestApp, token: &str) -> Value {
    let (status, mut quota) = app.call(Method::GET, "/v1/quota", Some(token), None).await;
    assert_eq!(status, StatusCode::OK);
    quota.as_object_mut().expect("object").remove("resets_at");
    quota
}

/// Runs every cleanup round (the late one after the URLs and the grace), then `days`.
async fn age(app: &TestApp, days: u32) {
    app.drain_jobs().await;
    app.advance_and_drain(Duration::from_secs(3 * 3600)).await;
    app.advance_and_drain(Duration::from_secs(3 * 3600)).await;
    app.advance_and_drain(DAY * days).await;
}

e2e!(
    old_ended_sessions_go_with_their_trails_and_committed_ones_stay,
    with | b | quiet(b),
    |app| {
        hush(&app).await;
        let alice = app.token("alice");
        let kept = app
            .upload_verified(&alice, "default", "k.txt", b"keep")
            .await;
        let (status, file) = app.commit(&alice, &kept.id).await;
        assert_eq!(status, StatusCode::OK);
        let kept_file = file["id"].as_str().expect("id").to_owned();
        let gone = app
            .upload_verified(&alice, "default", "g.txt", b"gone")
            .await;
        let (_, file) = app.commit(&alice, &gone.id).await;
        let gone_file = file["id"].as_str().expect("id").to_owned();
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/v1/files/{gone_file}"),
                Some(&alice),
                None,
            )
            .await;
        assert!(status.is_success(), "{status}");
        let aborted = app.create_text(&alice, 4).await;
        assert!(app.put(&aborted, b"abcd".to_vec()).await.is_success());
        assert_eq!(app.abort(&alice, &aborted.id).await.0, StatusCode::OK);
        let expired = app.create_text(&alice, 4).await;
        app.drain_jobs().await;

        let young = app.running.prune_now().await;
        assert_eq!(young.sessions, 0, "{young:?}");

        age(&app, 31).await;
        assert_eq!(
            row(&app, &expired.id).await.expect("row").state.as_str(),
            "expired"
        );
        let before = quota(&app, &alice).await;
        let metric = |s: &super::metrics::Scrape| {
            s.value(
                "sluice_retention_pruned_total",
                &[("table", "upload_sessions")],
            )
        };
        let counted = metric(&scrape(&app).await);
        let pruned = app.running.prune_now().await;
        assert_eq!(pruned.sessions, 3, "{pruned:?}");
        assert!(pruned.audit_events >= 6, "{pruned:?}");
        for id in [&gone.id, &aborted.id, &expired.id] {
            assert!(row(&app, id).await.is_none(), "{id} pruned");
            assert_eq!(events(&app, id).await, 0, "{id}: its trail with it");
        }
        assert!(row(&app, &kept.id).await.is_some(), "committed: kept");
        assert!(
            events(&app, &kept.id).await > 0,
            "its events are younger than 90d"
        );
        let (status, _) = app
            .call(
                Method::GET,
                &format!("/v1/files/{kept_file}"),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(quota(&app, &alice).await, before, "quota unchanged");
        no_drift(&app).await;
        assert_eq!(metric(&scrape(&app).await) - counted, 3.0);
        // A second pass finds nothing.
        assert_eq!(app.running.prune_now().await.total(), 0);

        // Past the audit retention: the committed session's events go, the session stays.
        app.advance_and_drain(DAY * 60).await;
        let pruned = app.running.prune_now().await;
        assert_eq!(pruned.sessions, 0, "{pruned:?}");
        assert_eq!(events(&app, &kept.id).await, 0);
        assert!(row(&app, &kept.id).await.is_some());
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/v1/files/{kept_file}/download-url"),
                Some(&alice),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        no_drift(&app).await;
    }
);

e2e!(
    /// A pass walks the sessions in batches, each after the last one's greatest id: with
    /// batches of two and the sessions that stay between those that go, one pass still
    /// prunes every one that may go, and a second finds nothing.
    one_pass_prunes_across_batches_past_the_sessions_that_stay,
    with | b | quiet(b).env("SLUICE__RETENTION__BATCH", "2"),
    |app| {
        hush(&app).await;
        let alice = app.token("alice");
        let mut going = Vec::new();
        let mut staying = Vec::new();
        for (n, stays) in [false, true, false, true, false, false, true, false].into_iter().enumerate() {
            if stays {
                let kept = app
                    .upload_verified(&alice, "default", &format!("k{n}.txt"), b"keep")
                    .await;
                assert_eq!(app.commit(&alice, &kept.id).await.0, StatusCode::OK);
                staying.push(kept.id);
            } else {
                going.push(app.create_text(&alice, 4).await.id);
            }
        }
        age(&app, 31).await;
        let pruned = app.running.prune_now().await;
        assert_eq!(pruned.sessions, going.len() as u64, "{pruned:?}");
        for id in &going {
            assert!(row(&app, id).await.is_none(), "{id} pruned");
        }
        for id in &staying {
            assert!(row(&app, id).await.is_some(), "{id} kept");
        }
        assert_eq!(app.running.prune_now().await.sessions, 0);
        no_drift(&app).await;
    }
);

e2e!(
    a_session_owing_a_cleanup_stays_until_its_key_is_clean,
    with | b | quiet(b),
    |app| {
        hush(&app).await;
        let alice = app.token("alice");
        let created = app.create_text(&alice, 4).await;
        assert!(app.put(&created, b"abcd".to_vec()).await.is_success());
        // The store refuses every delete: the cleanup stays owed, the bytes held.
        app.faults.set(sluice_tests::Faults {
            delete: true,
            ..Default::default()
        });
        assert_eq!(app.abort(&alice, &created.id).await.0, StatusCode::OK);
        age(&app, 31).await;
        let owed = row(&app, &created.id).await.expect("row");
        assert!(
            owed.cleanup_due_at.is_some() && owed.held_bytes == 4,
            "{owed:?}"
        );
        let before = quota(&app, &alice).await;
        assert_eq!(before["total"]["usage"]["reserved_bytes"], 4, "{before}");
        let pruned = app.running.prune_now().await;
        assert_eq!(pruned.total(), 0, "{pruned:?}");
        assert!(row(&app, &created.id).await.is_some());
        assert_eq!(quota(&app, &alice).await, before);
        no_drift(&app).await;

        // The store is back: the key is cleaned, the bytes released, then it goes.
        app.faults.set(sluice_tests::Faults::default());
        app.advance_and_drain(Duration::from_secs(3600)).await;
        assert!(!app.object_exists(&created.key).await);
        let pruned = app.running.prune_now().await;
        assert_eq!(pruned.sessions, 1, "{pruned:?}");
        assert_eq!(
            quota(&app, &alice).await["total"]["usage"]["reserved_bytes"],
            0
        );
        no_drift(&app).await;
    }
);

e2e!(
    each_guard_alone_keeps_its_session,
    with | b | quiet(b),
    |app| {
        hush(&app).await;
        let alice = app.token("alice");
        let mut ids = Vec::new();
        for _ in 0..4 {
            let created = app.create_text(&alice, 4).await;
            assert_eq!(app.abort(&alice, &created.id).await.0, StatusCode::OK);
            ids.push(created.id);
        }
        age(&app, 31).await;
        let now = app.running.core.now();
        let db = &app.running.core.db;
        let set = |id: &str, column: upload_session::Column, value: sea_orm::Value| {
            upload_session::Entity::update_many()
                .col_expr(column, Expr::value(value))
                .filter(upload_session::Column::Id.eq(uuid_of(id)))
                .exec(db)
        };
        // Owing a cleanup; inside its late-PUT window; holding bytes; nothing.
        set(
            &ids[0],
            upload_session::Column::CleanupDueAt,
            Some(now + chrono::Duration::days(1)).into(),
        )
        .await
        .expect("update");
        set(
            &ids[1],
            upload_session::Column::UrlsValidUntil,
            Some(now - chrono::Duration::minutes(1)).into(),
        )
        .await
        .expect("update");
        set(&ids[2], upload_session::Column::HeldBytes, 4i64.into())
            .await
            .expect("update");
        let pruned = app.running.prune_now().await;
        assert_eq!(pruned.sessions, 1, "{pruned:?}");
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(row(&app, id).await.is_some(), n < 3, "{n}");
            assert_eq!(events(&app, id).await > 0, n < 3, "{n}");
        }
    }
);

e2e!(
    an_unshipped_audit_event_keeps_itself_and_its_session,
    with | b
        | quiet(b)
            .env(
                "SLUICE__AUDIT__FILE",
                std::env::temp_dir()
                    .join(format!("sluice-retention-{}.jsonl", uuid::Uuid::new_v4()))
                    .to_str()
                    .expect("utf8"),
            )
            // No scheduled shipping: this test ships itself.
            .env("SLUICE__QUEUE__SWEEP_INTERVAL", "1h"),
    |app| {
        hush(&app).await;
        let alice = app.token("alice");
        let kept = app
            .upload_verified(&alice, "default", "k.txt", b"keep")
            .await;
        assert_eq!(app.commit(&alice, &kept.id).await.0, StatusCode::OK);
        let created = app.create_text(&alice, 4).await;
        assert_eq!(app.abort(&alice, &created.id).await.0, StatusCode::OK);
        age(&app, 100).await;
        let pruned = app.running.prune_now().await;
        assert_eq!(
            pruned.total(),
            0,
            "nothing shipped, nothing pruned: {pruned:?}"
        );
        assert!(row(&app, &created.id).await.is_some());
        assert!(events(&app, &kept.id).await > 0);

        let shipped = app.running.ship_audit_now().await;
        assert!(shipped.file.unwrap_or(0) > 0, "{shipped:?}");
        let pruned = app.running.prune_now().await;
        assert_eq!(pruned.sessions, 1, "{pruned:?}");
        assert!(row(&app, &created.id).await.is_none());
        assert_eq!(events(&app, &kept.id).await, 0, "shipped and old: gone");
        assert!(row(&app, &kept.id).await.is_some());
        no_drift(&app).await;
    }
);

async fn delivery_retried(leg: sluice_tests::Leg) {
    // The first delivery fails; its retry is due in 100 days.
    let receiver = WebhookReceiver::start(&[500]).await;
    let app = quiet(TestApp::build(leg))
        .env("SLUICE__WEBHOOKS__ENDPOINTS__HOOK__URL", &receiver.url)
        .env(
            "SLUICE__WEBHOOKS__ENDPOINTS__HOOK__SECRET",
            sluice_tests::WEBHOOK_SECRET,
        )
        .env("SLUICE__QUEUE__RETRY__DELIVER_WEBHOOK", "[\"100d\"]")
        .start()
        .await;
    hush(&app).await;
    let alice = app.token("alice");
    // Never uploaded: it expires, and `upload.expired` meets the 500.
    let retried = app.create_text(&alice, 4).await;
    app.advance_and_drain(Duration::from_secs(2 * 3600)).await;
    let pending = deliveries(&app, &retried.id).await;
    assert!(pending.iter().any(|d| d.status == "pending"), "{pending:?}");
    let kept = app
        .upload_verified(&alice, "default", "k.txt", b"keep")
        .await;
    assert_eq!(app.commit(&alice, &kept.id).await.0, StatusCode::OK);
    app.drain_jobs().await;
    let delivered = deliveries(&app, &kept.id).await;
    assert!(
        !delivered.is_empty() && delivered.iter().all(|d| d.status == "delivered"),
        "{delivered:?}"
    );

    age(&app, 31).await;
    let pruned = app.running.prune_now().await;
    assert_eq!(pruned.sessions, 0, "{pruned:?}");
    assert_eq!(
        pruned.webhook_deliveries,
        delivered.len() as u64,
        "{pruned:?}"
    );
    assert!(
        deliveries(&app, &kept.id).await.is_empty(),
        "delivered 31 days ago"
    );
    assert!(row(&app, &kept.id).await.is_some());
    assert_eq!(
        deliveries(&app, &retried.id).await.len(),
        pending.len(),
        "still retried"
    );
    assert!(row(&app, &retried.id).await.is_some());

    // The retry runs and succeeds: the session goes with its deliveries and attempts.
    app.advance_and_drain(DAY * 70).await;
    let done = deliveries(&app, &retried.id).await;
    assert!(done.iter().all(|d| d.status == "delivered"), "{done:?}");
    let ids: Vec<i64> = done.iter().map(|d| d.id).collect();
    let pruned = app.running.prune_now().await;
    assert_eq!(pruned.sessions, 1, "{pruned:?}");
    assert!(pruned.webhook_attempts >= 2, "{pruned:?}");
    assert!(deliveries(&app, &retried.id).await.is_empty());
    let attempts = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
        .count(&app.running.core.db)
        .await
        .expect("count");
    assert_eq!(attempts, 0);
    no_drift(&app).await;
    app.stop().await;
    receiver.stop().await;
}

sluice_tests::on_both_legs!(
    a_delivery_being_retried_keeps_itself_and_its_session,
    delivery_retried
);

e2e!(
    the_workers_prune_on_their_own,
    with | b | b.env("SLUICE__RETENTION__INTERVAL", "1s"),
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 4).await;
        assert_eq!(app.abort(&alice, &created.id).await.0, StatusCode::OK);
        age(&app, 31).await;
        // The sweep ticks on the wall clock (every 2 s in tests) and starts the pass.
        let give_up = std::time::Instant::now() + Duration::from_secs(60);
        while row(&app, &created.id).await.is_some() {
            assert!(
                std::time::Instant::now() < give_up,
                "no scheduled pass pruned it"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(events(&app, &created.id).await, 0);
        let s = scrape(&app).await;
        assert_eq!(
            s.value(
                "sluice_retention_pruned_total",
                &[("table", "upload_sessions")]
            ),
            1.0
        );
        no_drift(&app).await;
    }
);

/// A measurement, not a check: `RETENTION_BENCH_ROWS=200000 cargo test -p sluice-tests
/// --test it retention::bench -- --ignored --nocapture` (production leg) prunes that many
/// expired sessions, each with three audit events and one delivery with two attempts.
#[actix_rt::test]
#[ignore = "measurement"]
async fn bench() {
    use sea_orm::ConnectionTrait;
    let Some(leg) = sluice_tests::Leg::production() else {
        return;
    };
    let rows: u64 = std::env::var("RETENTION_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let app = quiet(TestApp::build(leg)).start().await;
    hush(&app).await;
    let db = &app.running.core.db;
    let started = std::time::Instant::now();
    for sql in [
        format!(
            "INSERT INTO upload_sessions (id, owner, profile, filename, size, content_type, \
             metadata, key, method, state, version, one_time, expires_at, created_at, updated_at, \
             size_exact, checksum_signed, checksum_verified, rewritable, held_bytes) \
             SELECT gen_random_uuid(), 'owner' || (g % 100), 'default', 'f.txt', 4, 'text/plain', \
             '{{}}', 'bench/' || g, 'put', 'expired', 2, true, now(), now(), now(), true, false, \
             false, false, 0 FROM generate_series(1, {rows}) g"
        ),
        "INSERT INTO audit_events (upload_id, at, from_state, to_state, actor, detail, kind) \
         SELECT id, now(), s, 'expired', 'system', '{}', 'transition' FROM upload_sessions, \
         unnest(ARRAY['pending', 'pending', 'pending']) s"
            .to_owned(),
        "INSERT INTO webhook_deliveries (message_id, endpoint, event_type, upload_id, payload, \
         status, attempts, created_at, finished_at) SELECT 'msg_' || id, 'hook', \
         'upload.expired', id, '{}', 'delivered', 2, now(), now() FROM upload_sessions"
            .to_owned(),
        "INSERT INTO webhook_attempts (delivery_id, at, status, latency_ms) SELECT id, now(), \
         s, 5 FROM webhook_deliveries, unnest(ARRAY[500, 200]) s"
            .to_owned(),
        "ANALYZE".to_owned(),
    ] {
        db.execute_unprepared(&sql).await.expect("seed");
    }
    eprintln!("seeded {rows} sessions in {:?}", started.elapsed());
    app.advance(DAY * 31);
    if std::env::var("RETENTION_BENCH_EXPLAIN").is_ok() {
        let explain = "EXPLAIN ANALYZE SELECT id FROM upload_sessions WHERE state IN ('rejected',              'aborted', 'expired', 'deleted') AND updated_at < now() + interval '1 day' AND              cleanup_due_at IS NULL AND held_bytes = 0 AND (urls_valid_until IS NULL OR              urls_valid_until < now()) AND (state <> 'deleted' OR (cleaned_at IS NOT NULL AND              created_at < now())) AND NOT EXISTS (SELECT 1 FROM outbox_jobs WHERE              outbox_jobs.upload_id = upload_sessions.id) AND NOT EXISTS (SELECT 1 FROM              webhook_deliveries WHERE webhook_deliveries.upload_id = upload_sessions.id AND              webhook_deliveries.status = 'pending') LIMIT 1000";
        let plan = db
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                explain,
            ))
            .await
            .expect("explain");
        for row in plan {
            let line: String = row.try_get("", "QUERY PLAN").expect("line");
            eprintln!("{line}");
        }
    }
    let started = std::time::Instant::now();
    let pruned = app.running.prune_now().await;
    let took = started.elapsed();
    eprintln!(
        "pruned {pruned:?} in {took:?}: {:.0} sessions/s",
        pruned.sessions as f64 / took.as_secs_f64()
    );
    for table in [
        "upload_sessions",
        "audit_events",
        "webhook_deliveries",
        "webhook_attempts",
    ] {
        let left = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SELECT count(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        let n: i64 = left.try_get("", "n").expect("n");
        eprintln!("{table}: {n} left");
    }
    assert_eq!(pruned.sessions, rows);
    app.stop().await;
}

e2e!(
    a_finished_batch_goes_once_its_sessions_have_gone,
    with | b | quiet(b),
    |app| {
        hush(&app).await;
        let alice = app.token("alice");
        let items: Vec<Value> = (0..2)
            .map(|i| json!({"filename": format!("b{i}.txt"), "size": 3, "content_type": "text/plain"}))
            .collect();
        let (status, answer) = app
            .call(
                Method::POST,
                "/v1/uploads/batch",
                Some(&alice),
                Some(json!({"items": items})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let batch = answer["batch_id"].as_str().expect("batch_id").to_owned();
        let kept = sluice_tests::Created::from(answer["items"][0]["upload"].clone());
        assert!(app.put(&kept, b"abc".to_vec()).await.is_success());
        assert_eq!(app.complete(&alice, &kept.id).await.0, StatusCode::OK);
        let (status, file) = app.commit(&alice, &kept.id).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        let file_id = file["id"].as_str().expect("file id").to_owned();
        // The other one expires: the batch is complete, one session committed.
        age(&app, 31).await;
        let pruned = app.running.prune_now().await;
        assert_eq!((pruned.sessions, pruned.batches), (1, 0), "{pruned:?}");
        let path = format!("/v1/batches/{batch}");
        let (status, summary) = app.call(Method::GET, &path, Some(&alice), None).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a committed session keeps its batch"
        );
        assert_eq!(summary["states"], json!({"committed": 1}), "{summary}");
        assert_eq!(summary["total"], 2);

        // Its file deleted and aged too, the last session goes, and the batch with it.
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/v1/files/{file_id}"),
                Some(&alice),
                None,
            )
            .await;
        assert!(status.is_success(), "{status}");
        age(&app, 31).await;
        let pruned = app.running.prune_now().await;
        assert_eq!((pruned.sessions, pruned.batches), (1, 1), "{pruned:?}");
        let (status, problem) = app.call(Method::GET, &path, Some(&alice), None).await;
        assert_problem!(status, &problem, ErrorCode::NotFound);
    }
);
