//! Who a job belongs to, for the jobs that need counting per owner: a
//! plugin's timers (`plugin:<name>:<account id>`) are capped per plugin and
//! account. Empty for the other jobs.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000080_job_owner"
    }
}

const INDEX: &str = "ix_jobs_owner_status";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("jobs"))
                .add_column(
                    ColumnDef::new(Alias::new("owner"))
                        .string_len(191)
                        .not_null()
                        .default(""),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(Alias::new("jobs"))
                .col(Alias::new("owner"))
                .col(Alias::new("status"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(Alias::new("jobs"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("jobs"))
                .drop_column(Alias::new("owner"))
                .to_owned(),
        )
        .await
    }
}
