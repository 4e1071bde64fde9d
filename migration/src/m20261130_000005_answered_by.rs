//! Which handler answered a message (`builtin:keyword`, `plugin:guess`,
//! `admin:alice`, …): shown in the conversation view and counted on the dashboard.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000005_answered_by"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_messages"))
                .add_column(
                    ColumnDef::new(Alias::new("answered_by"))
                        .string_len(128)
                        .not_null()
                        .default(""),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_messages"))
                .drop_column(Alias::new("answered_by"))
                .to_owned(),
        )
        .await
    }
}
