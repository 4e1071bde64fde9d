//! `wx_pay_notifications` — every verified WeChat Pay notification received,
//! with what was done about it (the audit trail of money events).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Default, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wx_pay_notifications")]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    #[serde(with = "crate::ids::json_id")]
    pub id: i64,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    /// WeChat's notification id; unique per account, so a replay is seen.
    pub event_id: String,
    pub event_type: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    /// The decrypted resource's non-secret fields, as JSON text.
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    /// paid, refund_updated, unchanged, unknown_order, amount_mismatch, illegal_transition, ignored
    pub result: String,
    pub detail: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
