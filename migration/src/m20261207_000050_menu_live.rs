//! What is live on WeChat for each account's custom menu, as wxmp last saw
//! it: the menu it published, read back (sync, check) or deleted there, when
//! and by whom; the menus page compares it with the stored draft.

use crate::table_builder::TableBuilder;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000050_menu_live"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        TableBuilder::new(m, "wx_menu_live")
            .big("account_id")
            .json_null("menu")
            .string("source", 16)
            .string("admin_name", 64)
            .timestamp("seen_at")
            .unique(&["account_id"])
            .finish(m)
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("wx_menu_live"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
