//! Several replicas behave like one process: two API-only processes (`sluice serve
//! --no-workers`) and two `sluice worker` processes on one PostgreSQL + Redis + S3 run 200
//! uploads (committed, aborted, abandoned to expiry, uploaded but never committed, late
//! PUTs after an abort). Afterwards every session is terminal or committed, every job has
//! run, every transition is audited once, and the bucket holds exactly the committed
//! objects.
//!
//! Production leg only: the embedded stack is one process by design (SQLite). Real time
//! with short deadlines, because these are real processes; the end is awaited by a bounded
//! poll of the database.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use sea_orm::{
    ColumnTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use sluice_entity::{audit_event, outbox_job, upload_session};
use sluice_tests::client_keys::TOKEN_SECRET;
use sluice_tests::{Leg, SluiceProcess, drop_test_database, environment, free_port, store_client};

const UPLOADS: usize = 200;

/// What the test does with one upload, by `i % 5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fate {
    Committed,
    Aborted,
    Abandoned,
    LatePutAfterAbort,
    NeverCommitted,
}

impl Fate {
    fn of(i: usize) -> Fate {
        [
            Fate::Committed,
            Fate::Aborted,
            Fate::Abandoned,
            Fate::LatePutAfterAbort,
            Fate::NeverCommitted,
        ][i % 5]
    }

    /// The end state and the number of audit events (one per transition, plus creation).
    fn ends(self) -> (&'static str, usize) {
        match self {
            Fate::Committed => ("committed", 4),
            Fate::Aborted | Fate::LatePutAfterAbort => ("aborted", 2),
            Fate::Abandoned => ("expired", 2),
            Fate::NeverCommitted => ("expired", 4),
        }
    }
}

struct Client {
    http: reqwest::Client,
}

