//! Route registration. Handlers are registered with `service(...)` so that
//! utoipa-actix-web collects them into the OpenAPI document.

pub mod admin;
pub mod batches;
pub mod files;
pub mod ops;
pub mod quota;
pub mod uploads;
pub mod uppy;

use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::error::ApiError;

/// Every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    // The batch route before `/v1/uploads/{id}`'s: its path is a literal.
    cfg.service(batches::create::create_upload_batch)
        .service(batches::get::get_batch)
        .service(uploads::create::create_upload)
        .service(uploads::list::list_uploads)
        .service(uploads::get::get_upload)
        .service(uploads::parts::sign_upload_parts)
        .service(uploads::complete::complete_upload)
        .service(uploads::abort::abort_upload)
        .service(uploads::commit::commit_upload)
        .service(files::get::get_file)
        .service(files::download_url::create_download_url)
        .service(files::download::download_file)
        .service(files::delete::delete_file)
        .service(quota::get::get_quota)
        .service(admin::list::list_uploads_admin)
        .service(admin::get::get_upload_admin)
        .service(admin::expire::expire_upload_admin)
        .service(admin::stats::upload_stats_admin)
        .service(admin::webhooks::list_webhook_deliveries)
        .service(admin::webhooks::replay_webhook_delivery)
        .service(admin::webhooks::list_webhook_endpoints)
        .service(admin::webhooks::replay_webhook_endpoint)
        .service(admin::webhooks::pause_webhook_endpoint)
        .service(admin::webhooks::resume_webhook_endpoint)
        .service(ops::healthz::healthz)
        .service(ops::readyz::readyz)
        .service(ops::metrics::metrics)
        .service(uppy::session::create_session)
        .service(uppy::session::delete_session)
        .service(uppy::params::uppy_params)
        .service(uppy::complete_single::uppy_complete_params)
        .service(uppy::create::uppy_create_multipart)
        .service(uppy::list_parts::uppy_list_parts)
        .service(uppy::sign_part::uppy_sign_part)
        .service(uppy::complete::uppy_complete_multipart)
        .service(uppy::abort::uppy_abort_multipart);
}

/// The operations routes alone, for a workers-only process (`Application::build_ops`).
pub fn configure_ops(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.service(ops::healthz::healthz)
        .service(ops::readyz::readyz)
        .service(ops::metrics::metrics);
}

/// Runs `validator` rules and reports the first failing field as `validation_failed`.
pub fn validate(value: &impl Validate) -> Result<(), ApiError> {
    let Err(errors) = value.validate() else {
        return Ok(());
    };
    let (field, detail) = errors
        .field_errors()
        .into_iter()
        .next()
        .map(|(field, errs)| {
            let message = errs
                .first()
                .and_then(|e| e.message.as_ref().map(ToString::to_string))
                .unwrap_or_else(|| "is out of range".into());
            (field.to_string(), format!("{field}: {message}"))
        })
        .unwrap_or_else(|| ("body".into(), "invalid request".into()));
    Err(ApiError::invalid(&field, detail))
}
