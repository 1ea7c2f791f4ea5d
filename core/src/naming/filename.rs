//! Filename sanitising. The result is safe to show, store and put back into a
//! `Content-Disposition`: no path, no control characters, no leading dots, at most
//! 255 bytes, never empty.

const MAX_BYTES: usize = 255;
const FALLBACK: &str = "file";

/// Reduces a client-supplied filename to a safe display name.
pub fn sanitize_filename(raw: &str) -> String {
    // Only the last path component counts, whichever separator the client's OS uses.
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    let mut out = String::with_capacity(trimmed.len().min(MAX_BYTES));
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > MAX_BYTES {
            break;
        }
        out.push(c);
    }
    // The cut may land just after a space or a dot: trim again, so the result keeps its
    // promise and sanitising it once more changes nothing.
    let out = out.trim_end_matches(['.', ' ']);
    if out.is_empty() {
        FALLBACK.to_owned()
    } else {
        out.to_owned()
    }
}

/// The lower-case extension of a filename, without the dot (`"Report.PDF"` → `"pdf"`).
pub fn extension_of(filename: &str) -> Option<String> {
    let (stem, ext) = filename.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() {
        return None;
    }
    Some(ext.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_paths_of_both_kinds() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            sanitize_filename("C:\\Users\\bob\\report.pdf"),
            "report.pdf"
        );
    }

    #[test]
    fn removes_controls_bidi_overrides_and_edge_dots() {
        assert_eq!(sanitize_filename("a\u{0}b\nc.txt"), "a b c.txt");
        assert_eq!(
            sanitize_filename("invoice\u{202e}fdp.exe"),
            "invoice fdp.exe"
        );
        assert_eq!(sanitize_filename("...hidden.txt.."), "hidden.txt");
        assert_eq!(sanitize_filename("  spaced   out  .md"), "spaced out .md");
    }

    #[test]
    fn keeps_unicode_and_never_returns_empty() {
        assert_eq!(sanitize_filename("résumé 履歴書.pdf"), "résumé 履歴書.pdf");
        assert_eq!(sanitize_filename(""), "file");
        assert_eq!(sanitize_filename("/"), "file");
        assert_eq!(sanitize_filename(".."), "file");
    }

    #[test]
    fn truncates_to_255_bytes_on_a_char_boundary() {
        let long = "é".repeat(200);
        let out = sanitize_filename(&long);
        assert!(out.len() <= 255);
        assert_eq!(out.chars().count(), 127);
    }

    #[test]
    fn a_cut_never_leaves_a_trailing_space_or_dot() {
        // Found by the `filename` fuzz target: the 255-byte cut fell right after the space.
        for sep in [" ", "."] {
            let raw = format!("{}{sep}b.txt", "a".repeat(254));
            let out = sanitize_filename(&raw);
            assert_eq!(out, "a".repeat(254));
            assert_eq!(sanitize_filename(&out), out);
        }
    }

    #[test]
    fn extensions_are_lower_case_and_need_a_stem() {
        assert_eq!(extension_of("Report.PDF").as_deref(), Some("pdf"));
        assert_eq!(extension_of("archive.tar.gz").as_deref(), Some("gz"));
        assert_eq!(extension_of("README"), None);
        assert_eq!(extension_of(".bashrc"), None);
    }
}
