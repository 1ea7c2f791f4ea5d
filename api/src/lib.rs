//! `sluice-api`: the HTTP adapter. Handlers extract, authorise, call a core use case and
//! map the result to a DTO; no SeaORM and no business rules live here.
//!
//! Built as in zero-to-production's `startup.rs`: `Application::build` binds (port 0 in
//! tests), `port()` tells where, `run_until_stopped()` serves. Signals are not handled
//! here: the binary stops the API, the workers and the embedded store in order.

pub mod auth;
pub mod client_ip;
pub mod contract;
pub mod csrf;
pub mod dto;
pub mod error;
pub mod extract;
pub mod fallback;
pub mod observe;
pub mod openapi;
pub mod pages;
pub mod ratelimit;
pub mod routes;
pub mod state;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub use state::{AppState, QueueProbe};

/// A bound, not yet running, HTTP server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds the API to `listener` and prepares `workers` HTTP worker threads (0: one per core).
    pub fn build(
        state: AppState,
        listener: TcpListener,
        workers: usize,
        shutdown_timeout: Duration,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let port = addr.port();
        let mut state = state;
        // Port 0 and wildcard binds: the default origins come from where it really listens.
        let server_settings = &state.core.settings.server;
        state.origins = std::sync::Arc::new(sluice_core::auth::TrustedOrigins::new(
            &server_settings.public_origins,
            addr,
        ));
        let data = web::Data::new(state);
        let known = web::Data::new(fallback::KnownRoutes::of(&openapi_document()));
        let settings = &data.core.settings;
        let pages = settings
            .server
            .pages_enabled(settings.storage.is_embedded());
        let mut server = HttpServer::new(move || {
            let (app, api) = App::new()
                .into_utoipa_app()
                .openapi(openapi::base())
                .app_data(data.clone())
                .app_data(known.clone())
                .app_data(extract::json_config())
                .app_data(extract::path_config())
                .app_data(extract::query_config())
                // `GET /v1/uploads/batch` would reach `GET /v1/uploads/{id}` (404): the
                // fallback answers it 405 with `Allow: POST`, as for any known path.
                .route("/v1/uploads/batch", web::get().to(fallback::fallback))
                .configure(routes::configure)
                .split_for_parts();
            app.wrap(middleware::from_fn(observe::observe))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", contract::harden(api)))
                .route(
                    "/docs",
                    web::get().to(|| async {
                        HttpResponse::PermanentRedirect()
                            .insert_header(("Location", "/docs/"))
                            .finish()
                    }),
                )
                .configure(|cfg| {
                    if pages {
                        pages::configure(cfg);
                    }
                })
                .default_service(web::to(fallback::fallback))
        })
        .disable_signals()
        .shutdown_timeout(shutdown_timeout.as_secs())
        .listen(listener)?;
        if workers > 0 {
            server = server.workers(workers);
        }
        Ok(Self {
            port,
            server: server.run(),
        })
    }

    /// The operations routes alone (`/healthz`, `/readyz`, `/metrics`) on `listener`, for
    /// a workers-only process (`ops.worker_bind`): one HTTP thread, no API, no pages.
    pub fn build_ops(
        state: AppState,
        listener: TcpListener,
        shutdown_timeout: Duration,
    ) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .configure(routes::configure_ops)
        })
        .disable_signals()
        .shutdown_timeout(shutdown_timeout.as_secs())
        .workers(1)
        .listen(listener)?;
        Ok(Self {
            port,
            server: server.run(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server gracefully from elsewhere.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The OpenAPI document, as `sluice openapi` prints it and `/openapi.json` serves it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(openapi::base())
        .configure(routes::configure)
        .split_for_parts();
    contract::harden(api)
}
