//! One upload profile: the policy a client picks per upload and can never widen.

use serde::Deserialize;

use super::rate_limits::ProfileRateLimits;
use super::scanner::{InfectedAction, ScanTooLarge};
use super::units::{ByteSize, Dur, lenient, lenient_opt};

// Settings name it; the naming rules own it (`naming::disposition`).
pub use crate::naming::Disposition;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileSettings {
    /// Largest accepted upload. Default `5GiB` (the largest single PUT S3 accepts).
    pub max_size: ByteSize,
    /// Allowed content types: exact (`image/png`), a family (`image/*`) or `*/*`.
    /// Default `["*/*"]`.
    pub content_types: Vec<String>,
    /// Allowed filename extensions without the dot, lower case; empty allows any. Default empty.
    pub extensions: Vec<String>,
    /// Read the first bytes after upload and reject the object when its real type
    /// contradicts the declared type or the allowlist. Costs one ranged GET. Default false.
    #[serde(deserialize_with = "lenient")]
    pub sniff: bool,
    /// Have the malware scanner (`[scanner]`) read the stored bytes before the upload is
    /// `uploaded`: verification leads to `scanning`, a worker streams the object to the
    /// scanner, and an infected object is rejected (`malware_detected`). Needs
    /// `scanner.clamd`. Default false.
    #[serde(deserialize_with = "lenient")]
    pub scan: bool,
    /// A scanning profile's answer to an object larger than `scanner.max_stream`:
    /// `reject` (default) or `pass` (uploaded, recorded as unscanned).
    pub scan_too_large: ScanTooLarge,
    /// What becomes of an infected object: `delete` (default) or `quarantine` (kept under
    /// `scanner.quarantine_prefix` for the operator).
    pub infected: InfectedAction,
    /// Have a worker read every stored byte of an upload that declared a `sha256` and
    /// compare (`checksum_mismatch` otherwise) before it is `uploaded`: the one check that
    /// proves a multipart object's whole-object digest, and any object's where the store
    /// does not check checksums (Ceph RGW 16). One GET of the object, streamed; with
    /// `scan` the same read feeds the scanner. Default false.
    #[serde(deserialize_with = "lenient")]
    pub rehash: bool,
    /// Uploads larger than this use multipart (at most `5GiB`, the largest single PUT).
    /// Default `50MiB`.
    pub multipart_threshold: ByteSize,
    /// Preferred part size of multipart uploads (5MiB to 5GiB); larger where 10,000 parts
    /// of it would not hold the upload. Default `10MiB`.
    pub part_size: ByteSize,
    /// Time to upload and complete. Default `1h`.
    pub upload_ttl: Dur,
    /// Time to commit once uploaded, after which the object is deleted. Default `24h`.
    pub commit_ttl: Dur,
    /// How long a completed upload may wait for verification while the store cannot be
    /// asked; it expires (and its object is deleted) only after this. Default `24h`.
    pub verify_ttl: Dur,
    /// Sign `If-None-Match: *` so the store refuses a second write to the key. Default:
    /// `storage.if_none_match` (true unless the store lacks it; a replay is then only
    /// stopped by the session's state, not by the store). Read it through `one_time()`.
    #[serde(deserialize_with = "lenient_opt")]
    pub one_time: Option<bool>,
    /// Refuse to create an upload that declares no `sha256` (422 `checksum_required`).
    /// Needs `storage.checksums`. Default false.
    #[serde(deserialize_with = "lenient")]
    pub require_checksum: bool,
    /// First segment of every object key. Default `uploads`.
    pub key_prefix: String,
    /// Uploads per owner per UTC day in this profile; absent means unlimited.
    #[serde(deserialize_with = "lenient_opt")]
    pub daily_uploads: Option<u64>,
    /// Bytes uploaded per owner per UTC day in this profile; absent means unlimited.
    #[serde(deserialize_with = "lenient_opt")]
    pub daily_bytes: Option<ByteSize>,
    /// Bytes stored (and reserved by uploads in progress) per owner in this profile;
    /// absent means unlimited.
    #[serde(deserialize_with = "lenient_opt")]
    pub stored_bytes: Option<ByteSize>,
    /// Default `Content-Disposition` of downloads. Default `attachment`. `inline` (here or
    /// asked per download) holds only for types a browser renders passively (images but
    /// SVG, audio, video, PDF, plain text); others are served as attachments.
    pub disposition: Disposition,
    /// Serve every type `inline` when asked, HTML, SVG, XML and scripts included: only
    /// for a store on an origin that holds nothing else (a file shown inline runs as a
    /// page of the store's origin). Default false.
    #[serde(deserialize_with = "lenient")]
    pub inline_active_content: bool,
    /// Default and maximum lifetime of a download URL. Default `10m`.
    pub download_ttl: Dur,
    /// Rate limits replacing the global `[rate_limits]` ones for this profile's requests;
    /// none by default.
    pub rate_limits: ProfileRateLimits,
    /// The store (`[stores.NAME]`) this profile's new uploads go to. Default: `default`,
    /// the `[storage]` store. A session records its store, so changing this later moves
    /// only new uploads; the old ones stay where they are and are still served and cleaned.
    pub store: Option<String>,
}

impl ProfileSettings {
    /// Whether upload URLs sign `If-None-Match: *`; loading resolves an unset value from
    /// `storage.if_none_match`.
    pub fn one_time(&self) -> bool {
        self.one_time.unwrap_or(true)
    }

    /// The name of the store this profile's new uploads go to.
    pub fn store_name(&self) -> &str {
        self.store.as_deref().unwrap_or(super::DEFAULT_STORE)
    }
}

impl Default for ProfileSettings {
    fn default() -> Self {
        Self {
            max_size: ByteSize(5 * ByteSize::GIB),
            content_types: vec!["*/*".into()],
            extensions: Vec::new(),
            sniff: false,
            scan: false,
            scan_too_large: ScanTooLarge::Reject,
            infected: InfectedAction::Delete,
            rehash: false,
            multipart_threshold: ByteSize(50 * ByteSize::MIB),
            part_size: ByteSize(10 * ByteSize::MIB),
            upload_ttl: Dur::secs(3600),
            commit_ttl: Dur::secs(24 * 3600),
            verify_ttl: Dur::secs(24 * 3600),
            one_time: None,
            require_checksum: false,
            key_prefix: "uploads".into(),
            daily_uploads: None,
            daily_bytes: None,
            stored_bytes: None,
            disposition: Disposition::Attachment,
            inline_active_content: false,
            download_ttl: Dur::secs(600),
            rate_limits: ProfileRateLimits::default(),
            store: None,
        }
    }
}
