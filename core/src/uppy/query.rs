//! What the `/s3/*` routes read from a query string once it is split into pairs:
//! `filename`, `type` and `metadata[NAME]=VALUE` for `/s3/params`, checked against the
//! schema's limits before any session is touched. Pure, so it can be fuzzed.
//!
//! Invariants: a filename is 1 to 1024 characters, a type at most 255 bytes; metadata
//! goes through `read_metadata` exactly as a JSON body's does (32 entries, no NUL), so a
//! query can carry nothing a body could not.

use serde_json::Value;

use super::{UppyFile, read_metadata};
use crate::error::{CoreError, CoreResult};
use crate::upload::input::{ContentType, Filename};

/// Why the pairs do not describe a file.
#[derive(Debug)]
pub enum FileQueryError {
    /// No `filename` at all (the route answers `missing_field`).
    NoFilename,
    /// A field breaks its limit.
    Invalid(CoreError),
}

impl From<CoreError> for FileQueryError {
    fn from(e: CoreError) -> Self {
        FileQueryError::Invalid(e)
    }
}

/// Checks what the schema says of Uppy's `filename` and `type` (the type's syntax is
/// checked when the session is created).
pub fn check_file_fields(filename: &str, content_type: Option<&str>) -> CoreResult<()> {
    Filename::parse(filename)?;
    ContentType::bounded(content_type.map(str::to_owned), "type")?;
    Ok(())
}

/// Reads `filename`, `type` and `metadata[…]` from the query pairs of `/s3/params`; the
/// first of a repeated name counts.
pub fn file_of_pairs(pairs: &[(String, String)]) -> Result<UppyFile, FileQueryError> {
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let filename = value("filename").ok_or(FileQueryError::NoFilename)?;
    let content_type = value("type");
    check_file_fields(&filename, content_type.as_deref())?;
    let metadata: Vec<(&str, Value)> = pairs
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((name, Value::String(v.clone())))
        })
        .collect();
    let metadata = read_metadata(metadata.iter().map(|(k, v)| (*k, v)))?;
    Ok(UppyFile {
        filename,
        content_type,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_the_file_and_its_metadata() {
        let file = file_of_pairs(&pairs(&[
            ("filename", "a.txt"),
            ("type", "text/plain"),
            ("metadata[size]", "3"),
            ("metadata[note]", "hi"),
        ]))
        .expect("reads");
        assert_eq!(file.filename, "a.txt");
        assert_eq!(file.metadata.size, Some(3));
        assert_eq!(
            file.metadata.entries.get("note").map(String::as_str),
            Some("hi")
        );
    }

    #[test]
    fn refuses_what_the_schema_refuses() {
        assert!(matches!(
            file_of_pairs(&pairs(&[("type", "text/plain")])),
            Err(FileQueryError::NoFilename)
        ));
        for bad in [
            pairs(&[("filename", "")]),
            pairs(&[("filename", "a"), ("type", &"x".repeat(256))]),
            pairs(&[("filename", "a"), ("metadata[k]", "a\0b")]),
            pairs(&[("filename", "a"), ("metadata[size]", "-1")]),
        ] {
            assert!(matches!(
                file_of_pairs(&bad),
                Err(FileQueryError::Invalid(_))
            ));
        }
    }
}
