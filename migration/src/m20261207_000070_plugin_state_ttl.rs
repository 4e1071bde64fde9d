//! A time to live for plugin state: a value reads as missing from
//! `expires_at` on, and a periodic sweep deletes it (NULL: never expires).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000070_plugin_state_ttl"
    }
}

const INDEX: &str = "ix_plugin_state_expires_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut column = ColumnDef::new(Alias::new("expires_at"));
        // As the other timestamps (table_builder): DATETIME(6) on MySQL.
        if m.get_database_backend() == DatabaseBackend::MySql {
            column.custom(Alias::new("DATETIME(6)"));
        } else {
            column.timestamp_with_time_zone();
        }
        m.alter_table(
            Table::alter()
                .table(Alias::new("plugin_state"))
                .add_column(column.null())
                .to_owned(),
        )
        .await?;
        // The sweep looks rows up by expiry.
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(Alias::new("plugin_state"))
                .col(Alias::new("expires_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(Alias::new("plugin_state"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("plugin_state"))
                .drop_column(Alias::new("expires_at"))
                .to_owned(),
        )
        .await
    }
}
