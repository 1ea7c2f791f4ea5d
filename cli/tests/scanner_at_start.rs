//! `sluice serve` with a profile that scans says at start that it cannot reach the
//! scanner, names the profiles that wait for it, and serves anyway (the rest of the
//! service does not depend on it). The real binary, its real log, the embedded stack.

use std::path::Path;

use sluice_tests::{Leg, SluiceProcess, environment, free_port};

#[tokio::test]
async fn serve_says_at_start_that_it_cannot_reach_the_scanner() {
    let dir = std::env::temp_dir().join(format!("sluice-scanner-{}", uuid::Uuid::new_v4()));
    let port = free_port();
    // A port nothing listens on: bound and released.
    let clamd = format!("tcp://127.0.0.1:{}", free_port());
    let env = environment(
        &Leg::Embedded,
        &dir,
        &[
            ("SLUICE__SERVER__BIND", &format!("127.0.0.1:{port}")),
            ("SLUICE__SCANNER__CLAMD", &clamd),
            ("SLUICE__PROFILES__DOCUMENTS__SCAN", "true"),
        ],
    )
    .await;
    let mut process = SluiceProcess::spawn(
        Path::new(env!("CARGO_BIN_EXE_sluice")),
        &["serve"],
        &env,
        &dir,
        "serve",
    );
    process
        .wait_ready(&format!("http://127.0.0.1:{port}"))
        .await;
    let log = process.log_tail();
    assert!(
        log.contains("cannot reach the malware scanner") && log.contains("documents"),
        "{log}"
    );
    process.kill();
    std::fs::remove_dir_all(dir).ok();
}
