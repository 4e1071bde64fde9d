//! What instances sharing one database coordinate through: leases (a
//! Snowflake worker id, an account's token refresh) and change epochs (a
//! counter bumped by every admin change that cached copies depend on).
//! Keyed by name, not by Snowflake id: a worker id is leased before the
//! instance can generate ids.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000010_cluster"
    }
}

fn timestamp(m: &SchemaManager, name: &str) -> ColumnDef {
    let mut def = ColumnDef::new(Alias::new(name));
    if m.get_database_backend() == DatabaseBackend::MySql {
        def.custom(Alias::new("DATETIME(6)"));
    } else {
        def.timestamp_with_time_zone();
    }
    def.not_null();
    def
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("cluster_leases"))
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("name"))
                        .string_len(100)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Alias::new("holder"))
                        .string_len(100)
                        .not_null(),
                )
                .col(timestamp(m, "expires_at"))
                .col(ColumnDef::new(Alias::new("info")).text().null())
                .col(timestamp(m, "updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("cluster_epochs"))
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("name"))
                        .string_len(50)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Alias::new("epoch")).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table(Alias::new("cluster_epochs"))
                .columns([Alias::new("name"), Alias::new("epoch")])
                .values_panic(["config".into(), 0i64.into()])
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["cluster_epochs", "cluster_leases"] {
            m.drop_table(
                Table::drop()
                    .table(Alias::new(table))
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
