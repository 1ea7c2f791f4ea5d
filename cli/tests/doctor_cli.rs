//! `sluice doctor` as a person or a script runs it: the real binary on the embedded store,
//! JSON on stdout, exit status 0 when the configuration matches the store and 1 when it
//! claims what the store lacks.

use std::process::Command;

use sluice_tests::free_port;

fn doctor(extra: &[(&str, &str)]) -> (Option<i32>, serde_json::Value) {
    let dir = std::env::temp_dir().join(format!("sluice-doctor-{}", uuid::Uuid::new_v4()));
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["doctor", "--json"])
        .env_remove("SLUICE_CONFIG")
        .env("SLUICE__SERVER__DATA_DIR", &dir)
        .env(
            "SLUICE__STORAGE__EMBEDDED_BIND",
            format!("127.0.0.1:{}", free_port()),
        )
        .envs(extra.iter().copied())
        .output()
        .expect("run sluice doctor");
    std::fs::remove_dir_all(&dir).ok();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), report)
}

#[test]
fn doctor_exits_zero_when_the_settings_match_and_one_when_they_claim_too_much() {
    let (status, report) = doctor(&[]);
    assert_eq!(status, Some(0), "{report:#}");
    assert_eq!(report["left_behind"], serde_json::json!([]), "{report:#}");
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    assert!(
        checks.contains(&"if_none_match") && checks.contains(&"cors"),
        "{checks:?}"
    );

    let (status, report) = doctor(&[("SLUICE__STORAGE__LIST_MULTIPART_UPLOADS", "true")]);
    assert_eq!(status, Some(1), "{report:#}");
    let listing = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check"] == "list_multipart_uploads")
        .expect("the listing check");
    assert_eq!(listing["outcome"], "no");
    assert_eq!(listing["setting"]["configured"], true);
    assert_eq!(listing["setting"]["recommended"], false);
}
