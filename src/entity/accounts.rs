//! `wx_accounts` — an official account bound to wxmp, with its callback and pay settings.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_accounts")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    pub app_id: String,
    pub app_secret: String,
    pub account_name: String,
    pub account_type: i16,
    pub original_id: String,
    pub wechat_id: String,
    pub status: i16,
    pub message_mode: i16,
    pub access_token: String,
    pub token_expires_at: Option<DateTimeUtc>,
    pub server_url: String,
    pub token: String,
    pub encoding_aes_key: String,
    pub mch_id: String,
    pub pay_api_v3_key: String,
    pub pay_cert_serial: String,
    pub pay_private_key: String,
    pub pay_public_key_id: String,
    pub pay_public_key: String,
    pub pay_platform_certs: Option<Json>,
    /// 1: replies that missed the callback deadline go out as customer-service messages.
    pub late_reply_enabled: i16,
    /// Set while the account is archived: disabled and hidden from pickers.
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
