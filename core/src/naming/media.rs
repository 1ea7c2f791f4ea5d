//! Content types: syntax (RFC 6838 type/subtype tokens), normalisation, and matching
//! against a profile's allowlist of exact types, families (`image/*`) and `*/*`.

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 127
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
}

/// Lower-cases a declared content type and checks its syntax. Parameters such as
/// `; charset=utf-8` are kept (the presigned PUT signs the exact header the client sends).
pub fn normalize_content_type(raw: &str) -> Option<String> {
    // Printable ASCII only (as the OpenAPI pattern says); surrounding spaces are dropped.
    if raw.len() > 255 || raw.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return None;
    }
    let raw = raw.trim_matches(' ');
    if raw.is_empty() {
        return None;
    }
    let (essence, params) = match raw.split_once(';') {
        Some((e, p)) => (e.trim(), Some(p.trim())),
        None => (raw, None),
    };
    let (ty, sub) = essence.split_once('/')?;
    if !is_token(ty) || !is_token(sub) {
        return None;
    }
    let essence = format!("{}/{}", ty.to_ascii_lowercase(), sub.to_ascii_lowercase());
    Some(match params {
        Some(p) if !p.is_empty() => format!("{essence}; {p}"),
        _ => essence,
    })
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
        assert_eq!(
            normalize_content_type("text/plain;charset=utf-8").as_deref(),
            Some("text/plain; charset=utf-8")
        );
        for bad in [
            "",
            "png",
            "image/",
            "/png",
            "image/p\nng",
            "imäge/png",
            "a b/c",
        ] {
            assert_eq!(normalize_content_type(bad), None, "{bad:?}");
        }
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
