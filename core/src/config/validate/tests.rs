//! The store-capability switches: a profile that needs what the store lacks is refused at
//! start, every such problem in one report; options left unset follow the store.

use crate::config::{ConfigError, Settings, load_from};

/// An external store (no files written: its secrets are given), plus `extra`.
fn load(extra: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let base = [
        ("SLUICE__STORAGE__ENDPOINT", "https://s3.example.com"),
        ("SLUICE__STORAGE__ACCESS_KEY_ID", "key"),
        ("SLUICE__STORAGE__SECRET_ACCESS_KEY", "secret"),
        (
            "SLUICE__AUTH__TOKEN_SECRET",
            "a-token-secret-of-at-least-32-bytes!",
        ),
    ];
    load_from(
        None,
        base.iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

fn problems(extra: &[(&str, &str)]) -> Vec<String> {
    match load(extra) {
        Err(ConfigError::Invalid(problems)) => problems,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_explicit_one_time_profile_is_refused_without_if_none_match() {
    let found = problems(&[
        ("SLUICE__STORAGE__IF_NONE_MATCH", "false"),
        ("SLUICE__PROFILES__AVATAR__ONE_TIME", "true"),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("profiles.avatar.one_time:"),
        "{found:?}"
    );
}

#[test]
fn one_time_follows_the_store_when_unset() {
    let s = load(&[
        ("SLUICE__STORAGE__IF_NONE_MATCH", "false"),
        ("SLUICE__PROFILES__AVATAR__MAX_SIZE", "1MiB"),
    ])
    .expect("loads");
    assert!(!s.profile("default").expect("default").one_time());
    assert!(!s.profile("avatar").expect("avatar").one_time());
    let s = load(&[]).expect("loads");
    assert!(s.profile("default").expect("default").one_time());
    // Explicitly off is always fine.
    let s = load(&[("SLUICE__PROFILES__DEFAULT__ONE_TIME", "false")]).expect("loads");
    assert!(!s.profile("default").expect("default").one_time());
}

#[test]
fn require_checksum_is_refused_where_the_store_does_not_check() {
    // An external store is not trusted with checksums unless told.
    let found = problems(&[("SLUICE__PROFILES__DEFAULT__REQUIRE_CHECKSUM", "true")]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("profiles.default.require_checksum:"),
        "{found:?}"
    );
    let s = load(&[
        ("SLUICE__STORAGE__CHECKSUMS", "true"),
        ("SLUICE__PROFILES__DEFAULT__REQUIRE_CHECKSUM", "true"),
    ])
    .expect("loads");
    assert!(s.storage.checksums());
    assert!(s.profile("default").expect("default").require_checksum);
}

#[test]
fn every_missing_capability_is_reported_together() {
    let found = problems(&[
        ("SLUICE__STORAGE__IF_NONE_MATCH", "false"),
        ("SLUICE__STORAGE__CHECKSUMS", "false"),
        ("SLUICE__PROFILES__A__ONE_TIME", "true"),
        ("SLUICE__PROFILES__B__REQUIRE_CHECKSUM", "true"),
        ("SLUICE__PROFILES__C__ONE_TIME", "true"),
        ("SLUICE__PROFILES__C__REQUIRE_CHECKSUM", "true"),
        ("SLUICE__STORAGE__REGION", " "),
    ]);
    let mut names: Vec<&str> = found
        .iter()
        .map(|p| p.split(':').next().unwrap_or_default())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "profiles.a.one_time",
            "profiles.b.require_checksum",
            "profiles.c.one_time",
            "profiles.c.require_checksum",
            "storage.region",
        ]
    );
}

#[test]
fn capability_defaults_differ_between_the_embedded_and_an_external_store() {
    let external = load(&[]).expect("loads").storage;
    assert!(external.if_none_match);
    assert!(!external.checksums());
    assert!(external.list_multipart_uploads());
    let embedded = crate::config::StorageSettings::default();
    assert!(embedded.is_embedded());
    assert!(embedded.checksums());
    assert!(!embedded.list_multipart_uploads());
    let told = load(&[("SLUICE__STORAGE__LIST_MULTIPART_UPLOADS", "false")])
        .expect("loads")
        .storage;
    assert!(!told.list_multipart_uploads());
}
