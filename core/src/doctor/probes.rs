//! The checks, in the order a store's answers depend on each other: the bucket first
//! (nothing else can be told without it), then the signed PUT (its answer also gives the
//! store's clock), then every capability Sluice relies on. Every key written is recorded
//! first, so `clean_up` removes it whatever happened.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::send::{self, Answer};
use super::{Finding, Outcome, Setting};
use crate::config::StorageSettings;
use crate::storage::{ObjectStore, PartConditions, PutConditions, StoreError};

const TTL: Duration = Duration::from_secs(300);
const TYPE: &str = "text/plain";
const BODY: &[u8] = b"sluice";
/// SigV4 refuses a signature more than 15 minutes off; presigned URLs are more forgiving,
/// but a clock this far off already breaks deadlines a client sees.
const MAX_SKEW_SECS: i64 = 60;

pub(super) struct Run<'a> {
    store: &'a dyn ObjectStore,
    configured: &'a StorageSettings,
    http: &'a reqwest::Client,
    prefix: &'a str,
    pub(super) findings: Vec<Finding>,
    /// Every key written (or that a check may have written), for `clean_up`.
    keys: Vec<String>,
    /// Multipart uploads started, as (key, upload id).
    uploads: Vec<(String, String)>,
}

impl<'a> Run<'a> {
    pub(super) fn new(
        store: &'a dyn ObjectStore,
        configured: &'a StorageSettings,
        http: &'a reqwest::Client,
        prefix: &'a str,
    ) -> Self {
        Run {
            store,
            configured,
            http,
            prefix,
            findings: Vec::new(),
            keys: Vec::new(),
            uploads: Vec::new(),
        }
    }

    fn key(&mut self, name: &str) -> String {
        let key = format!("{}/{name}", self.prefix);
        self.keys.push(key.clone());
        key
    }

    fn found(&mut self, check: &'static str, outcome: Outcome, detail: impl Into<String>) {
        self.findings.push(Finding {
            check,
            outcome,
            detail: detail.into(),
            setting: None,
        });
    }

    /// A finding about a `[storage]` switch: recommended on exactly when the store does it.
    fn switch(
        &mut self,
        check: &'static str,
        outcome: Outcome,
        detail: impl Into<String>,
        name: &'static str,
        configured: bool,
    ) {
        let setting = match outcome {
            Outcome::Yes => Some(true),
            Outcome::No => Some(false),
            Outcome::Error => None,
        }
        .map(|recommended| Setting {
            name,
            configured,
            recommended,
        });
        self.findings.push(Finding {
            check,
            outcome,
            detail: detail.into(),
            setting,
        });
    }

    pub(super) async fn all(&mut self) {
        match self.store.probe().await {
            Ok(()) => self.found("bucket", Outcome::Yes, "the credentials reach the bucket"),
            Err(e) => {
                self.found("bucket", Outcome::Error, e.to_string());
                return;
            }
        }
        self.signed_put().await;
        self.if_none_match().await;
        self.post_policy().await;
        self.checksums().await;
        self.multipart().await;
        self.delete_objects().await;
        self.bucket_config().await;
    }

    async fn presign(
        &self,
        key: &str,
        conditions: &PutConditions,
    ) -> Result<crate::storage::PresignedRequest, String> {
        self.store
            .presign_put(key, conditions, TTL)
            .await
            .map_err(|e| e.to_string())
    }

