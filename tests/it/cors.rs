//! The embedded store answers browsers on another origin: preflights without credentials,
//! and `ETag` readable from script (multipart clients need it).

use super::*;
use sluice_tests::Leg;

#[actix_rt::test]
async fn embedded_store_answers_cors_preflights_and_exposes_etag() {
    let app = TestApp::spawn(Leg::Embedded).await;
    let alice = app.token("alice");
    let created = app.create_text(&alice, 2).await;
    let origin = "http://app.example";

    let preflight = app
        .http
        .request(Method::OPTIONS, &created.url)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "PUT")
        .header(
            "Access-Control-Request-Headers",
            "content-type,if-none-match",
        )
        .send()
        .await
        .expect("preflight");
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = |name: &str| {
        preflight
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    assert!(
        allowed("access-control-allow-origin") == origin
            || allowed("access-control-allow-origin") == "*"
    );
    assert!(
        allowed("access-control-allow-methods").contains("put"),
        "{:?}",
        preflight.headers()
    );
    assert!(
        allowed("access-control-allow-headers").contains("if-none-match"),
        "{:?}",
        preflight.headers()
    );

    let mut put = app
        .http
        .put(&created.url)
        .header("Origin", origin)
        .body(b"hi".to_vec());
    for (name, value) in created
        .headers
        .iter()
        .filter(|(n, _)| n != "content-length")
    {
        put = put.header(name, value);
    }
    let resp = put.send().await.expect("put");
    assert!(resp.status().is_success());
    let exposed = resp.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    assert!(resp.headers().contains_key("etag"));
    app.stop().await;
}
