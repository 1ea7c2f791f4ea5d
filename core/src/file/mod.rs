//! Committed files: commit (the session becomes a file), read, download links, delete.

pub(crate) mod repo;
pub mod service;
pub mod view;

pub use view::{DownloadLink, DownloadRequest, FileView};
