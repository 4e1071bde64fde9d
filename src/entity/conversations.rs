//! `wx_conversations` — what operators did with one fan's conversation: how
//! far it was read and who it is assigned to. A row exists once an operator
//! opened or assigned the conversation; none means unread and unassigned.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_conversations")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub openid: String,
    /// The newest message (id) an operator had on screen when marking it read.
    #[serde(with = "crate::ids::json_opt_id")]
    pub last_read_id: Option<i64>,
    pub read_at: Option<DateTimeUtc>,
    /// The user name of who read it last.
    pub read_by: String,
    #[serde(with = "crate::ids::json_opt_id")]
    pub assigned_admin_id: Option<i64>,
    pub assigned_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
