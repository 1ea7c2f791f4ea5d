//! The upload session state machine lives in `sluice_domain::state` (pure, and compiled
//! without the ORM, its table test with it); core names it here, where its single writer
//! and use cases are.

pub use sluice_domain::state::*;
