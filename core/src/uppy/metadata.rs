//! Uppy's file metadata as a session keeps it: Uppy sends every field of `file.meta`
//! (strings, numbers, booleans, nulls), Sluice keeps at most 32 string pairs (keys of 1 to
//! 64 characters, values up to 1024, as `POST /v1/uploads` does) and reads the file's
//! size from `size` where the application put it there. Pure.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{CoreError, CoreResult};
use crate::upload::input::{MAX_OBJECT_SIZE, Metadata};

const MAX_ENTRIES: usize = Metadata::MAX_ENTRIES;

/// Metadata reduced to what a session stores, and the declared size if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UppyMetadata {
    pub entries: BTreeMap<String, String>,
    /// `metadata.size`: a whole number of bytes, as a number or a decimal string.
    pub size: Option<u64>,
}

/// Reads Uppy's metadata pairs. Nulls, objects and arrays are dropped (Uppy sends
/// `relativePath: null` for picked files); a `size` that is not a byte count is refused.
pub fn read_metadata<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> CoreResult<UppyMetadata> {
    let mut out = UppyMetadata::default();
    let mut seen = 0;
    for (key, value) in pairs {
        // Every pair counts against the limit, kept or dropped, as the schema says.
        seen += 1;
        if seen > MAX_ENTRIES {
            return Err(CoreError::invalid("metadata", "at most 32 entries"));
        }
        // PostgreSQL cannot store NUL in text or JSON; refuse it for every backend alike.
        if key.contains('\0') {
            return Err(CoreError::invalid("metadata", "keys may not contain NUL"));
        }
        if key == "size" {
            out.size = Some(byte_count(value).ok_or_else(|| {
                CoreError::invalid("metadata.size", "must be the file's size in whole bytes")
            })?);
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => continue,
        };
        if !Metadata::pair_fits(key, &text) {
            return Err(CoreError::invalid("metadata", Metadata::RULE));
        }
        out.entries.insert(key.to_owned(), text);
    }
    if out.entries.len() > MAX_ENTRIES {
        return Err(CoreError::invalid("metadata", "at most 32 entries"));
    }
    Ok(out)
}

/// A whole, non-negative number of bytes: `42`, `42.0` (at most 5 TiB) or `"42"` (any
/// size; the profile refuses what is too large, as for `POST /v1/uploads`).
fn byte_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                let f = n.as_f64()?;
                // Up to 2^53 a float holds every integer exactly.
                (f.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&f))
                    .then_some(f as u64)
            })
            .filter(|n| *n <= MAX_OBJECT_SIZE),
        Value::String(text) => text.trim().parse().ok(),
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> CoreResult<UppyMetadata> {
        let map = v.as_object().cloned().unwrap_or_default();
        read_metadata(map.iter().map(|(k, v)| (k.as_str(), v)))
    }

    #[test]
    fn uppy_meta_is_kept_as_strings_and_size_is_read() {
        let m = read(json!({"name": "a.bin", "type": "application/octet-stream",
            "relativePath": null, "size": 31457280, "flag": true}))
        .expect("read");
        assert_eq!(m.size, Some(31_457_280));
        assert_eq!(m.entries.get("size").map(String::as_str), Some("31457280"));
        assert_eq!(m.entries.get("flag").map(String::as_str), Some("true"));
        assert!(!m.entries.contains_key("relativePath"));
        assert_eq!(
            read(json!({"size": "42"})).expect("string size").size,
            Some(42)
        );
        assert_eq!(read(json!({})).expect("empty").size, None);
    }

    #[test]
    fn bad_sizes_and_oversized_metadata_are_refused() {
        for bad in [
            json!({"size": -1}),
            json!({"size": 1.5}),
            json!({"size": "big"}),
        ] {
            assert!(read(bad).is_err());
        }
        assert!(read(json!({"k": "x".repeat(1025)})).is_err());
        let many: serde_json::Map<String, Value> =
            (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(read(Value::Object(many)).is_err());
    }
}
