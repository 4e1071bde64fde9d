//! Fans as stored: one fan by openid, and a fan's details from WeChat merged
//! into the row (keeping the counters the callback maintains).

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::Value;

use crate::entity::users;
use crate::ids::IdGenerator;
use sea_orm::DatabaseConnection;

/// The fan `openid` of an account, if stored (a failed read counts as unknown).
pub async fn load_fan(
    db: &sea_orm::DatabaseConnection,
    account_id: i64,
    openid: &str,
) -> Option<users::Model> {
    users::Entity::find()
        .filter(users::Column::AccountId.eq(account_id))
        .filter(users::Column::Openid.eq(openid))
        .one(db)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "cannot read the fan"))
        .ok()
        .flatten()
}

/// Inserts or updates a fan from WeChat's user info, keeping our counters.
pub async fn upsert_fan(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    account_id: i64,
    info: &Value,
) -> Result<(), sea_orm::DbErr> {
    let text = |key: &str| info[key].as_str().unwrap_or_default().to_string();
    let time = |key: &str| {
        info[key]
            .as_i64()
            .filter(|t| *t > 0)
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
    };
    let now = crate::db::now();
    let fan = users::Model {
        id: ids
            .next_id()
            .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?,
        account_id,
        openid: text("openid"),
        unionid: text("unionid"),
        nickname: text("nickname"),
        headimgurl: text("headimgurl"),
        subscribe_status: info["subscribe"].as_i64().unwrap_or(0) as i16,
        subscribe_time: time("subscribe_time"),
        remark: text("remark"),
        subscribe_scene: text("subscribe_scene"),
        qr_scene: info["qr_scene_str"]
            .as_str()
            .map(str::to_string)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                info["qr_scene"]
                    .as_i64()
                    .filter(|s| *s != 0)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            }),
        tags: Some(info["tagid_list"].clone()).filter(|t| t.is_array()),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    users::Entity::insert(fan.into_active_model().reset_all())
        .on_conflict(
            OnConflict::columns([users::Column::AccountId, users::Column::Openid])
                .update_columns([
                    users::Column::Unionid,
                    users::Column::SubscribeStatus,
                    users::Column::SubscribeTime,
                    users::Column::Remark,
                    users::Column::SubscribeScene,
                    users::Column::QrScene,
                    users::Column::Tags,
                    users::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
