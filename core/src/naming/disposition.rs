//! `Content-Disposition` for downloads (RFC 6266): a quoted ASCII fallback `filename` for
//! old clients plus `filename*` in RFC 5987 encoding carrying the exact UTF-8 name.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::config::Disposition;

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
