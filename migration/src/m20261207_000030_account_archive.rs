//! An archived account: disabled and hidden from the console's pickers, its
//! messages, fans and payments kept; restoring it clears the mark.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000030_account_archive"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut column = ColumnDef::new(Alias::new("archived_at"));
        // As the other timestamps (table_builder): DATETIME(6) on MySQL.
        if m.get_database_backend() == DatabaseBackend::MySql {
            column.custom(Alias::new("DATETIME(6)"));
        } else {
            column.timestamp_with_time_zone();
        }
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_accounts"))
                .add_column(column.null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_accounts"))
                .drop_column(Alias::new("archived_at"))
                .to_owned(),
        )
        .await
    }
}
