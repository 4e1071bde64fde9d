//! The WeChat API client's switches and caches.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000004_wechat_api"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Replies that missed the callback deadline go out as customer-service
        // messages unless an account switches it off.
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_accounts"))
                .add_column(
                    ColumnDef::new(Alias::new("late_reply_enabled"))
                        .small_integer()
                        .not_null()
                        .default(1),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_accounts"))
                .drop_column(Alias::new("late_reply_enabled"))
                .to_owned(),
        )
        .await
    }
}
