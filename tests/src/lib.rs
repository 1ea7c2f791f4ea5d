//! The end-to-end harness: `TestApp::spawn` boots a whole Sluice (the same `start` the
//! binary uses) on port 0 with its own world, and offers typed helpers over the real HTTP
//! API and the real store.
//!
//! Two legs: `Embedded` (SQLite, embedded queue, embedded store: always) and `Production`
//! (PostgreSQL + Redis + an S3 server such as Ceph RGW), when `SLUICE_TEST_DATABASE_URL`,
//! `SLUICE_TEST_REDIS_URL` and `SLUICE_TEST_S3_*` are set. Under CI (`CI` set) a missing
//! production service is a failure, never a silent skip. Each test gets a fresh database,
//! queue namespace and bucket, so runs never collide.

mod clamd;
mod client;
mod environment;
mod faults;
mod leg;
mod otlp;
pub mod problem;
mod process;
mod proxy;
mod receiver;
mod second_store;

pub use clamd::{Clamd, EICAR, SIGNATURE};
pub use client::{Created, Spawn, TestApp, patterned};
pub use environment::{environment, store_client};
pub use faults::{FaultSwitch, Faults};
pub use leg::{Leg, ProductionServices, drop_test_database};
pub use otlp::{OtlpReceiver, SeenSpan};
pub use process::{SluiceProcess, free_port};
pub use proxy::StoreProxy;
pub use receiver::{Received, WEBHOOK_SECRET, WebhookReceiver};
pub use second_store::{SecondStore, second_credentials};

/// The keys the test settings configure.
pub mod client_keys {
    pub use crate::environment::{ADMIN_KEY, SERVICE_KEY, TOKEN_SECRET};
}

/// Declares a test that runs an `async fn(Leg)` on both legs, as `name::embedded` and
/// `name::production`, for tests that set their world up themselves (a receiver that
/// must exist before the app is configured, for instance).
#[macro_export]
macro_rules! on_both_legs {
    ($name:ident, $run:ident) => {
        mod $name {
            #[actix_rt::test]
            async fn embedded() {
                super::$run($crate::Leg::Embedded).await;
            }

            #[actix_rt::test]
            async fn production() {
                let Some(leg) = $crate::Leg::production() else {
                    return;
                };
                super::$run(leg).await;
            }
        }
    };
}

/// Declares one end-to-end test that runs on both legs, as `name::embedded` and
/// `name::production`. `with |b| …` adjusts the `Spawn` builder (environment, proxy).
#[macro_export]
macro_rules! e2e {
    ($(#[$meta:meta])* $name:ident, |$app:ident| $body:block) => {
        $crate::e2e!($(#[$meta])* $name, with |b| b, |$app| $body);
    };
    ($(#[$meta:meta])* $name:ident, with |$b:ident| $build:expr, |$app:ident| $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[actix_rt::test]
            async fn embedded() {
                let $app = {
                    let $b = $crate::TestApp::build($crate::Leg::Embedded);
                    $build
                }
                .start()
                .await;
                $body;
                $app.stop().await;
            }

            #[actix_rt::test]
            async fn production() {
                let Some(leg) = $crate::Leg::production() else { return };
                let $app = {
                    let $b = $crate::TestApp::build(leg);
                    $build
                }
                .start()
                .await;
                $body;
                $app.stop().await;
            }
        }
    };
}
