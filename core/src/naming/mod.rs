//! Names: the client's filename (sanitised, kept as metadata), the opaque object key
//! (generated, never derived from the filename), content types and their allowlists, and
//! the `Content-Disposition` that restores the original name on download.

mod disposition;
mod filename;
mod media;

pub use disposition::{Disposition, content_disposition, renders_passively, served_disposition};
pub use filename::{extension_of, sanitize_filename};
pub use media::{
    MAX_CONTENT_TYPE, content_type_allowed, is_valid_content_type_pattern, normalize_content_type,
};

use crate::ids::UploadId;

/// The object key of an upload: `{prefix}/{owner}/{upload id}`.
///
/// The owner segment only helps humans browsing the bucket; uniqueness comes from the id,
/// so characters outside a safe set are replaced rather than escaped.
pub fn object_key(prefix: &str, owner: &str, id: UploadId) -> String {
    let mut segment: String = owner
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if segment.is_empty() {
        segment.push('_');
    }
    format!("{prefix}/{segment}/{id}")
}

/// The key a rewritable session's verified bytes are sealed under: the upload key with a
/// suffix. No URL is ever issued for it, and it ends in no session id, so no Uppy route
/// can name it either.
pub fn sealed_key(key: &str) -> String {
    format!("{key}.verified")
}

/// Where an infected object of a `infected = "quarantine"` profile is kept for the
/// operator: the upload key under the quarantine prefix, outside every cleanup.
pub fn quarantine_key(prefix: &str, key: &str) -> String {
    format!("{}/{key}", prefix.trim_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_the_filename_and_neutralise_the_owner() {
        let id = UploadId::new();
        assert_eq!(
            object_key("uploads", "alice", id),
            format!("uploads/alice/{id}")
        );
        assert_eq!(
            object_key("u", "../../etc", id),
            format!("u/______etc/{id}")
        );
        assert_eq!(object_key("u", "", id), format!("u/_/{id}"));
        assert_eq!(object_key("u", "ü/x", id), format!("u/__x/{id}"));
    }
}
