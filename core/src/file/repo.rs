//! The `files` table: the only code that writes it, and its lookups.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sluice_entity::file::{self, Column, Entity, Model};

use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::ids::{FileId, UploadId};

pub async fn insert<C: ConnectionTrait>(db: &C, model: Model) -> CoreResult<Model> {
    let am: file::ActiveModel = model.clone().into();
    Entity::insert(am).exec_without_returning(db).await?;
    Ok(model)
}

/// The file if `who` may reach it: its owner, within the token's profiles. Another
/// owner's file and a file of a profile outside the scope are both simply not found.
pub async fn find_owned<C: ConnectionTrait>(
    db: &C,
    id: FileId,
    who: &Principal,
) -> CoreResult<Model> {
    Entity::find_by_id(id.0)
        .filter(Column::Owner.eq(who.owner.as_str()))
        .one(db)
        .await?
        .filter(|file| who.may_reach(&file.owner, &file.profile))
        .ok_or(CoreError::NotFound("file"))
}

/// The file a committed session became (committing twice answers with it again).
pub async fn find_by_upload<C: ConnectionTrait>(db: &C, upload_id: UploadId) -> CoreResult<Model> {
    Entity::find()
        .filter(Column::UploadId.eq(upload_id.0))
        .one(db)
        .await?
        .ok_or(CoreError::NotFound("file"))
}

pub async fn remove<C: ConnectionTrait>(db: &C, id: FileId) -> CoreResult<()> {
    Entity::delete_by_id(id.0).exec(db).await?;
    Ok(())
}
