//! `sluice doctor` against the embedded store and Ceph RGW: each capability as the store
//! really answers it (the two differ, and each difference is asserted), the settings it
//! recommends, a configuration that claims too much caught, and nothing left behind.

use super::*;
use sluice_core::doctor::{Outcome, Report};

async fn doctor(app: &TestApp) -> Report {
    sluice::doctor_at(&app.running.core.settings, Some(&app.running.store_url))
        .await
        .expect("doctor runs")
}

fn outcome(report: &Report, check: &str) -> Outcome {
    report
        .finding(check)
        .unwrap_or_else(|| panic!("no `{check}` finding:\n{}", report.render()))
        .outcome
}

/// What no run may leave: an object or a multipart upload under its prefix.
async fn assert_left_nothing(app: &TestApp, report: &Report) {
    assert!(report.left_behind.is_empty(), "{}", report.render());
    let keys = app.list_keys().await;
    assert!(
        !keys.iter().any(|k| k.starts_with(&report.prefix)),
        "{keys:?}"
    );
    if let Ok(uploads) = app
        .running
        .core
        .stores
        .default_store()
        .list_multipart_uploads()
        .await
    {
        assert!(
            !uploads.iter().any(|u| u.key.starts_with(&report.prefix)),
            "{uploads:?}"
        );
    }
}

e2e!(the_doctor_reports_what_the_store_really_does, |app| {
    let report = doctor(&app).await;
    let text = report.render();
    eprintln!("{text}");
    // What Sluice needs of every store, and both of these do.
    for check in [
        "bucket",
        "clock_skew",
        "signed_length",
        "signed_type",
        "if_none_match",
        "post_policy",
        "post_content_length_range",
        "delete_objects",
    ] {
        assert_eq!(outcome(&report, check), Outcome::Yes, "{check}:\n{text}");
    }
    // Where they differ.
    let embedded = app.leg.name() == "embedded";
    let (checksums, listing, etags) = if embedded {
        // The store checks the signed digest on PUT and UploadPart (keeping nothing of a
        // lie) and HEAD reports it; it cannot list multipart uploads,
        // and its ListParts carries no ETags.
        (Outcome::Yes, Outcome::No, Outcome::No)
    } else {
        // Ceph RGW 16 ignores x-amz-checksum-sha256, lists uploads and part ETags.
        (Outcome::No, Outcome::Yes, Outcome::Yes)
    };
    assert_eq!(outcome(&report, "checksum_sha256"), checksums, "{text}");
    assert_eq!(
        outcome(&report, "checksum_put_checked"),
        checksums,
        "{text}"
    );
    assert_eq!(
        outcome(&report, "list_multipart_uploads"),
        listing,
        "{text}"
    );
    assert_eq!(outcome(&report, "list_parts_etags"), etags, "{text}");
    // The embedded store's checksum guard refuses a lying part and keeps nothing of it;
    // Ceph takes it, so only a worker's re-hash proves a multipart object there
    // (tests/it/integrity.rs).
    assert_eq!(
        outcome(&report, "checksum_part_checked"),
        checksums,
        "{text}"
    );
    // A fresh bucket has no CORS rules and no lifecycle rule on either.
    assert_eq!(outcome(&report, "cors"), Outcome::No, "{text}");
    assert_eq!(
        outcome(&report, "lifecycle_abort_incomplete"),
        Outcome::No,
        "{text}"
    );
    // The defaults follow the store: nothing claimed that it lacks.
    assert!(!report.failed(), "{text}");
    let recommended = |name: &str| {
        report
            .findings
            .iter()
            .filter_map(|f| f.setting.as_ref())
            .find(|s| s.name == name)
            .map(|s| s.recommended)
    };
    assert_eq!(recommended("storage.checksums"), Some(embedded), "{text}");
    assert_eq!(
        recommended("storage.list_multipart_uploads"),
        Some(!embedded),
        "{text}"
    );
    assert!(text.contains("cleanup: nothing left behind"), "{text}");
    assert_left_nothing(&app, &report).await;
});

e2e!(
    the_doctor_fails_a_configuration_that_claims_what_the_store_lacks,
    with | b
        | match b.leg_name() {
            // Each store is told it does what it was seen not to.
            "embedded" => b.env("SLUICE__STORAGE__LIST_MULTIPART_UPLOADS", "true"),
            _ => b.env("SLUICE__STORAGE__CHECKSUMS", "true"),
        },
    |app| {
        let report = doctor(&app).await;
        let text = report.render();
        assert!(report.failed(), "{text}");
        assert!(text.contains("MISMATCH"), "{text}");
        let overclaimed: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.overclaims())
            .map(|f| f.check)
            .collect();
        let expected = if app.leg.name() == "embedded" {
            vec!["list_multipart_uploads"]
        } else {
            vec!["checksum_sha256"]
        };
        assert_eq!(overclaimed, expected, "{text}");
        assert_left_nothing(&app, &report).await;
    }
);
