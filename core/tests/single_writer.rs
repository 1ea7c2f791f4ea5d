//! The state column has one writer: `core/src/upload/repo.rs` and its set-based half
//! `core/src/upload/repo/batch.rs`. This test reads every Rust source of the workspace and
//! fails if any other file writes `upload_sessions.state`.

use std::path::{Path, PathBuf};

const WRITER: &str = "core/src/upload/repo.rs";
/// The writer's own submodules.
const WRITER_DIR: &str = "core/src/upload/repo/";
const CRATES: [&str; 6] = ["core", "entity", "api", "jobs", "cli", "tests"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `needle` occurs in `text` as a whole field name (`state`, not `to_state`).
fn field_occurs(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(at, _)| {
        text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

/// A line that writes the state: an update expression on the column, an active-model
/// field set, or raw SQL setting it. The audit table's `from_state` / `to_state` columns
/// are other columns and do not count.
fn writes_state(line: &str) -> bool {
    let compact: String = line.split_whitespace().collect();
    (compact.contains("Column::State")
        && (compact.contains("col_expr") || compact.contains(".set(")))
        || field_occurs(&compact, "state:Set(")
        || field_occurs(&compact, "state=Set(")
        || field_occurs(&compact, "state=ActiveValue::Set(")
        || (compact
            .to_ascii_lowercase()
            .contains("updateupload_sessions")
            && compact.contains("state"))
}

#[test]
fn only_the_repository_writes_the_state_column() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned();
    let mut files = Vec::new();
    for krate in CRATES {
        rust_files(&root.join(krate), &mut files);
    }
    assert!(
        files.len() > 20,
        "found only {} sources under {}",
        files.len(),
        root.display()
    );
    let this_file = root.join("core/tests/single_writer.rs");
    let mut offenders = Vec::new();
    let mut writer_lines = 0;
    for file in files.iter().filter(|f| **f != this_file) {
        let text = std::fs::read_to_string(file).expect("read source");
        let relative = file
            .strip_prefix(&root)
            .expect("inside root")
            .to_string_lossy()
            .into_owned();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| writes_state(l)) {
            if relative == WRITER || relative.starts_with(WRITER_DIR) {
                writer_lines += 1;
            } else {
                offenders.push(format!("{relative}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the state column is written outside {WRITER}:\n{}",
        offenders.join("\n")
    );
    assert!(
        writer_lines >= 2,
        "the scanner no longer sees the repository's own writes ({writer_lines})"
    );
}

#[test]
fn the_scanner_recognises_writes() {
    assert!(writes_state(".col_expr(Column::State, Expr::value(\"x\"))"));
    assert!(writes_state("state: Set(UploadState::Pending),"));
    assert!(writes_state("am.state = Set(s);"));
    assert!(writes_state(
        "db.execute(\"UPDATE upload_sessions SET state = 'x'\")"
    ));
    assert!(!writes_state(
        ".filter(Column::State.eq(session.state.as_str()))"
    ));
    assert!(!writes_state("to_state: Set(state.as_str().to_owned()),"));
    assert!(!writes_state("from_state: Set(None),"));
}
