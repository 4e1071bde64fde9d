//! Rhai plugins: their persistent key–value state and per-account switches.

use crate::table_builder::TableBuilder;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000002_plugins"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One value per (plugin, account, fan, key); `openid` is empty for
        // values scoped to the whole account.
        TableBuilder::new(m, "plugin_state")
            .string("plugin", 64)
            .big("account_id")
            .string("openid", 128)
            .string("state_key", 191)
            .json_null("value")
            .unique(&["plugin", "account_id", "openid", "state_key"])
            .index(&["account_id"])
            .finish(m)
            .await?;
        // A missing row means enabled.
        TableBuilder::new(m, "plugin_settings")
            .string("plugin", 64)
            .big("account_id")
            .small("enabled")
            .unique(&["plugin", "account_id"])
            .index(&["account_id"])
            .finish(m)
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["plugin_settings", "plugin_state"] {
            m.drop_table(
                Table::drop()
                    .table(Alias::new(table))
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
