//! The magic-byte check: what the first bytes of an object say it really is, against what
//! the client declared and what the profile allows. Pure; the caller reads the bytes.
//!
//! A contradiction is: a detected type the profile does not allow; a declared type whose
//! signature is known but absent (a PNG must start like one); or a detected type of
//! another top-level family than the declared one (a PNG declared as text). Types no
//! signature describes (plain text, CSV, JSON) pass when nothing binary is detected.

use crate::naming::content_type_allowed;

/// How many leading bytes are read: enough for every signature `infer` knows but a few
/// rare ones (tar, ISO images), and one small billed GET.
pub const SNIFF_BYTES: u64 = 4096;

/// Why the bytes contradict the declaration, or `None` when they do not.
pub fn contradiction(declared: &str, allowed: &[String], head: &[u8]) -> Option<String> {
    let declared = essence(declared);
    let detected = infer::get(head).map(|kind| kind.mime_type());
    if let Some(found) = detected
        && !content_type_allowed(found, allowed)
    {
        return Some(format!(
            "the content is {found}, which this profile does not accept"
        ));
    }
    let signature_known = infer::is_mime_supported(&declared);
    match detected {
        Some(found) if same_type(found, &declared) => None,
        Some(found) if signature_known || family(found) != family(&declared) => {
            Some(format!("declared {declared}, but the content is {found}"))
        }
        Some(_) => None,
        None if signature_known => Some(format!(
            "declared {declared}, but the content does not start like one"
        )),
        None => None,
    }
}

fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn family(content_type: &str) -> &str {
    content_type.split('/').next().unwrap_or("")
}

/// Equal, allowing the common aliases browsers send.
fn same_type(detected: &str, declared: &str) -> bool {
    let canonical = |t: &str| match t {
        "image/jpg" | "image/pjpeg" => "image/jpeg".to_owned(),
        "application/x-zip-compressed" => "application/zip".to_owned(),
        other => other.to_owned(),
    };
    canonical(detected) == canonical(declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    const HTML: &[u8] = b"<!DOCTYPE html><html><body>hi</body></html>";

    fn any() -> Vec<String> {
        vec!["*/*".into()]
    }

    #[test]
    fn a_png_declared_as_png_passes() {
        assert_eq!(contradiction("image/png", &any(), PNG), None);
        assert_eq!(contradiction("image/png", &["image/*".into()], PNG), None);
    }

    #[test]
    fn html_declared_as_png_is_a_contradiction() {
        let why = contradiction("image/png", &any(), HTML).expect("contradiction");
        assert!(why.contains("text/html"), "{why}");
    }

    #[test]
    fn a_declared_signature_that_is_missing_is_a_contradiction() {
        assert!(contradiction("image/png", &any(), b"just some words").is_some());
    }

    #[test]
    fn a_png_declared_as_text_is_a_contradiction() {
        assert!(contradiction("text/plain", &any(), PNG).is_some());
    }

    #[test]
    fn plain_text_declared_as_text_passes() {
        assert_eq!(
            contradiction("text/plain; charset=utf-8", &any(), b"hello"),
            None
        );
        assert_eq!(contradiction("text/csv", &any(), b"a,b\n1,2\n"), None);
    }

    #[test]
    fn a_detected_type_outside_the_allowlist_is_a_contradiction() {
        let why = contradiction("application/octet-stream", &["application/*".into()], PNG)
            .expect("contradiction");
        assert!(why.contains("does not accept"), "{why}");
    }

    #[test]
    fn aliases_browsers_send_are_the_same_type() {
        let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";
        assert_eq!(contradiction("image/jpg", &any(), jpeg), None);
    }
}
