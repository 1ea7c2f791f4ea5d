//! `/v1/uploads`: create, list, read, sign parts, complete, abort, commit.

pub mod abort;
pub mod commit;
pub mod complete;
pub mod create;
pub mod get;
pub mod list;
pub mod parts;
