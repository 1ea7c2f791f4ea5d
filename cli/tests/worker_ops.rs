//! `sluice worker` with `ops.worker_bind` serves the operations routes (and nothing else)
//! so a split deployment can scrape its workers' metrics: the real binary, the embedded
//! stack.

use std::path::Path;

use sluice_tests::{Leg, SluiceProcess, environment, free_port};

#[tokio::test]
async fn a_worker_serves_health_readiness_and_metrics_on_its_ops_bind() {
    let dir = std::env::temp_dir().join(format!("sluice-worker-ops-{}", uuid::Uuid::new_v4()));
    let port = free_port();
    let env = environment(
        &Leg::Embedded,
        &dir,
        &[("SLUICE__OPS__WORKER_BIND", &format!("127.0.0.1:{port}"))],
    )
    .await;
    let mut process = SluiceProcess::spawn(
        Path::new(env!("CARGO_BIN_EXE_sluice")),
        &["worker"],
        &env,
        &dir,
        "worker",
    );
    let base = format!("http://127.0.0.1:{port}");
    process.wait_ready(&base).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).send();
    let ready = get("/readyz").await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let metrics = get("/metrics").await.expect("metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("text");
    // The database gauges are read on a scrape: the worker's registry answers.
    assert!(text.contains("sluice_jobs{measure=\"stored\"}"), "{text}");
    // No API here: the routes of `serve` are not served.
    let api = http
        .post(format!("{base}/v1/uploads"))
        .send()
        .await
        .expect("post");
    assert_eq!(api.status(), 404);
    process.kill();
    std::fs::remove_dir_all(dir).ok();
}
