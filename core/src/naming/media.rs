//! Content types: syntax (RFC 6838 type/subtype tokens), normalisation, and matching
//! against a profile's allowlist of exact types, families (`image/*`) and `*/*`.
//!
//! Invariant: a normalised content type is exactly what a SigV4 verifier makes of it
//! (trimmed, no run of two spaces anywhere, printable ASCII only) and never longer than
//! the declared text, so the value Sluice signs, stores (a 255-character column) and
//! hands back as the header to send are one and the same string on every store.

/// The longest content type accepted, declared or normalised (the column's length).
pub const MAX_CONTENT_TYPE: usize = 255;

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 127
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
}

/// Lower-cases a declared content type's `type/subtype`, checks its syntax, and reduces
/// its whitespace to what SigV4 signs: none around the type or before the first `;`, and
/// every run of spaces in the parameters cut to one (AWS, Ceph and s3s all collapse runs
/// when they canonicalise a header, inside quoted strings too, so a run kept here would
/// be signed as one thing and checked as another). Parameters such as `; charset=UTF-8`
/// are otherwise kept as written: the presigned PUT signs the exact header returned.
pub fn normalize_content_type(raw: &str) -> Option<String> {
    // Printable ASCII only (as the OpenAPI pattern says); tabs and every other control
    // are refused rather than guessed at.
    if raw.len() > MAX_CONTENT_TYPE || raw.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return None;
    }
    let raw = raw.trim_matches(' ');
    if raw.is_empty() {
        return None;
    }
    let (essence, params) = match raw.split_once(';') {
        Some((e, p)) => (e.trim_end_matches(' '), Some(p)),
        None => (raw, None),
    };
    let (ty, sub) = essence.split_once('/')?;
    if !is_token(ty) || !is_token(sub) {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    out.push_str(&ty.to_ascii_lowercase());
    out.push('/');
    out.push_str(&sub.to_ascii_lowercase());
    if let Some(params) = params {
        let mut collapsed = String::with_capacity(params.len());
        for c in params.chars() {
            if !(c == ' ' && collapsed.ends_with(' ')) {
                collapsed.push(c);
            }
        }
        // `raw` was trimmed, so only an empty list (`;` or `;  `) can end in a space;
        // it is dropped with its `;`.
        if !collapsed.trim_matches(' ').is_empty() {
            out.push(';');
            out.push_str(&collapsed);
        }
    }
    // Never longer than `raw`; checked anyway, as the column depends on it.
    (out.len() <= MAX_CONTENT_TYPE).then_some(out)
}

/// A profile allowlist entry: `type/subtype`, `type/*` or `*/*`.
pub fn is_valid_content_type_pattern(pattern: &str) -> bool {
    match pattern.split_once('/') {
        Some(("*", "*")) => true,
        Some((ty, "*")) => is_token(ty),
        Some((ty, sub)) => is_token(ty) && is_token(sub),
        None => false,
    }
}

/// Whether a normalised content type is allowed by any pattern.
pub fn content_type_allowed(content_type: &str, patterns: &[String]) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let Some((ty, _)) = essence.split_once('/') else {
        return false;
    };
    patterns.iter().any(|p| {
        let p = p.to_ascii_lowercase();
        match p.split_once('/') {
            Some(("*", "*")) => true,
            Some((pty, "*")) => pty == ty,
            _ => p == essence,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_keeps_parameters() {
        assert_eq!(
            normalize_content_type("Image/PNG").as_deref(),
            Some("image/png")
        );
        for (raw, normalised) in [
            ("text/plain;charset=UTF-8", "text/plain;charset=UTF-8"),
            (
                "  Text/Plain ;  charset=utf-8  ",
                "text/plain; charset=utf-8",
            ),
            (
                "text/plain;   a=1;  b=\"x   y\"",
                "text/plain; a=1; b=\"x y\"",
            ),
            ("text/plain;", "text/plain"),
            ("text/plain ;   ", "text/plain"),
        ] {
            assert_eq!(normalize_content_type(raw).as_deref(), Some(normalised));
        }
        for bad in [
            "",
            "png",
            "image/",
            "/png",
            "image/p\nng",
            "imäge/png",
            "a b/c",
            "\ttext/plain",
            "text/plain;\tcharset=utf-8",
            "text/plain; x=\u{7f}",
        ] {
            assert_eq!(normalize_content_type(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn normalised_types_are_sigv4_fixed_points_no_longer_than_declared() {
        let pieces = ["", " ", "  ", ";", "a=b", "\"q  r\"", "x/y", "T/P"];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let raw = format!("{a}text/Plain{b}{c}{a}");
                    let Some(out) = normalize_content_type(&raw) else {
                        continue;
                    };
                    assert!(out.len() <= raw.len(), "{raw:?} grew to {out:?}");
                    assert_eq!(out, out.trim(), "{raw:?}");
                    assert!(!out.contains("  "), "{raw:?} kept a run: {out:?}");
                    assert_eq!(normalize_content_type(&out).as_deref(), Some(&*out));
                }
            }
        }
        let longest = format!("x/{};a={}", "t".repeat(127), "b".repeat(123));
        assert_eq!(longest.len(), MAX_CONTENT_TYPE);
        assert_eq!(normalize_content_type(&longest), Some(longest.clone()));
        assert_eq!(normalize_content_type(&format!("{longest}b")), None);
    }

    #[test]
    fn allowlists_match_exact_family_and_any() {
        let images = vec!["image/*".to_string()];
        assert!(content_type_allowed("image/png", &images));
        assert!(!content_type_allowed("application/pdf", &images));
        assert!(content_type_allowed("application/pdf", &["*/*".into()]));
        assert!(content_type_allowed(
            "text/plain; charset=utf-8",
            &["text/plain".into()]
        ));
        assert!(!content_type_allowed("text/html", &["text/plain".into()]));
    }

    #[test]
    fn patterns_are_checked() {
        assert!(is_valid_content_type_pattern("*/*"));
        assert!(is_valid_content_type_pattern("image/*"));
        assert!(is_valid_content_type_pattern("application/pdf"));
        assert!(!is_valid_content_type_pattern("not a type"));
        assert!(!is_valid_content_type_pattern("*/png"));
    }
}
