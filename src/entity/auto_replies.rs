//! `wx_auto_replies` — keyword, follow and default reply rules.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_auto_replies")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub reply_type: i16,
    pub keyword: String,
    pub match_type: i16,
    pub message_type: String,
    pub content: String,
    pub media_id: String,
    pub title: String,
    pub description: String,
    pub pic_url: String,
    pub url: String,
    pub music_url: String,
    pub hq_music_url: String,
    pub thumb_media_id: String,
    pub priority: i32,
    pub status: i16,
    /// Daily window ("HH:MM", Beijing time) the rule answers in; both
    /// empty: all day. `active_until` before `active_from` wraps past midnight.
    pub active_from: String,
    pub active_until: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
