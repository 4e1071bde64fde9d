//! `wx_menus` — custom menu buttons; `parent_id` 0 is a top-level button.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_menus")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub parent_id: i64,
    pub menu_name: String,
    pub menu_type: String,
    pub menu_key: String,
    pub url: String,
    pub media_id: String,
    pub article_id: String,
    pub appid: String,
    pub pagepath: String,
    pub sort_order: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
