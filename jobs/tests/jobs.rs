//! End-to-end checks of the queue, the workers and the relay against real backends: the
//! embedded SQLite queue always, Redis only when `SLUICE_TEST_REDIS_URL` is set. Each test
//! owns its directory (and, on Redis, its namespace); nothing sleeps a fixed time, waits are
//! bounded polls.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use secrecy::SecretString;
use sluice_core::config::{Dur, Settings};
use sluice_core::ids::UploadId;
use sluice_core::jobs::{ExpireSession, Job, NewJob};
use sluice_core::storage::S3Store;
use sluice_core::{Core, db, outbox};
use sluice_jobs::{Drain, QueueError, Queues, start_relay, start_workers};

/// A data directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path =
            std::env::temp_dir().join(format!("sluice-jobs-{}", uuid::Uuid::new_v4().simple()));
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn settings(dir: &TempDir) -> Settings {
    let mut settings = Settings::default();
    settings.server.data_dir = dir.0.clone();
    settings.server.shutdown_timeout = Dur::secs(5);
    settings.queue.namespace = format!("test{}", uuid::Uuid::new_v4().simple());
    settings.queue.sweep_interval = Dur::secs(1);
    // Explicit credentials: without them the S3 client would probe the environment.
    settings.storage.access_key_id = Some("test".into());
    settings.storage.secret_access_key = Some(SecretString::from("test-secret"));
    settings
}

/// A core on a fresh, migrated SQLite database; its store points nowhere (unused here).
async fn core(settings: Settings) -> Core {
    std::fs::create_dir_all(&settings.server.data_dir).expect("data dir");
    let db = db::connect(&settings.database_url(), 2)
        .await
        .expect("database");
    db::migrate(&db).await.expect("migrations");
    let store = S3Store::new(&settings.storage, Some("http://127.0.0.1:9")).expect("store client");
    Core::new(db, store, Arc::new(settings))
}

fn expire_job() -> Job {
    Job::ExpireSession(ExpireSession {
        upload_id: UploadId::new(),
    })
}

/// Polls `waiting()` until it reaches zero; returns when that happened.
async fn wait_until_taken(queues: &Queues, within: Duration) -> chrono::DateTime<Utc> {
    let give_up = Instant::now() + within;
    loop {
        if queues.waiting().await.expect("waiting") == 0 {
            return Utc::now();
        }
        assert!(
            Instant::now() < give_up,
            "the job was not taken within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pushes a job due in a second, checks duplicates are ignored, and sees a worker take it
/// no earlier than its due time.
async fn delayed_job_is_delivered_once_due(settings: Settings) {
    let queues = Queues::connect(&settings).await.expect("queue");
    queues.ping().await.expect("ping");
    let run_at = Utc::now() + chrono::Duration::milliseconds(1_200);
    let job = expire_job();
    queues.push(&job, run_at, "outbox-1-x").await.expect("push");
    queues
        .push(&job, run_at, "outbox-1-x")
        .await
        .expect("duplicate push");
    assert_eq!(
        queues.waiting().await.expect("waiting"),
        1,
        "the duplicate was queued"
    );

    let workers = start_workers(core(settings).await, queues.clone())
        .await
        .expect("workers");
    let taken = wait_until_taken(&queues, Duration::from_secs(15)).await;
    assert!(
        taken >= run_at,
        "taken at {taken}, before its due time {run_at}"
    );
    workers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_delayed_job_runs_after_its_due_time() {
    let dir = TempDir::new();
    let settings = settings(&dir);
    delayed_job_is_delivered_once_due(settings).await;
    assert!(
        dir.0.join("jobs.db").exists(),
        "the embedded queue has its own file"
    );
}

#[tokio::test]
async fn redis_delayed_job_runs_after_its_due_time() {
    let Ok(url) = std::env::var("SLUICE_TEST_REDIS_URL") else {
        eprintln!("SLUICE_TEST_REDIS_URL not set; skipped");
        return;
    };
    let dir = TempDir::new();
    let mut settings = settings(&dir);
    settings.queue.redis_url = Some(SecretString::from(url));
    let queues = Queues::connect(&settings).await.expect("queue");
    assert!(!queues.is_embedded());
    delayed_job_is_delivered_once_due(settings).await;
}

#[tokio::test]
async fn redis_unreachable_is_an_error_without_the_password() {
    let dir = TempDir::new();
    let mut settings = settings(&dir);
    settings.queue.redis_url = Some(SecretString::from("redis://:hunter2@127.0.0.1:1/0"));
    let error = match Queues::connect(&settings).await {
        Ok(_) => panic!("connected to a closed port"),
        Err(error) => error,
    };
    assert!(
        matches!(error, QueueError::RedisUnreachable { .. }),
        "{error:?}"
    );
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("127.0.0.1:1"), "{shown}");
}

#[actix_rt::test]
async fn relay_moves_the_outbox_into_the_queue() {
    let dir = TempDir::new();
    let settings = settings(&dir);
    let queues = Queues::connect(&settings).await.expect("queue");
    let core = core(settings).await;

    let soon = Utc::now() + chrono::Duration::hours(1);
    let jobs = [
        NewJob::at(expire_job(), soon),
        NewJob::at(expire_job(), soon),
    ];
    outbox::append(&core.db, &jobs).await.expect("append");
    // A row no code can read any more (a removed job type) must not block the others.
    sluice_entity::outbox_job::ActiveModel {
        job: Set("retired_job".into()),
        payload: Set(serde_json::json!({})),
        run_at: Set(Utc::now()),
        created_at: Set(Utc::now()),
        attempts: Set(0),
        ..Default::default()
    }
    .insert(&core.db)
    .await
    .expect("insert");

    let relay = start_relay(core.clone(), queues.clone());
    // The relay may already have run its start-up pass; together they moved both jobs.
    let moved = relay.send(Drain).await.expect("mailbox").expect("drain");
    assert!(moved <= 2);
    assert_eq!(outbox::backlog(&core.db).await.expect("backlog"), 0);
    assert_eq!(queues.waiting().await.expect("waiting"), 2);

    // A second pass finds nothing, and re-relaying never duplicates.
    assert_eq!(relay.send(Drain).await.expect("mailbox"), Ok(0));
    assert_eq!(queues.waiting().await.expect("waiting"), 2);
}

#[actix_rt::test]
async fn relay_wakes_on_the_core_signal() {
    let dir = TempDir::new();
    let mut settings = settings(&dir);
    // Long enough that only the signal can explain a prompt relay.
    settings.queue.relay_interval = Dur::secs(3_600);
    let queues = Queues::connect(&settings).await.expect("queue");
    let core = core(settings).await;
    let relay = start_relay(core.clone(), queues.clone());
    relay.send(Drain).await.expect("mailbox").expect("drain");

    outbox::append(&core.db, &[NewJob::now(expire_job())])
        .await
        .expect("append");
    core.relay.wake();
    let give_up = Instant::now() + Duration::from_secs(10);
    while outbox::backlog(&core.db).await.expect("backlog") > 0 {
        assert!(Instant::now() < give_up, "the relay did not wake");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(queues.waiting().await.expect("waiting"), 1);
}
