//! `sanitize_filename` on any text: the result is a safe display name (no path, no
//! control or bidi-override characters, no leading or trailing dots or spaces, at most
//! 255 bytes, never empty), sanitising it again changes nothing, and `extension_of`
//! agrees with it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_core::naming::{extension_of, sanitize_filename};

fn bidi_override(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let name = sanitize_filename(&raw);
    assert!(!name.is_empty(), "{raw:?}: empty");
    assert!(name.len() <= 255, "{raw:?}: {} bytes", name.len());
    assert!(!name.contains(['/', '\\', '\0']), "{raw:?} -> {name:?}");
    assert!(
        !name.chars().any(|c| c.is_control() || bidi_override(c)),
        "{raw:?} -> {name:?}"
    );
    // Whitespace is collapsed to single spaces, none at either end.
    assert!(
        name.chars().all(|c| c == ' ' || !c.is_whitespace()) && !name.contains("  "),
        "{raw:?} -> {name:?}"
    );
    assert!(
        !name.starts_with(['.', ' ']) && !name.ends_with(['.', ' ']),
        "{raw:?} -> {name:?}"
    );
    assert_eq!(sanitize_filename(&name), name, "not idempotent for {raw:?}");
    // The last path component survives when it is already a plain name.
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    if !last.is_empty()
        && last.len() <= 255
        && last
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        assert_eq!(name, last, "{raw:?}");
    }
    if let Some(ext) = extension_of(&name) {
        assert!(!ext.is_empty() && !ext.contains('.'), "{name:?}: {ext:?}");
        assert_eq!(ext, ext.to_ascii_lowercase());
        assert!(
            name.to_ascii_lowercase().ends_with(&format!(".{ext}")),
            "{name:?}: {ext:?}"
        );
    }
});
