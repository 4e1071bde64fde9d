//! What the dashboard counts: the auto-reply rule behind each automatic reply
//! (`wx_messages.rule_id`), and plugin calls per plugin, account and hour
//! (`plugin_counters`), kept in the database so they survive restarts.

use crate::table_builder::TableBuilder;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000040_dashboard_counts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_messages"))
                .add_column(ColumnDef::new(Alias::new("rule_id")).big_integer().null())
                .to_owned(),
        )
        .await?;
        // `hour` is the start of the UTC hour the calls fell in.
        TableBuilder::new(m, "plugin_counters")
            .string("plugin", 64)
            .big("account_id")
            .timestamp("hour")
            .big("calls")
            .big("errors")
            .big("micros")
            .unique(&["plugin", "account_id", "hour"])
            .index(&["account_id", "hour"])
            .finish(m)
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("plugin_counters"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_messages"))
                .drop_column(Alias::new("rule_id"))
                .to_owned(),
        )
        .await
    }
}
