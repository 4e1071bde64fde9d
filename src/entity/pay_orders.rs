//! `wx_pay_orders` — WeChat Pay orders; amounts in integer fen.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_pay_orders")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub out_trade_no: String,
    pub openid: String,
    pub total_fee: i64,
    pub trade_state: String,
    pub prepay_id: String,
    pub code_url: String,
    pub description: String,
    pub trade_type: String,
    pub transaction_id: String,
    pub paid_at: Option<DateTimeUtc>,
    pub refunded_total: i64,
    pub attach: String,
    pub expire_at: Option<DateTimeUtc>,
    /// 1 when the money does not add up (see `note`); never paid then.
    pub flagged: i16,
    pub note: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
