//! Several replies per rule: `more_replies` holds the replies after the
//! first (a JSON array of reply fields), and `reply_mode` says whether the
//! rule sends them all (0) or one of them at random (1).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000110_rule_replies"
    }
}

fn table() -> Alias {
    Alias::new("wx_auto_replies")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        m.alter_table(
            Table::alter()
                .table(table())
                .add_column(
                    ColumnDef::new(Alias::new("reply_mode"))
                        .small_integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        let mut more = ColumnDef::new(Alias::new("more_replies"));
        if m.get_database_backend() == DatabaseBackend::Postgres {
            more.json_binary();
        } else {
            more.json();
        }
        m.alter_table(
            Table::alter()
                .table(table())
                .add_column(more.null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["reply_mode", "more_replies"] {
            m.alter_table(
                Table::alter()
                    .table(table())
                    .drop_column(Alias::new(name))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
