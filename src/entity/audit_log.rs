//! `audit_log` — one change made through the admin API (append-only).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_log")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub admin_id: i64,
    pub admin_name: String,
    pub ip: Option<String>,
    /// What was done: `create`, `update`, `delete`, or an action such as
    /// `publish_menu` or `refund`.
    pub action: String,
    /// The kind of thing changed, e.g. `account`, `menu`, `admin`.
    pub resource: String,
    pub resource_id: Option<String>,
    #[serde(with = "crate::ids::json_opt_id")]
    pub account_id: Option<i64>,
    /// `{field: {from, to}}` for edits; the fields set (creates) or removed
    /// (deletes); an action's parameters. Secrets show as `****`.
    pub changes: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
