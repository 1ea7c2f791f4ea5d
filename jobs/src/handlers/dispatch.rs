//! Runs one dispatched job row through `sluice_core::jobs::execute`.

use apalis::prelude::{BoxDynError, Data};
use sluice_core::Core;
use sluice_core::jobs::{Dispatch, Executed, execute};

#[tracing::instrument(skip_all, fields(row = dispatch.row))]
pub async fn run_dispatch(dispatch: Dispatch, core: Data<Core>) -> Result<(), BoxDynError> {
    match execute(&core, &dispatch).await {
        Ok(Executed::Stale) => tracing::debug!("stale dispatch; nothing to do"),
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(code = %error.code(), %error, "job outcome not recorded; it runs again after its dispatch lease");
        }
    }
    Ok(())
}
