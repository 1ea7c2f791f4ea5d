//! Per-request CPU costs on the hot path of `POST /v1/uploads` and of every
//! authenticated request: presigning a PUT, presigning a GET with response overrides,
//! verifying an upload token, and the pure transition planner.
//!
//! `cargo bench -p sluice-core --bench hot_paths`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sluice_core::auth::{Authenticator, mint_token};
use sluice_core::config::{AuthSettings, Disposition, StorageSettings};
use sluice_core::naming::content_disposition;
use sluice_core::storage::{GetOverrides, ObjectStore, PutConditions, S3Store};
use sluice_core::upload::UploadState;
use sluice_core::upload::state::{Event, PlanContext, plan};

const SECRET: &str = "bench-token-secret-0123456789-abcdefghij";

fn store() -> S3Store {
    let settings = StorageSettings {
        endpoint: Some("http://127.0.0.1:9".into()),
        access_key_id: Some("benchkey".into()),
        secret_access_key: Some("bench-secret-0123456789".into()),
        force_path_style: true,
        ..StorageSettings::default()
    };
    S3Store::new(&settings, None).expect("store")
}

fn presigning(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = store();
    let put = PutConditions {
        content_type: "image/png".into(),
        content_length: 15_521_335,
        one_time: true,
        checksum_sha256: None,
    };
    c.bench_function("presign_put (3 signed headers)", |b| {
        b.iter(|| {
            rt.block_on(store.presign_put(
                black_box("uploads/alice/0192"),
                &put,
                Duration::from_secs(3600),
            ))
        })
    });
    let get = GetOverrides {
        content_disposition: content_disposition(Disposition::Attachment, "résumé 2026.pdf"),
        content_type: "application/pdf".into(),
    };
    c.bench_function("presign_get (disposition + type overrides)", |b| {
        b.iter(|| {
            rt.block_on(store.presign_get(
                black_box("uploads/alice/0192"),
                &get,
                Duration::from_secs(600),
            ))
        })
    });
}

fn authentication(c: &mut Criterion) {
    let auth = Authenticator::new(&AuthSettings {
        token_secret: Some(SECRET.into()),
        service_keys: vec!["bench-service-key-0123456789".into()],
        admin_keys: vec!["bench-admin-key-0123456789".into()],
        ..AuthSettings::default()
    });
    let token =
        mint_token(SECRET.as_bytes(), "alice", Duration::from_secs(3600), None).expect("mint");
    let header = format!("Bearer {token}");
    c.bench_function("authenticate upload token (HS256)", |b| {
        b.iter(|| auth.authenticate(black_box(Some(header.as_str()))))
    });
}

fn transitions(c: &mut Criterion) {
    let now = chrono::Utc::now();
    let ctx = PlanContext {
        now,
        upload_deadline: now + chrono::Duration::hours(1),
        commit_ttl: chrono::Duration::hours(24),
        verify_ttl: chrono::Duration::hours(24),
        verify_delay: chrono::Duration::seconds(10),
        deadline: now + chrono::Duration::hours(24),
        scan: false,
        size: 15_521_335,
        verified_size: None,
        checksum_verified: false,
        sealed: false,
        held: 0,
    };
    c.bench_function("state::plan over every pair", |b| {
        b.iter(|| {
            let mut legal = 0;
            for from in [
                UploadState::Pending,
                UploadState::Verifying,
                UploadState::Uploaded,
                UploadState::Committed,
            ] {
                for event in Event::ALL {
                    legal += usize::from(plan(black_box(from), black_box(event), &ctx).is_ok());
                }
            }
            legal
        })
    });
}

criterion_group!(benches, presigning, authentication, transitions);
criterion_main!(benches);
