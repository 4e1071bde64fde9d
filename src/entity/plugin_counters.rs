//! `plugin_counters` — calls, errors and run time of one plugin for one
//! account in one UTC hour (callback calls only; dry runs are not counted).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "plugin_counters")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    pub plugin: String,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    /// Start of the UTC hour.
    pub hour: DateTimeUtc,
    pub calls: i64,
    pub errors: i64,
    pub micros: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
