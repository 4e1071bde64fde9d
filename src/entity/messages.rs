//! `wx_messages` — every message received (direction 1) or sent (direction 0).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_messages")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub openid: String,
    #[serde(with = "crate::ids::json_opt_wechat_id")]
    pub msg_id: Option<i64>,
    pub msg_type: String,
    pub direction: i16,
    pub content: String,
    pub pic_url: String,
    pub event_type: String,
    pub event_key: String,
    pub is_auto_reply: i16,
    pub media_id: String,
    pub thumb_media_id: String,
    pub format: String,
    pub recognition: String,
    pub location_x: Option<f64>,
    pub location_y: Option<f64>,
    pub scale: i32,
    pub label: String,
    pub link_title: String,
    pub link_description: String,
    pub link_url: String,
    pub raw_xml: String,
    #[serde(with = "crate::ids::json_opt_id")]
    pub reply_to: Option<i64>,
    pub local_path: String,
    pub dedupe_key: Option<String>,
    pub create_time: Option<DateTimeUtc>,
    /// Who answered (replies only): a handler's name, or `admin:<user>`.
    pub answered_by: String,
    /// Received messages: 1 once the handler chain has run (or been taken
    /// by a retry), 0 while it has not. Sent rows: 1.
    pub handled: i16,
    /// Automatic replies: the auto-reply rule that answered, when a built-in did.
    #[serde(with = "crate::ids::json_opt_id")]
    pub rule_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
