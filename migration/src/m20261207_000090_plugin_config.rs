//! Per-account values of the settings a plugin declares (`PLUGIN.settings`):
//! one row per (plugin, account, setting); a missing row means the declared
//! default.

use crate::table_builder::TableBuilder;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000090_plugin_config"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        TableBuilder::new(m, "plugin_config")
            .string("plugin", 64)
            .big("account_id")
            .string("setting", 64)
            .json_null("value")
            .unique(&["plugin", "account_id", "setting"])
            .index(&["account_id"])
            .finish(m)
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("plugin_config"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
