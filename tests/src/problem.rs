//! `assert_problem!`: the one way the end-to-end suite checks a refusal. It compares the
//! answer's status and its body's `code` with an [`ErrorCode`] (whose status sits beside
//! it), so a test cannot expect a code with the wrong status, or a code that does not
//! exist; tests/it/error_codes.rs reads these calls to prove every code is produced.

use serde_json::Value;
use sluice_core::ErrorCode;

/// Asserts that `(status, body)` is a refusal with `code`: a problem+json (`/v1`) or a
/// Companion body (`/s3`). Optional trailing `format!` arguments say which case failed.
///
/// ```ignore
/// assert_problem!(status, &problem, ErrorCode::NotFound);
/// assert_problem!(status, &problem, ErrorCode::NotFound, "{method} {path}");
/// ```
#[macro_export]
macro_rules! assert_problem {
    ($status:expr, $body:expr, $code:expr $(,)?) => {
        $crate::problem::check($status, $body, $code, "")
    };
    ($status:expr, $body:expr, $code:expr, $($context:tt)+) => {
        $crate::problem::check($status, $body, $code, &format!($($context)+))
    };
}

/// What [`assert_problem!`] runs.
#[track_caller]
pub fn check(status: impl Into<u16>, body: &Value, code: ErrorCode, context: &str) {
    let status: u16 = status.into();
    assert_eq!(
        (status, body["code"].as_str()),
        (code.status(), Some(code.as_str())),
        "{context} {body}"
    );
    if let Some(stated) = body.get("status") {
        assert_eq!(stated, &Value::from(status), "{context} {body}");
    }
}

/// What the harness checks of every answer it reads from Sluice's API: a body that carries a
/// `code` carries a declared [`ErrorCode`], answered with that code's own status. Together
/// with tests/it/error_codes.rs (every declared code is produced somewhere) this proves the
/// enum and what Sluice answers agree both ways.
#[track_caller]
pub fn check_declared(status: u16, body: &Value) {
    if status < 400 {
        return;
    }
    let Some(code) = body.get("code").and_then(Value::as_str) else {
        return;
    };
    let declared: ErrorCode = code
        .parse()
        .unwrap_or_else(|_| panic!("answered with an undeclared code {code:?}: {body}"));
    assert_eq!(
        declared.status(),
        status,
        "{code} answered with another status than its own: {body}"
    );
}
