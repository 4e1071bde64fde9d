//! Daily time windows for reply rules: a rule answers only between
//! `active_from` and `active_until` ("HH:MM", Beijing time; the window may
//! wrap past midnight); both empty: all day.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000100_rule_windows"
    }
}

const COLUMNS: [&str; 2] = ["active_from", "active_until"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for name in COLUMNS {
            m.alter_table(
                Table::alter()
                    .table(Alias::new("wx_auto_replies"))
                    .add_column(
                        ColumnDef::new(Alias::new(name))
                            .string_len(5)
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in COLUMNS {
            m.alter_table(
                Table::alter()
                    .table(Alias::new("wx_auto_replies"))
                    .drop_column(Alias::new(name))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
