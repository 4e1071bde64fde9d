//! `wx_template_logs` — one template message sent to one fan, and its delivery.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_template_logs")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub template_id: String,
    pub openid: String,
    pub data: Option<Json>,
    pub url: String,
    pub miniprogram: Option<Json>,
    #[serde(with = "crate::ids::json_opt_wechat_id")]
    pub msgid: Option<i64>,
    pub status: String,
    pub errcode: i32,
    pub errmsg: String,
    pub sent_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
