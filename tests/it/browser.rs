//! Uppy in a real browser: Debian's chromium, driven by `browser/test.mjs` (playwright-core),
//! uploads a 30 MiB file through the Companion multipart routes, a 12 MiB file that
//! declares its size (so every part's length is signed), and a small file through a
//! `/s3/params` POST policy, from a page of Sluice's own origin: with Uppy 6, authenticated
//! by Sluice's session cookie; with Uppy 5, by the bearer header. The sessions must end
//! `uploaded` with the right sizes and bytes.
//!
//! Ignored by default (it needs `/usr/bin/chromium` and `browser/node_modules`):
//! `browser/run.sh` installs nothing itself but builds the page and runs these with
//! `--ignored`, and `.ci/run` calls it.

use s3::serde_types::{CorsConfiguration, CorsRule};
use sluice_tests::{Leg, patterned};

use crate::*;

const MIB: usize = 1024 * 1024;

/// `(name, type, size, seed, declare_size)` of the files the page uploads.
const FILES: [(&str, &str, usize, u8, bool); 3] = [
    ("big.bin", "application/octet-stream", 30 * MIB, 11, false),
    (
        "declared.bin",
        "application/octet-stream",
        12 * MIB + 5,
        12,
        true,
    ),
    ("small.txt", "text/plain", 4321, 13, false),
];

/// Each Uppy line against its own Sluice: Uppy 6 with POST policies (which it always
/// uses for `/s3/params`), Uppy 5 with `storage.post_policy = false`, so `/s3/params`
/// answers a PUT (Uppy 5 waits for an `ETag` header on a form POST's answer, which
/// neither s3s-fs nor Ceph RGW sends).
async fn run(leg: Leg) {
    for (major, post_policy) in [("6", true), ("5", false)] {
        let app = TestApp::build(leg.clone())
            .env("SLUICE__STORAGE__POST_POLICY", &post_policy.to_string())
            .start()
            .await;
        allow_browsers(&app).await;
        upload_in_chromium(&app, major, post_policy).await;
        app.stop().await;
    }
}

/// A real bucket needs CORS for the browser's cross-origin PUTs and form POSTs, exposing
/// ETag (Uppy reads it from each part's answer); the embedded store has its own.
async fn allow_browsers(app: &TestApp) {
    if let Leg::Production(_) = app.leg {
        let rule = CorsRule::new(
            Some(vec!["*".into()]),
            ["GET", "PUT", "POST", "HEAD"].map(String::from).to_vec(),
            vec!["*".into()],
            Some(vec!["ETag".into(), "Location".into()]),
            None,
            Some(600),
        );
        app.bucket
            .put_bucket_cors("", &CorsConfiguration::new(vec![rule]))
            .await
            .expect("set the bucket's CORS");
    }
}

/// Runs the page of Uppy `major` and checks what it uploaded.
async fn upload_in_chromium(app: &TestApp, major: &str, post_policy: bool) {
    let token = app.token(&format!("browser-user-uppy{major}"));
    let files: Vec<Value> = FILES
        .iter()
        .map(|(name, kind, size, seed, declare)| {
            // Without POST policies a single-request upload is a PUT, which signs its length.
            let declare = *declare || (!post_policy && *size <= 10 * MIB);
            json!({"name": name, "type": kind, "size": size, "seed": seed, "declareSize": declare})
        })
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../browser");
    let output = tokio::process::Command::new("node")
        .arg("test.mjs")
        .current_dir(&dir)
        .env("SLUICE_API", &app.api)
        .env("SLUICE_TOKEN", &token)
        .env("BROWSER_FILES", Value::Array(files).to_string())
        .env("UPPY_MAJOR", major)
        .output()
        .await
        .expect("node runs browser/test.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let result: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BROWSER_RESULT "))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| {
            panic!("no result from the browser\nstdout: {stdout}\nstderr: {stderr}")
        });
    assert!(
        output.status.success(),
        "the browser upload failed (Uppy {major}): {result}\nstderr: {stderr}"
    );
    eprintln!("browser, {} leg, Uppy {major}: {result}", app.leg.name());
    let successful = result["successful"].as_array().expect("successful");
    for (name, kind, size, seed, _) in FILES {
        let file = successful
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} not uploaded: {result}"));
        let key = file["key"].as_str().expect("key");
        let id = key.rsplit('/').next().expect("session id in the key");
        let session = app.session(&token, id).await;
        assert_eq!(session["state"], "uploaded", "{name}: {session}");
        assert_eq!(session["size"], size, "{name}: {session}");
        assert_eq!(session["content_type"], kind, "{name}: {session}");
        let method = if size > 10 * MIB { "multipart" } else { "put" };
        assert_eq!(session["method"], method, "{name}: {session}");
        // Where the verified bytes are read from: a form POST's are sealed apart from the
        // key Uppy uploaded to, whose URL could still write it.
        let readable = session["key"].as_str().expect("key");
        assert!(
            app.object_bytes(readable).await == patterned(size, seed),
            "{name}: the store holds other bytes"
        );
    }
}

#[actix_rt::test]
#[ignore = "needs /usr/bin/chromium and browser/node_modules: run browser/run.sh"]
async fn uppy_in_chromium_uploads_through_the_companion_routes_embedded() {
    run(Leg::Embedded).await;
}

#[actix_rt::test]
#[ignore = "needs /usr/bin/chromium and browser/node_modules: run browser/run.sh"]
async fn uppy_in_chromium_uploads_through_the_companion_routes_production() {
    let Some(leg) = Leg::production() else {
        return;
    };
    run(leg).await;
}
