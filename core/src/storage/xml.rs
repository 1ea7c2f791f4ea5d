//! Lenient reading of the small, flat XML documents S3 answers with (errors, ListParts).
//! Stores differ in namespaces, whitespace and which elements they include (some omit
//! part ETags), so elements are found by name rather than through a strict schema.

/// The text of the first `<name>…</name>` element, trimmed.
pub(crate) fn field(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&close)? + start;
    Some(unescape(body[start..end].trim()))
}

/// The inner text of every `<name>…</name>` element, in document order.
pub(crate) fn blocks<'a>(body: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find(&open) {
        let inner = &rest[start + open.len()..];
        let Some(end) = inner.find(&close) else { break };
        out.push(&inner[..end]);
        rest = &inner[end + close.len()..];
    }
    out
}

/// The five predefined entities (ETags arrive as `&quot;…&quot;`).
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_blocks_are_found_by_name() {
        let body = "<R xmlns=\"x\"><IsTruncated>false</IsTruncated>\
            <Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part>\
            <Part><PartNumber>1</PartNumber></Part></R>";
        assert_eq!(field(body, "IsTruncated").as_deref(), Some("false"));
        let parts = blocks(body, "Part");
        assert_eq!(parts.len(), 2);
        assert_eq!(field(parts[0], "ETag").as_deref(), Some("\"b\""));
        assert_eq!(field(parts[1], "ETag"), None);
        assert_eq!(field(body, "Missing"), None);
    }
}
