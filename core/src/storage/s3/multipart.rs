//! The multipart calls of `S3Store`. rust-s3 has no ListParts, so it is a presigned GET
//! whose XML is read leniently (the embedded store omits part ETags and lists in no
//! particular order).

use std::collections::HashMap;

use s3::Bucket;
use s3::serde_types::Part;

use super::classify;
use crate::storage::xml;
use crate::storage::{MultipartListing, PartEtag, StoreError, StoredPart};

/// A ListParts page is at most this long; the default and the maximum of S3.
const PARTS_PER_PAGE: &str = "1000";

pub(super) async fn create(
    bucket: &Bucket,
    key: &str,
    content_type: &str,
) -> Result<String, StoreError> {
    bucket
        .initiate_multipart_upload(key, content_type)
        .await
        .map(|r| r.upload_id)
        .map_err(classify)
}

pub(super) async fn list_parts(
    bucket: &Bucket,
    key: &str,
    upload_id: &str,
) -> Result<Vec<StoredPart>, StoreError> {
    let client = bucket.http_client();
    let mut parts = Vec::new();
    let mut marker: Option<String> = None;
    // A store that keeps answering "truncated" cannot hold more than 10,000 parts.
    for _ in 0..=10 {
        let mut queries = HashMap::new();
        queries.insert("uploadId".to_owned(), upload_id.to_owned());
        queries.insert("max-parts".to_owned(), PARTS_PER_PAGE.to_owned());
        if let Some(m) = &marker {
            queries.insert("part-number-marker".to_owned(), m.clone());
        }
        let url = bucket
            .presign_get(key, 60, Some(queries))
            .await
            .map_err(classify)?;
        let response = client
            .get(url)
            .send()
            .await
            .map_err(|e| classify(s3::error::S3Error::Reqwest(e)))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| classify(s3::error::S3Error::Reqwest(e)))?;
        if !(200..300).contains(&status) {
            // Some stores (Ceph) answer a gone upload with a plain 404.
            return Err(match StoreError::from_response(status, &body) {
                StoreError::NotFound => StoreError::NoSuchUpload,
                other => other,
            });
        }
        parts.extend(parse_parts(&body));
        let truncated = xml::field(&body, "IsTruncated").is_some_and(|t| t == "true");
        let next = xml::field(&body, "NextPartNumberMarker").filter(|m| !m.is_empty());
        match (truncated, next) {
            (true, Some(next)) if marker.as_deref() != Some(next.as_str()) => marker = Some(next),
            _ => break,
        }
    }
    parts.sort_by_key(|p| p.part_number);
    parts.dedup_by_key(|p| p.part_number);
    Ok(parts)
}

/// The `<Part>` elements of a ListParts answer; unreadable ones are skipped.
fn parse_parts(body: &str) -> Vec<StoredPart> {
    xml::blocks(body, "Part")
        .into_iter()
        .filter_map(|part| {
            Some(StoredPart {
                part_number: xml::field(part, "PartNumber")?.parse().ok()?,
                size: xml::field(part, "Size")?.parse().ok()?,
                etag: xml::field(part, "ETag").filter(|e| !e.is_empty()),
            })
        })
        .collect()
}

/// CompleteMultipartUpload carrying each part's `ChecksumSHA256`: rust-s3 cannot send
/// them, so the request is presigned (query `uploadId`) and its XML written here. A store
/// that checks checksums compares each with what it recorded for the part.
pub(super) async fn complete_with_checksums(
    store: &super::S3Store,
    key: &str,
    upload_id: &str,
    parts: &[PartEtag],
) -> Result<(), StoreError> {
    let mut body = String::from("<CompleteMultipartUpload>");
    for part in parts {
        body.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag>",
            part.part_number,
            xml_escape(&part.etag)
        ));
        if let Some(digest) = &part.checksum_sha256 {
            body.push_str(&format!(
                "<ChecksumSHA256>{}</ChecksumSHA256>",
                xml_escape(digest)
            ));
        }
        body.push_str("</Part>");
    }
    body.push_str("</CompleteMultipartUpload>");
    let url = store.sign(
        "POST",
        key,
        &[],
        &[("uploadId", upload_id)],
        std::time::Duration::from_secs(60),
    );
    let response = store
        .bucket
        .http_client()
        .post(url)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .map_err(|e| classify(s3::error::S3Error::Reqwest(e)))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| classify(s3::error::S3Error::Reqwest(e)))?;
    // S3 may answer 200 and put the error in the body (a completion that failed late).
    if !(200..300).contains(&status) || text.contains("<Error>") {
        let status = if (200..300).contains(&status) {
            500
        } else {
            status
        };
        return Err(StoreError::from_response(status, &text));
    }
    Ok(())
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(super) async fn complete(
    bucket: &Bucket,
    key: &str,
    upload_id: &str,
    parts: &[PartEtag],
) -> Result<(), StoreError> {
    let parts = parts
        .iter()
        .map(|p| Part {
            part_number: p.part_number,
            etag: p.etag.clone(),
        })
        .collect();
    bucket
        .complete_multipart_upload(key, upload_id, parts)
        .await
        .map(|_| ())
        .map_err(classify)
}

pub(super) async fn abort(bucket: &Bucket, key: &str, upload_id: &str) -> Result<(), StoreError> {
    match bucket.abort_upload(key, upload_id).await.map_err(classify) {
        Ok(()) | Err(StoreError::NoSuchUpload | StoreError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

pub(super) async fn list_uploads(bucket: &Bucket) -> Result<Vec<MultipartListing>, StoreError> {
    let pages = bucket
        .list_multiparts_uploads(None, None)
        .await
        .map_err(classify)?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.uploads)
        .map(|u| MultipartListing {
            initiated: chrono::DateTime::parse_from_rfc3339(&u.initiated)
                .ok()
                .map(|at| at.with_timezone(&chrono::Utc)),
            key: u.key,
            upload_id: u.id,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_read_with_or_without_etags() {
        let body = "<ListPartsResult><IsTruncated>false</IsTruncated>\
            <Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag><Size>5242880</Size></Part>\
            <Part><LastModified>x</LastModified><PartNumber>2</PartNumber><Size>7</Size></Part>\
            <Part><PartNumber>bad</PartNumber><Size>7</Size></Part></ListPartsResult>";
        assert_eq!(
            parse_parts(body),
            vec![
                StoredPart {
                    part_number: 1,
                    size: 5_242_880,
                    etag: Some("\"abc\"".into())
                },
                StoredPart {
                    part_number: 2,
                    size: 7,
                    etag: None
                },
            ]
        );
    }
}
