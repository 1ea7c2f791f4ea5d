//! Issue 15, item 12: a download can't be turned into a page. A file asked `inline` (by
//! the request or by the profile's default) whose type a browser renders as active
//! content (HTML, SVG, XML, script, or anything unknown) is served by the store as an
//! attachment; passive types (a PNG, plain text, a PDF) stay inline; a profile with
//! `inline_active_content = true` restores inline for everything. Checked on the store's
//! own response headers, through both download routes.

use super::*;

/// Uploads `body` as `filename` of `content_type` in `profile`, completes and commits it;
/// returns the file id.
async fn committed(
    app: &TestApp,
    token: &str,
    profile: &str,
    filename: &str,
    content_type: &str,
    body: &[u8],
) -> String {
    let created = app
        .create(
            token,
            json!({"profile": profile, "filename": filename, "size": body.len(),
                "content_type": content_type}),
        )
        .await;
    assert!(app.put(&created, body.to_vec()).await.is_success());
    let (status, session) = app.complete(token, &created.id).await;
    assert_eq!(status, StatusCode::OK, "complete: {session}");
    let (status, file) = app.commit(token, &created.id).await;
    assert_eq!(status, StatusCode::OK, "commit: {file}");
    file["id"].as_str().expect("file id").to_owned()
}

/// The store's `Content-Disposition` and `Content-Type` for a link from
/// `POST /v1/files/{id}/download-url` with `body`.
async fn served(app: &TestApp, token: &str, file: &str, body: Option<Value>) -> (String, String) {
    let (status, link) = app
        .call(
            Method::POST,
            &format!("/v1/files/{file}/download-url"),
            Some(token),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    fetch(app, link["url"].as_str().expect("url")).await
}

/// The same through `GET /v1/files/{id}/download?disposition=…` and its redirect.
async fn served_by_redirect(
    app: &TestApp,
    token: &str,
    file: &str,
    query: &str,
) -> (String, String) {
    let resp = app
        .http
        .get(format!("{}/v1/files/{file}/download?{query}", app.api))
        .bearer_auth(token)
        .send()
        .await
        .expect("redirect");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    fetch(app, &location).await
}

async fn fetch(app: &TestApp, url: &str) -> (String, String) {
    let resp = app
        .http
        .get(url)
        .send()
        .await
        .expect("GET reaches the store");
    assert_eq!(resp.status(), StatusCode::OK);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default()
    };
    (header("content-disposition"), header("content-type"))
}

fn kind(disposition: &str) -> &str {
    disposition.split(';').next().unwrap_or("")
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
const HTML: &[u8] = b"<!doctype html><script>alert(document.domain)</script>";
const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";

e2e!(
    active_content_asked_inline_is_served_as_an_attachment,
    with | b
        | b.env("SLUICE__PROFILES__PAGES__DISPOSITION", "inline")
            .env("SLUICE__PROFILES__PAGES__INLINE_ACTIVE_CONTENT", "true"),
    |app| {
        let alice = app.token("alice");
        let inline = Some(json!({"disposition": "inline"}));
        let cases: &[(&str, &str, &[u8], &str)] = &[
            ("page.html", "text/html", HTML, "attachment"),
            ("page.htm", "Text/HTML; charset=utf-8", HTML, "attachment"),
            ("drawing.svg", "image/svg+xml", SVG, "attachment"),
            ("page.xhtml", "application/xhtml+xml", HTML, "attachment"),
            ("feed.xml", "application/xml", SVG, "attachment"),
            ("feed.atom", "application/atom+xml", SVG, "attachment"),
            ("doc.xml", "text/xml", SVG, "attachment"),
            ("app.js", "text/javascript", b"alert(1)", "attachment"),
            (
                "app.mjs",
                "application/javascript",
                b"alert(1)",
                "attachment",
            ),
            (
                "movie.swf",
                "application/x-shockwave-flash",
                b"FWS",
                "attachment",
            ),
            ("style.xsl", "text/xsl", SVG, "attachment"),
            (
                "mixed",
                "multipart/x-mixed-replace; boundary=x",
                HTML,
                "attachment",
            ),
            ("blob.bin", "application/octet-stream", HTML, "attachment"),
            (
                "thing.zzz",
                "application/x-never-heard-of",
                HTML,
                "attachment",
            ),
            ("pixel.png", "image/png", PNG, "inline"),
            ("notes.txt", "text/plain; charset=utf-8", HTML, "inline"),
            ("paper.pdf", "application/pdf", b"%PDF-1.7", "inline"),
            ("song.mp3", "audio/mpeg", b"ID3", "inline"),
            ("clip.mp4", "video/mp4", b"\0\0\0\x18ftypmp42", "inline"),
        ];
        for (filename, content_type, body, expected) in cases {
            let what = format!("{filename} as {content_type}");
            let file = committed(&app, &alice, "default", filename, content_type, body).await;
            // Asked inline through either route: only passive types are.
            let (disposition, served_type) = served(&app, &alice, &file, inline.clone()).await;
            assert_eq!(kind(&disposition), *expected, "{what}: {disposition}");
            assert_eq!(
                served_type.to_ascii_lowercase(),
                content_type.to_ascii_lowercase(),
                "{what}: the stored type is still the served one"
            );
            let (disposition, _) =
                served_by_redirect(&app, &alice, &file, "disposition=inline").await;
            assert_eq!(
                kind(&disposition),
                *expected,
                "{what}, redirect: {disposition}"
            );
            // Attachments stay attachments.
            let (disposition, _) = served(&app, &alice, &file, None).await;
            assert_eq!(kind(&disposition), "attachment", "{what}: default");
        }

        // A profile whose default is inline (`quicklink`): the same rule.
        for (filename, content_type, body, expected) in [
            ("page.html", "text/html", HTML, "attachment"),
            ("drawing.svg", "image/svg+xml", SVG, "attachment"),
            ("pixel.png", "image/png", PNG, "inline"),
        ] {
            let file = committed(&app, &alice, "quicklink", filename, content_type, body).await;
            let (disposition, _) = served(&app, &alice, &file, None).await;
            assert_eq!(kind(&disposition), expected, "quicklink {filename}");
            let (disposition, _) = served_by_redirect(&app, &alice, &file, "").await;
            assert_eq!(
                kind(&disposition),
                expected,
                "quicklink {filename}, redirect"
            );
        }

        // The profile switch restores inline for active content, by default and on request;
        // an explicit attachment is still one.
        for (filename, content_type, body) in [
            ("page.html", "text/html", HTML),
            ("drawing.svg", "image/svg+xml", SVG),
            ("pixel.png", "image/png", PNG),
        ] {
            let file = committed(&app, &alice, "pages", filename, content_type, body).await;
            let (disposition, _) = served(&app, &alice, &file, None).await;
            assert_eq!(kind(&disposition), "inline", "pages {filename}");
            let (disposition, _) = served(&app, &alice, &file, inline.clone()).await;
            assert_eq!(kind(&disposition), "inline", "pages {filename}, asked");
            let (disposition, _) = served(
                &app,
                &alice,
                &file,
                Some(json!({"disposition": "attachment"})),
            )
            .await;
            assert_eq!(
                kind(&disposition),
                "attachment",
                "pages {filename}, attachment"
            );
        }
    }
);
