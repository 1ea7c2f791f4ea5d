//! `/v1/quota`: the caller's limits and usage.

pub mod get;
