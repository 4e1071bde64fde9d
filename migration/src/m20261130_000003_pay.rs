//! WeChat Pay: flags on orders, notes on orders and refunds, and the journal
//! of every verified notification received.

use crate::table_builder::TableBuilder;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000003_pay"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        let add = |table: &str, column: ColumnDef| {
            Table::alter()
                .table(Alias::new(table))
                .add_column(column)
                .to_owned()
        };
        // An order whose money does not add up (e.g. paid amount ≠ ordered
        // amount) is flagged for a person to look at, never marked paid.
        m.alter_table(add(
            "wx_pay_orders",
            ColumnDef::new(Alias::new("flagged"))
                .small_integer()
                .not_null()
                .default(0)
                .to_owned(),
        ))
        .await?;
        for table in ["wx_pay_orders", "wx_pay_refunds"] {
            m.alter_table(add(
                table,
                ColumnDef::new(Alias::new("note"))
                    .string_len(255)
                    .not_null()
                    .default("")
                    .to_owned(),
            ))
            .await?;
        }
        TableBuilder::new(m, "wx_pay_notifications")
            .big("account_id")
            .string("event_id", 64)
            .string("event_type", 64)
            .string("out_trade_no", 64)
            .string("out_refund_no", 64)
            .text("summary")
            .string("result", 32)
            .string("detail", 255)
            .unique(&["account_id", "event_id"])
            .index(&["account_id", "created_at"])
            .index(&["account_id", "out_trade_no"])
            .finish(m)
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("wx_pay_notifications"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        for (table, column) in [
            ("wx_pay_refunds", "note"),
            ("wx_pay_orders", "note"),
            ("wx_pay_orders", "flagged"),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .drop_column(Alias::new(column))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
