//! The upload page and the admin dashboard are embedded static files: served with their
//! types and a strict Content-Security-Policy when `server.pages` is on, absent when off.

use super::*;

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.api))
        .send()
        .await
        .expect("request")
}

e2e!(
    pages_are_served_with_their_types_and_a_strict_policy,
    with | b | b.env("SLUICE__SERVER__PAGES", "true"),
    |app| {
        for (path, content_type, needle) in [
            ("/", "text/html; charset=utf-8", "/ui/upload.js"),
            ("/admin", "text/html; charset=utf-8", "/ui/admin.js"),
            (
                "/ui/upload.js",
                "text/javascript; charset=utf-8",
                "/v1/uploads",
            ),
            (
                "/ui/admin.js",
                "text/javascript; charset=utf-8",
                "/v1/admin/uploads",
            ),
            ("/ui/style.css", "text/css; charset=utf-8", "progress"),
        ] {
            let resp = get(&app, path).await;
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(resp.headers()["content-type"], content_type, "{path}");
            assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
            let policy = resp.headers()["content-security-policy"]
                .to_str()
                .expect("ascii")
                .to_owned();
            assert!(policy.contains("script-src 'self'"), "{policy}");
            assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
            let body = resp.text().await.expect("body");
            assert!(body.contains(needle), "{path} lacks {needle}");
        }
        let missing = get(&app, "/ui/secrets.toml").await;
        let status = missing.status();
        let problem: Value = missing.json().await.expect("problem");
        assert_problem!(status, &problem, ErrorCode::RouteNotFound);
    }
);

e2e!(
    pages_switched_off_are_not_there,
    with | b | b.env("SLUICE__SERVER__PAGES", "false"),
    |app| {
        for path in ["/", "/admin", "/ui/upload.js"] {
            let resp = get(&app, path).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }
);
