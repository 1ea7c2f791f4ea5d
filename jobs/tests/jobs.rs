//! Checks of the job runtime against real backends: the job table on a real SQLite
//! database, the embedded SQLite queue always, Redis only when `SLUICE_TEST_REDIS_URL` is
//! set (under `CI` its absence fails). Each test owns its directory (and, on Redis, its
//! namespace). Time is the core's shifted clock: tests jump it instead of sleeping, and
//! waits for a worker are bounded polls of the job table.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ActiveModelTrait, Set};
use secrecy::SecretString;
use sluice_core::clock::ShiftedClock;
use sluice_core::config::{Dur, Settings};
use sluice_core::ids::UploadId;
use sluice_core::jobs::{Dispatch, ExpireSession, Job, NewJob};
use sluice_core::storage::{S3Store, Stores};
use sluice_core::{Core, db, lease, outbox};
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
    settings.queue.poll_interval = Dur(Duration::from_millis(50));
    // Explicit credentials: without them the S3 client would probe the environment.
    settings.storage.access_key_id = Some("test".into());
    settings.storage.secret_access_key = Some(SecretString::from("test-secret"));
    settings
}

fn redis_url() -> Option<String> {
    match std::env::var("SLUICE_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok() => panic!("CI must set SLUICE_TEST_REDIS_URL"),
        _ => {
            eprintln!("SLUICE_TEST_REDIS_URL not set; the Redis variant is skipped");
            None
        }
    }
}

/// A core on a fresh, migrated SQLite database and a shifted clock; its store points
/// nowhere (these jobs never reach it).
async fn core(settings: Settings) -> (Core, Arc<ShiftedClock>) {
    std::fs::create_dir_all(&settings.server.data_dir).expect("data dir");
    let db = db::connect(&settings.database_url(), 2)
        .await
        .expect("database");
    db::migrate(&db).await.expect("migrations");
    let store = S3Store::new(&settings.storage, Some("http://127.0.0.1:9")).expect("store client");
    let clock = Arc::new(ShiftedClock::default());
    let core = Core::with_clock(
        db,
        Stores::single(Arc::new(store)),
        Arc::new(settings),
        clock.clone(),
    );
    (core, clock)
}

fn expire_job() -> Job {
    Job::from(ExpireSession {
        upload_id: UploadId::new(),
    })
}

async fn waiting(queues: &Queues, kind: &str) -> u64 {
    queues.waiting().await.expect("waiting")[kind]
}

async fn drain(relay: &actix::Addr<sluice_jobs::Relay>) -> usize {
    relay.send(Drain).await.expect("mailbox").expect("drain")
}

/// Pushing the same dispatch twice queues it once.
async fn pushes_are_deduplicated(settings: Settings) {
    let queues = Queues::connect(&settings).await.expect("queue");
    queues.ping().await.expect("ping");
    let dispatch = Dispatch {
        row: 1,
        token: "t".into(),
    };
    for _ in 0..2 {
        queues
            .push("expire_session", dispatch.clone(), "job-1-t")
            .await
            .expect("push");
    }
    assert_eq!(waiting(&queues, "expire_session").await, 1);
    assert_eq!(waiting(&queues, "cleanup_session").await, 0);
    let error = queues
        .push("from_the_future", dispatch, "job-1-u")
        .await
        .expect_err("no queue for an unknown kind");
    assert!(error.to_string().contains("from_the_future"), "{error}");
}

#[tokio::test]
async fn embedded_queue_deduplicates_pushes() {
    let dir = TempDir::new();
    pushes_are_deduplicated(settings(&dir)).await;
    assert!(
        dir.0.join("jobs.db").exists(),
        "the embedded queue has its own file"
    );
}

