//! End-to-end tests through the real HTTP API, on both legs (see `sluice_tests::e2e!`).

mod audit;
mod complete;
mod cors;
mod errors;
mod expiry;
mod files;
mod flow;
mod operations;
mod outages;
mod store_enforces;

pub use reqwest::{Method, StatusCode};
pub use serde_json::{Value, json};
pub use sluice_tests::{TestApp, e2e};
pub use std::time::Duration;
