//! `wx_users` — fans of an account.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_users")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub openid: String,
    pub unionid: String,
    pub nickname: String,
    pub headimgurl: String,
    pub subscribe_status: i16,
    pub subscribe_time: Option<DateTimeUtc>,
    pub unsubscribe_time: Option<DateTimeUtc>,
    pub last_interact_time: Option<DateTimeUtc>,
    pub message_count: i32,
    pub remark: String,
    pub subscribe_scene: String,
    pub qr_scene: String,
    pub tags: Option<Json>,
    /// 1: staff of the account (plugins keep staff commands to them).
    pub is_staff: i16,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
