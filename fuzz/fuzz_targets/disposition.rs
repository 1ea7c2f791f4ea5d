//! `content_disposition` for any name, sanitised or raw: the value is a valid header of
//! printable ASCII (no CR, LF or NUL), the quoted fallback cannot break out of its quotes,
//! and `filename*` (RFC 5987) decodes back to exactly the name given.

#![no_main]

use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use sluice_core::config::Disposition;
use sluice_core::naming::{content_disposition, sanitize_filename};

/// RFC 5987 `attr-char`, what `filename*` may hold besides `%XX`.
fn attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

fn check(disposition: Disposition, name: &str) {
    let value = content_disposition(disposition, name);
    assert!(
        value.bytes().all(|b| (b' '..=b'~').contains(&b)),
        "{name:?}: {value:?} is not printable ASCII"
    );
    http::HeaderValue::from_str(&value).expect("a valid header value");
    let prefix = format!("{}; filename=\"", disposition.as_str());
    let rest = value
        .strip_prefix(&prefix)
        .expect("starts with the disposition");
    // The fallback holds no quote, so the first `"; filename*=` ends it.
    let (fallback, encoded) = rest
        .split_once("\"; filename*=UTF-8''")
        .expect("a fallback then filename*");
    assert!(!fallback.contains(['"', '\\', '%']), "{fallback:?}");
    assert_eq!(fallback.chars().count(), name.chars().count(), "{name:?}");
    assert!(
        encoded.bytes().all(|b| attr_char(b) || b == b'%'),
        "{encoded:?}"
    );
    let decoded = percent_decode_str(encoded)
        .decode_utf8()
        .expect("filename* is UTF-8");
    assert_eq!(decoded, name, "filename* does not decode to the name");
}

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let name = sanitize_filename(&raw);
    for disposition in [Disposition::Attachment, Disposition::Inline] {
        check(disposition, &name);
        check(disposition, &raw);
    }
});
