//! `wx_menu_live` — an account's custom menu as live on WeChat when wxmp last
//! published it, read it back or deleted it (one row per account).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_menu_live")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    /// WeChat's `{"button": […]}`; no buttons once deleted there.
    pub menu: Option<Json>,
    /// `published`, `synced` (read back, replacing the draft), `checked`
    /// (read back only) or `deleted`.
    pub source: String,
    pub admin_name: String,
    pub seen_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
