//! Batched cleanup (issue 16), on both legs: the keys of many ended sessions go in one
//! DeleteObjects, with no HEAD before; a key the store answers as failed keeps exactly
//! its session's cleanup owed, and its own job cleans it once the store takes it.

use super::metrics::scrape;
use super::*;

fn store_calls(scrape: &super::metrics::Scrape, operation: &str) -> f64 {
    scrape.value("sluice_store_operations_total", &[("operation", operation)])
}

e2e!(
    a_delete_objects_answer_with_failed_keys_leaves_exactly_those_owed,
    |app| {
        let alice = app.token("alice");
        let mut sessions = Vec::new();
        for i in 0..6 {
            let created = app.create_text(&alice, 4).await;
            assert!(
                app.put(&created, format!("abc{i}").into_bytes())
                    .await
                    .is_success()
            );
            sessions.push(created);
        }
        // The store refuses the keys of the first two; it deletes the others.
        let refused: Vec<String> = sessions[..2].iter().map(|c| c.id.clone()).collect();
        app.faults.set(sluice_tests::Faults {
            refuse_deletes_of: refused.clone(),
            ..Default::default()
        });
        let before = scrape(&app).await;
        for created in &sessions {
            let (status, _) = app.abort(&alice, &created.id).await;
            assert_eq!(status, StatusCode::OK);
        }
        app.drain_jobs().await;
        // Past every URL: the late rounds run, and are the last.
        app.advance_and_drain(Duration::from_secs(3 * 3600)).await;
        for (n, created) in sessions.iter().enumerate() {
            let rounds: Vec<Value> = app
                .audit_trail(&created.id)
                .await
                .into_iter()
                .filter(|e| e["detail"]["final"].is_boolean())
                .collect();
            if n < 2 {
                assert!(app.object_exists(&created.key).await, "{n} refused: kept");
                assert!(rounds.is_empty(), "{n}: {rounds:?}");
            } else {
                assert!(!app.object_exists(&created.key).await, "{n} deleted");
                // A first round while its URL was valid (unless a batch held the lease
                // then), and a last one past it.
                let last = rounds.last().expect("a round");
                assert_eq!(last["detail"]["final"], true, "{n}: {rounds:?}");
                assert!(rounds.len() <= 2, "{n}: {rounds:?}");
            }
        }
        let after = scrape(&app).await;
        assert_eq!(
            store_calls(&after, "head") - store_calls(&before, "head"),
            0.0,
            "no HEAD before a delete"
        );
        assert_eq!(
            store_calls(&after, "delete") - store_calls(&before, "delete"),
            0.0,
            "no per-key DELETE where the store takes DeleteObjects"
        );
        let (_, quota) = app.call(Method::GET, "/v1/quota", Some(&alice), None).await;
        assert_eq!(
            quota["total"]["usage"]["reserved_bytes"], 8,
            "the two still owed still hold: {quota}"
        );
        // The store takes them now: their own jobs clean them.
        app.faults.set(sluice_tests::Faults::default());
        app.advance_and_drain(Duration::from_secs(3600)).await;
        for created in &sessions {
            assert!(!app.object_exists(&created.key).await);
        }
        let (_, quota) = app.call(Method::GET, "/v1/quota", Some(&alice), None).await;
        assert_eq!(quota["total"]["usage"]["reserved_bytes"], 0, "{quota}");
        assert!(app.list_keys().await.is_empty());
    }
);

e2e!(
    a_backlog_after_a_store_outage_goes_in_one_delete_objects,
    |app| {
        let alice = app.token("alice");
        let mut sessions = Vec::new();
        for i in 0..12 {
            let created = app.create_text(&alice, 4).await;
            assert!(
                app.put(&created, format!("ab{i:02}").into_bytes())
                    .await
                    .is_success()
            );
            sessions.push(created);
        }
        // The store is away while they end: every round fails and stays owed.
        app.faults.set(sluice_tests::Faults {
            delete: true,
            ..Default::default()
        });
        for created in &sessions {
            let (status, _) = app.abort(&alice, &created.id).await;
            assert_eq!(status, StatusCode::OK);
        }
        app.drain_jobs().await;
        for created in &sessions {
            assert!(app.object_exists(&created.key).await);
        }
        // Back: the first job to run takes every due round and sends one DeleteObjects;
        // the other jobs find their rounds done. (A worker that misses the lease sends
        // its own round alone: at most one more request.)
        app.faults.set(sluice_tests::Faults::default());
        let before = scrape(&app).await;
        app.advance_and_drain(Duration::from_secs(60)).await;
        let after = scrape(&app).await;
        for created in &sessions {
            assert!(!app.object_exists(&created.key).await);
        }
        let batches = store_calls(&after, "delete_many") - store_calls(&before, "delete_many");
        assert!(
            (1.0..=2.0).contains(&batches),
            "twelve owed rounds in one or two DeleteObjects: {batches}"
        );
        assert_eq!(
            store_calls(&after, "delete") - store_calls(&before, "delete"),
            0.0
        );
        assert_eq!(
            store_calls(&after, "head") - store_calls(&before, "head"),
            0.0
        );
    }
);

e2e!(
    without_delete_objects_every_key_is_one_delete,
    with | b | b.env("SLUICE__STORAGE__DELETE_OBJECTS", "false"),
    |app| {
        let alice = app.token("alice");
        let created = app.create_text(&alice, 4).await;
        assert!(app.put(&created, b"four".to_vec()).await.is_success());
        let before = scrape(&app).await;
        let (status, _) = app.abort(&alice, &created.id).await;
        assert_eq!(status, StatusCode::OK);
        app.assert_cleaned(&created.key).await;
        let after = scrape(&app).await;
        assert!(store_calls(&after, "delete") - store_calls(&before, "delete") >= 1.0);
    }
);
