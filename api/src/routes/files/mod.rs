//! `/v1/files`: read, download links, delete.

pub mod delete;
pub mod download;
pub mod download_url;
pub mod get;