    /// The signed length and type: another length or type is refused, the signed ones
    /// are taken; the store's `Date` gives its clock.
    async fn signed_put(&mut self) {
        let key = self.key("signed");
        let conditions = PutConditions {
            content_type: TYPE.into(),
            content_length: BODY.len() as u64,
            one_time: false,
            checksum_sha256: None,
        };
        let signed = match self.presign(&key, &conditions).await {
            Ok(signed) => signed,
            Err(e) => {
                self.found("signed_length", Outcome::Error, e);
                return;
            }
        };
        let longer = send::put(
            self.http,
            &signed.url,
            &without_length(&signed.headers),
            b"sluice!".to_vec(),
        )
        .await;
        let mut other_type = without_length(&signed.headers);
        other_type.insert("content-type".into(), "application/octet-stream".into());
        let retyped = send::put(self.http, &signed.url, &other_type, BODY.to_vec()).await;
        let honest = send::put(
            self.http,
            &signed.url,
            &without_length(&signed.headers),
            BODY.to_vec(),
        )
        .await;
        let honest = match honest {
            Ok(a) if a.ok() => a,
            Ok(a) => {
                self.found(
                    "signed_length",
                    Outcome::Error,
                    format!("the signed PUT itself was refused: {}", a.describe()),
                );
                return;
            }
            Err(e) => {
                self.found("signed_length", Outcome::Error, e);
                return;
            }
        };
        self.clock(&honest);
        self.refusal(
            "signed_length",
            longer,
            "a PUT of another length than the signed one",
        );
        self.refusal(
            "signed_type",
            retyped,
            "a PUT of another type than the signed one",
        );
    }

    fn refusal(&mut self, check: &'static str, answer: Result<Answer, String>, what: &str) {
        match answer {
            Ok(a) if !a.ok() => self.found(
                check,
                Outcome::Yes,
                format!("{what} is refused ({})", a.describe()),
            ),
            Ok(a) => self.found(
                check,
                Outcome::No,
                format!("{what} is taken ({})", a.describe()),
            ),
            Err(e) => self.found(check, Outcome::Error, e),
        }
    }

