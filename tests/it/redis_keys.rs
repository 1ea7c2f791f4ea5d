//! Every key Sluice writes to Redis carries a Redis Cluster hash tag: all the keys one
//! Lua script takes hash to one slot (one queue's keys together, the limiter's buckets
//! together), so no script of Sluice's or apalis-redis's is refused with CROSSSLOT on a
//! cluster (docs/CAPACITY.md). Production leg only: the embedded stack has no Redis.

use std::collections::BTreeSet;

use super::*;

#[actix_rt::test]
async fn every_redis_key_carries_a_hash_tag_per_script() {
    let Some(leg) = sluice_tests::Leg::production() else {
        eprintln!("the Redis key layout needs Redis: skipped on the embedded stack");
        return;
    };
    let redis_url = match &leg {
        sluice_tests::Leg::Production(p) => p.redis_url.clone(),
        sluice_tests::Leg::Embedded => unreachable!("production() gives a production leg"),
    };
    let app = TestApp::build(leg)
        .env("SLUICE__RATE_LIMITS__CREATE__PER_OWNER__RATE", "100/1m")
        .start()
        .await;
    let alice = app.token("alice");
    // Jobs through the queues (verify, cleanup) and a limiter bucket.
    let created = app
        .upload_verified(&alice, "default", "a.txt", b"abc")
        .await;
    assert_eq!(app.commit(&alice, &created.id).await.0, StatusCode::OK);
    app.drain_jobs().await;

    let namespace = app.running.core.settings.queue.namespace.clone();
    let client = redis::Client::open(redis_url).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("*{namespace}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .expect("scan");
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert!(!keys.is_empty(), "no key of {namespace} in Redis");
    let mut tags = BTreeSet::new();
    for key in &keys {
        let tag = key
            .strip_prefix('{')
            .and_then(|rest| rest.split_once('}'))
            .map(|(tag, _)| tag.to_owned())
            .unwrap_or_else(|| panic!("{key}: no hash tag at its start"));
        assert!(
            tag.starts_with(&format!("{namespace}:")),
            "{key}: tag {tag} is not the namespace's"
        );
        tags.insert(tag);
    }
    let limiter = format!("{namespace}:ratelimit");
    assert!(tags.contains(&limiter), "no limiter bucket among {keys:?}");
    let queues: Vec<_> = tags.iter().filter(|t| **t != limiter).collect();
    assert!(
        queues
            .iter()
            .any(|t| t.ends_with(":verify_upload") || t.ends_with(":cleanup_session")),
        "no queue keys among {keys:?}"
    );
    app.stop().await;
}
