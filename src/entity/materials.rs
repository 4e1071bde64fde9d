//! `wx_materials` — temporary and permanent media, and news drafts.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_materials")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub media_type: String,
    pub media_id: String,
    pub name: String,
    pub url: String,
    pub local_path: String,
    pub file_size: i64,
    pub width: i32,
    pub height: i32,
    pub is_permanent: i16,
    pub sync_status: i16,
    pub title: String,
    pub introduction: String,
    pub news_items: Option<Json>,
    pub expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
