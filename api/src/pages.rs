//! The upload page (`/`) and the admin dashboard (`/admin`): static files bundled from
//! `client/web` by esbuild into `api/pages/` (committed; CI checks they are fresh) and
//! embedded in the binary, so serving them needs nothing at run time.
//!
//! Invariants: the pages are plain static files; they talk to the API like any client
//! (bearer tokens, never cookies), so they open no route the API does not already guard.
//! A strict Content-Security-Policy allows scripts and styles from this origin only;
//! `connect-src` must allow the store's origin, where the browser PUTs the bytes.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

/// `(name, content type, bytes)` of every embedded file.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "upload.html",
        "text/html; charset=utf-8",
        include_bytes!("../pages/upload.html"),
    ),
    (
        "admin.html",
        "text/html; charset=utf-8",
        include_bytes!("../pages/admin.html"),
    ),
    (
        "upload.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../pages/upload.js"),
    ),
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../pages/admin.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../pages/style.css"),
    ),
];

const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self' http: https:; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

/// Registers `/`, `/admin` and `/ui/{file}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(|| async { serve("upload.html") }))
        .route("/admin", web::get().to(|| async { serve("admin.html") }))
        .route(
            "/ui/{file}",
            web::get().to(|file: web::Path<String>| async move { serve(&file) }),
        );
}

fn serve(name: &str) -> HttpResponse {
    let Some((_, content_type, body)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return actix_web::ResponseError::error_response(&crate::error::ApiError::NoRoute);
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        // Small files, rebuilt with the binary: revalidating costs less than a stale page.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(*body)
}
