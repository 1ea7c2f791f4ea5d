//! `ARCHITECTURE.md` names only paths that exist: every backticked span of it that looks
//! like a repository path is checked against the workspace, so a move or a rename that
//! leaves the map behind fails here. Plain tests: no app, no leg, std only.

use std::path::Path;

/// The document, at the workspace root (this crate's manifest is in `tests/`).
const ARCHITECTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ARCHITECTURE.md");

/// Endings that make a span without a `/` a file name worth checking.
const EXTENSIONS: [&str; 7] = [".rs", ".md", ".toml", ".sh", ".py", ".json", ".ts"];

/// The text outside fenced code blocks (whose backticks are not inline code).
fn prose(markdown: &str) -> String {
    let mut fenced = false;
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The path a backticked span names, if it names one: it contains a `/` or ends in a
/// source or document extension, has no whitespace, and is not a URL, a route (`/v1/…`),
/// a flag or a variable. A trailing `:` or line suffix (`:12`, `:12-20`) is dropped.
fn repository_path(span: &str) -> Option<&str> {
    let span = span.trim();
    if span.is_empty() || span.chars().any(char::is_whitespace) {
        return None;
    }
    if !(span.contains('/') || EXTENSIONS.iter().any(|ext| span.ends_with(ext))) {
        return None;
    }
    if span.starts_with("http") || span.starts_with(['-', '$', '/']) || span.contains("://") {
        return None;
    }
    let span = span.trim_end_matches(':');
    match span.rsplit_once(':') {
        Some((path, line)) if is_line_suffix(line) => Some(path),
        _ => Some(span),
    }
}

/// `12` or `12-20`, as in `path:12`.
fn is_line_suffix(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '-')
}

/// Every distinct path the document names, in order of first mention.
fn named_paths(markdown: &str) -> Vec<String> {
    let text = prose(markdown);
    let mut paths: Vec<String> = Vec::new();
    // Odd pieces between backticks are inline code. A span broken across lines holds a
    // newline, so it is never taken for a path.
    for span in text.split('`').skip(1).step_by(2) {
        if let Some(path) = repository_path(span)
            && !paths.iter().any(|p| p == path)
        {
            paths.push(path.to_owned());
        }
    }
    paths
}

#[test]
fn every_path_the_architecture_names_exists() {
    let markdown = std::fs::read_to_string(ARCHITECTURE)
        .expect("ARCHITECTURE.md at the workspace root is readable");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let paths = named_paths(&markdown);
    let missing: Vec<&String> = paths.iter().filter(|p| !root.join(p).exists()).collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names {} path(s) that do not exist under the workspace root: {missing:#?}",
        missing.len()
    );
    assert!(
        paths.len() >= 40,
        "only {} paths found in ARCHITECTURE.md: the extraction is broken or the map is gone",
        paths.len()
    );
}

#[test]
fn spans_that_are_not_paths_are_left_alone() {
    assert_eq!(
        repository_path("core/src/outbox.rs:12"),
        Some("core/src/outbox.rs")
    );
    assert_eq!(
        repository_path("core/src/outbox.rs:"),
        Some("core/src/outbox.rs")
    );
    assert_eq!(repository_path("README.md"), Some("README.md"));
    assert_eq!(repository_path("jobs/"), Some("jobs/"));
    for not_a_path in [
        "/v1/uploads",
        "POST /v1/uploads",
        "https://example.com/a.md",
        "redis://127.0.0.1/",
        "--no-workers",
        "$SLUICE_CONFIG/x",
        "sluice_core::jobs::execute",
        "{key}.verified",
    ] {
        assert_eq!(repository_path(not_a_path), None, "{not_a_path}");
    }
    let doc = "`a/b.rs` and `c\nd/e.rs`\n```\n`not/this.rs`\n```\n`f.toml`";
    assert_eq!(named_paths(doc), ["a/b.rs", "f.toml"]);
}
