//! The magic-byte check of profiles with `sniff = true`: one ranged GET of the first bytes,
//! and an object whose content contradicts its declared type is rejected and deleted.

use super::*;

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const HTML: &[u8] = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";

async fn upload(
    app: &TestApp,
    token: &str,
    body: &[u8],
) -> (sluice_tests::Created, StatusCode, Value) {
    let created = app
        .create(
            token,
            json!({"profile": "sniffed", "filename": "picture.png", "size": body.len(), "content_type": "image/png"}),
        )
        .await;
    assert!(app.put(&created, body.to_vec()).await.is_success());
    let (status, answer) = app.complete(token, &created.id).await;
    (created, status, answer)
}

e2e!(a_png_declared_as_png_passes_the_sniff, |app| {
    let alice = app.token("alice");
    let (created, status, session) = upload(&app, &alice, PNG).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["state"], "uploaded");
    assert!(app.object_exists(&created.key).await);
});

e2e!(html_declared_as_png_is_rejected_and_deleted, |app| {
    let alice = app.token("alice");
    let (created, status, problem) = upload(&app, &alice, HTML).await;
    assert_problem!(status, &problem, ErrorCode::TypeMismatch);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("text/html")),
        "{problem}"
    );
    let session = app.session(&alice, &created.id).await;
    assert_eq!(session["state"], "rejected");
    assert_eq!(session["failure"], "type_mismatch");
    app.assert_cleaned(&created.key).await;
});
