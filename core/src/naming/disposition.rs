//! `Content-Disposition` for downloads (RFC 6266): a quoted ASCII fallback `filename` for
//! old clients plus `filename*` in RFC 5987 encoding carrying the exact UTF-8 name; and
//! which files may be shown `inline` at all.
//!
//! Invariant: only a type a browser renders passively (an allow-list: images but SVG,
//! audio, video, PDF, plain text) is ever served `inline` unless the profile opts in
//! (`inline_active_content`); anything else, known to be active (HTML, SVG, XML, script)
//! or merely unknown, is served as an attachment, so an uploaded file can never become a
//! page of the store's origin.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use serde::Deserialize;

/// How a download presents the file to the browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    #[default]
    Attachment,
    Inline,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Attachment => "attachment",
            Disposition::Inline => "inline",
        }
    }
}

/// RFC 5987 `attr-char`: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~".
const ATTR_CHAR_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// Whether a browser shows `content_type` (a normalised type, parameters ignored) without
/// running anything from it. Browsers sniff an image, audio or video type only among
/// their own kind, and `text/plain` only as text or binary, so the declared type holds
/// even when the bytes are HTML.
pub fn renders_passively(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let Some((ty, sub)) = essence.split_once('/') else {
        return false;
    };
    // `image/svg+xml` and any other XML-based subtype is a document that runs scripts.
    if sub.ends_with("+xml") || sub == "xml" {
        return false;
    }
    match ty {
        "image" | "audio" | "video" => true,
        "text" => matches!(sub, "plain" | "csv"),
        "application" => sub == "pdf",
        _ => false,
    }
}

/// The disposition a download is served with: what was asked (or the profile's default),
/// except that `inline` becomes `attachment` for a type that does not render passively,
/// unless the profile allows active content inline.
pub fn served_disposition(
    asked: Disposition,
    content_type: &str,
    inline_active_content: bool,
) -> Disposition {
    match asked {
        Disposition::Inline if !inline_active_content && !renders_passively(content_type) => {
            Disposition::Attachment
        }
        other => other,
    }
}

/// The header value for serving `filename` with the given disposition.
pub fn content_disposition(disposition: Disposition, filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != '%' => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(filename, ATTR_CHAR_ESCAPES);
    format!(
        "{}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}",
        disposition.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passive_types_stay_inline() {
        for passive in [
            "image/png",
            "image/jpeg",
            "audio/mpeg",
            "video/mp4",
            "application/pdf",
            "text/plain; charset=utf-8",
            "text/csv",
        ] {
            assert!(renders_passively(passive), "{passive}");
            assert_eq!(
                served_disposition(Disposition::Inline, passive, false),
                Disposition::Inline
            );
        }
        for active in [
            "text/html",
            "text/html; charset=utf-8",
            "application/xhtml+xml",
            "image/svg+xml",
            "text/xml",
            "application/xml",
            "application/atom+xml",
            "image/x+xml",
            "text/javascript",
            "application/javascript",
            "application/x-shockwave-flash",
            "text/xsl",
            "multipart/x-mixed-replace; boundary=x",
            "application/octet-stream",
            "application/x-unknown",
            "text/css",
            "",
        ] {
            assert!(!renders_passively(active), "{active}");
            assert_eq!(
                served_disposition(Disposition::Inline, active, false),
                Disposition::Attachment,
                "{active}"
            );
            assert_eq!(
                served_disposition(Disposition::Inline, active, true),
                Disposition::Inline
            );
            assert_eq!(
                served_disposition(Disposition::Attachment, active, true),
                Disposition::Attachment
            );
        }
    }

    #[test]
    fn ascii_names_round_trip() {
        assert_eq!(
            content_disposition(Disposition::Attachment, "report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
    }

    #[test]
    fn unicode_gets_a_fallback_and_an_encoded_name() {
        assert_eq!(
            content_disposition(Disposition::Inline, "résumé 1.pdf"),
            "inline; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
        );
    }

    #[test]
    fn quotes_backslashes_and_percents_cannot_break_out() {
        let value = content_disposition(Disposition::Attachment, "a\"b\\c%41;d.txt");
        assert_eq!(
            value,
            "attachment; filename=\"a_b_c_41;d.txt\"; filename*=UTF-8''a%22b%5Cc%2541%3Bd.txt"
        );
    }
}
