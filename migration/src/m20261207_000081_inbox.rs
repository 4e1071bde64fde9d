//! The inbox beside the message log: one row per conversation an operator
//! touched (read mark, assignment), internal notes on a conversation, and
//! canned replies per account. Messages themselves stay in `wx_messages`;
//! the callback path writes nothing here.

use crate::table_builder::TableBuilder;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000081_inbox"
    }
}

const TABLES: [&str; 3] = [
    "wx_conversations",
    "wx_conversation_notes",
    "wx_canned_replies",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys: deleting an account deletes these rows with it
        // (accounts::service::delete_own_rows).
        TableBuilder::new(m, "wx_conversations")
            .big("account_id")
            .string("openid", 128)
            .big_null("last_read_id")
            .timestamp_null("read_at")
            .string("read_by", 64)
            .big_null("assigned_admin_id")
            .timestamp_null("assigned_at")
            .unique(&["account_id", "openid"])
            .index(&["assigned_admin_id"])
            .finish(m)
            .await?;
        TableBuilder::new(m, "wx_conversation_notes")
            .big("account_id")
            .string("openid", 128)
            .big("admin_id")
            .string("admin_name", 64)
            .text("body")
            .index(&["account_id", "openid", "created_at"])
            .finish(m)
            .await?;
        TableBuilder::new(m, "wx_canned_replies")
            .big("account_id")
            .string("title", 64)
            .text("content")
            .index(&["account_id", "title"])
            .finish(m)
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
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
