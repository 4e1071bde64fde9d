//! Fans an admin marks as staff of the account: plugins see it
//! (`ctx.fan.staff`) and keep commands meant for staff to them.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000060_fan_staff"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_users"))
                .add_column(
                    ColumnDef::new(Alias::new("is_staff"))
                        .small_integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_users"))
                .drop_column(Alias::new("is_staff"))
                .to_owned(),
        )
        .await
    }
}
