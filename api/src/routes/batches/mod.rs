//! Batch sessions: `POST /v1/uploads/batch` creates many sessions in one request and one
//! transaction; `GET /v1/batches/{id}` sums them up.

pub mod create;
pub mod get;
