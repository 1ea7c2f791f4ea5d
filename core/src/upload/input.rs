//! What a client declares when it creates an upload, parsed once into types: each limit
//! is written here and nowhere else. The API's OpenAPI schemas are built from these
//! constants, the `/v1` and Uppy adapters parse with these types, and `create` takes
//! them, so the spec, the adapters and the domain cannot disagree.
//!
//! Invariants:
//! - lengths are counted in characters, as JSON Schema counts them;
//! - no text holds NUL (PostgreSQL stores none in text or JSON): refused on every backend
//!   alike, so SQLite and PostgreSQL answer the same;
//! - a refusal is `CoreError::Invalid` naming the field (422 `validation_failed`).

use std::collections::BTreeMap;

use crate::error::{CoreError, CoreResult};

/// The largest object S3 stores (5 TiB): the most any size may say.
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// Text without NUL, as a JSON Schema pattern.
pub const NO_NUL_PATTERN: &str = "^[^\\u0000]*$";

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// The file's original name, as the client sent it (sanitised for storage by
/// `naming::sanitize_filename`; never part of the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filename(String);

impl Filename {
    pub const MIN_CHARS: usize = 1;
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(text: &str) -> CoreResult<Filename> {
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars(text)) {
            return Err(CoreError::invalid("filename", "1 to 1024 characters"));
        }
        Ok(Filename(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name of an upload profile. Names the configuration does not define are refused
/// later, as `unknown_profile`; this only bounds what is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileName(String);

impl ProfileName {
    pub const MIN_CHARS: usize = 1;
    pub const MAX_CHARS: usize = 64;
    /// The names the configuration accepts for profiles (documented in the schema).
    pub const PATTERN: &'static str = "^[a-z0-9_-]+$";
    /// The profile of a request that names none.
    pub const DEFAULT: &'static str = "default";

    pub fn parse(text: &str) -> CoreResult<ProfileName> {
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars(text)) {
            return Err(CoreError::invalid("profile", "1 to 64 characters"));
        }
        Ok(ProfileName(text.to_owned()))
    }

    /// A name Sluice itself chose (`uppy.profile`, the default): already a valid name.
    pub fn configured(name: &str) -> ProfileName {
        ProfileName(name.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The bounds of a declared content type. Its syntax is checked, and the type normalised
/// as SigV4 reads a header, by `naming::normalize_content_type` when the session is made.
pub struct ContentType;

impl ContentType {
    pub const MAX_CHARS: usize = 255;
    /// A media type with optional parameters, spaces around it allowed; or empty.
    pub const PATTERN: &'static str =
        "^ *([!#$&^_.+0-9A-Za-z-]{1,127}/[!#$&^_.+0-9A-Za-z-]{1,127} *(;[ -~]*)?)?$";

    /// `declared` if it is within bounds (`field` names it: `content_type` on `/v1`,
    /// `type` on Uppy's routes).
    pub fn bounded(declared: Option<String>, field: &str) -> CoreResult<Option<String>> {
        match declared {
            Some(text) if chars(&text) > Self::MAX_CHARS => Err(CoreError::invalid(
                field,
                format!("at most {} characters", Self::MAX_CHARS),
            )),
            other => Ok(other),
        }
    }
}

/// String pairs kept with a session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata(BTreeMap<String, String>);

impl Metadata {
    pub const MAX_ENTRIES: usize = 32;
    pub const KEY_MIN_CHARS: usize = 1;
    pub const KEY_MAX_CHARS: usize = 64;
    pub const VALUE_MAX_CHARS: usize = 1024;
    /// What a refusal says, and the schema's description.
    pub const RULE: &'static str =
        "at most 32 entries, keys of 1 to 64 characters, values up to 1024, no NUL";

    pub fn parse(pairs: BTreeMap<String, String>) -> CoreResult<Metadata> {
        if pairs.len() > Self::MAX_ENTRIES {
            return Err(CoreError::invalid("metadata", Self::RULE));
        }
        if !pairs.iter().all(|(key, value)| Self::pair_fits(key, value)) {
            return Err(CoreError::invalid("metadata", Self::RULE));
        }
        Ok(Metadata(pairs))
    }

    /// Whether one pair is within the bounds.
    pub fn pair_fits(key: &str, value: &str) -> bool {
        (Self::KEY_MIN_CHARS..=Self::KEY_MAX_CHARS).contains(&chars(key))
            && chars(value) <= Self::VALUE_MAX_CHARS
            && !key.contains('\0')
            && !value.contains('\0')
    }

    pub fn entries(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn into_entries(self) -> BTreeMap<String, String> {
        self.0
    }
}

/// The size a create declares: exact (the upload URL signs it, verification demands
/// it), or none, when the adapter cannot know it (Uppy without `metadata.size`): then the
/// profile's `max_size` is reserved and verification accepts up to it and records the
/// real size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclaredSize {
    Exact(u64),
    UpToProfileMax,
}

impl DeclaredSize {
    /// An exact size: at most [`MAX_OBJECT_SIZE`].
    pub fn exact(bytes: u64) -> CoreResult<DeclaredSize> {
        if bytes > MAX_OBJECT_SIZE {
            return Err(CoreError::invalid(
                "size",
                "at most 5 TiB (5,497,558,138,880 bytes)",
            ));
        }
        Ok(DeclaredSize::Exact(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_is_held_at_its_edge() {
        assert!(Filename::parse("").is_err());
        assert!(Filename::parse(&"é".repeat(Filename::MAX_CHARS)).is_ok());
        assert!(Filename::parse(&"é".repeat(Filename::MAX_CHARS + 1)).is_err());
        assert!(ProfileName::parse(&"a".repeat(ProfileName::MAX_CHARS)).is_ok());
        assert!(ProfileName::parse(&"a".repeat(ProfileName::MAX_CHARS + 1)).is_err());
        assert!(ProfileName::parse("").is_err());
        let long = Some("a".repeat(ContentType::MAX_CHARS + 1));
        assert!(ContentType::bounded(long, "content_type").is_err());
        assert!(ContentType::bounded(Some("text/plain".into()), "type").is_ok());
        assert!(DeclaredSize::exact(MAX_OBJECT_SIZE).is_ok());
        assert!(DeclaredSize::exact(MAX_OBJECT_SIZE + 1).is_err());
        let pairs = |n: usize| {
            (0..n)
                .map(|i| (format!("k{i}"), "v".to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(Metadata::parse(pairs(Metadata::MAX_ENTRIES)).is_ok());
        assert!(Metadata::parse(pairs(Metadata::MAX_ENTRIES + 1)).is_err());
        assert!(!Metadata::pair_fits("", "v"));
        assert!(!Metadata::pair_fits("k", "a\0b"));
        assert!(!Metadata::pair_fits(&"k".repeat(65), "v"));
        assert!(Metadata::pair_fits(&"k".repeat(64), &"v".repeat(1024)));
        assert!(!Metadata::pair_fits("k", &"v".repeat(1025)));
    }

    #[test]
    fn a_refusal_names_its_field() {
        let field = |e: CoreError| match e {
            CoreError::Invalid { field, .. } => field,
            other => panic!("{other}"),
        };
        assert_eq!(field(Filename::parse("").expect_err("refused")), "filename");
        assert_eq!(
            field(ProfileName::parse("").expect_err("refused")),
            "profile"
        );
        assert_eq!(
            field(DeclaredSize::exact(u64::MAX).expect_err("refused")),
            "size"
        );
        assert_eq!(
            field(ContentType::bounded(Some("a".repeat(300)), "type").expect_err("refused")),
            "type"
        );
    }
}
