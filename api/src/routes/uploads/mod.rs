//! `/v1/uploads`: create, read, sign parts, complete, abort, commit.

pub mod abort;
pub mod commit;
pub mod complete;
pub mod create;
pub mod get;
pub mod parts;
