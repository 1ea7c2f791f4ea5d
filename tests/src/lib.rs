//! The end-to-end harness: `TestApp::spawn` boots a whole Sluice (the same `start` the
//! binary uses) on port 0 with its own world, and offers typed helpers over the real HTTP
//! API and the real store.
//!
//! Two legs: `Embedded` (SQLite, embedded queue, embedded store: always) and `Production`
//! (PostgreSQL + Redis + an S3 server such as Ceph RGW), when `SLUICE_TEST_DATABASE_URL`,
//! `SLUICE_TEST_REDIS_URL` and `SLUICE_TEST_S3_*` are set. Under CI (`CI` set) a missing
//! production service is a failure, never a silent skip. Each test gets a fresh database,
//! queue namespace and bucket, so runs never collide.

mod client;
mod environment;
mod leg;

pub use client::{Created, TestApp};
pub use environment::{environment, store_client};
pub use leg::{Leg, drop_test_database};

/// The keys the test settings configure.
pub mod client_keys {
    pub use crate::environment::{ADMIN_KEY, SERVICE_KEY, TOKEN_SECRET};
}

/// Declares one end-to-end test that runs on both legs, as `name::embedded` and
/// `name::production`.
#[macro_export]
macro_rules! e2e {
    ($(#[$meta:meta])* $name:ident, |$app:ident| $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[actix_rt::test]
            async fn embedded() {
                let $app = $crate::TestApp::spawn($crate::Leg::Embedded).await;
                $body;
                $app.stop().await;
            }

            #[actix_rt::test]
            async fn production() {
                let Some(leg) = $crate::Leg::production() else { return };
                let $app = $crate::TestApp::spawn(leg).await;
                $body;
                $app.stop().await;
            }
        }
    };
}
