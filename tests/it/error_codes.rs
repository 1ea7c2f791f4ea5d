//! Every declared `ErrorCode` is produced through the HTTP API by some end-to-end test.
//!
//! The other direction (everything Sluice answers is declared, with its own status) is
//! checked on every answer the harness reads (`sluice_tests::problem::check_declared`), and
//! the type system keeps a free string out of `Problem.code`. This test reads the suite's
//! `assert_problem!` calls: a code no test provokes is either dead (remove it) or untested
//! (add the test), and the few that no request can provoke on purpose are listed below with
//! the reason.

use super::*;
use std::collections::BTreeSet;
use std::path::Path;

/// Codes that exist for real failures no test can cause on demand through HTTP.
const NOT_PROVOKABLE: &[(ErrorCode, &str)] = &[
    (
        ErrorCode::Conflict,
        "another writer won every compare-and-set retry: only under contention no test can \
         schedule (a lost race otherwise re-reads and answers the state reached)",
    ),
    (
        ErrorCode::Busy,
        "SQLite's busy timeout or PostgreSQL's lock timeout ran out under load",
    ),
    (
        ErrorCode::InternalError,
        "a bug or an impossible state; a test that could provoke it would be a bug report",
    ),
];

/// The text of each `assert_problem!(…)` call in `source`, up to its closing parenthesis.
fn problem_calls(source: &str) -> Vec<&str> {
    let mut calls = Vec::new();
    for (start, _) in source.match_indices("assert_problem!(") {
        let call = &source[start..];
        let mut depth = 0usize;
        let mut end = call.len();
        for (i, c) in call.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        calls.push(&call[..end]);
    }
    calls
}

/// The `ErrorCode::X` variant names in `text` (not `ALL`).
fn code_names(text: &str) -> BTreeSet<String> {
    text.match_indices("ErrorCode::")
        .map(|(at, _)| {
            text[at + "ErrorCode::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect()
        })
        .filter(|name: &String| name != "ALL")
        .collect()
}

/// The codes `source` asserts: those named in its `assert_problem!` calls, and, where a call
/// takes its code from a variable (a loop over a table of cases), those its tables name.
fn asserted_codes(source: &str) -> BTreeSet<String> {
    let calls = problem_calls(source);
    let mut found: BTreeSet<String> = calls.iter().flat_map(|call| code_names(call)).collect();
    if calls.iter().any(|call| code_names(call).is_empty()) {
        found.extend(code_names(source));
    }
    found
}

#[test]
fn every_declared_code_is_produced_by_an_end_to_end_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("it");
    let mut produced = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("tests/it") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("error_codes.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("test source");
        produced.extend(asserted_codes(&source));
    }
    let excused: BTreeSet<String> = NOT_PROVOKABLE
        .iter()
        .map(|(code, _)| format!("{code:?}"))
        .collect();
    let never: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|code| format!("{code:?}"))
        .filter(|name| !produced.contains(name) && !excused.contains(name))
        .collect();
    assert!(
        never.is_empty(),
        "declared but never produced by an end-to-end test: {never:?}"
    );
    let unknown: Vec<&String> = produced
        .iter()
        .filter(|name| !ErrorCode::ALL.iter().any(|c| &format!("{c:?}") == *name))
        .collect();
    assert!(unknown.is_empty(), "not an ErrorCode: {unknown:?}");
    // An excuse must stay true: a code a test does produce needs none.
    let needless: Vec<&String> = excused.intersection(&produced).collect();
    assert!(
        needless.is_empty(),
        "produced by a test, so no longer excused: {needless:?}"
    );
}

#[test]
fn the_reader_finds_codes_in_direct_calls_and_in_tables() {
    let direct = "assert_problem!(status, &body, ErrorCode::NotFound, \"{id} ({x})\");";
    assert_eq!(
        asserted_codes(direct),
        BTreeSet::from(["NotFound".to_owned()])
    );
    let table = "let cases = [(\"a\", ErrorCode::TooLarge)];\n\
                 for (a, code) in cases { assert_problem!(s, &b, code, \"{a}\"); }";
    assert_eq!(
        asserted_codes(table),
        BTreeSet::from(["TooLarge".to_owned()])
    );
    // A code named outside any call, in a file whose calls all name theirs, is not counted.
    let stray = "let x = ErrorCode::Busy; assert_problem!(s.as_u16(), &b, ErrorCode::Expired);";
    assert_eq!(
        asserted_codes(stray),
        BTreeSet::from(["Expired".to_owned()])
    );
}
