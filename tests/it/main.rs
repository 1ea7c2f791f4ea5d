//! End-to-end tests through the real HTTP API, on both legs (see `sluice_tests::e2e!`).

mod admin;
mod audit;
mod audit_sink;
mod browser;
mod checksums;
mod cleanup;
mod complete;
mod contract;
mod cors;
mod errors;
mod expiry;
mod files;
mod flow;
mod hostile;
mod metrics;
mod multipart;
mod operations;
mod outages;
mod pages;
mod quota;
mod ratelimit;
mod sniff;
mod store_enforces;
mod trust_costs;
mod trust_limits;
mod trust_storm;
mod uppy;
mod webhooks;

pub use reqwest::{Method, StatusCode};
pub use serde_json::{Value, json};
pub use sluice_tests::{TestApp, e2e};
pub use std::time::Duration;