impl Client {
    async fn post(&self, url: String, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.post(url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn put(&self, created: &Value, body: &'static [u8]) -> u16 {
        let mut req = self
            .http
            .put(created["put"]["url"].as_str().expect("url"))
            .body(body);
        for (k, v) in created["put"]["headers"].as_object().expect("headers") {
            if k != "content-length" {
                req = req.header(k, v.as_str().expect("str"));
            }
        }
        req.send().await.expect("put").status().as_u16()
    }
}

/// Drives upload `i` to its fate through API process `api`; returns its id, key and fate.
async fn drive(client: &Client, api: &str, i: usize) -> (String, String, Fate) {
    let fate = Fate::of(i);
    let owner = format!("owner{}", i % 10);
    let token = sluice_core::auth::mint_token(
        TOKEN_SECRET.as_bytes(),
        &owner,
        Duration::from_secs(600),
        None,
    )
    .expect("mint");
    let (status, created) = client
        .post(
            format!("{api}/v1/uploads"),
            &token,
            Some(json!({"filename": format!("f{i}.txt"), "size": 5, "content_type": "text/plain"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let key = created["key"].as_str().expect("key").to_owned();
    let session = |action: &str| format!("{api}/v1/uploads/{id}/{action}");
    match fate {
        Fate::Committed | Fate::NeverCommitted => {
            assert_eq!(client.put(&created, b"bytes").await, 200);
            let (status, body) = client.post(session("complete"), &token, None).await;
            assert_eq!(status, 200, "{body}");
            if fate == Fate::Committed {
                let (status, body) = client.post(session("commit"), &token, None).await;
                assert_eq!(status, 200, "{body}");
            }
        }
        Fate::Aborted => {
            assert_eq!(client.put(&created, b"bytes").await, 200);
            let (status, body) = client.post(session("abort"), &token, None).await;
            assert_eq!(status, 200, "{body}");
        }
        Fate::Abandoned => assert_eq!(client.put(&created, b"bytes").await, 200),
        Fate::LatePutAfterAbort => {
            let (status, body) = client.post(session("abort"), &token, None).await;
            assert_eq!(status, 200, "{body}");
            // The URL is still valid: the store takes the bytes of an ended session.
            assert_eq!(client.put(&created, b"bytes").await, 200);
        }
    }
    (id, key, fate)
}

/// Polls until no session is live or owes a cleanup and no job row is left.
async fn settled(db: &DatabaseConnection, within: Duration) {
    let give_up = tokio::time::Instant::now() + within;
    loop {
        let live = upload_session::Entity::find()
            .filter(upload_session::Column::State.is_in(["pending", "verifying", "uploaded"]))
            .count(db)
            .await
            .expect("count live");
        let owed = upload_session::Entity::find()
            .filter(upload_session::Column::CleanupDueAt.is_not_null())
            .count(db)
            .await
            .expect("count owed");
        let jobs = outbox_job::Entity::find().all(db).await.expect("read jobs");
        if live + owed + jobs.len() as u64 == 0 {
            return;
        }
        let rows: Vec<String> = jobs.iter().map(sluice_core::outbox::describe).collect();
        assert!(
            tokio::time::Instant::now() < give_up,
            "not settled: {live} live sessions, {owed} owed cleanups, job rows {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn two_api_and_two_worker_processes_account_for_every_object() {
    let Some(leg) = Leg::production() else {
        eprintln!("replicas need PostgreSQL + Redis + S3; skipped on the embedded stack");
        return;
    };
    let dir = std::env::temp_dir().join(format!("sluice-replicas-{}", uuid::Uuid::new_v4()));
    let env = environment(
        &leg,
        &dir,
        &[
            ("SLUICE__PROFILES__DEFAULT__UPLOAD_TTL", "4s"),
            ("SLUICE__PROFILES__DEFAULT__COMMIT_TTL", "3s"),
            ("SLUICE__CLEANUP__LATE_PUT_GRACE", "2s"),
            ("SLUICE__QUEUE__SWEEP_INTERVAL", "1s"),
            ("SLUICE__QUEUE__POLL_INTERVAL", "50ms"),
            ("SLUICE__QUEUE__CONCURRENCY", "8"),
            ("SLUICE__DATABASE__MAX_CONNECTIONS", "10"),
        ],
    )
    .await;
    let binary = Path::new(env!("CARGO_BIN_EXE_sluice"));
    let with_bind = |port: u16| {
        let mut env = env.clone();
        env.retain(|(k, _)| k != "SLUICE__SERVER__BIND");
        env.push(("SLUICE__SERVER__BIND".into(), format!("127.0.0.1:{port}")));
        env
    };
    let apis: Vec<String> = (0..2)
        .map(|_| format!("http://127.0.0.1:{}", free_port()))
        .collect();
    let mut processes = Vec::new();
    for (n, api) in apis.iter().enumerate() {
        let port: u16 = api
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        let mut process = SluiceProcess::spawn(
            binary,
            &["serve", "--no-workers"],
            &with_bind(port),
            &dir,
            &format!("api{n}"),
        );
        process.wait_ready(api).await;
        processes.push(process);
    }
    for n in 0..2 {
        processes.push(SluiceProcess::spawn(
            binary,
            &["worker"],
            &with_bind(free_port()),
            &dir,
            &format!("worker{n}"),
        ));
    }

    let client = Client {
        // No pooled connections: a kept-alive connection that the server closes just as
        // the client reuses it fails a non-idempotent POST with `IncompleteMessage`
        // (seen once on a loaded machine), which is the client's race, not Sluice's.
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("http client"),
    };
    let outcomes: Vec<(String, String, Fate)> = futures::stream::iter(0..UPLOADS)
        .map(|i| drive(&client, &apis[i % 2], i))
        .buffer_unordered(16)
        .collect()
        .await;

    let database_url = env
        .iter()
        .find(|(k, _)| k == "SLUICE__DATABASE__URL")
        .map(|(_, v)| v.clone())
        .expect("database url");
    let db = Database::connect(&database_url).await.expect("database");
    settled(&db, Duration::from_secs(90)).await;
    for process in &mut processes {
        assert!(
            process.is_running(),
            "a process died:\n{}",
            process.log_tail()
        );
    }

    let mut per_fate: BTreeMap<Fate, usize> = BTreeMap::new();
    for (id, _, fate) in &outcomes {
        *per_fate.entry(*fate).or_default() += 1;
        let uuid: uuid::Uuid = id.parse().expect("uuid");
        let row = upload_session::Entity::find_by_id(uuid)
            .one(&db)
            .await
            .expect("read")
            .expect("session");
        let (state, events) = fate.ends();
        assert_eq!(row.state.as_str(), state, "{fate:?} {id}");
        let audited = audit_event::Entity::find()
            .filter(audit_event::Column::UploadId.eq(uuid))
            .filter(audit_event::Column::Kind.eq("transition"))
            .count(&db)
            .await
            .expect("count events");
        assert_eq!(
            audited as usize, events,
            "{fate:?} {id}: every transition audited once"
        );
    }
    assert_eq!(per_fate.values().sum::<usize>(), UPLOADS);

    let settings = sluice_core::config::load_from(None, env.clone()).expect("settings");
    let endpoint = settings.storage.endpoint.clone().expect("endpoint");
    let bucket = store_client(&settings.storage, &endpoint);
    let mut stored: Vec<String> = bucket
        .list(String::new(), None)
        .await
        .expect("list")
        .into_iter()
        .flat_map(|page| page.contents.into_iter().map(|o| o.key))
        .collect();
    stored.sort();
    let mut committed: Vec<String> = outcomes
        .iter()
        .filter(|(_, _, fate)| *fate == Fate::Committed)
        .map(|(_, key, _)| key.clone())
        .collect();
    committed.sort();
    assert_eq!(stored.len(), UPLOADS / 5);
    assert_eq!(
        stored, committed,
        "the bucket holds exactly the committed objects"
    );

    for process in processes {
        process.kill();
    }
    db.close().await.ok();
    if let Leg::Production(p) = &leg {
        drop_test_database(&p.database_url, &database_url).await;
    }
    std::fs::remove_dir_all(&dir).ok();
}