#[tokio::test]
async fn redis_queue_deduplicates_pushes() {
    let Some(url) = redis_url() else { return };
    let dir = TempDir::new();
    let mut settings = settings(&dir);
    settings.queue.redis_url = Some(SecretString::from(url));
    pushes_are_deduplicated(settings).await;
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
async fn relay_dispatches_due_rows_once_and_leaves_later_ones() {
    let dir = TempDir::new();
    let settings = settings(&dir);
    let queues = Queues::connect(&settings).await.expect("queue");
    let (core, clock) = core(settings).await;
    let now = core.now();
    let jobs = [
        NewJob::at(expire_job(), now),
        NewJob::at(expire_job(), now),
        NewJob::at(expire_job(), now + chrono::Duration::hours(1)),
    ];
    let _ = outbox::append(&core.db, now, &jobs).await.expect("append");

    let relay = start_relay(core.clone(), queues.clone());
    drain(&relay).await;
    assert_eq!(waiting(&queues, "expire_session").await, 2);
    // Rows stay until their job ran; a second pass dispatches nothing new.
    assert_eq!(drain(&relay).await, 0);
    assert_eq!(waiting(&queues, "expire_session").await, 2);
    let backlog = outbox::backlog(&core.db, core.now())
        .await
        .expect("backlog");
    assert_eq!((backlog.total, backlog.due), (3, 2));

    // An hour later the third is due too, and the first two, dispatched but never run (no
    // worker took them), count as lost: their lease ran out, so they go out again.
    clock.advance(Duration::from_secs(3_601));
    assert_eq!(drain(&relay).await, 3);
    assert_eq!(waiting(&queues, "expire_session").await, 5);
}

#[actix_rt::test]
async fn a_row_of_an_unknown_kind_survives_relay_passes_and_is_reported() {
    let dir = TempDir::new();
    let settings = settings(&dir);
    let queues = Queues::connect(&settings).await.expect("queue");
    let (core, clock) = core(settings).await;
    let now = core.now();
    // A row a newer version wrote, of a kind this one does not know.
    let stranger = sluice_entity::outbox_job::ActiveModel {
        job: Set("from_the_future".into()),
        payload: Set(serde_json::json!({"anything": 1})),
        run_at: Set(now),
        created_at: Set(now),
        attempts: Set(0),
        ..Default::default()
    }
    .insert(&core.db)
    .await
    .expect("insert");
    let _ = outbox::append(&core.db, now, &[NewJob::at(expire_job(), now)])
        .await
        .expect("append");

    let relay = start_relay(core.clone(), queues.clone());
    for pass in 1..=3 {
        drain(&relay).await;
        if pass == 1 {
            // It did not block the known job behind it.
            assert_eq!(waiting(&queues, "expire_session").await, 1);
        }
        let row = outbox::find(&core.db, stranger.id)
            .await
            .expect("read")
            .expect("the unknown row is kept");
        assert_eq!(row.attempts, pass, "every pass counts one attempt");
        assert!(row.dispatch_token.is_none(), "never dispatched");
        assert!(
            row.last_error
                .as_deref()
                .is_some_and(|e| e.contains("from_the_future")),
            "{:?}",
            row.last_error
        );
        // It waits before the next look; jump past that wait.
        assert!(row.run_at > core.now());
        clock.advance(Duration::from_secs(600));
    }
    // It is reported.
    let backlog = outbox::backlog(&core.db, core.now())
        .await
        .expect("backlog");
    assert_eq!(backlog.undecodable, 1);
    let report = sluice_core::sweep::run(&core).await.expect("sweep");
    assert_eq!(report.undecodable_jobs, 1);
}

#[actix_rt::test]
async fn relay_wakes_on_the_core_signal() {
    let dir = TempDir::new();
    let mut settings = settings(&dir);
    // Long enough that only the signal can explain a prompt relay.
    settings.queue.relay_interval = Dur::secs(3_600);
    let queues = Queues::connect(&settings).await.expect("queue");
    let (core, _clock) = core(settings).await;
    let relay = start_relay(core.clone(), queues.clone());
    drain(&relay).await;

    let now = core.now();
    // What every committer does with what it appended (see `sluice_core::write`).
    outbox::append(&core.db, now, &[NewJob::at(expire_job(), now)])
        .await
        .expect("append")
        .wake(&core.relay);
    let give_up = Instant::now() + Duration::from_secs(10);
    while waiting(&queues, "expire_session").await == 0 {
        assert!(Instant::now() < give_up, "the relay did not wake");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs one due job through relay and workers and sees its row go; then loses a dispatch
/// (claimed, never queued) and sees it dispatched again once the lease ran out.
async fn jobs_run_and_lost_dispatches_come_back(settings: Settings) {
    let queues = Queues::connect(&settings).await.expect("queue");
    let (core, clock) = core(settings).await;
    let relay = start_relay(core.clone(), queues.clone());
    let workers = start_workers(core.clone(), queues.clone())
        .await
        .expect("workers");
    let wait_until_no_due = || async {
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            drain(&relay).await;
            if outbox::due_count(&core.db, core.now()).await.expect("due") == 0 {
                return;
            }
            assert!(Instant::now() < give_up, "due jobs were not run");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };

    let now = core.now();
    let _ = outbox::append(&core.db, now, &[NewJob::at(expire_job(), now)])
        .await
        .expect("append");
    wait_until_no_due().await;
    assert_eq!(
        outbox::backlog(&core.db, core.now())
            .await
            .expect("backlog")
            .total,
        0
    );

    // A dispatch the queue lost: claimed by a relay that died before pushing it.
    let now = core.now();
    let _ = outbox::append(&core.db, now, &[NewJob::at(expire_job(), now)])
        .await
        .expect("append");
    let lease = core.settings.queue.dispatch_lease.get();
    let claimed = outbox::claim_due(&core.db, now, lease, "lost", 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(drain(&relay).await, 0, "a live claim is not taken twice");
    clock.advance(lease + Duration::from_secs(1));
    wait_until_no_due().await;
    assert_eq!(
        outbox::backlog(&core.db, core.now())
            .await
            .expect("backlog")
            .total,
        0
    );
    workers.shutdown().await;
}

#[actix_rt::test]
async fn embedded_jobs_run_and_lost_dispatches_come_back() {
    let dir = TempDir::new();
    jobs_run_and_lost_dispatches_come_back(settings(&dir)).await;
}

#[actix_rt::test]
async fn redis_jobs_run_and_lost_dispatches_come_back() {
    let Some(url) = redis_url() else { return };
    let dir = TempDir::new();
    let mut settings = settings(&dir);
    settings.queue.redis_url = Some(SecretString::from(url));
    jobs_run_and_lost_dispatches_come_back(settings).await;
}

#[tokio::test]
async fn a_lease_is_held_by_one_holder_until_it_runs_out() {
    let dir = TempDir::new();
    let (core, clock) = core(settings(&dir)).await;
    let ttl = Duration::from_secs(60);
    let take = |holder: &'static str| {
        let core = core.clone();
        async move {
            lease::acquire(&core.db, "sweep", holder, core.now(), ttl)
                .await
                .expect("lease")
        }
    };
    assert!(take("a").await);
    assert!(!take("b").await, "held by a");
    assert!(take("a").await, "a renews its own");
    clock.advance(ttl + Duration::from_secs(1));
    assert!(take("b").await, "ran out, so b takes it");
    assert!(!take("a").await);
    lease::release(&core.db, "sweep", "b")
        .await
        .expect("release");
    assert!(take("a").await, "released, so a takes it");
}
