//! Whether a received message has been through the handler chain. A process
//! that dies between storing a message and dispatching it leaves `handled =
//! 0` with no reply; WeChat's retry, wherever it lands, then dispatches it.
//! Rows from before this column were all handled (default 1).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000006_handled"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_messages"))
                .add_column(
                    ColumnDef::new(Alias::new("handled"))
                        .small_integer()
                        .not_null()
                        .default(1),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("wx_messages"))
                .drop_column(Alias::new("handled"))
                .to_owned(),
        )
        .await
    }
}
