//! The Companion routes' parameters: a query string as the `/s3/*` routes read it
//! (`serde_urlencoded` into pairs, as actix's `Query` does, then `file_of_pairs`), and
//! Uppy's JSON metadata (`read_metadata`). Whatever is accepted is within the schema's
//! limits: a filename of 1 to 1024 characters, a type of at most 255 bytes, at most 32
//! metadata entries with keys of 1 to 64 characters and values up to 1024, no NUL
//! anywhere (PostgreSQL stores none), and a `size` that is exactly what was sent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sluice_core::uppy::UppyMetadata;
use sluice_core::uppy::query::{FileQueryError, file_of_pairs};
use sluice_core::uppy::read_metadata;

fn check_metadata(m: &UppyMetadata) {
    assert!(m.entries.len() <= 32);
    for (k, v) in &m.entries {
        assert!((1..=64).contains(&k.chars().count()), "key {k:?}");
        assert!(v.chars().count() <= 1024, "value of {k:?}");
        assert!(!k.contains('\0') && !v.contains('\0'), "NUL in {k:?}");
    }
    if let Some(size) = m.size {
        assert!(m.entries.contains_key("size"), "a size without its entry");
        let _ = size;
    }
}

fuzz_target!(|data: &[u8]| {
    // As a query string.
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(text)
    {
        let named = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        match file_of_pairs(&pairs) {
            Ok(file) => {
                assert_eq!(Some(&file.filename), named("filename"));
                assert!((1..=1024).contains(&file.filename.chars().count()));
                assert!(file.content_type.as_ref().is_none_or(|t| t.len() <= 255));
                assert_eq!(file.content_type.as_ref(), named("type"));
                check_metadata(&file.metadata);
                // Repeated metadata names: the last one counts, as in a JSON object.
                let declared = pairs
                    .iter()
                    .rfind(|(k, _)| k == "metadata[size]")
                    .map(|(_, v)| v.trim().parse::<u64>().expect("an accepted size parses"));
                assert_eq!(file.metadata.size, declared);
            }
            Err(FileQueryError::NoFilename) => assert!(named("filename").is_none()),
            Err(FileQueryError::Invalid(e)) => {
                assert_eq!(e.code(), sluice_core::ErrorCode::ValidationFailed, "{e}");
            }
        }
    }
    // As a JSON body's `metadata`.
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) {
        match read_metadata(map.iter().map(|(k, v)| (k.as_str(), v))) {
            Ok(m) => {
                check_metadata(&m);
                assert!(map.len() <= 32, "more than 32 entries accepted");
                if let Some(size) = m.size {
                    match &map["size"] {
                        Value::Number(n) => {
                            assert!(n.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0));
                            assert!(size <= 5 << 40, "{size} over 5 TiB");
                        }
                        Value::String(s) => assert_eq!(s.trim().parse::<u64>().ok(), Some(size)),
                        other => panic!("size read from {other}"),
                    }
                }
            }
            Err(e) => assert_eq!(e.code(), sluice_core::ErrorCode::ValidationFailed, "{e}"),
        }
    }
});
