//! The audit trail: one row per change an admin or operator made (who, when,
//! which resource and id, and what changed, secrets masked). Rows are only
//! ever inserted; no route edits or deletes them.

use crate::table_builder::TableBuilder;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000007_audit_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys: the trail outlives the admins, accounts and rows
        // it names (a deleted account's history stays readable).
        TableBuilder::new(m, "audit_log")
            .big("admin_id")
            .string("admin_name", 64)
            .string_null("ip", 64)
            .string("action", 48)
            .string("resource", 48)
            .string_null("resource_id", 191)
            .big_null("account_id")
            .json_null("changes")
            .index(&["created_at"])
            .index(&["resource", "resource_id"])
            .index(&["admin_id"])
            .index(&["account_id"])
            .finish(m)
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("audit_log"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