    fn clock(&mut self, answer: &Answer) {
        let Some(date) = answer.date.as_deref() else {
            self.found(
                "clock_skew",
                Outcome::Error,
                "the store sent no Date header",
            );
            return;
        };
        match chrono::DateTime::parse_from_rfc2822(date) {
            Ok(theirs) => {
                let skew = (theirs.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
                let outcome = if skew.abs() <= MAX_SKEW_SECS {
                    Outcome::Yes
                } else {
                    Outcome::No
                };
                self.found("clock_skew", outcome, format!("the store's clock is {skew:+} s from this machine's (within {MAX_SKEW_SECS} s is fine)"));
            }
            Err(e) => self.found(
                "clock_skew",
                Outcome::Error,
                format!("unreadable Date `{date}`: {e}"),
            ),
        }
    }

    /// `If-None-Match: *`: a second PUT to the key is refused with 412.
    async fn if_none_match(&mut self) {
        let key = self.key("one-time");
        let conditions = PutConditions {
            content_type: TYPE.into(),
            content_length: BODY.len() as u64,
            one_time: true,
            checksum_sha256: None,
        };
        let configured = self.configured.if_none_match;
        let signed = match self.presign(&key, &conditions).await {
            Ok(s) => s,
            Err(e) => return self.found("if_none_match", Outcome::Error, e),
        };
        let headers = without_length(&signed.headers);
        let first = send::put(self.http, &signed.url, &headers, BODY.to_vec()).await;
        let second = send::put(self.http, &signed.url, &headers, BODY.to_vec()).await;
        let (outcome, detail) = match (first, second) {
            (Ok(a), Ok(b)) if a.ok() && b.status == 412 => {
                (Outcome::Yes, "a second PUT is refused with 412".to_owned())
            }
            (Ok(a), Ok(b)) if a.ok() && b.ok() => {
                (Outcome::No, "a second PUT overwrote the object".to_owned())
            }
            (Ok(a), _)
                if a.status == 501 || crate::storage::xml_code(&a.body) == "NotImplemented" =>
            {
                (
                    Outcome::No,
                    format!("the store refuses the header ({})", a.describe()),
                )
            }
            (Ok(a), Ok(b)) => (
                Outcome::Error,
                format!("first PUT {}, second {}", a.describe(), b.describe()),
            ),
            (Err(e), _) | (_, Err(e)) => (Outcome::Error, e),
        };
        self.switch(
            "if_none_match",
            outcome,
            detail,
            "storage.if_none_match",
            configured,
        );
    }

    /// POST policies: accepted, and `content-length-range` enforced.
    async fn post_policy(&mut self) {
        let key = self.key("posted");
        let configured = self.configured.post_policy;
        let post = match self
            .store
            .presign_post(&key, TYPE, (1, BODY.len() as u64), TTL)
            .await
        {
            Ok(post) => post,
            Err(StoreError::NotImplemented) => {
                return self.switch(
                    "post_policy",
                    Outcome::No,
                    "Sluice signs no POST policy for this store",
                    "storage.post_policy",
                    configured,
                );
            }
            Err(e) => return self.found("post_policy", Outcome::Error, e.to_string()),
        };
        let too_big = send::post_form(self.http, &post, TYPE, b"sluice, and more").await;
        let fits = send::post_form(self.http, &post, TYPE, BODY).await;
        match fits {
            Ok(a) if a.ok() => {
                self.switch(
                    "post_policy",
                    Outcome::Yes,
                    format!("a form POST is taken ({})", a.describe()),
                    "storage.post_policy",
                    configured,
                );
                self.refusal(
                    "post_content_length_range",
                    too_big,
                    "a form POST larger than the policy's range",
                );
            }
            Ok(a) => self.switch(
                "post_policy",
                Outcome::No,
                format!(
                    "a form POST within the policy is refused ({})",
                    a.describe()
                ),
                "storage.post_policy",
                configured,
            ),
            Err(e) => self.found("post_policy", Outcome::Error, e),
        }
    }

    /// `x-amz-checksum-sha256` on a PUT: other bytes refused, the digest reported by HEAD.
    async fn checksums(&mut self) {
        let configured = self.configured.checksums();
        let key = self.key("checksum-lie");
        let lie = PutConditions {
            content_type: TYPE.into(),
            content_length: BODY.len() as u64,
            one_time: false,
            checksum_sha256: Some(digest(b"other bytes")),
        };
        let refused = match self.presign(&key, &lie).await {
            Ok(signed) => {
                send::put(
                    self.http,
                    &signed.url,
                    &without_length(&signed.headers),
                    BODY.to_vec(),
                )
                .await
            }
            Err(e) => Err(e),
        };
        // A refusal only counts when nothing was kept: s3s-fs alone answered BadDigest
        // after it had stored the lying bytes.
        let kept = match &refused {
            Ok(a) if !a.ok() => matches!(self.store.head(&key).await, Ok(Some(_))),
            _ => false,
        };
        let checked = match &refused {
            Ok(a) if !a.ok() && !kept => Outcome::Yes,
            Ok(_) => Outcome::No,
            Err(_) => Outcome::Error,
        };
        let detail = match &refused {
            Ok(a) if !a.ok() && kept => format!(
                "a PUT whose bytes differ from the signed digest is refused ({}), yet its bytes were stored",
                a.describe()
            ),
            Ok(a) if !a.ok() => format!(
                "a PUT whose bytes differ from the signed digest is refused ({})",
                a.describe()
            ),
            Ok(a) => format!(
                "a PUT whose bytes differ from the signed digest is taken ({})",
                a.describe()
            ),
            Err(e) => e.clone(),
        };
        self.found("checksum_put_checked", checked, detail);

        let key = self.key("checksum-honest");
        let honest = PutConditions {
            checksum_sha256: Some(digest(BODY)),
            ..lie
        };
        let reported = match self.presign(&key, &honest).await {
            Ok(signed) => match send::put(
                self.http,
                &signed.url,
                &without_length(&signed.headers),
                BODY.to_vec(),
            )
            .await
            {
                Ok(a) if a.ok() => match self.store.head(&key).await {
                    Ok(Some(meta)) => Ok(meta.checksum_sha256),
                    Ok(None) => Err("the object vanished".to_owned()),
                    Err(e) => Err(e.to_string()),
                },
                Ok(a) => Err(format!("the honest PUT was refused ({})", a.describe())),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let (outcome, detail) = match (&reported, checked) {
            (Ok(Some(d)), Outcome::Yes) if *d == digest(BODY) => (
                Outcome::Yes,
                "checked on PUT and reported by HEAD".to_owned(),
            ),
            (Ok(Some(d)), _) => (
                Outcome::No,
                format!("HEAD reports `{d}`, but a lying PUT was not refused"),
            ),
            (Ok(None), _) => (Outcome::No, "HEAD reports no checksum".to_owned()),
            (Err(e), _) => (Outcome::Error, e.clone()),
        };
        self.switch(
            "checksum_sha256",
            outcome,
            detail,
            "storage.checksums",
            configured,
        );
    }

    /// Multipart: a part uploaded on a signed URL, listed with its ETag; the upload found
    /// by ListMultipartUploads.
    async fn multipart(&mut self) {
        let key = self.key("multipart");
        let upload_id = match self.store.create_multipart(&key, TYPE).await {
            Ok(id) => id,
            Err(e) => return self.found("list_parts_etags", Outcome::Error, e.to_string()),
        };
        self.uploads.push((key.clone(), upload_id.clone()));
        let part = match self
            .store
            .presign_part(
                &key,
                &upload_id,
                1,
                &PartConditions {
                    size: Some(BODY.len() as u64),
                    checksum_sha256: None,
                },
                TTL,
            )
            .await
        {
            Ok(part) => part,
            Err(e) => return self.found("list_parts_etags", Outcome::Error, e.to_string()),
        };
        match send::put(
            self.http,
            &part.url,
            &without_length(&part.headers),
            BODY.to_vec(),
        )
        .await
        {
            Ok(a) if a.ok() => {}
            Ok(a) => {
                return self.found(
                    "list_parts_etags",
                    Outcome::Error,
                    format!("the signed part was refused ({})", a.describe()),
                );
            }
            Err(e) => return self.found("list_parts_etags", Outcome::Error, e),
        }
        // A part whose bytes differ from the digest its URL signs.
        let lying = PartConditions {
            size: Some(BODY.len() as u64),
            checksum_sha256: Some(digest(b"other bytes")),
        };
        let refused = match self
            .store
            .presign_part(&key, &upload_id, 2, &lying, TTL)
            .await
        {
            Ok(part) => {
                send::put(
                    self.http,
                    &part.url,
                    &without_length(&part.headers),
                    BODY.to_vec(),
                )
                .await
            }
            Err(e) => Err(e.to_string()),
        };
        let listed = self.store.list_parts(&key, &upload_id).await;
        let lie_kept = matches!(&listed, Ok(parts) if parts.iter().any(|p| p.part_number == 2));
        match refused {
            // As with PutObject: a refusal that kept the part is no check at all.
            Ok(a) if !a.ok() && lie_kept => self.found(
                "checksum_part_checked",
                Outcome::No,
                format!(
                    "an UploadPart whose bytes differ from its signed digest is refused ({}), yet the part was kept",
                    a.describe()
                ),
            ),
            refused => self.refusal(
                "checksum_part_checked",
                refused,
                "an UploadPart whose bytes differ from its signed digest",
            ),
        }
        match listed {
            Ok(parts) => match parts.first() {
                Some(p) if p.etag.is_some() => self.found(
                    "list_parts_etags",
                    Outcome::Yes,
                    "ListParts reports each part's ETag",
                ),
                Some(_) => self.found(
                    "list_parts_etags",
                    Outcome::No,
                    "ListParts reports no ETags: completion uses the client's",
                ),
                None => self.found(
                    "list_parts_etags",
                    Outcome::Error,
                    "ListParts lists no part after one was uploaded",
                ),
            },
            Err(e) => self.found("list_parts_etags", Outcome::Error, e.to_string()),
        }
        let configured = self.configured.list_multipart_uploads();
        match self.store.list_multipart_uploads().await {
            Ok(listed) if listed.iter().any(|u| u.upload_id == upload_id) => self.switch(
                "list_multipart_uploads",
                Outcome::Yes,
                "ListMultipartUploads lists uploads in progress",
                "storage.list_multipart_uploads",
                configured,
            ),
            Ok(_) => self.switch(
                "list_multipart_uploads",
                Outcome::No,
                "ListMultipartUploads answers, without the upload just started",
                "storage.list_multipart_uploads",
                configured,
            ),
            Err(StoreError::NotImplemented) => self.switch(
                "list_multipart_uploads",
                Outcome::No,
                "the store cannot list multipart uploads (rely on a lifecycle rule)",
                "storage.list_multipart_uploads",
                configured,
            ),
            Err(e) => self.found("list_multipart_uploads", Outcome::Error, e.to_string()),
        }
    }

    /// DeleteObjects of the keys written so far (the objects are gone either way after
    /// `clean_up`).
    async fn delete_objects(&mut self) {
        let configured = self.configured.delete_objects;
        let keys = self.keys.clone();
        match self.store.delete_many(&keys).await {
            Ok(failed) if failed.is_empty() => self.switch(
                "delete_objects",
                Outcome::Yes,
                format!("one DeleteObjects deleted {} keys", keys.len()),
                "storage.delete_objects",
                configured,
            ),
            Ok(failed) => self.found(
                "delete_objects",
                Outcome::Error,
                format!(
                    "DeleteObjects failed for {} of {} keys",
                    failed.len(),
                    keys.len()
                ),
            ),
            Err(StoreError::NotImplemented) => self.switch(
                "delete_objects",
                Outcome::No,
                "the store takes no DeleteObjects: every key is one DELETE",
                "storage.delete_objects",
                configured,
            ),
            Err(e) => self.found("delete_objects", Outcome::Error, e.to_string()),
        }
    }

    /// The bucket's CORS rules (browsers PUT across origins) and its lifecycle rule for
    /// incomplete multipart uploads.
    async fn bucket_config(&mut self) {
        match self.store.bucket_config("cors").await {
            Ok(Some(xml)) => {
                let put = xml.contains("<AllowedMethod>PUT</AllowedMethod>");
                let etag = xml
                    .to_ascii_lowercase()
                    .contains("<exposeheader>etag</exposeheader>");
                let outcome = if put && etag {
                    Outcome::Yes
                } else {
                    Outcome::No
                };
                self.found(
                    "cors",
                    outcome,
                    format!(
                        "CORS rules allow PUT: {put}; expose ETag (multipart from a browser): {etag}"
                    ),
                );
            }
            Ok(None) => self.found(
                "cors",
                Outcome::No,
                "the bucket has no CORS rules: browsers cannot PUT to it from another origin",
            ),
            Err(StoreError::NotImplemented) => {
                self.found("cors", Outcome::No, "the store keeps no CORS rules")
            }
            Err(e) => self.found("cors", Outcome::Error, e.to_string()),
        }
        match self.store.bucket_config("lifecycle").await {
            Ok(Some(xml)) if xml.contains("AbortIncompleteMultipartUpload") => self.found(
                "lifecycle_abort_incomplete",
                Outcome::Yes,
                "a lifecycle rule aborts incomplete multipart uploads",
            ),
            Ok(_) => self.found(
                "lifecycle_abort_incomplete",
                Outcome::No,
                "no lifecycle rule aborts incomplete multipart uploads (the sweep must list them)",
            ),
            Err(StoreError::NotImplemented) => self.found(
                "lifecycle_abort_incomplete",
                Outcome::No,
                "the store keeps no lifecycle rules",
            ),
            Err(e) => self.found("lifecycle_abort_incomplete", Outcome::Error, e.to_string()),
        }
    }

    /// Deletes every key written and aborts every upload started; answers what is still
    /// there afterwards.
    pub(super) async fn clean_up(&mut self) -> Vec<String> {
        let mut left = Vec::new();
        for (key, upload_id) in &self.uploads {
            if let Err(e) = self.store.abort_multipart(key, upload_id).await {
                left.push(format!("multipart upload {upload_id} of {key}: {e}"));
            }
        }
        for key in &self.keys {
            if let Err(e) = self.store.delete(key).await {
                left.push(format!("{key}: {e}"));
                continue;
            }
            match self.store.head(key).await {
                Ok(None) => {}
                Ok(Some(_)) => left.push(format!("{key}: still stored after its DELETE")),
                Err(e) => left.push(format!("{key}: {e}")),
            }
        }
        left
    }
}

/// The signed headers without `content-length`: the HTTP client sets it from the body,
/// which is how a lie about the length reaches the store.
fn without_length(headers: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

fn digest(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}
